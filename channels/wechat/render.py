"""The bot's replies → WeChat text messages, and the passive-reply XML.

WeChat text has no buttons, so buttons become numbered lines ("回复数字选择：\\n1. …") and the
number → payload table is kept in Redis per openid (``MenuMemory``); a later message that is just
"1" is read as that payload. Each batch of replies replaces the table (a batch without buttons
clears it), so "2" typed as an answer to another question is not taken for a stale button.

Consecutive replies are merged into as few messages as fit WeChat's text limit, split at a line
break where possible, then after a sentence mark, never inside a UTF-8 character.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Optional

from redis.asyncio import Redis

from channels.messages import Reply

# WeChat documents 2048 bytes (UTF-8) for text content; SDK authors report 2047 as the real maximum
# of a passive reply, so stay one byte under.
TEXT_LIMIT_BYTES = 2047
MENU_HEADER = "回复数字选择："
MENU_TTL_SECONDS = 30 * 60
_SENTENCE_ENDS = "。！？；!?;，,"
_DIGITS = re.compile(r"^\s*([0-9０-９]{1,2})\s*$")
_URL = re.compile(r"^https?://\S+$")
# Characters XML 1.0 cannot carry at all (a passive reply with one is rejected by WeChat).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Rendered:
    pieces: list[str]       # WeChat text messages, each within TEXT_LIMIT_BYTES
    menu: dict[str, str]    # "1" → payload


def render_replies(replies: list[Reply], limit: int = TEXT_LIMIT_BYTES) -> Rendered:
    blocks: list[str] = []
    menu: dict[str, str] = {}
    for reply in replies:
        if isinstance(reply, dict):
            block = _render_reply(reply, menu)
            if block:
                blocks.append(block)
    return Rendered(split_text("\n\n".join(blocks), limit), menu)


def _render_reply(reply: dict[str, Any], menu: dict[str, str]) -> str:
    lines = [text for text in (_text(reply.get("text")),) if text]
    for name in ("image", "attachment"):
        url = _text(reply.get(name))
        if url:
            lines.append(f"图片：{url}" if name == "image" else url)
    numbered, links = [], []
    for button in reply.get("buttons") or []:
        if not isinstance(button, dict):
            continue
        title, payload = _text(button.get("title")), _text(button.get("payload") or button.get("url"))
        if not title or not payload:
            continue
        if _URL.match(payload):
            links.append(f"{title}：{payload}")
        else:
            number = str(len(menu) + 1)
            menu[number] = payload
            numbered.append(f"{number}. {title}")
    if numbered:
        lines.append("\n".join([MENU_HEADER, *numbered]))
    return "\n".join(lines + links)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at a line break when one is in reach."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest.encode("utf-8")) > limit:
        cut = _cut(rest, limit)
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces


def _cut(text: str, limit: int) -> int:
    # The longest prefix within the limit, minus any character the byte cut would break.
    head = text.encode("utf-8")[:limit].decode("utf-8", "ignore")
    newline = head.rfind("\n")
    if newline > 0:
        return newline
    sentence_end = max(head.rfind(mark) for mark in _SENTENCE_ENDS)
    if sentence_end >= 0:
        return sentence_end + 1
    return max(len(head), 1)


def passive_text_xml(to_user: str, from_user: str, content: str, now: Optional[float] = None) -> str:
    """The passive reply to a callback: a text message back to the customer."""
    created = int(time.time() if now is None else now)
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
            f"<FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(content)}</Content></xml>")


def cdata(text: str) -> str:
    """A CDATA section for any text: "]]>" inside is split across two sections."""
    safe = _XML_INVALID.sub("", text).replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[{safe}]]>"


class MenuMemory:
    """Number → payload of the last buttons shown to each customer, and rendering that sets it."""

    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int = MENU_TTL_SECONDS) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds

    def _key(self, openid: str) -> str:
        return f"{self._prefix}menu:{openid}"

    async def render(self, openid: str, replies: list[Reply]) -> list[str]:
        rendered = render_replies(replies)
        await self.remember(openid, rendered.menu)
        return rendered.pieces

    async def remember(self, openid: str, menu: dict[str, str]) -> None:
        if menu:
            await self._redis.set(self._key(openid), json.dumps(menu, ensure_ascii=False), ex=self._ttl)
        else:
            await self._redis.delete(self._key(openid))

    async def resolve(self, openid: str, text: str) -> Optional[str]:
        """The payload a reply like "1" (or full-width "１") chooses, if a menu offered it."""
        match = _DIGITS.match(text)
        if match is None:
            return None
        stored = await self._redis.get(self._key(openid))
        if stored is None:
            return None
        number = str(int(match.group(1)))  # int() reads full-width digits too
        payload = json.loads(stored).get(number)
        return payload if isinstance(payload, str) else None

    async def forget(self, openid: str) -> None:
        await self._redis.delete(self._key(openid))
