"""The WeChat official-account webhook: ``GET``/``POST /webhooks/wechat``.

GET is the URL check WeChat makes when the server address is saved (echo ``echostr`` once the
signature holds; an encrypted echostr with ``msg_signature`` is decrypted first). POST carries the
customer's messages and events, plaintext or in safe mode (``encrypt_type=aes``). Checks, in order:

| check | answer |
|---|---|
| body over 64 KB | 413 ``payload_too_large`` |
| missing or wrong ``signature``, bad nonce | 403 ``bad_signature`` |
| timestamp not within ``WECHAT_MAX_CLOCK_SKEW_SECONDS`` of now | 403 ``stale_timestamp`` |
| ``encrypt_type`` not the configured mode (safe: ``aes``, else ``raw``) | 400 ``unsupported_encryption`` |
| XML malformed, with a DOCTYPE/entities, or without FromUserName/MsgType | 400 ``malformed_xml`` |
| wrong ``msg_signature``, or not decryptable for this app id | 403 ``bad_signature`` / ``decrypt_failed`` |
| a (timestamp, nonce) already seen with a *different* body | 403 ``replayed`` |
| the router cannot persist the message (Redis down) | 503 ``unavailable``: WeChat retries |

A byte-identical repeat of a callback passes the replay check on purpose: that is WeChat retrying
a callback it got no answer to in 5 s, and it must reach the router, which deduplicates it by
MsgId (events: FromUserName:CreateTime:Event) and may still have a passive answer for it.

Then the message goes to the router (``app.state.conversations``); replies ready within
``WECHAT_PASSIVE_TIMEOUT_SECONDS`` are the passive reply (encrypted in safe mode, with the key the
callback came with), otherwise the answer is ``success`` and the router's consumer delivers them
through ``WeChatSender``. When the passive replies need more than one message, the first goes in
the answer and the rest through ``app.state.wechat_sender`` after it.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse, Response
from redis.exceptions import RedisError
from starlette.datastructures import QueryParams

from channels.messages import DeliveryFailed, Inbound, Reply, RouterUnavailable
from channels.router import seen_key
from channels.wechat.inbound import Mapped, XmlRejected, map_callback, parse_xml
from channels.wechat.ledger import SendQuota, UndeliveredLog
from channels.wechat.render import MenuMemory, passive_text_xml, render_replies
from channels.wechat.security import (
    DecryptError,
    MessageCrypto,
    ReplayGuard,
    encrypted_envelope,
    signature_valid,
    timestamp_fresh,
)
from channels.wechat.sender import WeChatSender
from channels.wechat.settings import WeChatSettings
from service.errors import ApiError
from service.rate_limit import TOO_MANY_TEXT

log = logging.getLogger(__name__)

PREFIX = "/webhooks/wechat"
MAX_BODY_BYTES = 64 * 1024
MAX_ECHOSTR_CHARS = 512
_NONCE = re.compile(r"^[A-Za-z0-9]{1,64}$")


def make_router(settings: WeChatSettings, clock: Callable[[], float] = time.time) -> APIRouter:
    """Mount with ``app.include_router(make_router(settings))`` when ``settings.enabled``."""
    crypto = MessageCrypto(settings.aes_keys, settings.app_id) if settings.safe_mode else None
    router = APIRouter(prefix=PREFIX, tags=["wechat channel"])

    @router.get("", response_class=PlainTextResponse, responses={400: {}, 403: {}},
                summary="WeChat server URL verification (echoes echostr)")
    async def verify_url(request: Request) -> PlainTextResponse:
        return PlainTextResponse(_verified_echo(request.query_params, settings, crypto, clock()))

    @router.post("", responses={400: {}, 403: {}, 413: {}, 503: {}},
                 summary="WeChat message and event callbacks (passive XML reply or success)")
    async def callback(request: Request, background: BackgroundTasks) -> Response:
        body = await _read_body(request)
        now = clock()
        query = request.query_params
        timestamp, nonce = _authenticated(query, settings, now)
        encrypted = _encrypted(query, settings)
        fields, key_index = _open(body, query, settings, crypto, timestamp, nonce, encrypted)
        try:
            mapped = map_callback(fields)
        except XmlRejected:
            raise _malformed() from None
        # Last of the checks, as it is the one that writes: a refused callback leaves no trace.
        await _not_replayed(request.app.state.redis, settings, timestamp, nonce, body)
        answer = _Answer(settings, crypto, key_index, nonce, mapped, now)
        return await _handle(request, background, settings, mapped, answer)

    return router


def _verified_echo(query: QueryParams, settings: WeChatSettings,
                   crypto: Optional[MessageCrypto], now: float) -> str:
    timestamp, nonce = _timestamp_and_nonce(query, settings, now)
    echostr = query.get("echostr", "")
    if not echostr or len(echostr) > MAX_ECHOSTR_CHARS:
        raise ApiError(400, "bad_echostr", "缺少或无效的 echostr")
    msg_signature = query.get("msg_signature")
    if msg_signature is None:
        if not signature_valid(query.get("signature"), settings.token, timestamp, nonce):
            raise _bad_signature()
        return echostr
    if crypto is None:
        raise ApiError(400, "unsupported_encryption", "未配置消息加解密密钥")
    if not signature_valid(msg_signature, settings.token, timestamp, nonce, echostr):
        raise _bad_signature()
    try:
        return crypto.decrypt(echostr)[0]
    except DecryptError:
        raise ApiError(403, "decrypt_failed", "消息解密失败") from None


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _timestamp_and_nonce(query: QueryParams, settings: WeChatSettings, now: float) -> tuple[str, str]:
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not _NONCE.match(nonce):
        raise _bad_signature()
    if not timestamp_fresh(timestamp, now, settings.max_clock_skew_seconds):
        raise ApiError(403, "stale_timestamp", "请求时间戳无效或已过期")
    return timestamp, nonce


def _authenticated(query: QueryParams, settings: WeChatSettings, now: float) -> tuple[str, str]:
    timestamp, nonce = _timestamp_and_nonce(query, settings, now)
    # WeChat signs every callback this way, in safe mode too (msg_signature comes on top).
    if not signature_valid(query.get("signature"), settings.token, timestamp, nonce):
        raise _bad_signature()
    return timestamp, nonce


def _encrypted(query: QueryParams, settings: WeChatSettings) -> bool:
    """Safe mode takes only encrypted callbacks: a plaintext body is not covered by the signature."""
    kind = query.get("encrypt_type", "raw")
    if kind not in ("raw", "aes") or (kind == "aes") != settings.safe_mode:
        raise ApiError(400, "unsupported_encryption", "不支持的消息加密方式")
    return kind == "aes"


async def _not_replayed(redis: Any, settings: WeChatSettings, timestamp: str, nonce: str,
                        body: bytes) -> None:
    guard = ReplayGuard(redis, settings.redis_prefix, settings.max_clock_skew_seconds)
    try:
        fresh = await guard.first_or_same(timestamp, nonce, body)
    except RedisError:
        log.exception("Redis unavailable for the WeChat replay check")
        raise _unavailable() from None
    if not fresh:
        raise ApiError(403, "replayed", "重复的请求签名")


def _open(body: bytes, query: QueryParams, settings: WeChatSettings, crypto: Optional[MessageCrypto],
          timestamp: str, nonce: str, encrypted: bool) -> tuple[dict[str, str], Optional[int]]:
    """The callback's fields, and the index of the key that decrypted them (None: plaintext)."""
    try:
        outer = parse_xml(body)
    except XmlRejected:
        raise _malformed() from None
    if not encrypted or crypto is None:
        return outer, None
    payload = outer.get("Encrypt", "").strip()
    if not payload:
        raise _malformed()
    if not signature_valid(query.get("msg_signature"), settings.token, timestamp, nonce, payload):
        raise _bad_signature()
    try:
        plain, key_index = crypto.decrypt(payload)
        return parse_xml(plain.encode("utf-8")), key_index
    except DecryptError:
        raise ApiError(403, "decrypt_failed", "消息解密失败") from None
    except XmlRejected:
        raise _malformed() from None


