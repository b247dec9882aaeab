"""Builders of Telegram updates, shaped as the Bot API sends them, and the official samples."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from channels.telegram import WEBHOOK_PATH

TOKEN = "123456:TEST-token_x"
SECRET = "webhook-Secret_0123456789"
SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram" / \
    "official_webhook_update_examples.jsonl"
CUSTOMER = {"id": 5550001, "is_bot": False, "first_name": "小明", "language_code": "zh-hans"}


def official_samples() -> dict[str, dict[str, Any]]:
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    return {sample["name"]: sample["update"] for sample in map(json.loads, lines)}


def message(update_id: int, chat_id: int = 5550001, chat_type: str = "private",
            **fields: Any) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id % 1000 + 1, "date": 1763600000, "from": CUSTOMER,
        "chat": {"id": chat_id, "type": chat_type, "first_name": "小明"}, **fields}}


def callback(update_id: int, data: str, chat_id: int = 5550001,
             query_id: str = "cbq-1") -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": query_id, "from": CUSTOMER, "chat_instance": "-123456789", "data": data,
        "message": {"message_id": 77, "date": 1763600000,
                    "chat": {"id": chat_id, "type": "private"}, "text": "请选择："}}}


def post(client: TestClient, update: Any, secret: str | None = SECRET) -> Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = update if isinstance(update, bytes) else json.dumps(update, ensure_ascii=False).encode()
    return client.post(WEBHOOK_PATH, content=body, headers=headers)
