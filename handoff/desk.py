"""The service side of escalation: queue the conversation, record it, keep the customer told.

The router calls ``escalate`` when the bot asks for a human (a ``custom.handoff`` reply) or
cannot answer at all, and ``answer_while_waiting`` for messages that arrive while the customer
waits: "不用了" gives the conversation back to the bot; anything else is passed on to the agents
and answered with the customer's place in the queue.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any, Optional

from anyio import to_thread

from channels.messages import Inbound, Reply
from handoff.packet import masked_packet, summary_actions
from handoff.queue import SKILL_GROUPS, TIERS, HandoffQueue, Place, tell_agents
from handoff.records import HandoffRecords, HandoffRow, TicketRow
from handoff.summary import HandoffFacts, summarise, turns_from_transcript
from service import metrics

SHOP_TZ = timezone(timedelta(hours=8))
_RATING = re.compile(r"^\s*([1-5])\s*(分|星)?\s*$")
SATISFACTION_QUESTION: Reply = {
    "text": "本次服务已结束。请问您对这次服务满意吗？请回复 1–5 分（5 分最满意）。",
    # Ascending, so that where buttons become a numbered menu (WeChat) the number a customer
    # types is the score they mean: in descending order "5" picked the fifth line, "1 分".
    "buttons": [{"title": f"{n} 分", "payload": str(n)} for n in range(1, 6)]}
_CANCEL = re.compile(r"^\s*(不用了?|不需要了?|算了|取消(转人工)?|不等了|不要人工了?)[。！!.\s]*$")


def _count_handoff(reason: str, group: str, outcome: str) -> None:
    metrics.HANDOFFS.labels(metrics.handoff_reason(reason), group, outcome).inc()


def place_text(place: Place | None) -> str:
    if place is None:
        return "人工客服马上为您服务。"
    minutes = max(1, round(place.expected_wait_seconds / 60))
    ahead = "您是下一位" if place.position == 1 else f"您前面还有 {place.position - 1} 位"
    return f"{ahead}，预计等待约 {minutes} 分钟。不想等了可以回复“不用了”，小售继续为您服务。"


@dataclass(frozen=True)
class ServiceHours:
    """When agents work (shop time), and how soon each tier's ticket must get a first answer."""
    opens: time = time(9, 0)
    closes: time = time(22, 0)
    first_response: dict[str, timedelta] = field(default_factory=lambda: {
        "vip": timedelta(hours=2), "potential": timedelta(hours=4), "regular": timedelta(hours=8)})
    # How long a customer in the live queue should wait at most, by tier (the supervisor's
    # timers turn red past it).
    answer_within: dict[str, timedelta] = field(default_factory=lambda: {
        "vip": timedelta(minutes=1), "potential": timedelta(minutes=2),
        "regular": timedelta(minutes=5)})

    def open_at(self, moment: datetime) -> bool:
        if self.opens == self.closes:  # around the clock
            return True
        return self.opens <= moment.astimezone(SHOP_TZ).time() < self.closes

    @classmethod
    def parse(cls, hours: str, ticket_hours: str = "", wait_seconds: str = "") -> ServiceHours:
        """``hours``: ``"09:00-22:00"`` (shop time); the same start and end means around the
        clock. ``ticket_hours`` (``"vip=2,potential=4,regular=8"``) and ``wait_seconds`` (same
        form) override the tiers' targets they name. Raises ValueError on anything else."""
        opens, _, closes = hours.partition("-")
        default = cls()
        return cls(time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip()),
                   {**default.first_response, **by_tier(ticket_hours, timedelta(hours=1))},
                   {**default.answer_within, **by_tier(wait_seconds, timedelta(seconds=1))})

    @property
    def label(self) -> str:
        return "全天" if self.opens == self.closes else f"{self.opens:%H:%M}–{self.closes:%H:%M}"


def by_tier(text: str, unit: timedelta) -> dict[str, timedelta]:
    """``"vip=2,regular=8"`` -> {"vip": 2 units, "regular": 8 units}."""
    targets = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        tier, _, amount = part.partition("=")
        if tier.strip() not in TIERS or float(amount) <= 0:
            raise ValueError(f"expected tier=number with tiers {', '.join(TIERS)}, got {part!r}")
        targets[tier.strip()] = unit * float(amount)
    return targets


def _summary_text(transcript: Sequence[Any], latest: str, reason: str,
                  facts: Mapping[str, Any]) -> str:
    """The agent's Chinese summary (phones and addresses masked), from the conversation so far,
    the message that led to the handoff and what the bot knows for sure."""
    turns = [*turns_from_transcript(transcript), {"speaker": "user", "text": latest}]
    known = {**facts, "reason": reason, "actions": summary_actions(facts.get("action_log"))}
    return summarise(turns, HandoffFacts.from_mapping(known)).text()


