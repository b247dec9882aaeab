"""Bookkeeping of customer-service sends in Redis: how many each customer may still receive, and
what could not be sent.

WeChat lets an account send a customer 5 customer-service messages within 48 h of the customer's
last message (3 within a minute of a menu click or a follow); past that it answers 45047, and
once the window is closed, 45015. A new interaction replaces the allowance rather than adding to
it. ``SendQuota`` mirrors that per openid, so the sender can merge replies and stop before WeChat
refuses; WeChat's own answer stays authoritative (with no local record the send is tried).

``UndeliveredLog`` is the Redis list ``<prefix>undelivered`` of JSON records ``{openid, reason,
errcode, text, message_id, time}`` for the handoff/agent console; it keeps the newest
``MAX_UNDELIVERED`` records.
"""
from __future__ import annotations

import json
import time
from typing import Optional

from redis.asyncio import Redis

MAX_UNDELIVERED = 10_000
UNKNOWN = -1

# Raise the allowance to at least ARGV[1] sends and its lifetime to at least ARGV[2] seconds.
_GRANT = """
local left = tonumber(redis.call('GET', KEYS[1]) or '-1')
local ttl = redis.call('TTL', KEYS[1])
local count = math.max(left, tonumber(ARGV[1]))
local seconds = math.max(ttl, tonumber(ARGV[2]))
redis.call('SET', KEYS[1], count, 'EX', seconds)
return count
"""
# Take one send: the allowance before taking it, 0 when spent, -1 when nothing is known.
_TAKE = """
local left = redis.call('GET', KEYS[1])
if not left then return -1 end
left = tonumber(left)
if left <= 0 then return 0 end
redis.call('DECR', KEYS[1])
return left
"""
# Give back a send that did not happen (a temporary failure), only while the window lasts.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return -1
"""


class SendQuota:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, openid: str) -> str:
        return f"{self._prefix}quota:{openid}"

    async def grant(self, openid: str, allowance: tuple[int, int]) -> None:
        count, seconds = allowance
        await self._redis.eval(_GRANT, 1, self._key(openid), count, seconds)

    async def take(self, openid: str) -> bool:
        """May one more message be sent? (Counts it.)"""
        return int(await self._redis.eval(_TAKE, 1, self._key(openid))) != 0

    async def give_back(self, openid: str) -> None:
        await self._redis.eval(_GIVE_BACK, 1, self._key(openid))

    async def remaining(self, openid: str) -> int:
        left = await self._redis.get(self._key(openid))
        return UNKNOWN if left is None else int(left)

    async def spend_all(self, openid: str) -> None:
        """WeChat said 45047: nothing more until the customer writes again."""
        await self._redis.set(self._key(openid), 0, keepttl=True)

    async def close(self, openid: str) -> None:
        """WeChat said 45015, or the customer unfollowed: the window is shut."""
        await self._redis.set(self._key(openid), 0, ex=48 * 3600)


class UndeliveredLog:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.key = f"{prefix}undelivered"

    async def record(self, openid: str, reason: str, text: str, message_id: str = "",
                     errcode: Optional[int] = None) -> None:
        entry = {"openid": openid, "reason": reason, "errcode": errcode, "text": text,
                 "message_id": message_id, "time": time.time()}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.key, json.dumps(entry, ensure_ascii=False))
            pipe.ltrim(self.key, -MAX_UNDELIVERED, -1)
            await pipe.execute()

    async def entries(self, count: int = 100) -> list[dict]:
        return [json.loads(item) for item in await self._redis.lrange(self.key, -count, -1)]
