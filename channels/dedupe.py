"""Exactly-once handling of a customer message, keyed by the channel's own message id.

The first delivery claims the key; retries that arrive while it is processed are told so; once
the replies exist, retries get the same replies back instead of asking the bot again. A failed
attempt releases its claim so the client's retry is processed afresh.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from redis.asyncio import Redis

_PROCESSING = "processing"


@dataclass(frozen=True)
class Claim:
    new: bool
    result: Optional[dict[str, Any]] = None  # stored outcome when already done

    @property
    def in_progress(self) -> bool:
        return not self.new and self.result is None


class Deduplicator:
    def __init__(self, redis: Redis, ttl_seconds: int, prefix: str = "xs:dedupe:") -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix

    async def claim(self, key: str) -> Claim:
        full_key = self._prefix + key
        if await self._redis.set(full_key, _PROCESSING, nx=True, ex=self._ttl):
            return Claim(new=True)
        stored = await self._redis.get(full_key)
        if stored is None:  # expired between the two calls: treat as new
            return await self.claim(key)
        text = stored.decode() if isinstance(stored, bytes) else stored
        return Claim(new=False, result=None if text == _PROCESSING else json.loads(text))

    async def complete(self, key: str, result: dict[str, Any]) -> None:
        await self._redis.set(self._prefix + key, json.dumps(result, ensure_ascii=False),
                              ex=self._ttl)

    async def release(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)
