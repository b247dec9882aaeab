"""The app / web channel: REST and WebSocket API for the shop's own app and web chat.

Every request names the customer through a token (``Authorization: Bearer <token>`` on REST,
``?token=`` on the WebSocket, since browsers cannot set headers there) and each message carries a
client message id, so a client may safely retry: a retry never reaches the bot twice.

A message is answered in the same HTTP answer (or WebSocket frame) when the bot replies within
``BOT_TIMEOUT_SECONDS``; otherwise the replies land in the customer's outbox
(``channels.app_outbox``), which the WebSocket forwards and ``GET /api/app/outbox`` returns.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Depends, Header, Query, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError, field_validator

from channels import app_auth
from channels.app_outbox import AppSender, outbox_key, read_outbox
from channels.messages import Inbound, RouterUnavailable, strip_control_chars
from channels.router import ConversationRouter, seen_key
from service.errors import ApiError, error_body
from service.rate_limit import RateLimiter
from service.settings import Settings

CHANNEL = "app"
log = logging.getLogger(__name__)
MAX_WS_FRAME_CHARS = 16_384

router = APIRouter(prefix="/api/app", tags=["app channel"])


class AppMessageIn(BaseModel):
    client_message_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                   description="Unique per message; a retry reuses it.")
    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _clean(cls, text: str) -> str:
        cleaned = strip_control_chars(text).strip()
        if not cleaned:
            raise ValueError("text is empty")
        return cleaned


class ButtonOut(BaseModel):
    title: str
    payload: str


class ReplyOut(BaseModel):
    text: str
    buttons: list[ButtonOut] = []
    image: Optional[str] = None


class AppMessageOut(BaseModel):
    conversation_id: str
    client_message_id: str
    duplicate: bool = Field(description="True when this answers a retry of an earlier request.")
    pending: bool = Field(default=False, description="True (HTTP 202) when the replies were not "
                          "ready in time: they will be in the outbox (WebSocket or GET /outbox).")
    replies: list[ReplyOut]


class OutboxFrame(BaseModel):
    type: str = "replies"
    outbox_id: str = Field(description="pass the last one seen as `since` to get only newer ones")
    client_message_id: str
    duplicate: bool = False
    replies: list[ReplyOut]


class HistoryItem(BaseModel):
    direction: str
    text: str
    buttons: list[ButtonOut] = []
    created_at: datetime


def conversation_router(request: Request) -> ConversationRouter:
    return request.app.state.conversations


def current_customer(request: Request, authorization: Annotated[str, Header()] = "") -> str:
    settings: Settings = request.app.state.settings
    scheme, _, token = authorization.partition(" ")
    customer_id = app_auth.verify(token, settings.app_token_secret) if scheme == "Bearer" else None
    if customer_id is None:
        raise ApiError(401, "unauthorized", "登录已失效，请重新登录后再发送消息",
                       headers={"WWW-Authenticate": "Bearer"})
    return customer_id


Customer = Annotated[str, Depends(current_customer)]
Router = Annotated[ConversationRouter, Depends(conversation_router)]
Since = Annotated[str, Query(pattern=r"^\d{1,20}-\d{1,20}$", description="an outbox_id")]


@router.post("/messages", response_model=AppMessageOut,
             responses={202: {"model": AppMessageOut}, 401: {}, 422: {}, 429: {}, 503: {}},
             summary="Send a customer message and get the bot's replies")
async def post_message(message: AppMessageIn, customer_id: Customer, conversations: Router,
                       request: Request, response: Response) -> dict[str, Any]:
    inbound = _inbound(customer_id, message)
    await _check_rate(request.app.state.rate_limiter, inbound)
    answer = await _handle(conversations, inbound, request.app.state.settings.bot_timeout_seconds)
    if answer["pending"]:
        response.status_code = 202
    return answer


@router.get("/messages", response_model=list[HistoryItem],
            summary="The customer's conversation so far (oldest first)")
async def get_history(customer_id: Customer, conversations: Router) -> list[dict[str, Any]]:
    history = await conversations.history(f"{CHANNEL}:{customer_id}")
    return [{"direction": item.direction, "text": item.text,
             "buttons": (item.payload or {}).get("buttons", []),
             "created_at": item.created_at} for item in history]


@router.get("/outbox", response_model=list[OutboxFrame],
            summary="Replies that did not come back in an answer, after `since` (oldest first)")
async def get_outbox(customer_id: Customer, conversations: Router,
                     since: Since = "0-0") -> list[dict[str, Any]]:
    return await read_outbox(conversations.redis, customer_id, since)


@router.websocket("/ws")
async def websocket_chat(websocket: WebSocket, token: str = "", since: str = "") -> None:
    """Frames in: ``{"type": "message", "client_message_id", "text"}``. Frames out:
    ``{"type": "replies", ...AppMessageOut}`` (with ``outbox_id`` when it comes from the outbox)
    or ``{"type": "error", "error": {...}}``. Reconnect with ``?since=<last outbox_id>``."""
    settings: Settings = websocket.app.state.settings
    customer_id = app_auth.verify(token, settings.app_token_secret)
    if customer_id is None or (since and not _OUTBOX_ID.match(since)):
        await websocket.close(code=4401 if customer_id is None else 4400, reason="refused")
        return
    await websocket.accept()
    session = _Session(websocket, customer_id, settings.bot_timeout_seconds)
    await session.run(since or await _latest_outbox_id(session.conversations.redis, customer_id))


_OUTBOX_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class _Session:
    """One WebSocket: customer frames in, and the customer's outbox forwarded out."""

    def __init__(self, websocket: WebSocket, customer_id: str, timeout: float) -> None:
        self.websocket = websocket
        self.customer_id = customer_id
        self.timeout = timeout
        self.conversations: ConversationRouter = websocket.app.state.conversations
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, since: str) -> None:
        forward = asyncio.create_task(self._forward_outbox(since))
        try:
            await self._receive()
        finally:
            forward.cancel()
            for task in self._tasks:
                task.cancel()

    async def _receive(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("text")
            if frame is None:  # a binary frame: answer it, do not let it end the session
                await self._send({"type": "error", **error_body("invalid_request", "消息格式不正确")})
                continue
            task = asyncio.create_task(self._answer(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, frame: str) -> None:
        parsed = _parse_frame(frame)
        if isinstance(parsed, dict):
            await self._send(parsed)
            return
        inbound = _inbound(self.customer_id, parsed)
        try:
            await _check_rate(self.websocket.app.state.rate_limiter, inbound)
            answer = await _handle(self.conversations, inbound, self.timeout)
        except ApiError as error:
            await self._send({"type": "error", "client_message_id": parsed.client_message_id,
                              **error_body(error.code, error.message)})
            return
        if answer["pending"]:
            return  # the replies will come through the outbox
        if not await self._send({"type": "replies", **answer}):
            # Taken for this socket but it closed: keep them for the next connection.
            await AppSender(self.conversations.redis).deliver(inbound, answer["replies"])

    async def _forward_outbox(self, since: str) -> None:
        while True:
            frames = await read_outbox(self.conversations.redis, self.customer_id, since, 5000)
            for frame in frames:
                if not await self._send(frame):
                    return
                since = frame["outbox_id"]

    async def _send(self, frame: dict[str, Any]) -> bool:
        async with self._send_lock:
            try:
                await self.websocket.send_json(frame)
                return True
            except (WebSocketDisconnect, RuntimeError):
                return False


async def _latest_outbox_id(redis: Any, customer_id: str) -> str:
    latest = await redis.xrevrange(outbox_key(customer_id), count=1)
    return latest[0][0].decode() if latest else "0-0"


def _parse_frame(frame: str) -> AppMessageIn | dict[str, Any]:
    """The message in a frame, or the error frame to answer with."""
    if len(frame) > MAX_WS_FRAME_CHARS:
        return {"type": "error", **error_body("payload_too_large", "消息内容太长了")}
    try:
        data = json.loads(frame)
        if not isinstance(data, dict) or data.get("type") != "message":
            raise ValueError("not a message frame")
        return AppMessageIn.model_validate(data)
    except (ValueError, ValidationError):
        return {"type": "error", **error_body("invalid_request", "消息格式不正确")}


def _inbound(customer_id: str, message: AppMessageIn) -> Inbound:
    return Inbound(CHANNEL, customer_id, message.client_message_id, message.text,
                   customer_id=customer_id)


async def _check_rate(limiter: RateLimiter, inbound: Inbound) -> None:
    # The app resends a message whose answer it lost: that retry is not counted again.
    await limiter.check_customer(inbound.conversation_id, seen_key(inbound.dedupe_key))


async def _handle(conversations: ConversationRouter, inbound: Inbound,
                  timeout: float) -> dict[str, Any]:
    try:
        submitted = await conversations.submit(inbound)
        replies = await conversations.wait_replies(inbound, timeout)
    except RouterUnavailable as error:
        log.warning("app message from %s not accepted: %s", inbound.customer_id, error)
        raise ApiError(503, "busy", "系统繁忙，消息没有发出，请稍后重试") from None
    return {"conversation_id": inbound.conversation_id,
            "client_message_id": inbound.message_id, "duplicate": submitted.duplicate,
            "pending": replies is None, "replies": replies or []}
