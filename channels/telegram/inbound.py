"""Telegram updates in: parse strictly what we read, map each update to what the router gets.

Only the fields the channel reads are declared (and type-checked, strictly); anything else in an
update is ignored, so Telegram's older hand-written examples and future fields both parse.
Malformed input raises ``InvalidUpdate`` with a reason the webhook can answer with.

What becomes a customer message (private chats only; groups and channels are not a customer
service surface, so their updates are ignored without a word rather than spammed with notes):

- text: as typed; ``/start`` (first contact, or a deep link) becomes ``/greet``, as an event;
- media: the caption when there is one, otherwise a placeholder such as ``[图片]``, with the
  file id in ``extra``. Photos matter here (the quality flow asks for them), so they reach the
  router and the transcript instead of being answered "not supported" at the door;
- a tap on an inline keyboard button: a ``ButtonPress`` whose short key the webhook resolves to
  the stored payload (see ``buttons.py``).

Edited messages, channel posts, inline queries and every other update type are ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.messages import Inbound, strip_control_chars

CHANNEL = "telegram"
MAX_TEXT_CHARS = 4096  # Telegram's own limit for a message text
_START_COMMAND = re.compile(r"/start(@\w+)?(\s.*)?", re.DOTALL)

# Telegram ids fit in 52 bits (Bot API docs); anything larger is not from Telegram.
TelegramId = Annotated[int, Field(gt=-(2**53), lt=2**53)]

# Message field -> (kind, placeholder text when there is no caption), first match wins.
MEDIA_KINDS: tuple[tuple[str, str, str], ...] = (
    ("photo", "image", "[图片]"),
    ("video", "video", "[视频]"),
    ("video_note", "video", "[视频]"),
    ("animation", "video", "[动图]"),
    ("voice", "voice", "[语音]"),
    ("audio", "audio", "[音频]"),
    ("document", "file", "[文件]"),
    ("sticker", "sticker", "[表情]"),
    ("location", "location", "[位置]"),
    ("contact", "contact", "[名片]"),
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class User(_Model):
    id: TelegramId


class Chat(_Model):
    id: TelegramId
    type: Optional[str] = None

    @property
    def is_private(self) -> bool:
        # Telegram's oldest example omits "type"; user (private) chat ids are positive.
        return self.type == "private" if self.type is not None else self.id > 0


class File(_Model):
    file_id: str = Field(min_length=1, max_length=512)
    file_name: Optional[str] = None


class Sticker(File):
    emoji: Optional[str] = None


class Message(_Model):
    message_id: int
    chat: Chat
    sender: Optional[User] = Field(default=None, alias="from")
    text: Optional[str] = None
    caption: Optional[str] = None
    photo: Optional[list[File]] = None  # sizes, smallest first
    video: Optional[File] = None
    video_note: Optional[File] = None
    animation: Optional[File] = None
    voice: Optional[File] = None
    audio: Optional[File] = None
    document: Optional[File] = None
    sticker: Optional[Sticker] = None
    location: Optional[dict[str, Any]] = None
    contact: Optional[dict[str, Any]] = None


class ButtonMessage(_Model):
    """The message a button was on; it may be "inaccessible" (only chat and id remain)."""
    message_id: int
    chat: Chat


class CallbackQuery(_Model):
    id: str = Field(min_length=1, max_length=256)
    sender: User = Field(alias="from")
    message: Optional[ButtonMessage] = None
    data: Optional[str] = None


class Update(_Model):
    update_id: Annotated[int, Field(ge=0, lt=2**53)]
    message: Optional[Message] = None
    callback_query: Optional[CallbackQuery] = None


class InvalidUpdate(Exception):
    """The body is not JSON, or not a Telegram Update; ``details`` says where."""

    def __init__(self, code: str, details: list[dict[str, Any]]) -> None:
        super().__init__(code)
        self.code, self.details = code, details


@dataclass(frozen=True)
class Ignored:
    update_id: int
    reason: str


@dataclass(frozen=True)
class ButtonPress:
    """A tap on one of our inline buttons: ``key`` is the callback_data we put there."""
    update_id: int
    chat_id: int
    callback_query_id: str
    key: str

    def inbound(self, payload: str, title: str) -> Inbound:
        return Inbound(CHANNEL, str(self.chat_id), str(self.update_id), payload, kind="callback",
                       extra={"chat_id": self.chat_id, "callback_query_id": self.callback_query_id,
                              "button_title": title})

    # Known before the button is resolved: the same as the Inbound's, whatever the button.
    @property
    def conversation_id(self) -> str:
        return self.inbound("", "").conversation_id

    @property
    def dedupe_key(self) -> str:
        return self.inbound("", "").dedupe_key


Routed = Union[Inbound, ButtonPress, Ignored]


def parse_update(body: bytes) -> Update:
    """Parse and type-check a webhook body (JSON, parsed with bounded nesting by pydantic)."""
    try:
        return Update.model_validate_json(body)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_input=False)
        code = "invalid_json" if any(item["type"] == "json_invalid" for item in errors) else \
            "invalid_update"
        raise InvalidUpdate(code, [{"loc": [str(part) for part in item["loc"]], "msg": item["msg"]}
                                   for item in errors[:5]]) from None


def route(update: Update) -> Routed:
    """What this update is for us: a message to submit, a button tap to resolve, or nothing."""
    if update.message is not None:
        return _from_message(update.update_id, update.message)
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query)
    return Ignored(update.update_id, "update type not served")


def _from_message(update_id: int, message: Message) -> Routed:
    if not message.chat.is_private:
        return Ignored(update_id, "not a private chat")
    extra: dict[str, Any] = {"chat_id": message.chat.id, "telegram_message_id": message.message_id}
    text, kind = clean_text(message.text), "text"
    if text and _START_COMMAND.fullmatch(text):
        text, kind = "/greet", "event"
    elif not text:
        media = _media(message)
        if media is None:
            return Ignored(update_id, "no text or media we serve")
        kind, text, extra = media[0], media[1], {**extra, **media[2]}
    return Inbound(CHANNEL, str(message.chat.id), str(update_id), text, kind=kind, extra=extra)


def _media(message: Message) -> Optional[tuple[str, str, dict[str, Any]]]:
    """(kind, text, extra) for a media message: the caption, or a placeholder, and the file id."""
    for field, kind, placeholder in MEDIA_KINDS:
        value = getattr(message, field)
        if not value:
            continue
        file = value[-1] if isinstance(value, list) else value  # the largest photo size
        extra = {"file_id": file.file_id} if isinstance(file, File) else {}
        if isinstance(file, File) and file.file_name:
            extra["file_name"] = clean_text(file.file_name)[:256]
        if isinstance(file, Sticker) and file.emoji:
            # The normaliser turns emoji that carry a feeling into words (😡 -> 生气).
            placeholder = f"{placeholder} {clean_text(file.emoji)[:16]}"
        return kind, clean_text(message.caption) or placeholder, extra
    return None


def _from_callback(update_id: int, query: CallbackQuery) -> Routed:
    # Without the message (a button on an inline-mode message) the button is not ours;
    # the webhook still answers the query so the customer's spinner stops.
    chat = query.message.chat if query.message is not None else Chat(id=query.sender.id)
    if not chat.is_private:
        return Ignored(update_id, "not a private chat")
    return ButtonPress(update_id, chat.id, query.id, query.data or "")


def clean_text(text: Optional[str]) -> str:
    """Drop control characters (keep newlines and tabs) and surrounding blanks; cap the length."""
    if not text:
        return ""
    return strip_control_chars(text).strip()[:MAX_TEXT_CHARS]
