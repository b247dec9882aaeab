"""The dashboard's figures, computed from what ``records`` and ``intents`` read.

Definitions (the page and the CSV repeat them):
- a conversation is a customer's conversation on one shop day in which they wrote at least once;
- it is contained (settled by the bot) when no handoff or ticket was opened in it that day;
- a handoff is a live escalation or a ticket (a request for a human while none was on duty);
- queue wait: claimed minus queued; live first response: the agent's first message minus queued;
  a ticket's first response: its first answer minus its creation, late when after its due time;
  resolution: closed minus queued, for handoffs an agent closed;
- p50/p90 are nearest-rank percentiles, in whole seconds.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any, Optional

from analytics import labels
from analytics.figures import mean, percentile, rate
from analytics.intents import FALLBACK_INTENT, Intents
from analytics.period import CHANNELS, Filter, shop_day
from analytics.records import Handoff, Records
from handoff.desk import ServiceHours

TIERS = ("vip", "potential", "regular")


def build(records: Records, intents: Intents, where: Filter, hours: ServiceHours,
          resolution_targets: dict[str, timedelta], now: datetime) -> dict[str, Any]:
    escalated = _escalated(records)
    return {
        "range": {"from": where.first.isoformat(), "to": where.last.isoformat(),
                  "channel": where.channel or "all",
                  "channel_label": labels.CHANNELS.get(where.channel or "", "全部渠道")},
        "totals": _totals(records, escalated, intents),
        "daily": [_day(day, records, escalated, intents) for day in where.days],
        "channels": [_channel(name, records, escalated) for name in CHANNELS
                     if where.channel in (None, name)],
        "handoff_reasons": _reasons(records),
        "intents": _intents(intents),
        "waits": {"tiers": _timed(records.handoffs, _wait, hours.answer_within)},
        "first_response": {
            "live": _timed(records.handoffs, _first_reply, hours.answer_within),
            "tickets": _tickets(records, hours, now)},
        "resolution": _timed([h for h in records.handoffs if h.status == "closed"], _resolved,
                             resolution_targets),
        "satisfaction": {"average": mean([r.score for r in records.ratings]),
                         "count": len(records.ratings),
                         "distribution": [{"score": s, "count": sum(r.score == s
                                                                    for r in records.ratings)}
                                          for s in range(1, 6)]},
    }


def _escalated(records: Records) -> set[tuple[str, date]]:
    """(conversation, shop day) pairs in which a human was asked for."""
    return ({(h.conversation_id, shop_day(h.created_at)) for h in records.handoffs}
            | {(t.conversation_id, shop_day(t.created_at)) for t in records.tickets})


def _requests(records: Records) -> list[tuple[str, str, date]]:
    """Every handoff and ticket as (channel, reason, shop day)."""
    return ([(h.channel, h.reason, shop_day(h.created_at)) for h in records.handoffs]
            + [(t.channel, t.reason, shop_day(t.created_at)) for t in records.tickets])


def _conversations(records: Records, escalated: set, keep: Callable[[str, date], bool]) -> tuple[int, int]:
    chosen = [key for key, channel in records.conversation_days.items() if keep(channel, key[1])]
    return len(chosen), sum(1 for key in chosen if key not in escalated)


def _totals(records: Records, escalated: set, intents: Intents) -> dict[str, Any]:
    conversations, contained = _conversations(records, escalated, lambda c, d: True)
    handoffs = len(records.handoffs) + len(records.tickets)
    messages, fallbacks = sum(intents.messages_by_day.values()), sum(intents.fallbacks_by_day.values())
    return {"conversations": conversations, "contained": contained,
            "containment_rate": rate(contained, conversations), "handoffs": handoffs,
            "live_handoffs": len(records.handoffs), "tickets": len(records.tickets),
            "handoff_rate": rate(handoffs, conversations),
            "fallback_rate": rate(fallbacks, messages) if intents.available else None,
            "satisfaction_average": mean([r.score for r in records.ratings]),
            "ratings": len(records.ratings)}


def _day(day: date, records: Records, escalated: set, intents: Intents) -> dict[str, Any]:
    conversations, contained = _conversations(records, escalated, lambda c, d: d == day)
    by_channel = Counter(channel for (_, d), channel in records.conversation_days.items() if d == day)
    scores = [r.score for r in records.ratings if shop_day(r.created_at) == day]
    messages, fallbacks = intents.messages_by_day.get(day, 0), intents.fallbacks_by_day.get(day, 0)
    return {"day": day.isoformat(), "conversations": conversations, "contained": contained,
            "containment_rate": rate(contained, conversations),
            "handoffs": sum(1 for _, _, d in _requests(records) if d == day),
            "by_channel": {name: by_channel.get(name, 0) for name in CHANNELS},
            "user_messages": messages, "fallbacks": fallbacks,
            "fallback_rate": rate(fallbacks, messages),
            "satisfaction_average": mean(scores), "ratings": len(scores)}


def _channel(name: str, records: Records, escalated: set) -> dict[str, Any]:
    conversations, contained = _conversations(records, escalated, lambda c, d: c == name)
    handoffs = sum(1 for channel, _, _ in _requests(records) if channel == name)
    scores = [r.score for r in records.ratings if r.channel == name]
    return {"channel": name, "label": labels.CHANNELS[name], "conversations": conversations,
            "contained": contained, "containment_rate": rate(contained, conversations),
            "handoffs": handoffs, "handoff_rate": rate(handoffs, conversations),
            "satisfaction_average": mean(scores), "ratings": len(scores)}


def _reasons(records: Records) -> list[dict[str, Any]]:
    conversations = len(records.conversation_days)
    live = Counter(h.reason for h in records.handoffs)
    tickets = Counter(t.reason for t in records.tickets)
    total = live + tickets
    return [{"reason": labels.free_text(reason), "label": labels.of(labels.REASONS, reason),
             "live": live[reason], "tickets": tickets[reason], "count": count,
             "rate": rate(count, conversations)}
            for reason, count in sorted(total.items(), key=lambda pair: (-pair[1], pair[0]))]


def _intents(intents: Intents) -> dict[str, Any]:
    messages = sum(intents.messages_by_day.values())
    fallbacks = sum(intents.fallbacks_by_day.values())
    return {"available": intents.available,
            "top": [{"intent": labels.free_text(name), "label": labels.of(labels.INTENTS, name),
                     "count": count, "share": rate(count, messages)}
                    for name, count in intents.intents],
            "faq": [{"entry": labels.free_text(entry), "title": labels.faq_title(entry),
                     "count": count} for entry, count in intents.faq],
            "fallback": {"intent": FALLBACK_INTENT, "messages": messages, "fallbacks": fallbacks,
                         "rate": rate(fallbacks, messages), "gave_up": intents.gave_up}}


def _seconds(start: datetime, end: Optional[datetime]) -> Optional[int]:
    return None if end is None else round((end - start).total_seconds())


def _wait(h: Handoff) -> Optional[int]:
    return _seconds(h.created_at, h.claimed_at)


def _first_reply(h: Handoff) -> Optional[int]:
    return _seconds(h.created_at, h.first_agent_reply_at)


def _resolved(h: Handoff) -> Optional[int]:
    return _seconds(h.created_at, h.closed_at)


def _timed(handoffs: Iterable[Handoff], measure: Callable[[Handoff], Optional[int]],
           targets: dict[str, timedelta]) -> list[dict[str, Any]]:
    """Per tier: how many were measured, p50/p90 and how many missed the tier's target."""
    by_tier: dict[str, list[int]] = defaultdict(list)
    for handoff in handoffs:
        value = measure(handoff)
        if value is not None:
            by_tier[handoff.tier].append(value)
    return [_tier_row(tier, by_tier[tier], targets[tier]) for tier in TIERS]


def _tier_row(tier: str, values: list[int], target: timedelta) -> dict[str, Any]:
    limit = round(target.total_seconds())
    return {"tier": tier, "label": labels.TIERS[tier], "count": len(values),
            "p50_seconds": percentile(values, 50), "p90_seconds": percentile(values, 90),
            "target_seconds": limit, "breaches": sum(1 for v in values if v > limit)}


def _tickets(records: Records, hours: ServiceHours, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for tier in TIERS:
        tickets = [t for t in records.tickets if t.tier == tier]
        answered = [t for t in tickets if t.first_response_at is not None]
        values = [_seconds(t.created_at, t.first_response_at) for t in answered]
        row = _tier_row(tier, values, hours.first_response[tier])
        row["tickets"] = len(tickets)
        # Late against each ticket's own due time (the target when it was opened).
        row["breaches"] = sum(1 for t in answered if t.first_response_at > t.due_at)
        row["overdue_open"] = sum(1 for t in tickets if t.first_response_at is None and t.due_at < now)
        rows.append(row)
    return rows
