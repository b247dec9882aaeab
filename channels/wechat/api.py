"""Client of WeChat's customer-service message API (客服消息, ``POST /cgi-bin/message/custom/send``).

Access tokens come from ``POST /cgi-bin/stable_token`` (getStableAccessToken) in its normal mode,
not from ``GET /cgi-bin/token``: every call of the latter invalidates the token before it, so
several service instances (or any other tool of the shop holding the secret) would keep knocking
each other's tokens out; the stable endpoint returns the same token while it is valid. The token is
cached in Redis for its lifetime minus 5 minutes, shared by all instances; one instance refreshes
at a time (``SET NX`` lock), the others wait for its result. When WeChat rejects a token (40001,
40014, 42001) it is dropped, a fresh one fetched and the send retried once; if the normal mode hands
back the very token just rejected, a forced refresh is asked for (WeChat allows 20 a day).

Failures come out as ``SendRefused`` (final: recorded, never retried) or ``SendFailed``
(temporary: the router retries the delivery later). Only what certainly did not reach the
customer is retried here: a refused connection and -1 (system busy), ``retries`` times with
backoff. A timeout after the request went out is not retried here (it may have been delivered).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any, Optional

import httpx
from redis.asyncio import Redis

from channels.wechat.settings import WeChatSettings

log = logging.getLogger(__name__)

SEND_PATH = "/cgi-bin/message/custom/send"
TOKEN_PATH = "/cgi-bin/stable_token"
BUSY = -1
TOKEN_REJECTED = frozenset({40001, 40014, 42001})
# Worth another try later rather than a record: API rate limits, IP whitelist, token trouble.
TEMPORARY = frozenset({BUSY, 45009, 45011, 40164, *TOKEN_REJECTED})
TOKEN_MARGIN_SECONDS = 300
LOCK_SECONDS = 10

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SendFailed(Exception):
    """Temporary: worth trying again later."""


class SendRefused(Exception):
    """Final answer from WeChat for this message (45015, 45047, 43004, 40003, 45002, …)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class WeChatApi:
    def __init__(self, http: httpx.AsyncClient, redis: Redis, settings: WeChatSettings,
                 retries: int = 2, backoff_seconds: float = 0.2) -> None:
        self._http = http
        self._redis = redis
        self._settings = settings
        self._base = settings.api_base_url.rstrip("/")
        self._retries = retries
        self._backoff = backoff_seconds
        self._token_key = f"{settings.redis_prefix}token:{settings.app_id}"
        self._lock_key = f"{settings.redis_prefix}token-lock:{settings.app_id}"

    async def send_text(self, openid: str, text: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        token = await self.access_token()
        answer = await self._post_send(token, body)
        if answer.get("errcode") in TOKEN_REJECTED:
            log.info("WeChat rejected the access token (%s); refreshing once", answer.get("errcode"))
            token = await self.refresh_token(rejected=token)
            answer = await self._post_send(token, body)
        _raise_for(answer)

    async def access_token(self) -> str:
        cached = await self._redis.get(self._token_key)
        if cached is not None:
            return cached.decode() if isinstance(cached, bytes) else cached
        return await self.refresh_token(rejected=None)

    async def refresh_token(self, rejected: Optional[str]) -> str:
        """A token other than ``rejected``: from the cache if another caller refreshed it meanwhile."""
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            if await self._redis.set(self._lock_key, owner, nx=True, ex=LOCK_SECONDS):
                try:
                    return await self._refresh_locked(rejected)
                finally:
                    await self._redis.eval(_RELEASE, 1, self._lock_key, owner)
            current = await self._cached_other_than(rejected)
            if current is not None:
                return current
            if time.monotonic() > deadline:
                raise SendFailed("timed out waiting for another access-token refresh")
            await asyncio.sleep(0.05)  # another instance holds the lock; its token lands in Redis

    async def _refresh_locked(self, rejected: Optional[str]) -> str:
        current = await self._cached_other_than(rejected)
        if current is not None:
            return current
        token, expires_in = await self._fetch_token(force=False)
        if token == rejected:  # WeChat still hands out the token it refuses: force a new one
            token, expires_in = await self._fetch_token(force=True)
        await self._redis.set(self._token_key, token,
                              ex=max(expires_in - TOKEN_MARGIN_SECONDS, 60))
        return token

    async def _cached_other_than(self, rejected: Optional[str]) -> Optional[str]:
        cached = await self._redis.get(self._token_key)
        token = cached.decode() if isinstance(cached, bytes) else cached
        return token if token is not None and token != rejected else None

    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        body = {"grant_type": "client_credential", "appid": self._settings.app_id,
                "secret": self._settings.app_secret, "force_refresh": force}
        answer = await self._post(TOKEN_PATH, body, params={})
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            # 40013 invalid appid, 40125 invalid secret, 40164 IP not whitelisted, -1 busy…
            log.error("WeChat refused an access token: %s %s", answer.get("errcode"),
                      answer.get("errmsg"))
            raise SendFailed(f"no access token: {answer.get('errcode')}")
        return token, expires_in

    async def _post_send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(SEND_PATH, body, params={"access_token": token})

    async def _post(self, path: str, body: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        """WeChat's JSON answer; -1 and refused connections are retried a bounded number of times."""
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = await self._http.post(self._base + path, params=params, json=body,
                                                 timeout=self._settings.api_timeout_seconds)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if last:
                    raise SendFailed(f"WeChat API unreachable: {type(error).__name__}") from None
            except httpx.HTTPError as error:
                raise SendFailed(f"WeChat API call failed: {type(error).__name__}") from None
            else:
                answer = _json_answer(response)
                if answer.get("errcode") != BUSY or last:
                    return answer
            await asyncio.sleep(self._backoff * 2 ** attempt)
        raise AssertionError("unreachable")


def _json_answer(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise SendFailed(f"WeChat API answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise SendFailed("WeChat API answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise SendFailed("WeChat API answered something that is not a JSON object")
    return answer


def _raise_for(answer: dict[str, Any]) -> None:
    errcode = answer.get("errcode", 0)
    if errcode == 0:
        return
    errmsg = str(answer.get("errmsg", ""))
    if not isinstance(errcode, int) or errcode in TEMPORARY:
        log.warning("WeChat custom/send failed for now: %s %s", errcode, errmsg)
        raise SendFailed(f"WeChat answered {errcode}")
    raise SendRefused(errcode, errmsg)
