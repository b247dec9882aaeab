"""The conversation router: verify → deduplicate → persist → acknowledge → process → deliver.

Channels verify their payloads and ``submit`` an ``Inbound``. One Lua script both remembers the
message's dedupe key and appends it to a Redis stream, so a message is either accepted once or
not at all; after ``submit`` returns, a crash loses nothing. Streams are partitioned by
conversation (``channels.partitions``), and each partition is processed by one consumer at a
time, in order, which keeps one conversation's messages in order across instances.

Processing an entry is a sequence of recorded steps (``xs:msg:<key>`` hash), so a consumer that
dies mid-message and is replaced does not ask the bot twice, record twice or deliver twice:
the bot's replies, the transcript and the delivery each happen once per message.

Replies go back either in the channel's own HTTP answer (the app's synchronous form, WeChat's
passive reply), when a caller is waiting for them (``wait_replies``), or through the channel's
``Sender``. One atomic hand-over decides which, so a reply is never sent both ways.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
import zlib
from dataclasses import asdict, replace
from typing import Any, Optional

from anyio import to_thread
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.json_logs import log_context
from channels.identities import IdentityResolver
from channels.messages import Inbound, Reply, RouterUnavailable, Sender, Submitted, as_text
from channels.rasa_client import BotUnavailable, RasaClient
from handoff.desk import SATISFACTION_QUESTION, HandoffDesk
from handoff.queue import tell_agents
from handoff.transcripts import TranscriptMessage, TranscriptStore
from service import metrics

log = logging.getLogger(__name__)

PREFIX = "xs:"
BOT_UNAVAILABLE_TEXT = "抱歉，小售暂时无法回复 🙏"
RESUME = "resume"  # Inbound.kind of the bot taking over again after an agent (see ``resume``)

# KEYS: seen key, stream. ARGV: ttl seconds, entry JSON. Returns the entry id, or false when seen.
_SUBMIT = """
if redis.call('SET', KEYS[1], 'pending', 'NX', 'EX', ARGV[1]) then
  local id = redis.call('XADD', KEYS[2], '*', 'inbound', ARGV[2])
  redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
  return id
end
return false
"""
# The consumer's side of the hand-over. KEYS: waiter, taken, ready. Returns who delivers.
_HAND_OVER = """
local taken = redis.call('GET', KEYS[2])
if taken then return taken end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[2], 'caller', 'EX', ARGV[1])
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('EXPIRE', KEYS[3], ARGV[1])
  return 'caller'
