"""``WeChatSender``: the router's ``Sender`` for WeChat, over the customer-service message API.

A delivery renders the replies into as few text messages as fit (see ``render``), then sends them
in order, each counted against the customer's allowance (see ``ledger``). What cannot be sent for
good (window closed, allowance spent, customer gone, content refused) is recorded in the
undelivered list and the delivery returns normally; a temporary failure raises ``DeliveryFailed``
so the router retries. Pieces already sent are remembered per message, so that retry does not
send them twice.
"""
from __future__ import annotations

import hashlib
import logging

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.messages import DeliveryFailed, Inbound, Reply
from channels.wechat.api import SendFailed, SendRefused, WeChatApi
from channels.wechat.ledger import SendQuota, UndeliveredLog
from channels.wechat.render import MenuMemory
from channels.wechat.settings import WeChatSettings

log = logging.getLogger(__name__)

PROGRESS_TTL_SECONDS = 48 * 3600
REASONS = {45015: "window_closed", 45047: "quota_exhausted", 43004: "unsubscribed",
           40003: "invalid_openid", 45002: "content_too_long"}


class WeChatSender:
    def __init__(self, api: WeChatApi, redis: Redis, prefix: str) -> None:
        self._api = api
        self._redis = redis
        self._prefix = prefix
        self.menu = MenuMemory(redis, prefix)
        self.quota = SendQuota(redis, prefix)
        self.undelivered = UndeliveredLog(redis, prefix)

    async def deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        if inbound.extra.get("answered_by_channel"):
            # The webhook answered this itself (the fixed welcome); a second greeting is noise.
            log.debug("not sending bot replies to %s: answered by the channel", inbound.dedupe_key)
            return
        try:
            pieces = await self.menu.render(inbound.external_id, replies)
            await self.send_pieces(inbound, pieces)
        except RedisError as error:
            raise DeliveryFailed(f"Redis unavailable: {type(error).__name__}") from None

    async def send_pieces(self, inbound: Inbound, pieces: list[str], already_sent: int = 0) -> None:
        """Send ``pieces[already_sent:]`` and any piece a failed earlier try did not get to."""
        openid = inbound.external_id
        progress_key = self._progress_key(inbound, pieces)
        done = max(already_sent, int(await self._redis.get(progress_key) or 0))
        for index in range(done, len(pieces)):
            if not await self.quota.take(openid):
                await self._give_up(inbound, pieces[index:], "quota_exhausted", None, progress_key)
                return
            try:
                await self._api.send_text(openid, pieces[index])
            except SendRefused as refused:
                await self._after_refusal(openid, refused.errcode)
                reason = REASONS.get(refused.errcode, "refused")
                await self._give_up(inbound, pieces[index:], reason, refused.errcode, progress_key)
                return
            except SendFailed as failed:
                await self.quota.give_back(openid)
                raise DeliveryFailed(str(failed)) from None
            await self._redis.set(progress_key, index + 1, ex=PROGRESS_TTL_SECONDS)

    async def _after_refusal(self, openid: str, errcode: int) -> None:
        if errcode == 45047:
            await self.quota.spend_all(openid)
        elif errcode in (45015, 43004):
            await self.quota.close(openid)
        else:  # refused for its content or address: the allowance was not used
            await self.quota.give_back(openid)

    async def _give_up(self, inbound: Inbound, unsent: list[str], reason: str,
                       errcode: int | None, progress_key: str) -> None:
        log.warning("WeChat message to %s not delivered: %s", inbound.external_id, reason)
        await self.undelivered.record(inbound.external_id, reason, "\n\n".join(unsent),
                                      inbound.message_id, errcode)
        await self._redis.set(progress_key, 1_000_000, ex=PROGRESS_TTL_SECONDS)

    def _progress_key(self, inbound: Inbound, pieces: list[str]) -> str:
        # Per message *and* content: other replies to the same message are another delivery.
        digest = hashlib.sha256("\x00".join([inbound.dedupe_key, *pieces]).encode("utf-8"))
        return f"{self._prefix}sent:{digest.hexdigest()[:32]}"


def build_sender(settings: WeChatSettings, redis: Redis, http_client: httpx.AsyncClient) -> WeChatSender:
    """The sender the router's consumers call for ``channel == "wechat"`` (build once at startup)."""
    return WeChatSender(WeChatApi(http_client, redis, settings), redis, settings.redis_prefix)
