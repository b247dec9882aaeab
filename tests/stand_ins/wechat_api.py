"""A stand-in for api.weixin.qq.com: access tokens and customer-service messages, for tests and demos.

It speaks WeChat's protocol: JSON answers ``{"errcode": …, "errmsg": …}`` (HTTP 200 even for
errors), and checks what the real service checks:

- ``POST /cgi-bin/stable_token`` (getStableAccessToken): ``{"grant_type": "client_credential",
  "appid", "secret", "force_refresh"?}``. Normal mode hands out the current token while it is valid;
  ``force_refresh`` issues a new one and invalidates the old.
- ``GET /cgi-bin/token?grant_type=client_credential&appid&secret``: always a new token, which
  invalidates the previous one.
- ``POST /cgi-bin/message/custom/send?access_token=…``: ``{"touser", "msgtype": "text",
  "text": {"content"}}``. 41001 without a token, 40001 for an unknown or invalidated one, 42001 for
  an expired one, 47001 for a malformed body, 45002 for content over 2048 bytes, 45015 when the
  customer's window is closed (no ``open_window``), 45047 when its allowance is spent.

Tests drive it through ``WeChatApiState``: ``open_window(openid, 5)`` (the customer wrote),
``expire_token()``, ``invalidate_token(keep_handing_out=…)``, ``fail_next(None, -1, "http500")``
(the next sends: normal, errcode -1, HTTP 500);
and read ``sent``, ``texts_to(openid)``, ``token_requests``. ``serving(state)`` runs it with
uvicorn in a thread on a free port.

Manual use: ``python -m tests.stand_ins.wechat_api --port 8191`` (app id ``wxdemo``, secret
``demo-secret``; every openid has an open window).
"""
from __future__ import annotations

import argparse
import secrets
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.stand_ins.serving import serve

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    45002: "content size out of limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}
TEXT_LIMIT_BYTES = 2048
Fault = Union[int, str, None]  # an errcode to answer, "http500", or None: answer normally


@dataclass
class WeChatApiState:
    app_id: str
    secret: str
    every_window_open: bool = False
    tokens: dict[str, str] = field(default_factory=dict)   # token → valid | expired | invalid
    current: Optional[str] = None
    hand_out_invalid: bool = False
    windows: dict[str, int] = field(default_factory=dict)  # openid → sends left
    faults: deque = field(default_factory=deque)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    send_requests: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open_window(self, openid: str, allowance: int = 5) -> None:
        with self.lock:
            self.windows[openid] = allowance

    def expire_token(self) -> None:
        with self.lock:
            if self.current:
                self.tokens[self.current] = "expired"

    def invalidate_token(self, keep_handing_out: bool = False) -> None:
        """The current token stops working; optionally normal mode keeps returning it anyway."""
        with self.lock:
            if self.current:
                self.tokens[self.current] = "invalid"
            self.hand_out_invalid = keep_handing_out

    def fail_next(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def texts_to(self, openid: str) -> list[str]:
        return [item["text"]["content"] for item in self.sent if item["touser"] == openid]

    def _new_token(self) -> str:
        if self.current and self.tokens.get(self.current) == "valid":
            self.tokens[self.current] = "invalid"
        self.current = "TOKEN-" + secrets.token_hex(12)
        self.tokens[self.current] = "valid"
        self.hand_out_invalid = False
        return self.current


def make_app(state: WeChatApiState) -> FastAPI:
    """The app; ``app.state.wechat`` is the state it serves (tests may swap it between tests)."""
    app = FastAPI(title="WeChat API stand-in")
    app.state.wechat = state

    @app.post("/cgi-bin/stable_token")
    async def stable_token(request: Request) -> Response:
        state: WeChatApiState = request.app.state.wechat
        body = await _json_body(request)
        with state.lock:
            state.token_requests.append({"endpoint": "stable_token", **(body or {})})
            refusal = _credential_refusal(state, body)
            if refusal is not None:
                return refusal
            usable = state.current and (state.tokens[state.current] == "valid" or state.hand_out_invalid)
            token = state.current if usable and not body.get("force_refresh") else state._new_token()
        return _answer({"access_token": token, "expires_in": 7200})

    @app.get("/cgi-bin/token")
    async def token(request: Request, grant_type: str = "", appid: str = "", secret: str = "") -> Response:
        state: WeChatApiState = request.app.state.wechat
        body = {"grant_type": grant_type, "appid": appid, "secret": secret}
        with state.lock:
            state.token_requests.append({"endpoint": "token", **body})
            refusal = _credential_refusal(state, body)
            if refusal is not None:
                return refusal
            return _answer({"access_token": state._new_token(), "expires_in": 7200})

    @app.post("/cgi-bin/message/custom/send")
    async def custom_send(request: Request, access_token: str = "") -> Response:
        state: WeChatApiState = request.app.state.wechat
        body = await _json_body(request)
        with state.lock:
            state.send_requests += 1
            return _send(state, access_token, body)

    return app


def _send(state: WeChatApiState, access_token: str, body: Optional[dict[str, Any]]) -> Response:
    if not access_token:
        return _error(41001)
    status = state.tokens.get(access_token)
    if status != "valid":
        return _error(42001 if status == "expired" else 40001)
    fault = state.faults.popleft() if state.faults else None
    if fault == "http500":
        return PlainTextResponse("Internal Server Error", 500)
    if fault is not None:
        return _error(fault)
    if body is None or body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
        return _error(47001)
    content = body["text"].get("content")
    if not isinstance(content, str) or not isinstance(body.get("touser"), str):
        return _error(47001)
    if len(content.encode("utf-8")) > TEXT_LIMIT_BYTES:
        return _error(45002)
    openid = body["touser"]
    left = state.windows.get(openid, 5 if state.every_window_open else None)
    if left is None:
        return _error(45015)
    if left <= 0:
        return _error(45047)
    state.windows[openid] = left - 1
    state.sent.append(body)
    return _answer({"errcode": 0, "errmsg": "ok"})


def _credential_refusal(state: WeChatApiState, body: Optional[dict[str, Any]]) -> Optional[Response]:
    if not body or body.get("grant_type") != "client_credential":
        return _error(40002)
    if body.get("appid") != state.app_id:
        return _error(40013)
    if body.get("secret") != state.secret:
        return _error(40125)
    return None


async def _json_body(request: Request) -> Optional[dict[str, Any]]:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error(errcode: int) -> Response:
    rid = secrets.token_hex(4)
    return _answer({"errcode": errcode, "errmsg": f"{ERRMSG.get(errcode, 'error')} rid: {rid}"})


def _answer(body: dict[str, Any]) -> Response:
    return JSONResponse(body)


@dataclass
class Running:
    url: str
    app: FastAPI

    def use(self, state: WeChatApiState) -> None:
        """Serve ``state`` from now on (a fresh one per test, one server per session)."""
        self.app.state.wechat = state


@contextmanager
def serving(state: WeChatApiState) -> Iterator[Running]:
    """Run the stand-in with uvicorn in a thread (``tests.stand_ins.serving``)."""
    app = make_app(state)
    with serve(app) as url:
        yield Running(url, app)


def main() -> None:
    parser = argparse.ArgumentParser(description="api.weixin.qq.com stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8191)
    args = parser.parse_args()
    state = WeChatApiState(app_id="wxdemo", secret="demo-secret", every_window_open=True)
    print(f"WeChat API stand-in on http://{args.host}:{args.port} (app id wxdemo, secret demo-secret)")
    uvicorn.run(make_app(state), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
