"""The app / web channel: REST and WebSocket API for the shop's own app and web chat.

Every request names the customer through a token (``Authorization: Bearer <token>`` on REST,
``?token=`` on the WebSocket, since browsers cannot set headers there) and each message carries a
client message id, so a client may safely retry: a retry never reaches the bot twice.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Depends, Header, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError, field_validator

from channels import app_auth
from channels.rasa_client import BotUnavailable
from channels.router import ConversationRouter, Inbound, MessageInProgress
from service.errors import ApiError, error_body
from service.settings import Settings

CHANNEL = "app"
MAX_WS_FRAME_CHARS = 16_384
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

router = APIRouter(prefix="/api/app", tags=["app channel"])


class AppMessageIn(BaseModel):
    client_message_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                   description="Unique per message; a retry reuses it.")
    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _clean(cls, text: str) -> str:
        cleaned = _CONTROL_CHARS.sub("", text).strip()
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


@router.post("/messages", response_model=AppMessageOut,
             responses={401: {}, 409: {}, 422: {}, 503: {}},
             summary="Send a customer message and get the bot's replies")
async def post_message(message: AppMessageIn, customer_id: Customer,
                       conversations: Router) -> dict[str, Any]:
    return await _handle(conversations, customer_id, message)


@router.get("/messages", response_model=list[HistoryItem],
            summary="The customer's conversation so far (oldest first)")
async def get_history(customer_id: Customer, conversations: Router) -> list[dict[str, Any]]:
    history = await conversations.history(f"{CHANNEL}:{customer_id}")
    return [{"direction": item.direction, "text": item.text,
             "buttons": (item.payload or {}).get("buttons", []),
             "created_at": item.created_at} for item in history]


@router.websocket("/ws")
async def websocket_chat(websocket: WebSocket, token: str = "") -> None:
    """Frames in: ``{"type": "message", "client_message_id", "text"}``.
    Frames out: ``{"type": "replies", ...AppMessageOut}`` or ``{"type": "error", "error": {...}}``."""
    settings: Settings = websocket.app.state.settings
    customer_id = app_auth.verify(token, settings.app_token_secret)
    if customer_id is None:
        await websocket.close(code=4401, reason="unauthorized")
        return
    await websocket.accept()
    conversations = websocket.app.state.conversations
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        frame = message.get("text")
        if frame is None:  # a binary frame: answer it, do not let it end the session
            answer = {"type": "error", **error_body("invalid_request", "消息格式不正确")}
        else:
            answer = await _answer_frame(conversations, customer_id, frame)
        try:
            await websocket.send_json(answer)
        except WebSocketDisconnect:
            return


async def _answer_frame(conversations: ConversationRouter, customer_id: str,
                        frame: str) -> dict[str, Any]:
    if len(frame) > MAX_WS_FRAME_CHARS:
        return {"type": "error", **error_body("payload_too_large", "消息内容太长了")}
    try:
        data = json.loads(frame)
        if not isinstance(data, dict) or data.get("type") != "message":
            raise ValueError("not a message frame")
        message = AppMessageIn.model_validate(data)
    except (ValueError, ValidationError):
        return {"type": "error", **error_body("invalid_request", "消息格式不正确")}
    try:
        return {"type": "replies", **await _handle(conversations, customer_id, message)}
    except ApiError as error:
        return {"type": "error", "client_message_id": message.client_message_id,
                **error_body(error.code, error.message)}


async def _handle(conversations: ConversationRouter, customer_id: str,
                  message: AppMessageIn) -> dict[str, Any]:
    inbound = Inbound(CHANNEL, customer_id, message.client_message_id, message.text)
    try:
        return (await conversations.handle(inbound)).as_json()
    except MessageInProgress:
        raise ApiError(409, "in_progress", "这条消息正在处理中，请稍候") from None
    except BotUnavailable:
        raise ApiError(503, "bot_unavailable", "小售暂时无法回复，请稍后重试") from None
