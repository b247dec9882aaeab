"""Idempotent writes: the first answer to a key is stored with the write and replayed after.

A client that times out retries with the same ``Idempotency-Key``; it must get the answer the
first attempt produced, and the write must happen once. The stored answer is committed in the
same transaction as the write, so a crash between the two cannot split them; two concurrent
attempts collide on the key's primary key and the loser replays the winner's answer.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from demo_shop.errors import Invalid, ShopApiError
from demo_shop.models import IdempotentResponse

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", pattern=r"^[A-Za-z0-9_.:-]{8,128}$",
                                       description="the same key for every retry of one write")]


def fingerprint(operation: str, body: Any) -> str:
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


def run_once(session: Session, scope: str, key: str, request_fingerprint: str,
             write: Callable[[], tuple[int, Any]]) -> JSONResponse:
    """``write`` (which changes ``session`` and returns status and body) at most once per key."""
    full_key = f"{scope}:{key}"
    stored = session.get(IdempotentResponse, full_key)
    if stored is None:
        try:
            status, body = write()
        except ShopApiError:
            # A concurrent attempt with this key may have written first and made this one look
            # refused (say, "return in progress"): then its answer is this request's answer.
            session.rollback()
            stored = session.get(IdempotentResponse, full_key)
            if stored is None:
                raise
            return _replay(stored, request_fingerprint)
        encoded = json.dumps(jsonable_encoder(body), ensure_ascii=False)
        # A refused write raises before this point, so a retry once the order allows it works.
        session.add(IdempotentResponse(key=full_key, fingerprint=request_fingerprint,
                                       status_code=status, body=encoded,
                                       created_at=datetime.now(timezone.utc).replace(tzinfo=None)))
        try:
            session.commit()
            return JSONResponse(json.loads(encoded), status_code=status)
        except IntegrityError:
            session.rollback()  # a concurrent attempt with the same key won
            stored = session.get(IdempotentResponse, full_key)
            if stored is None:
                raise
    return _replay(stored, request_fingerprint)


def _replay(stored: IdempotentResponse, request_fingerprint: str) -> JSONResponse:
    if stored.fingerprint != request_fingerprint:
        raise Invalid("idempotency_key_reused", "同一个 Idempotency-Key 不能用于不同的请求")
    return JSONResponse(json.loads(stored.body), status_code=stored.status_code,
                        headers={"Idempotent-Replay": "true"})