@dataclass(frozen=True)
class _Answer:
    """Builds the HTTP answer to one callback: a passive text reply, or ``success``."""

    settings: WeChatSettings
    crypto: Optional[MessageCrypto]
    key_index: Optional[int]
    nonce: str
    mapped: Mapped
    now: float

    def text(self, content: str) -> Response:
        xml = passive_text_xml(self.mapped.openid, self.mapped.account, content, self.now)
        if self.crypto is not None and self.key_index is not None:
            xml = encrypted_envelope(self.crypto, self.settings.token, xml, self.nonce,
                                     str(int(self.now)), self.key_index)
        return Response(xml, media_type="application/xml")

    @staticmethod
    def success() -> Response:
        # WeChat's documented "received, no passive reply" answer: no retry, no error shown.
        return PlainTextResponse("success")


async def _handle(request: Request, background: BackgroundTasks, settings: WeChatSettings,
                  mapped: Mapped, answer: _Answer) -> Response:
    state = request.app.state
    prefix = settings.redis_prefix
    if mapped.forget:
        await _quietly(_forget(state.redis, prefix, mapped.openid), "forget an unfollower")
        return answer.success()
    if mapped.inbound is None:
        return answer.text(mapped.reply) if mapped.reply else answer.success()
    try:  # WeChat's re-push of a message accepted before is not counted again
        await state.rate_limiter.check_customer(mapped.inbound.conversation_id,
                                                seen_key(mapped.inbound.dedupe_key))
    except ApiError:  # WeChat shows no status codes and would only retry: tell the customer
        return answer.text(TOO_MANY_TEXT)
    menu = MenuMemory(state.redis, prefix)
    try:
        inbound = await _with_menu_choice(menu, mapped.inbound)
        submitted = await state.conversations.submit(inbound)
    except (RouterUnavailable, RedisError):
        log.warning("WeChat message %s not accepted: router unavailable", mapped.inbound.dedupe_key)
        raise _unavailable() from None
    if not submitted.duplicate and mapped.allowance is not None:
        await _quietly(SendQuota(state.redis, prefix).grant(mapped.openid, mapped.allowance),
                       "record the send allowance")
    if mapped.reply is not None:  # the fixed welcome: the customer is not kept waiting for the bot
        return answer.text(mapped.reply)
    try:
        replies = await state.conversations.wait_replies(inbound, settings.passive_timeout_seconds)
    except RouterUnavailable:
        replies = None  # the message is persisted; the consumer will deliver its replies
    pieces = await _render(menu, mapped.openid, replies or [])
    if not pieces:
        return answer.success()
    if len(pieces) > 1:
        background.add_task(_send_rest, state, settings.redis_prefix, inbound, pieces)
    return answer.text(pieces[0])