class HandoffDesk:
    def __init__(self, queue: HandoffQueue, records: HandoffRecords,
                 hours: Optional[ServiceHours] = None) -> None:
        self.queue = queue
        self.records = records
        self.hours = hours or ServiceHours()

    async def escalate(self, inbound: Inbound, customer_id: str, reason: str, group: str,
                       tier: str, transcript: Sequence[Any] = (),
                       facts: Optional[Mapping[str, Any]] = None) -> list[Reply]:
        """Queue the conversation (or open a ticket when nobody can take it), with a summary of
        ``transcript`` (the conversation so far) and the bot's ``facts`` (order and logistics
        snapshot, action log: ``actions.escalation``) for the agent."""
        group = group if group in SKILL_GROUPS else "general"
        tier = tier if tier in TIERS else "regular"
        facts = facts if isinstance(facts, Mapping) else {}
        now = datetime.now(timezone.utc)
        summary = await to_thread.run_sync(_summary_text, transcript, inbound.text, reason, facts)
        packet = json.dumps(masked_packet(facts), ensure_ascii=False)
        if not self.hours.open_at(now) or not await self.queue.online(group):
            replies = await self._ticket(inbound, customer_id, reason, group, tier, now, summary,
                                         packet)
            _count_handoff(reason, group, "ticket")
            return replies
        handoff_id = uuid.uuid4().hex[:16]
        if not await self.queue.enqueue(handoff_id, inbound.conversation_id, group, tier,
                                        reason=reason):
            waiting = await self.queue.waiting_handoff(inbound.conversation_id)
            place = await self.queue.place(waiting) if waiting else None
            _count_handoff(reason, group, "already_waiting")
            return [{"text": "您已经在排队了，" + place_text(place), "buttons": []}]
        row = HandoffRow(id=handoff_id, conversation_id=inbound.conversation_id,
                         channel=inbound.channel, customer_id=customer_id, reason=reason,
                         skill_group=group, tier=tier, status="waiting", summary=summary,
                         packet=packet, created_at=now)
        await self.queue.redis.hset(f"xs:handoff:{handoff_id}",
                                    mapping={"summary": summary, "packet": packet})
        await to_thread.run_sync(self.records.create, row)
        await tell_agents(self.queue.redis, {"event": "queued", "group": group})
        _count_handoff(reason, group, "queued")
        place = await self.queue.place(handoff_id)
        return [{"text": "已为您转接人工客服。" + place_text(place), "buttons": []}]

    async def _ticket(self, inbound: Inbound, customer_id: str, reason: str, group: str,
                      tier: str, now: datetime, summary: str, packet: str) -> list[Reply]:
        due = now + self.hours.first_response[tier]
        row = TicketRow(id="T" + uuid.uuid4().hex[:11].upper(),
                        conversation_id=inbound.conversation_id, channel=inbound.channel,
                        customer_id=customer_id, skill_group=group, tier=tier, reason=reason,
                        status="open", due_at=due, created_at=now, summary=summary,
                        packet=packet)
        await to_thread.run_sync(self.records.open_ticket, row)
        local = due.astimezone(SHOP_TZ)
        return [{"text": f"人工客服暂时不在线（服务时间 {self.hours.label}）。已为您登记工单 {row.id}，"
                         f"我们会在 {local.month}月{local.day}日 {local:%H:%M} 前回复您。", "buttons": []}]

    async def close(self, handoff_id: str, agent_id: str, resolution: str) -> Optional[str]:
        """The owner ends the conversation: the bot answers again, and the customer's next
        message may rate the service. Returns the conversation id, or None if not the owner's."""
        info = await self.queue.handoff(handoff_id)
        if not await self.queue.finish(handoff_id, "closed", agent_id):
            return None
        await to_thread.run_sync(self.records.finish, handoff_id, "closed", resolution)
        await self.queue.redis.set(f"xs:csat:{info['conversation_id']}", handoff_id, ex=86400)
        return info["conversation_id"]

    async def rating_reply(self, inbound: Inbound) -> Optional[list[Reply]]:
        """The answer to the satisfaction question, when that is what this message is."""
        key = f"xs:csat:{inbound.conversation_id}"
        handoff_id = await self.queue.redis.get(key)
        if handoff_id is None:
            return None
        await self.queue.redis.delete(key)  # one chance: anything else goes to the bot
        match = _RATING.match(inbound.text)
        if match is None:
            return None
        await to_thread.run_sync(self.records.rate, handoff_id.decode(), inbound.conversation_id,
                                 int(match.group(1)))
        return [{"text": "感谢您的评价！还有其他问题随时找小售。", "buttons": []}]

    async def answer_while_waiting(self, inbound: Inbound) -> list[Reply]:
        handoff_id = await self.queue.waiting_handoff(inbound.conversation_id)
        if handoff_id is None:
            return []
        if _CANCEL.match(inbound.text):
            if await self.queue.finish(handoff_id, "cancelled"):
                await to_thread.run_sync(self.records.finish, handoff_id, "cancelled")
                await tell_agents(self.queue.redis, {"event": "cancelled"})
            return [{"text": "好的，已取消转人工，小售继续为您服务。还有什么可以帮您？", "buttons": []}]
        await tell_agents(self.queue.redis, {"conversation_id": inbound.conversation_id,
                                             "handoff_id": handoff_id, "text": inbound.text})
        place = await self.queue.place(handoff_id)
        return [{"text": "收到，客服接入后会看到您的消息。" + place_text(place), "buttons": []}]
