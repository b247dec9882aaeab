"""The conversation router: deduplicate, ask the bot, record both sides, answer once.

Channels turn their own payloads into an ``Inbound`` and hand it here; whatever the channel, a
message is answered exactly once and every message lands in the transcript store.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from channels.dedupe import Deduplicator
from channels.rasa_client import BotUnavailable, RasaClient
from handoff.transcripts import TranscriptMessage, TranscriptStore


@dataclass(frozen=True)
class Inbound:
    channel: str
    customer_id: str
    message_id: str
    text: str

    @property
    def conversation_id(self) -> str:
        return f"{self.channel}:{self.customer_id}"


@dataclass(frozen=True)
class Outcome:
    conversation_id: str
    message_id: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "client_message_id": self.message_id,
                "duplicate": self.duplicate, "replies": self.replies}


class MessageInProgress(Exception):
    """The same message is being processed right now (a client retry raced the first try)."""


class ConversationRouter:
    def __init__(self, rasa: RasaClient, transcripts: TranscriptStore,
                 dedupe: Deduplicator) -> None:
        self._rasa = rasa
        self._transcripts = transcripts
        self._dedupe = dedupe

    async def handle(self, inbound: Inbound) -> Outcome:
        """Raises MessageInProgress, or BotUnavailable after recording the failed attempt."""
        key = f"{inbound.conversation_id}:{inbound.message_id}"
        claim = await self._dedupe.claim(key)
        if claim.result is not None:
            return Outcome(inbound.conversation_id, inbound.message_id,
                           claim.result["replies"], duplicate=True)
        if claim.in_progress:
            raise MessageInProgress(key)
        try:
            replies = await self._rasa.send(inbound.conversation_id, inbound.text,
                                            {"channel": inbound.channel,
                                             "customer_id": inbound.customer_id})
        except BotUnavailable:
            await self._record(inbound, [], error="bot_unavailable")
            await self._dedupe.release(key)
            raise
        reply_data = [reply.as_json() for reply in replies]
        await self._record(inbound, reply_data)
        await self._dedupe.complete(key, {"replies": reply_data})
        return Outcome(inbound.conversation_id, inbound.message_id, reply_data)

    async def history(self, conversation_id: str) -> list[TranscriptMessage]:
        return await to_thread.run_sync(self._transcripts.conversation, conversation_id)

    async def _record(self, inbound: Inbound, replies: list[dict[str, Any]],
                      error: str | None = None) -> None:
        common = {"conversation_id": inbound.conversation_id, "channel": inbound.channel,
                  "customer_id": inbound.customer_id}
        messages = [TranscriptMessage(direction="in", text=inbound.text,
                                      client_message_id=inbound.message_id, error=error,
                                      **common)]
        messages += [TranscriptMessage(direction="out", text=reply["text"],
                                       payload=reply if reply.get("buttons") else None, **common)
                     for reply in replies]
        await to_thread.run_sync(lambda: self._transcripts.record(*messages))
