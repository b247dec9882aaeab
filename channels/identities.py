"""Which shop customer a WeChat or Telegram account belongs to, so that one customer's
conversations on every channel come together in the transcript (and before an agent).

The order system knows the bindings (``GET /identities/{channel}/{external_id}``); answers are
cached in Redis for a few minutes, unbound accounts for less (they may bind any moment). When the
order system cannot be asked, the conversation is recorded under the channel account alone.
"""
from __future__ import annotations

import logging
from typing import Optional
from urllib.parse import quote

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

BOUND_SECONDS = 600
UNBOUND_SECONDS = 60
_UNBOUND = "-"


class IdentityResolver:
    def __init__(self, redis: Redis, http: httpx.AsyncClient, shop_api_url: str,
                 shop_api_key: str = "") -> None:
        self._redis = redis
        self._http = http
        self._url = shop_api_url.rstrip("/")
        self._headers = {"X-Api-Key": shop_api_key} if shop_api_key else {}

    async def customer_of(self, channel: str, external_id: str) -> Optional[str]:
        key = f"xs:identity:{channel}:{external_id}"
        try:
            cached = await self._redis.get(key)
        except RedisError:
            cached = None
        if cached is not None:
            value = cached.decode()
            return None if value == _UNBOUND else value
        customer_id = await self._ask_shop(channel, external_id)
        if customer_id is not False:
            ttl = BOUND_SECONDS if customer_id else UNBOUND_SECONDS
            await self._redis.set(key, customer_id or _UNBOUND, ex=ttl)
        return customer_id or None

    async def _ask_shop(self, channel: str, external_id: str) -> Optional[str] | bool:
        """The bound customer, None when unbound, False when the shop could not say."""
        url = f"{self._url}/identities/{channel}/{quote(external_id, safe='')}"
        try:
            response = await self._http.get(url, headers=self._headers, timeout=2)
        except httpx.HTTPError as error:
            log.warning("identity lookup failed: %s", type(error).__name__)
            return False
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning("identity lookup answered %s", response.status_code)
            return False
        customer_id = response.json().get("customer_id")
        return customer_id if isinstance(customer_id, str) else False
