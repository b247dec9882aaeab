"""A stand-in for the Telegram Bot API (``https://api.telegram.org/bot<token>/<method>``).

It speaks the documented protocol: parameters as a query string, a urlencoded form (what
python-telegram-bot sends; nested objects such as ``reply_markup`` JSON-encoded) or a JSON body;
answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters"?}`` with the same HTTP status. It checks what Telegram checks for the calls the
channel makes: the token, a non-empty text of at most 4096 UTF-16 units, callback_data of 1-64
bytes.

Methods: getMe, sendMessage, answerCallbackQuery, getUpdates (with offset confirmation).
``stand_in.calls`` records every call as ``(method, params)``; ``stand_in.fail(chat_id, ...)``
makes the next calls for a chat fail (429 with retry_after, 403 blocked, 400 chat not found,
502); ``stand_in.updates`` is what getUpdates hands out.

Manual use: ``python -m tests.stand_ins.telegram_api --port 8081`` (token ``123456:TEST``), then
``TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from typing import Any, Optional
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "小售", "username": "xiaoshou_test_bot"}
FAILURES: dict[str, tuple[int, str]] = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "flood": (429, "Too Many Requests: retry after {retry_after}"),
}


class TelegramStandIn:
    def __init__(self, token: str = "123456:TEST") -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self._failures: dict[int, list[Optional[dict[str, Any]]]] = {}
        self._message_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._make_app()

    # --- what tests use ----------------------------------------------------------------

    def fail(self, chat_id: int, kind: str, times: int = 1, retry_after: int = 3,
             after: int = 0) -> None:
        """After ``after`` more calls about ``chat_id`` succeed, the next ``times`` fail:
        ``blocked``, ``chat_not_found``, ``flood`` (429 with ``retry_after``) or ``bad_gateway``
        (502 with an HTML body)."""
        with self._lock:
            self._failures.setdefault(chat_id, []).extend(
                [None] * after + [{"kind": kind, "retry_after": retry_after}] * times)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    # --- the protocol --------------------------------------------------------------------

    def _make_app(self) -> FastAPI:
        app = FastAPI(title="Telegram Bot API stand-in")

        @app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def call(token: str, method: str, request: Request) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")
            params = await _params(request)
            handler = self._methods().get(method)
            if handler is None:
                return _error(404, "Not Found")
            with self._lock:
                self.calls.append((method, params))
                failure = self._next_failure(params)
            return failure if failure is not None else handler(params)

        return app

    def _methods(self) -> dict[str, Any]:
        return {"getMe": lambda params: _ok(BOT_USER), "sendMessage": self._send_message,
                "answerCallbackQuery": lambda params: _ok(True), "getUpdates": self._get_updates}

    def _next_failure(self, params: dict[str, Any]) -> Optional[Response]:
        queued = self._failures.get(_int(params.get("chat_id")), [])
        if not queued:
            return None
        failure = queued.pop(0)
        if failure is None:
            return None
        if failure["kind"] == "bad_gateway":
            return PlainTextResponse("<html><body>502 Bad Gateway</body></html>", status_code=502,
                                     media_type="text/html")
        status, description = FAILURES[failure["kind"]]
        extra = {"parameters": {"retry_after": failure["retry_after"]}} if status == 429 else {}
        return _error(status, description.format(retry_after=failure["retry_after"]), **extra)

    def _send_message(self, params: dict[str, Any]) -> Response:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not 1 <= len(button.get("callback_data", "").encode()) <= 64:
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        chat_id = _int(params.get("chat_id"))
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER, "text": text}
        if markup:
            message["reply_markup"] = markup
        return _ok(message)

    def _get_updates(self, params: dict[str, Any]) -> Response:
        offset = _int(params.get("offset"))
        if offset:  # confirms every update before it, as Telegram does
            self.updates = [update for update in self.updates if update["update_id"] >= offset]
        return _ok(self.updates[:100])


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json") and body:
        params.update(json.loads(body))
    elif body:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    if isinstance(params.get("reply_markup"), str):
        params["reply_markup"] = json.loads(params["reply_markup"])
    return params


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ok(result: Any) -> Response:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str, **extra: Any) -> Response:
    return JSONResponse({"ok": False, "error_code": status, "description": description, **extra},
                        status_code=status)


def main() -> None:
    parser = argparse.ArgumentParser(description="Telegram Bot API stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    args = parser.parse_args()
    print(f"Telegram stand-in: http://{args.host}:{args.port}/bot{args.token}/<method>")
    uvicorn.run(TelegramStandIn(args.token).app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
