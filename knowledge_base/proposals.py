"""Learning from agents: FAQ proposals from closed conversations, and the backlog of questions
the bot did not understand.

Both live in SQL on the service's engine (the handoffs and messages they come from are there
too); nothing here touches the YAML files: an editor turns a proposal into an entry through the
normal, checked save, and marks the proposal accepted with the entry it became.
"""
from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from handoff.records import HandoffRow
from handoff.summary.masking import mask_text
from handoff.transcripts import MessageRow
from knowledge_base.regression import LexicalMatcher, _grams

STATUSES = ("pending", "accepted", "rejected")
# Two customer questions belong to one backlog group from this similarity on (cosine of
# character 1-2-grams): high enough that "发票怎么开" and "退货运费" stay apart.
GROUP_SIMILARITY = 0.5
BACKLOG_SCAN = 2000


class Base(DeclarativeBase):
    pass


class ProposalRow(Base):
    __tablename__ = "kb_proposals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    handoff_id: Mapped[str] = mapped_column(String(64), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(32))
    proposer_name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    entry_id: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), nullable=True)


def _public(row: ProposalRow) -> dict[str, Any]:
    return {"id": row.id, "handoff_id": row.handoff_id, "question": row.question,
            "answer": row.answer, "proposed_by": row.proposer_name, "status": row.status,
            "entry_id": row.entry_id, "note": row.note, "decided_by": row.decided_by,
            "created_at": _utc(row.created_at).isoformat()}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Proposals:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        Base.metadata.create_all(engine)

    def handoff_exists(self, handoff_id: str) -> bool:
        with Session(self.engine) as session:
            return session.get(HandoffRow, handoff_id) is not None

    def add(self, handoff_id: str, question: str, answer: str, agent_id: str,
            agent_name: str) -> dict[str, Any]:
        row = ProposalRow(id="P" + secrets.token_hex(8), handoff_id=handoff_id, question=question,
                          answer=answer, proposed_by=agent_id, proposer_name=agent_name,
                          status="pending", created_at=datetime.now(timezone.utc))
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
        return _public(row)

    def list(self, status: str = "pending", limit: int = 200) -> list[dict[str, Any]]:
        query = (select(ProposalRow).where(ProposalRow.status == status)
                 .order_by(ProposalRow.created_at.desc()).limit(limit))
        with Session(self.engine) as session:
            return [_public(row) for row in session.scalars(query)]

    def decide(self, proposal_id: str, status: str, editor: str, entry_id: str = "",
               note: str = "") -> Optional[dict[str, Any]]:
        """Accept or reject a pending proposal; None when there is no such pending one (already
        decided by a colleague, or never existed)."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            row = session.get(ProposalRow, proposal_id, with_for_update=True)
            if row is None or row.status != "pending":
                return None
            row.status, row.entry_id, row.note = status, entry_id, note
            row.decided_by, row.decided_at = editor, datetime.now(timezone.utc)
        return _public(row)


# ---------------------------------------------------------------------------------------------
# The "bot did not understand" backlog

@dataclass
class _Group:
    leader: dict[str, float]
    texts: Counter[str]
    handoffs: int = 0
    last_seen: Optional[datetime] = None


def not_understood_questions(engine: Engine, days: int) -> list[tuple[str, datetime]]:
    """For each ``not_understood`` handoff of the last ``days``: the customer's last message
    before it (masked: phones and addresses do not reach the editors' page)."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    handoffs = select(HandoffRow).where(HandoffRow.reason == "not_understood",
                                        HandoffRow.created_at >= since)
    found = []
    with Session(engine) as session:
        for row in session.scalars(handoffs.order_by(HandoffRow.created_at.desc()).limit(BACKLOG_SCAN)):
            text = session.scalar(
                select(MessageRow.text).where(MessageRow.conversation_id == row.conversation_id,
                                              MessageRow.direction == "in",
                                              MessageRow.created_at <= row.created_at)
                .order_by(MessageRow.id.desc()).limit(1))
            if text and text.strip():
                found.append((mask_text(text.strip())[:200], _utc(row.created_at)))
    return found


def backlog(engine: Engine, questions: dict[str, list[str]], days: int = 30,
            limit: int = 50) -> list[dict[str, Any]]:
    """Similar not-understood questions grouped, the biggest group first, each with the entry
    that comes closest today (so an editor sees "add a question to X" or "write a new one")."""
    groups: list[_Group] = []
    for text, when in not_understood_questions(engine, days):
        vector = _unit(_grams(text))
        group = max(groups, key=lambda g: _cosine(g.leader, vector), default=None)
        if group is None or _cosine(group.leader, vector) < GROUP_SIMILARITY:
            group = _Group(vector, Counter())
            groups.append(group)
        group.texts[text] += 1
        group.handoffs += 1
        group.last_seen = max(group.last_seen or when, when)
    matcher = LexicalMatcher(questions)
    ranked = sorted(groups, key=lambda g: (-g.handoffs, -(g.last_seen or datetime.min).timestamp()))
    return [_group_public(group, matcher) for group in ranked[:limit]]


def _group_public(group: _Group, matcher: LexicalMatcher) -> dict[str, Any]:
    question = group.texts.most_common(1)[0][0]
    closest = matcher.rank(question)[:1]
    return {"question": question, "count": group.handoffs,
            "examples": [text for text, _ in group.texts.most_common(5)],
            "last_seen": group.last_seen.isoformat() if group.last_seen else None,
            "closest_entry": closest[0][0] if closest else None,
            "closest_score": round(closest[0][1], 3) if closest else None}


def _unit(grams: Counter[str]) -> dict[str, float]:
    norm = sum(count * count for count in grams.values()) ** 0.5 or 1.0
    return {gram: count / norm for gram, count in grams.items()}


def _cosine(first: dict[str, float], second: dict[str, float]) -> float:
    return sum(weight * second.get(gram, 0.0) for gram, weight in first.items())


def recent_customer_questions(engine: Engine, limit: int = 200) -> list[str]:
    """The last ``limit`` distinct customer messages that read like questions (not button
    payloads, order numbers or one-character replies), masked."""
    from knowledge_base.compiler import question_key  # the bot's folding: 退貨 = 退货
    query = (select(MessageRow.text).where(MessageRow.direction == "in")
             .order_by(MessageRow.id.desc()).limit(limit * 10))
    seen, found = set(), []
    with Session(engine) as session:
        for text in session.scalars(query):
            text = (text or "").strip()
            key = question_key(text) if 2 <= len(text) <= 80 and not text.startswith("/") else ""
            if not key or key.isdigit() or key in seen:
                continue
            seen.add(key)
            found.append(mask_text(text))
            if len(found) >= limit:
                break
    return found
