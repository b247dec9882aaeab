"""Reads of the service's own records (messages, handoffs, tickets, ratings) for one filter.

Only what the figures need leaves the database: ids, channels, reasons, tiers and times; never a
message text, summary or customer id. Blocking (SQLAlchemy): async callers use a worker thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from analytics import sql
from analytics.period import Filter
from handoff.records import HandoffRow, SatisfactionRow, TicketRow
from handoff.transcripts import MessageRow


@dataclass(frozen=True)
class Handoff:
    id: str
    conversation_id: str
    channel: str
    reason: str
    tier: str
    status: str
    created_at: datetime
    closed_at: Optional[datetime]
    claimed_at: Optional[datetime]       # the first claim; None while it waits
    first_agent_reply_at: Optional[datetime]


@dataclass(frozen=True)
class Ticket:
    conversation_id: str
    channel: str
    reason: str
    tier: str
    created_at: datetime
    due_at: datetime
    first_response_at: Optional[datetime]


@dataclass(frozen=True)
class Rating:
    channel: str
    score: int
    created_at: datetime


@dataclass(frozen=True)
class Records:
    conversation_days: dict[tuple[str, date], str]   # (conversation, shop day) -> channel
    handoffs: list[Handoff]
    tickets: list[Ticket]
    ratings: list[Rating]


def load(engine: Engine, where: Filter) -> Records:
    with engine.connect() as connection:
        return Records(_conversation_days(connection, engine, where),
                       _handoffs(connection, where), _tickets(connection, where),
                       _ratings(connection, where))


def utc(moment: Optional[datetime]) -> Optional[datetime]:
    """Stored moments are UTC; SQLite hands them back without the zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(
        timezone.utc)


def _in_range(column, where: Filter):  # type: ignore[no-untyped-def]
    return and_(column >= where.since, column < where.until)


def _conversation_days(connection, engine: Engine,  # type: ignore[no-untyped-def]
                       where: Filter) -> dict[tuple[str, date], str]:
    """A conversation counts once per shop day the customer wrote in it."""
    m = MessageRow.__table__.c
    day = sql.shop_day(engine, m.created_at).label("day")
    query = (select(m.conversation_id, m.channel, day)
             .where(m.direction == "in", _in_range(m.created_at, where))
             .group_by(m.conversation_id, m.channel, day))
    if where.channel:
        query = query.where(m.channel == where.channel)
    return {(row.conversation_id, date.fromisoformat(str(row.day))): row.channel
            for row in connection.execute(query)}


def _handoffs(connection, where: Filter) -> list[Handoff]:  # type: ignore[no-untyped-def]
    h, m = HandoffRow.__table__.c, MessageRow.__table__.c
    role = MessageRow.payload["author"]["role"].as_string()
    # The first message an agent sent the customer while this handoff was open.
    first_reply = (select(func.min(m.created_at)).where(
        m.conversation_id == h.conversation_id, m.direction == "out", role == "agent",
        m.created_at >= h.created_at, or_(h.closed_at.is_(None), m.created_at <= h.closed_at))
        .scalar_subquery().label("first_reply"))
    query = select(h.id, h.conversation_id, h.channel, h.reason, h.tier, h.status, h.created_at,
                   h.closed_at, h.claimed_at, first_reply).where(_in_range(h.created_at, where))
    if where.channel:
        query = query.where(h.channel == where.channel)
    return [Handoff(row.id, row.conversation_id, row.channel, row.reason, row.tier, row.status,
                    utc(row.created_at), utc(row.closed_at), utc(row.claimed_at),
                    utc(row.first_reply))
            for row in connection.execute(query.order_by(h.created_at))]


def _tickets(connection, where: Filter) -> list[Ticket]:  # type: ignore[no-untyped-def]
    t = TicketRow.__table__.c
    query = select(t.conversation_id, t.channel, t.reason, t.tier, t.created_at, t.due_at,
                   t.first_response_at).where(_in_range(t.created_at, where))
    if where.channel:
        query = query.where(t.channel == where.channel)
    return [Ticket(row.conversation_id, row.channel, row.reason, row.tier, utc(row.created_at),
                   utc(row.due_at), utc(row.first_response_at))
            for row in connection.execute(query.order_by(t.created_at))]


def _ratings(connection, where: Filter) -> list[Rating]:  # type: ignore[no-untyped-def]
    s = SatisfactionRow.__table__.c
    query = select(s.conversation_id, s.score, s.created_at).where(_in_range(s.created_at, where))
    if where.channel:  # conversation ids are "<channel>:<account>"
        query = query.where(s.conversation_id.like(f"{where.channel}:%"))
    return [Rating(row.conversation_id.partition(":")[0], row.score, utc(row.created_at))
            for row in connection.execute(query)]
