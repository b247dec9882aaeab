"""A stand-in for Rasa's REST webhook, for router tests that need to count and order calls.

It answers ``[{"text": "收到：<message>"}]`` and records every (sender, message) in arrival order.
The real Rasa is used by the end-to-end tests; this one lets a test hold a call or count it.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request

from bot.contract import WEBHOOK_PATH
from tests.support import free_port, wait_until


@dataclass
class RasaStandIn:
    url: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)
    delay_seconds: float = 0.0


def make_app(state: RasaStandIn) -> FastAPI:
    app = FastAPI()

    @app.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> list[dict]:
        body = await request.json()
        state.calls.append((body["sender"], body["message"]))
        if state.delay_seconds:
            await asyncio.sleep(state.delay_seconds)
        return [{"text": f"收到：{body['message']}"}]

    return app


@contextmanager
def rasa_stand_in() -> Iterator[RasaStandIn]:
    state = RasaStandIn()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(state), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "rasa stand-in")
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
