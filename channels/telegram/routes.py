"""The Telegram webhook: ``POST /webhooks/telegram``.

Telegram retries an update until it gets a 2xx, so the answer means: 200 once the update is
persisted by the router (or deliberately ignored, or a duplicate), 503 when it could not be
persisted (Telegram retries), 4xx for what no retry can fix. Replies go out later through
``TelegramSender.deliver``; the webhook answers with an empty body (a JSON body with "method"
would be executed by Telegram as a Bot API call).

PTB is used for ``Bot`` (see sender.py) but not for its ``Application``: the update must be
persisted before the 200, and ``Application.update_queue`` would only hold it in memory.
"""
from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from channels.messages import ConversationSubmitter, Inbound, RouterUnavailable
from channels.router import seen_key
from channels.telegram.inbound import ButtonPress, Ignored, InvalidUpdate, parse_update, route
from channels.telegram.sender import TelegramSender
from service.errors import ApiError, error_body

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # updates are a few KB; this is generous
EXPIRED_BUTTON_TEXT = "这个按钮已失效，请直接输入您的问题"
ERROR_MESSAGES = {"invalid_json": "请求体不是有效的 JSON",
                  "invalid_update": "请求体不是有效的 Telegram 更新"}

router = APIRouter(tags=["telegram channel"])


@router.post(WEBHOOK_PATH, status_code=200, response_class=Response,
             responses={400: {}, 403: {}, 404: {}, 413: {}, 429: {}, 503: {}},
             summary="Receive a Telegram update (setWebhook with secret_token)")
async def receive_update(request: Request) -> Response:
    channel = _channel(request)
    _check_secret(request, channel)
    body = await _read_body(request)
    try:
        routed = route(parse_update(body))
    except InvalidUpdate as error:
        return JSONResponse(error_body(error.code, ERROR_MESSAGES[error.code],
                                       details=error.details), status_code=400)
    if isinstance(routed, Ignored):
        log.info("telegram update %s ignored: %s", routed.update_id, routed.reason)
        return Response(status_code=200)
    # Over the customer's limit: 429 with Retry-After, and Telegram delivers the update again.
    # A redelivery of an update accepted before is not counted again.
    await request.app.state.rate_limiter.check_customer(routed.conversation_id,
                                                        seen_key(routed.dedupe_key))
    if isinstance(routed, ButtonPress):
        await _press_button(request.app.state.conversations, channel, routed)
    else:
        await _submit(request.app.state.conversations, routed)
    return Response(status_code=200)


def _channel(request: Request) -> TelegramSender:
    channel = getattr(request.app.state, "telegram", None)
    if channel is None:
        raise ApiError(404, "http_404", "找不到这个地址")
    return channel


def _check_secret(request: Request, channel: TelegramSender) -> None:
    expected = channel.settings.webhook_secret.get_secret_value().encode()
    given = request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
    if not hmac.compare_digest(given, expected):
        raise ApiError(403, "forbidden", "身份校验失败")


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) past the limit before more of it is read."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_UPDATE_BYTES):
        raise ApiError(413, "payload_too_large", "消息内容太长了")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPDATE_BYTES:
            raise ApiError(413, "payload_too_large", "消息内容太长了")
    return bytes(body)


async def _press_button(submitter: ConversationSubmitter, channel: TelegramSender,
                        press: ButtonPress) -> None:
    try:
        button = await channel.buttons.resolve(press.chat_id, press.key)
    except RedisError as error:
        raise _unavailable(press.update_id, error) from None
    if button is None:  # expired, or not a key of ours
        await channel.answer_callback(press.callback_query_id, EXPIRED_BUTTON_TEXT)
        return
    if await _submit(submitter, press.inbound(button.payload, button.title)):
        await channel.answer_callback(press.callback_query_id)


async def _submit(submitter: ConversationSubmitter, inbound: Inbound) -> bool:
    """True when the message is new; a duplicate (Telegram's retry) changes nothing."""
    try:
        submitted = await submitter.submit(inbound)
    except RouterUnavailable as error:
        raise _unavailable(inbound.message_id, error) from None
    return not submitted.duplicate


def _unavailable(update_id: object, error: Exception) -> ApiError:
    """503: Telegram retries the update later."""
    log.warning("telegram update %s not accepted: %s", update_id, error)
    return ApiError(503, "unavailable", "服务暂时不可用，请稍后重试")
