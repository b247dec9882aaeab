"""What customers asked and how often the bot did not understand, from Rasa's event log (the
``events`` table its SQL event broker writes into the service's database).

User events carry the NLU's intent; FAQ answers are bot events whose ``utter_action`` is
``utter_faq/<entry id>``; ``nlu_fallback`` is the intent of a message NLU was unsure about and
``action_default_fallback`` the bot giving up (the second miss hands over to an agent).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from analytics import sql
from analytics.period import Filter

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"
FAQ_PREFIX = "utter_faq/"
TOP = 10


@dataclass
class Intents:
    available: bool                                   # Rasa's event table exists
    intents: list[tuple[str, int]] = field(default_factory=list)    # most asked first
    faq: list[tuple[str, int]] = field(default_factory=list)        # entry id, answers
    messages_by_day: dict[date, int] = field(default_factory=dict)
    fallbacks_by_day: dict[date, int] = field(default_factory=dict)
    gave_up: int = 0                                  # action_default_fallback runs


def load(engine: Engine, where: Filter) -> Intents:
    if not sql.has_table(engine, "events"):
        return Intents(available=False)
    with engine.connect() as connection:
        result = Intents(available=True)
        result.intents = _top(connection, engine, where, "user", ("parse_data", "intent", "name"))
        faq = _top(connection, engine, where, "bot", ("metadata", "utter_action"), FAQ_PREFIX)
        result.faq = [(name[len(FAQ_PREFIX):], count) for name, count in faq]
        result.messages_by_day, result.fallbacks_by_day = _fallbacks(connection, engine, where)
        result.gave_up = connection.execute(select(func.count()).where(
            *_scope(engine, where, "action"),
            sql.event_text(engine, "name") == FALLBACK_ACTION)).scalar_one()
    return result


def _scope(engine: Engine, where: Filter, kind: str) -> list:
    """Events of one kind within the filter (the sender id is the conversation id)."""
    stamp = sql.event_number(engine, "timestamp")
    conditions = [sql.event_text(engine, "event") == kind,
                  and_(stamp >= where.since.timestamp(), stamp < where.until.timestamp())]
    if where.channel:
        conditions.append(sql.EVENTS.c.sender_id.like(f"{where.channel}:%"))
    return conditions


def _top(connection, engine: Engine, where: Filter, kind: str,  # type: ignore[no-untyped-def]
         path: tuple[str, ...], prefix: str = "") -> list[tuple[str, int]]:
    name = sql.event_text(engine, *path).label("name")
    count = func.count().label("n")
    query = (select(name, count).where(*_scope(engine, where, kind), name.isnot(None))
             .group_by(name).order_by(count.desc(), name).limit(TOP))
    if prefix:
        query = query.where(name.like(prefix + "%"))
    # Ties in name order whatever the database's collation.
    return sorted(((row.name, row.n) for row in connection.execute(query)),
                  key=lambda pair: (-pair[1], pair[0]))


def _fallbacks(connection, engine: Engine,  # type: ignore[no-untyped-def]
               where: Filter) -> tuple[dict[date, int], dict[date, int]]:
    """User messages and ``nlu_fallback`` ones per shop day."""
    stamp = sql.event_number(engine, "timestamp")
    day = sql.floor(engine, (stamp + sql.SHOP_OFFSET_SECONDS) / 86400).label("day")
    fallback = case((sql.event_text(engine, "parse_data", "intent", "name") == FALLBACK_INTENT, 1),
                    else_=0)
    query = (select(day, func.count().label("n"), func.sum(fallback).label("fallbacks"))
             .where(*_scope(engine, where, "user")).group_by(day))
    epoch = date(1970, 1, 1)
    messages, fallbacks = {}, {}
    for row in connection.execute(query):
        moment = epoch + timedelta(days=int(row.day))
        messages[moment], fallbacks[moment] = row.n, int(row.fallbacks or 0)
    return messages, fallbacks