end
redis.call('SET', KEYS[2], 'sender', 'EX', ARGV[1])
return 'sender'
"""
# The waiting caller giving up. KEYS: waiter, taken. Returns who delivers ('caller' if it won).
_GIVE_UP = """
redis.call('DEL', KEYS[1])
local taken = redis.call('GET', KEYS[2])
if taken then return taken end
return 'nobody'
"""


class ConversationRouter:
    def __init__(self, redis: Redis, rasa: RasaClient, transcripts: TranscriptStore,
                 partitions: int = 8, dedupe_ttl_seconds: int = 86400,
                 identities: Optional[IdentityResolver] = None,
                 desk: Optional[HandoffDesk] = None) -> None:
        self.redis = redis
        self._identities = identities
        self._desk = desk
        self.partitions = partitions
        self._rasa = rasa
        self._transcripts = transcripts
        self._ttl = dedupe_ttl_seconds
        self._senders: dict[str, Sender] = {}
        self._submit = redis.register_script(_SUBMIT)
        self._hand_over = redis.register_script(_HAND_OVER)
        self._give_up = redis.register_script(_GIVE_UP)

    def register_sender(self, channel: str, sender: Sender) -> None:
        self._senders[channel] = sender

    def stream_of(self, conversation_id: str) -> str:
        return f"{PREFIX}in:{zlib.crc32(conversation_id.encode()) % self.partitions}"

    # --- the channels' side --------------------------------------------------------------

    async def submit(self, inbound: Inbound) -> Submitted:
        with log_context(inbound.conversation_id, inbound.channel):
            submitted = await self._submit_entry(inbound)
        if inbound.kind != RESUME:
            counter = metrics.DUPLICATES if submitted.duplicate else metrics.MESSAGES_RECEIVED
            counter.labels(metrics.channel_label(inbound.channel)).inc()
        return submitted

    async def _submit_entry(self, inbound: Inbound) -> Submitted:
        try:
            entry_id = await self._submit(
                keys=[seen_key(inbound.dedupe_key), self.stream_of(inbound.conversation_id)],
                args=[self._ttl, json.dumps(asdict(inbound), ensure_ascii=False)])
        except RedisError as error:
            raise RouterUnavailable(str(error)) from error
        if not entry_id:
            return Submitted(duplicate=True, entry_id=None)
        if inbound.kind == RESUME:  # not from the customer: where and when they wrote stays
            return Submitted(duplicate=False, entry_id=as_text(entry_id))
        # Where an agent's reply goes later (a Telegram chat id, a WeChat openid …).
        try:  # the message is accepted already: failing here must not turn into an error
            async with self.redis.pipeline(transaction=False) as pipe:  # one round trip
                pipe.set(_key("last", inbound.conversation_id),
                         json.dumps(asdict(inbound), ensure_ascii=False), ex=self._ttl * 7)
                pipe.set(_key("last-at", inbound.conversation_id), time.time(), ex=self._ttl * 7)
                await pipe.execute()
        except RedisError as error:
            log.warning("could not note where %s writes from: %s", inbound.conversation_id, error)
        return Submitted(duplicate=False, entry_id=as_text(entry_id))

    async def last_heard(self, conversation_id: str) -> Optional[float]:
        """When the customer last wrote (epoch seconds), if within the records' lifetime."""
        value = await self.redis.get(_key("last-at", conversation_id))
        return float(value) if value is not None else None

    async def send_to_customer(self, conversation_id: str, replies: list[Reply],
                               author: dict[str, Any]) -> bool:
        """A message from the shop's side (an agent) through the customer's channel; recorded.
        False when the conversation is unknown or its channel cannot send."""
        last = await self.redis.get(_key("last", conversation_id))
        if last is None:
            return False
        inbound = replace(Inbound(**json.loads(last)), message_id=f"agent-{uuid.uuid4().hex}")
        sender = self._senders.get(inbound.channel)
        if sender is None:
            return False
        await sender.deliver(inbound, replies)
        metrics.REPLIES_SENT.labels(metrics.channel_label(inbound.channel), "agent").inc(
            len(replies))
        common = {"conversation_id": conversation_id, "channel": inbound.channel,
                  "customer_id": await self._customer_of(inbound)}
        messages = [TranscriptMessage(direction="out", text=reply.get("text", ""),
                                      payload={**reply, "author": author}, **common)
                    for reply in replies]
        await to_thread.run_sync(lambda: self._transcripts.record(*messages))
        return True

    async def resume(self, conversation_id: str, intent: str, entities: dict[str, str],
                     handoff_id: str) -> bool:
        """After an agent closes: the bot carries on with ``intent`` (a flow of its own) as if the
        customer had clicked it, with the slots it kept; its replies, then the satisfaction
        question, go out through the customer's channel. False when the conversation is unknown."""
        last = await self.redis.get(_key("last", conversation_id))
        if last is None:
            return False
        text = f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")
        await self.submit(replace(Inbound(**json.loads(last)), message_id=f"resume-{handoff_id}",
                                  text=text, kind=RESUME))
        return True

    async def wait_replies(self, inbound: Inbound, timeout: float) -> Optional[list[Reply]]:
        key = inbound.dedupe_key
        try:
            taken = await self.redis.get(_key("taken", key))
            if taken is not None:  # a retry after the replies were handed to someone
                return await self.replies_of(key) if as_text(taken) == "caller" else None
            await self.redis.set(_key("waiter", key), "1", ex=max(int(timeout) + 5, 5))
            popped = await self.redis.blpop([_key("ready", key)], timeout=timeout)
            if popped is None:
                winner = as_text(await self._give_up(keys=[_key("waiter", key), _key("taken", key)]))
                if winner != "caller":
                    return None
            return await self.replies_of(key)
        except RedisError as error:
            raise RouterUnavailable(str(error)) from error

    async def replies_of(self, key: str) -> list[Reply]:
        stored = await self.redis.hget(_key("msg", key), "replies")
        return json.loads(stored) if stored else []

    # --- the consumers' side -------------------------------------------------------------

    async def process(self, inbound: Inbound) -> None:
        """Handle one persisted message; every step is recorded, so a rerun skips what is done.
        Raises ``DeliveryFailed`` (retry later) or RedisError."""
        with log_context(inbound.conversation_id, inbound.channel):
            await self._process(inbound)

    async def _process(self, inbound: Inbound) -> None:
        key = inbound.dedupe_key
        state = {as_text(k): as_text(v) for k, v in (await self.redis.hgetall(_key("msg", key))).items()}
        if "replies" not in state:
            replies, error = await self._answer(inbound)
            state["replies"] = json.dumps(replies, ensure_ascii=False)
            await self.redis.hset(_key("msg", key), mapping={"replies": state["replies"],
                                                              "error": error or ""})
            await self.redis.expire(_key("msg", key), self._ttl)
            state["error"] = error or ""
        replies = json.loads(state["replies"])
        if "recorded" not in state:
            await self._record(inbound, replies, state.get("error") or None)
            await self.redis.hset(_key("msg", key), "recorded", "1")
        if "delivered" not in state:
            await self._deliver(inbound, replies)
            await self.redis.hset(_key("msg", key), "delivered", "1")
            log.info("message handled: %d replies%s", len(replies),
                     f" ({state['error']})" if state.get("error") else "")

    async def _answer(self, inbound: Inbound) -> tuple[list[Reply], Optional[str]]:
        """The bot's replies; while the customer waits for a human, the queue's; nothing while
        a human owns the conversation (the agents get the message)."""
        mode = await self.redis.get(_key("mode", inbound.conversation_id))
        if mode is not None and as_text(mode) == "human":
            await tell_agents(self.redis, {"conversation_id": inbound.conversation_id,
                                           "text": inbound.text})
            return [], None
        if mode is not None and as_text(mode) == "queued" and self._desk is not None:
            return await self._desk.answer_while_waiting(inbound), None
        rated = (await self._desk.rating_reply(inbound)
                 if self._desk is not None and inbound.kind != RESUME else None)
        if rated is not None:
            return rated, None
        started = time.perf_counter()
        try:
            answers = await self._rasa.send(inbound.conversation_id, inbound.text,
                                            inbound.metadata())
        except BotUnavailable as error:
            metrics.BOT_LATENCY.labels("unavailable").observe(time.perf_counter() - started)
            metrics.ERRORS.labels("bot_unavailable").inc()
            log.warning("bot unavailable for %s: %s", inbound.conversation_id, error)
            replies = [{"text": BOT_UNAVAILABLE_TEXT, "buttons": []}]
            handoff = {"reason": "bot_unavailable", "skill_group": "general", "tier": "regular"}
            return replies + await self._escalate(inbound, handoff), "bot_unavailable"
        metrics.BOT_LATENCY.labels("ok").observe(time.perf_counter() - started)
        replies: list[Reply] = []
        for answer in answers:
            reply = answer.as_json()
            handoff = (reply.pop("custom", None) or {}).get("handoff")
            if reply.get("text") or reply.get("buttons") or reply.get("image"):
                replies.append(reply)
            if isinstance(handoff, dict):
                replies += await self._escalate(inbound, handoff)
        if inbound.kind == RESUME:
            replies.append(SATISFACTION_QUESTION)
        return replies, None

    async def _escalate(self, inbound: Inbound, handoff: dict[str, Any]) -> list[Reply]:
        if self._desk is None:
            log.error("handoff asked for %s but no desk is configured", inbound.conversation_id)
            return []
        return await self._desk.escalate(inbound, await self._customer_of(inbound),
                                         str(handoff.get("reason") or "customer_request"),
                                         str(handoff.get("skill_group") or "general"),
                                         str(handoff.get("tier") or "regular"),
                                         await self.history(inbound.conversation_id),
                                         handoff.get("facts"))

    async def _deliver(self, inbound: Inbound, replies: list[Reply]) -> None:
        key = inbound.dedupe_key
        who = as_text(await self._hand_over(
            keys=[_key("waiter", key), _key("taken", key), _key("ready", key)], args=[self._ttl]))
        if who == "caller" or not replies:  # a waiting caller gets even "no reply" at once
            metrics.REPLIES_SENT.labels(metrics.channel_label(inbound.channel), "bot").inc(
                len(replies))
            return
        sender = self._senders.get(inbound.channel)
        if sender is None:
            log.error("no sender for channel %s; replies to %s kept in %s", inbound.channel,
                      inbound.conversation_id, _key("msg", key))
            return
        await sender.deliver(inbound, replies)
        metrics.REPLIES_SENT.labels(metrics.channel_label(inbound.channel), "bot").inc(len(replies))

    async def _record(self, inbound: Inbound, replies: list[Reply], error: Optional[str]) -> None:
        common = {"conversation_id": inbound.conversation_id, "channel": inbound.channel,
                  "customer_id": await self._customer_of(inbound)}
        messages = [] if inbound.kind == RESUME else [  # the customer did not type a resume
            TranscriptMessage(direction="in", text=inbound.text,
                              client_message_id=inbound.message_id, error=error, **common)]
        messages += [TranscriptMessage(direction="out", text=reply.get("text", ""),
                                       payload=reply if reply.get("buttons") else None, **common)
                     for reply in replies]
        await to_thread.run_sync(lambda: self._transcripts.record(*messages))

    async def _customer_of(self, inbound: Inbound) -> str:
        """The shop customer (bound channel accounts included), else the channel account."""
        if inbound.customer_id:
            return inbound.customer_id
        if self._identities is not None:
            bound = await self._identities.customer_of(inbound.channel, inbound.external_id)
            if bound:
                return bound
        return f"{inbound.channel}:{inbound.external_id}"

    async def history(self, conversation_id: str) -> list[TranscriptMessage]:
        return await to_thread.run_sync(self._transcripts.conversation, conversation_id)


def inbound_from(fields: dict[Any, Any]) -> Inbound:
    data = json.loads(as_text(fields.get(b"inbound") or fields.get("inbound")))
    return Inbound(**data)


def seen_key(dedupe_key: str) -> str:
    """The record of an accepted message: the rate limiter skips retries of it (see submit)."""
    return _key("seen", dedupe_key)


def _key(kind: str, name: str) -> str:
    return f"{PREFIX}{kind}:{name}"

