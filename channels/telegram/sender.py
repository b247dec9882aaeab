"""Deliver the router's replies to a Telegram chat through PTB's ``Bot``.

Failures, and what the router learns from them:

- ``RetryAfter`` (429 flood control): a wait of at most ``max_retry_after_wait_seconds`` is
  waited out here and the message retried (Telegram asks every caller to wait anyway);
  a longer one raises ``DeliveryFailed`` and the router retries the entry later.
- network errors, timeouts, 5xx, a rejected token: ``DeliveryFailed`` (worth retrying; a
  rejected token is an operator's problem and ends in the router's dead letters, not lost).
- ``Forbidden`` (the customer blocked the bot) and ``BadRequest`` (chat not found, or a message
  Telegram refuses): final, since sending again gives the same answer. The unsent texts are
  recorded in the Redis list ``xs:telegram:undelivered`` and ``deliver`` returns.

A delivery of several messages remembers how many went out, so the router's retry after a
failure half-way does not send the first ones twice.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

from redis.asyncio import Redis
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from channels.messages import DeliveryFailed, Inbound, Reply
from channels.telegram.buttons import ButtonStore
from channels.telegram.render import Outgoing, render
from channels.telegram.settings import TelegramSettings

log = logging.getLogger(__name__)

UNDELIVERED_KEY = "xs:telegram:undelivered"
PROGRESS_PREFIX = "xs:telegram:sent:"
PROGRESS_TTL_SECONDS = 24 * 3600  # as long as the router may retry a delivery
MAX_RETRY_AFTER_WAITS = 2


class TelegramSender:
    """The ``Sender`` for channel "telegram"; also answers callback queries for the webhook."""

    def __init__(self, settings: TelegramSettings, bot: Bot, requests: tuple[HTTPXRequest, ...],
                 redis: Redis) -> None:
        self.settings = settings
        self.bot = bot
        self.redis = redis
        self.buttons = ButtonStore(redis, settings.button_ttl_seconds)
        self._requests = requests

    async def start(self) -> None:
        """Open the HTTP clients (no call to Telegram, so startup does not depend on it)."""
        for request in self._requests:
            await request.initialize()

    async def aclose(self) -> None:
        for request in self._requests:
            await request.shutdown()

    async def deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        chat_id = int(inbound.external_id)
        messages = await render(replies, chat_id, self.buttons)
        progress = _progress_key(inbound, replies)
        done = int(await self.redis.get(progress) or 0)
        for index in range(done, len(messages)):
            try:
                await self._send(chat_id, messages[index])
            except (Forbidden, BadRequest) as error:
                await self._record_undelivered(inbound, messages[index:], error)
                # Settled: a rerun of this delivery must not record it again.
                await self.redis.set(progress, len(messages), ex=PROGRESS_TTL_SECONDS)
                return
            except TelegramError as error:
                raise DeliveryFailed(f"telegram: {type(error).__name__}: {error}") from error
            await self.redis.set(progress, index + 1, ex=PROGRESS_TTL_SECONDS)

    async def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        """Stop the button's spinner. Cosmetic: a failure is logged, never raised."""
        try:
            await self.bot.answer_callback_query(callback_query_id, text=text)
        except TelegramError as error:
            log.warning("answerCallbackQuery failed: %s: %s", type(error).__name__, error)

    async def _send(self, chat_id: int, message: Outgoing) -> None:
        for attempt in range(MAX_RETRY_AFTER_WAITS + 1):
            try:
                await self.bot.send_message(chat_id, message.text, reply_markup=message.keyboard)
                return
            except RetryAfter as error:
                wait = _seconds(error)
                if wait > self.settings.max_retry_after_wait_seconds or \
                        attempt == MAX_RETRY_AFTER_WAITS:
                    raise DeliveryFailed(f"telegram: rate limited for {wait:.0f}s") from error
                log.info("telegram asks to wait %.0fs before sending to %s", wait, chat_id)
                await asyncio.sleep(wait)

    async def _record_undelivered(self, inbound: Inbound, unsent: list[Outgoing],
                                  error: TelegramError) -> None:
        log.warning("telegram: giving up on %s: %s", inbound.conversation_id, error)
        record = {"conversation_id": inbound.conversation_id, "message_id": inbound.message_id,
                  "chat_id": inbound.external_id,
                  "reason": "forbidden" if isinstance(error, Forbidden) else "bad_request",
                  "description": str(error), "texts": [message.text for message in unsent],
                  "at": datetime.now(timezone.utc).isoformat()}
        await self.redis.rpush(UNDELIVERED_KEY, json.dumps(record, ensure_ascii=False))


def build_sender(settings: TelegramSettings, redis: Redis) -> TelegramSender:
    """The channel's sender; call ``await sender.start()`` at startup, ``aclose()`` at shutdown."""
    timeout = settings.request_timeout_seconds
    # Our own request objects (not Bot.initialize, which calls getMe) so that a Telegram
    # outage cannot stop the service from starting, and every call has a timeout.
    request = HTTPXRequest(connection_pool_size=64, read_timeout=timeout, write_timeout=timeout,
                           connect_timeout=timeout, pool_timeout=timeout)
    updates_request = HTTPXRequest(connection_pool_size=1, read_timeout=timeout,
                                   connect_timeout=timeout)
    bot = Bot(settings.bot_token.get_secret_value(), base_url=settings.api_base_url,
              request=request, get_updates_request=updates_request)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return TelegramSender(settings, bot, (request, updates_request), redis)


def _progress_key(inbound: Inbound, replies: list[Reply]) -> str:
    # Keyed by the replies too: other replies to the same message are a new delivery.
    digest = hashlib.sha256(json.dumps(replies, sort_keys=True, ensure_ascii=False,
                                       default=str).encode()).hexdigest()[:16]
    return f"{PROGRESS_PREFIX}{inbound.dedupe_key}:{digest}"


def _seconds(error: RetryAfter) -> float:
    # PTB 22 gives an int with a deprecation warning, or a timedelta (its future type).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