async def _with_menu_choice(menu: MenuMemory, inbound: Inbound) -> Inbound:
    """Read a reply like "1" to a numbered menu as that button's payload."""
    if inbound.kind != "text":
        return inbound
    payload = await menu.resolve(inbound.external_id, inbound.text)
    if payload is None:
        return inbound
    return dataclasses.replace(inbound, text=payload, extra={**inbound.extra, "menu_choice": inbound.text})


async def _render(menu: MenuMemory, openid: str, replies: list[Reply]) -> list[str]:
    if not replies:
        return []
    try:
        return await menu.render(openid, replies)
    except RedisError:
        # The replies are already taken from the router: answer them even if "1" will not work.
        log.exception("Redis unavailable to remember a WeChat menu")
        return render_replies(replies).pieces


async def _send_rest(state: Any, prefix: str, inbound: Inbound, pieces: list[str]) -> None:
    """After a passive reply: the pieces that did not fit in it, as customer-service messages."""
    sender: Optional[WeChatSender] = getattr(state, "wechat_sender", None)
    try:
        if sender is None:
            raise DeliveryFailed("app.state.wechat_sender is not set")
        await sender.send_pieces(inbound, pieces, already_sent=1)
    except (DeliveryFailed, RedisError) as error:
        log.error("WeChat follow-up messages to %s failed: %s", inbound.external_id, error)
        undelivered = UndeliveredLog(state.redis, prefix)
        # Pieces a failed try already sent may be in the record too; better twice than lost.
        record = undelivered.record(inbound.external_id, "send_failed", "\n\n".join(pieces[1:]),
                                    inbound.message_id)
        await _quietly(record, "record undelivered follow-ups")


async def _forget(redis: Any, prefix: str, openid: str) -> None:
    await MenuMemory(redis, prefix).forget(openid)
    await SendQuota(redis, prefix).close(openid)


async def _quietly(operation: Any, what: str) -> None:
    """Bookkeeping that must not turn an accepted message into an error answer."""
    try:
        await operation
    except RedisError:
        log.exception("Redis unavailable to %s", what)


def _bad_signature() -> ApiError:
    return ApiError(403, "bad_signature", "签名校验失败")


def _malformed() -> ApiError:
    return ApiError(400, "malformed_xml", "消息格式不正确")


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", "消息内容太长了")


def _unavailable() -> ApiError:
    return ApiError(503, "unavailable", "服务暂时不可用，请稍后重试")
