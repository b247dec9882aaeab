"""What flows through the conversation router, whatever the channel.

A channel turns its own payload into an ``Inbound`` (after verifying it), hands it to the router
(``ConversationSubmitter``) and, for replies that do not go back in the HTTP answer, provides a
``Sender``. Replies are plain dicts as Rasa sends them: ``{"text", "buttons": [{"title",
"payload"}], "image"?}``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

Reply = dict[str, Any]

# C0 controls and DEL, but not tab, LF and CR: nobody types them, renderers choke on them and
# PostgreSQL refuses NUL in text. Channels strip them; the agents' console refuses them (422).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Inbound:
    channel: str                # "app" | "wechat" | "telegram"
    external_id: str            # the account on the channel: app customer id, openid, chat id
    message_id: str             # the channel's own id of this message, for deduplication
    text: str                   # what the bot reads ("" never: channels map events to text)
    kind: str = "text"          # text, image, voice, location, link, event, callback, ...
    customer_id: Optional[str] = None  # only when the channel vouches for it (the app's token)
    extra: dict[str, Any] = field(default_factory=dict)  # channel details a Sender needs back

    @property
    def conversation_id(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @property
    def dedupe_key(self) -> str:
        return f"{self.conversation_id}:{self.message_id}"

    def metadata(self) -> dict[str, Any]:
        """What Rasa's actions learn about the customer (see actions/customer.py)."""
        # message_id: the same on every retry of this message (actions key shop writes on it).
        data: dict[str, Any] = {"channel": self.channel, "external_id": self.external_id,
                                "message_id": self.message_id}
        if self.customer_id:
            data["customer_id"] = self.customer_id
        return data


@dataclass(frozen=True)
class Submitted:
    duplicate: bool             # this message was seen before: nothing new happens
    entry_id: Optional[str]     # the stream entry holding it (None for a duplicate)


class ConversationSubmitter(Protocol):
    async def submit(self, inbound: Inbound) -> Submitted:
        """Deduplicate and persist; after this returns the message cannot be lost.
        Raises ``RouterUnavailable`` when it cannot persist (answer so the platform retries)."""

    async def wait_replies(self, inbound: Inbound, timeout: float) -> Optional[list[Reply]]:
        """The replies to ``inbound`` if they are ready within ``timeout`` seconds, taken for the
        caller's own HTTP answer; None means too late: the channel's Sender will deliver them."""


class Sender(Protocol):
    async def deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        """Send replies to the customer through the channel (called by the router's consumers).
        Raise ``DeliveryFailed`` for a failure worth retrying; record and return for one that is
        final (blocked bot, closed 48 h window)."""


class RouterUnavailable(Exception):
    """Redis (the stream) cannot be reached: the message was not accepted."""


class DeliveryFailed(Exception):
    """A temporary failure to send: the router retries the entry, then dead-letters it."""


def as_text(value: Any) -> str:
    """A Redis reply (bytes) as text; what is text already stays as it is."""
    return value.decode() if isinstance(value, bytes) else str(value)


def strip_control_chars(text: str) -> str:
    """``text`` without control characters (tab and newlines stay)."""
    return _CONTROL_CHARS.sub("", text)


def has_control_chars(text: str) -> bool:
    return _CONTROL_CHARS.search(text) is not None
