"""A stand-in for Rasa's REST webhook, for router tests that need to count and order calls.

It answers ``[{"text": "收到：<message>"}]`` (and to "转人工" what the bot answers: a handoff
request, with ``facts`` when a test sets them) and records every (sender, message) in arrival
order.
The real Rasa is used by the end-to-end tests; this one lets a test hold a call or count it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response

from bot.contract import WEBHOOK_PATH
from tests.stand_ins.serving import serve


@dataclass
class RasaStandIn:
    url: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)
    delay_seconds: float = 0.0
    facts: dict | None = None  # what the bot knows, sent with a handoff (actions.escalation)
    failures: list[int] = field(default_factory=list)  # statuses of the next calls (a dead replica's 502)


def make_app(state: RasaStandIn) -> FastAPI:
    app = FastAPI()

    @app.post(WEBHOOK_PATH, response_model=None)
    async def webhook(request: Request) -> list[dict] | Response:
        body = await request.json()
        state.calls.append((body["sender"], body["message"]))
        if state.failures:  # as nginx answers when the replica died with the request
            return Response(b"<html><center>502 Bad Gateway</center></html>",
                            status_code=state.failures.pop(0), media_type="text/html")
        if state.delay_seconds:
            await asyncio.sleep(state.delay_seconds)
        if body["message"] == "转人工":  # as actions/handoff.py answers
            return [{"text": "好的，正在为您转接人工客服，请稍候。", "custom": {"handoff": {
                "reason": "customer_request", "skill_group": "returns", "tier": "vip",
                "facts": state.facts or {}}}}]
        return [{"text": f"收到：{body['message']}"}]

    return app


@contextmanager
def rasa_stand_in() -> Iterator[RasaStandIn]:
    state = RasaStandIn()
    with serve(make_app(state)) as url:
        state.url = url
        yield state
