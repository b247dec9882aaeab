"""Button payloads behind short keys, in Redis.

Telegram caps ``callback_data`` at 64 bytes, and a Rasa payload such as
``/query_order{"order_id": "2611201234567890"}`` can be longer and contain anything. So a button
carries a random key and its payload waits here. A key resolves only in the chat it was sent
to, and only for ``ttl_seconds``; anything else a client sends as callback_data resolves to
nothing (clients can send arbitrary callback_data, so it is never used as a payload itself).
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Optional

from redis.asyncio import Redis

PREFIX = "xs:telegram:button:"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16}")  # token_urlsafe(12): 96 random bits


@dataclass(frozen=True)
class StoredButton:
    title: str
    payload: str


class ButtonStore:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def save(self, chat_id: int, buttons: list[StoredButton]) -> list[str]:
        """Store the buttons of one keyboard; returns their keys (the callback_data), in order."""
        keys = [secrets.token_urlsafe(12) for _ in buttons]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, button in zip(keys, buttons, strict=True):
                value = {"chat_id": chat_id, "title": button.title, "payload": button.payload}
                pipe.set(PREFIX + key, json.dumps(value, ensure_ascii=False), ex=self._ttl)
            await pipe.execute()
        return keys

    async def resolve(self, chat_id: int, key: str) -> Optional[StoredButton]:
        """The button behind ``key`` if it was sent to this chat and has not expired."""
        if not KEY_PATTERN.fullmatch(key):
            return None
        stored = await self._redis.get(PREFIX + key)
        if stored is None:
            return None
        value = json.loads(stored)
        if value.get("chat_id") != chat_id:
            return None
        return StoredButton(value["title"], value["payload"])
