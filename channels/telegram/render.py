"""Replies out: the router's reply dicts become the ``sendMessage`` calls Telegram takes.

- Text is sent as plain text (no parse mode), so ``*`` or ``<`` in an answer is shown as is.
- Buttons become an inline keyboard, one button a row (Chinese titles are long); each button's
  callback_data is a short key to its payload stored in Redis (``buttons.py``).
- A text over Telegram's 4096 limit is split, preferably at a line or sentence end, never inside
  a character: the limit is counted in UTF-16 code units (as Telegram counts text), a cut never
  falls inside a surrogate pair, an emoji sequence or before a combining mark.
- An image becomes a link line under the text. (sendPhoto would make Telegram's servers fetch
  the URL, which fails for the shop's internal hosts and adds a failure mode for little gain.)
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Optional

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit

from channels.messages import Reply
from channels.telegram.buttons import ButtonStore, StoredButton
from channels.telegram.inbound import clean_text

MAX_TEXT_UNITS = MessageLimit.MAX_TEXT_LENGTH  # 4096
MAX_BUTTONS = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER  # 100
CHOOSE_TEXT = "请选择："  # Telegram needs a text to hang a keyboard on
IMAGE_LINE = "图片：{url}"
_PREFERRED_BREAKS = ("\n", "。", "！", "？", "；", "!", "?", ";", "…", " ")
_ZWJ = "\u200d"


@dataclass(frozen=True)
class Outgoing:
    text: str
    keyboard: Optional[InlineKeyboardMarkup] = None


async def render(replies: list[Reply], chat_id: int, store: ButtonStore) -> list[Outgoing]:
    messages: list[Outgoing] = []
    for reply in replies:
        messages += await render_reply(reply, chat_id, store)
    return messages


async def render_reply(reply: Reply, chat_id: int, store: ButtonStore) -> list[Outgoing]:
    text = reply.get("text") if isinstance(reply.get("text"), str) else ""
    image = reply.get("image")
    if isinstance(image, str) and image.startswith(("https://", "http://")):
        text = f"{text}\n{IMAGE_LINE.format(url=image)}" if text else IMAGE_LINE.format(url=image)
    buttons = _buttons(reply.get("buttons"))
    if buttons and not text.strip():
        text = CHOOSE_TEXT
    chunks = split_text(text)
    if not chunks:
        return []
    keyboard = await _keyboard(buttons, chat_id, store) if buttons else None
    return [Outgoing(chunk) for chunk in chunks[:-1]] + [Outgoing(chunks[-1], keyboard)]


def _buttons(raw: Any) -> list[StoredButton]:
    if not isinstance(raw, list):
        return []
    buttons = []
    for item in raw[:MAX_BUTTONS]:
        title = clean_text(item.get("title")) if isinstance(item, dict) else ""
        payload = item.get("payload") if isinstance(item, dict) else None
        if title and isinstance(payload, str) and payload:
            buttons.append(StoredButton(title, payload))
    return buttons


async def _keyboard(buttons: list[StoredButton], chat_id: int,
                    store: ButtonStore) -> InlineKeyboardMarkup:
    keys = await store.save(chat_id, buttons)
    return InlineKeyboardMarkup([[InlineKeyboardButton(button.title, callback_data=key)]
                                 for button, key in zip(buttons, keys, strict=True)])


def split_text(text: str, limit: int = MAX_TEXT_UNITS) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 code units each; blank pieces are dropped."""
    chunks, rest = [], text
    while utf16_len(rest) > limit:
        cut = _preferred_cut(rest, _safe_cut(rest, _fit(rest, limit)))
        chunks.append(rest[:cut])
        rest = rest[cut:]
    chunks.append(rest)
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _fit(text: str, limit: int) -> int:
    """How many code points of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _safe_cut(text: str, cut: int) -> int:
    """Move the cut left until it does not split a character as a reader sees it."""
    safe = cut
    while safe > 0 and _joins_previous(text, safe):
        safe -= 1
    return safe if safe > 0 else cut  # one "character" longer than the limit: cut it anyway


def _joins_previous(text: str, index: int) -> bool:
    char, before = text[index], text[index - 1]
    if before == _ZWJ or char == _ZWJ or (before == "\r" and char == "\n"):
        return True
    code = ord(char)
    if (0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF  # variation selectors
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F):  # skin tones, tags
        return True
    if unicodedata.category(char) in ("Mn", "Me", "Mc"):
        return True
    if _is_regional_indicator(char) and _is_regional_indicator(before):
        run = 0  # flags are pairs of regional indicators: do not cut inside a pair
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _preferred_cut(text: str, cut: int) -> int:
    """Cut just after the last line or sentence end in the second half of the piece, if any."""
    for mark in _PREFERRED_BREAKS:
        found = text.rfind(mark, cut // 2, cut)
        if found != -1:
            return found + 1
    return cut
