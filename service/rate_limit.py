"""Rate limits on the public endpoints, counted in Redis so every instance counts the same.

Two limits, each "N requests per S seconds" in a fixed window:

- per client address (``RATE_LIMIT_PER_IP``), on what customers' browsers and apps call (the app
  channel and its demo login). Not on the WeChat and Telegram webhooks: those come from the
  platforms' few servers, on behalf of every customer at once.
- per customer (``RATE_LIMIT_PER_CUSTOMER``), on messages, whatever the channel. The channels
  answer in their own way: the app and Telegram get 429 with Retry-After (Telegram delivers the
  update again later, so nothing is lost), a WeChat customer gets a passive reply in Chinese.
  A retry of a message the router has accepted already (WeChat re-pushes after 5 s without an
  answer, Telegram redelivers, apps resend) is answered from the record and not counted again:
  the count is skipped when the message's dedupe record (the router's seen key) exists.

Behind a load balancer the client address is the one it forwards (uvicorn's ``--proxy-headers``
with ``--forwarded-allow-ips`` naming the balancer). When Redis cannot be reached the request is
let through: the limiter must not turn a Redis hiccup into refusals on its own.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Optional

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import ApiError, error_body

log = logging.getLogger(__name__)

PREFIX = "xs:rate:"
TOO_MANY_TEXT = "您发送得太频繁了，请稍等片刻再试"
# Paths a customer's device calls directly (the webhooks are the platforms' servers).
PER_ADDRESS_PATHS = ("/api/app/",)
LIMIT_SHAPE = re.compile(r"^(\d{1,7})/(\d{1,6})$")

# KEYS: this window's counter and, optionally, the message's seen key. ARGV: window seconds.
# Returns the count in this window, or 0 without counting when the seen key exists (a retry).
# Checked inside the script: one round trip, and the check and the count are one atomic step.
_COUNT = """
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, value: str) -> Limit:
        """``"20/60"``: 20 per 60 seconds. Raises ValueError with what was wrong."""
        match = LIMIT_SHAPE.match(value.strip())
        if not match or int(match[1]) < 1 or int(match[2]) < 1:
            raise ValueError(f"a rate limit looks like 20/60 (requests/seconds), got {value!r}")
        return cls(int(match[1]), int(match[2]))


class RateLimiter:
    def __init__(self, redis: Redis, per_address: Limit, per_customer: Limit) -> None:
        self._count = redis.register_script(_COUNT)
        self.per_address = per_address
        self.per_customer = per_customer

    async def retry_after(self, kind: str, key: str, limit: Limit,
                          seen_key: Optional[str] = None) -> Optional[int]:
        """None when allowed (or ``seen_key`` exists: not counted), else the seconds until the
        window opens again."""
        now = int(time.time())
        window = now // limit.seconds
        keys = [f"{PREFIX}{kind}:{key}:{window}", *([seen_key] if seen_key else [])]
        try:
            count = await self._count(keys=keys, args=[limit.seconds])
        except RedisError as error:
            log.warning("rate limit not checked (Redis: %s)", type(error).__name__)
            return None
        return None if int(count) <= limit.count else limit.seconds - now % limit.seconds

    async def check_customer(self, conversation_id: str, seen_key: str) -> None:
        """Raises ApiError 429 (with Retry-After) when the customer is over the limit. A message
        whose ``seen_key`` (``channels.router.seen_key``) exists is a retry: let through, uncounted."""
        wait = await self.retry_after("customer", conversation_id, self.per_customer, seen_key)
        if wait is not None:
            raise too_many(wait)


def too_many(retry_after: int) -> ApiError:
    return ApiError(429, "too_many_requests", TOO_MANY_TEXT,
                    headers={"Retry-After": str(retry_after)})


class PerAddressLimit:
    """ASGI middleware: the per-address limit on the paths customers' devices call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter: Optional[RateLimiter] = getattr(scope.get("app").state, "rate_limiter", None) \
            if scope.get("app") is not None else None
        if (scope["type"] != "http" or limiter is None
                or not scope["path"].startswith(PER_ADDRESS_PATHS)):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        wait = await limiter.retry_after("ip", address, limiter.per_address)
        if wait is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(error_body("too_many_requests", TOO_MANY_TEXT),
                          ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"),
                                (b"retry-after", str(wait).encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
