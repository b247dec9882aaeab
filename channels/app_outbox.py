"""The app channel's outbox: replies that did not go back in an HTTP answer wait here.

One Redis stream per customer; a client that reconnects asks for what came after the last id it
saw, so it receives what it missed, once. The WebSocket forwards new entries as they arrive.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from redis.asyncio import Redis

from channels.messages import Inbound, Reply, as_text

KEEP_ENTRIES = 500
KEEP_SECONDS = 7 * 24 * 3600


def outbox_key(customer_id: str) -> str:
    return f"xs:outbox:app:{customer_id}"


class AppSender:
    """The router's Sender for the app: append to the customer's outbox."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        key = outbox_key(inbound.external_id)
        await self._redis.xadd(key, {"client_message_id": inbound.message_id,
                                     "replies": json.dumps(replies, ensure_ascii=False)},
                               maxlen=KEEP_ENTRIES, approximate=True)
        await self._redis.expire(key, KEEP_SECONDS)


async def read_outbox(redis: Redis, customer_id: str, since: str = "0-0",
                      block_ms: Optional[int] = None) -> list[dict[str, Any]]:
    """Entries after ``since``, oldest first, as frames the client understands."""
    result = await redis.xread({outbox_key(customer_id): since}, count=100, block=block_ms)
    frames = []
    for _, entries in result or []:
        for entry_id, fields in entries:
            frames.append({"type": "replies", "outbox_id": as_text(entry_id),
                           "client_message_id": as_text(fields[b"client_message_id"]),
                           "duplicate": False,
                           "replies": json.loads(as_text(fields[b"replies"]))})
    return frames

