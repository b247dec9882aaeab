"""Durable handoff records in SQL (the queue itself lives in Redis): who asked, why, for which
group, and how it ended. Same database as the transcripts."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import DateTime, Integer, String, Text, inspect, select
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class HandoffRow(Base):
    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    skill_group: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text, default="")
    packet: Mapped[str] = mapped_column(Text, default="")  # JSON, masked: handoff.packet
    resolution: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))  # first claim
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class SatisfactionRow(Base):
    __tablename__ = "satisfaction"

    handoff_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    score: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TicketRow(Base):
    """A request for a human when none is there: answered later, before ``due_at`` (the SLA)."""
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[Optional[str]] = mapped_column(String(64))
    skill_group: Mapped[str] = mapped_column(String(16), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | answered | closed
    summary: Mapped[str] = mapped_column(Text, default="")
    packet: Mapped[str] = mapped_column(Text, default="")  # JSON, masked: handoff.packet
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class NoteRow(Base):
    """An agent's internal note on a handoff: never shown to the customer."""
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(String(32), index=True)
    agent_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HandoffRecords:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        Base.metadata.create_all(engine)
        _add_missing_columns(engine)

    def create(self, row: HandoffRow) -> None:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            session.add(row)

    def finish(self, handoff_id: str, status: str, resolution: str = "") -> None:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            row = session.get(HandoffRow, handoff_id)
            if row is not None:
                row.status, row.closed_at = status, datetime.now(timezone.utc)
                row.resolution = resolution or row.resolution

    def rate(self, handoff_id: str, conversation_id: str, score: int) -> None:
        """The customer's 1–5 answer to the satisfaction question (the first answer counts)."""
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            if session.get(SatisfactionRow, handoff_id) is None:
                session.add(SatisfactionRow(handoff_id=handoff_id, conversation_id=conversation_id,
                                            score=score, created_at=datetime.now(timezone.utc)))

    def open_ticket(self, row: TicketRow) -> None:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            session.add(row)

    def tickets(self, groups: list[str], limit: int = 100) -> list[TicketRow]:
        """Tickets still to be worked, the most urgent first."""
        query = (select(TicketRow).where(TicketRow.skill_group.in_(groups),
                                         TicketRow.status != "closed")
                 .order_by(TicketRow.due_at).limit(limit))
        with Session(self._engine, expire_on_commit=False) as session:
            return list(session.scalars(query))

    def ticket(self, ticket_id: str) -> Optional[TicketRow]:
        with Session(self._engine, expire_on_commit=False) as session:
            return session.get(TicketRow, ticket_id)

    def ticket_answered(self, ticket_id: str, closed: bool = False) -> None:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            row = session.get(TicketRow, ticket_id)
            if row is not None:
                now = datetime.now(timezone.utc)
                row.first_response_at = row.first_response_at or now
                row.status = "closed" if closed else "answered"
                row.closed_at = now if closed else None

    def claimed(self, handoff_id: str) -> None:
        """An agent took the conversation; the first claim counts (a requeue keeps it), so the
        queue wait is claimed_at - created_at."""
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            row = session.get(HandoffRow, handoff_id)
            if row is not None and row.claimed_at is None:
                row.claimed_at = datetime.now(timezone.utc)

    def add_note(self, handoff_id: str, agent_id: str, text: str) -> None:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            session.add(NoteRow(handoff_id=handoff_id, agent_id=agent_id, text=text,
                                created_at=datetime.now(timezone.utc)))

    def notes(self, handoff_id: str) -> list[NoteRow]:
        with Session(self._engine, expire_on_commit=False) as session:
            query = select(NoteRow).where(NoteRow.handoff_id == handoff_id).order_by(NoteRow.id)
            return list(session.scalars(query))

    def rating(self, handoff_id: str) -> Optional[int]:
        with Session(self._engine, expire_on_commit=False) as session:
            row = session.get(SatisfactionRow, handoff_id)
            return row.score if row is not None else None

    def of_conversation(self, conversation_id: str) -> list[HandoffRow]:
        with Session(self._engine, expire_on_commit=False) as session:
            query = select(HandoffRow).where(HandoffRow.conversation_id == conversation_id)
            return list(session.scalars(query.order_by(HandoffRow.created_at)))


def _add_missing_columns(engine: Engine) -> None:
    """Columns added since a database was created (create_all only makes missing tables)."""
    names = inspect(engine).get_table_names()
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in names:
                continue
            present = {c["name"] for c in inspect(connection).get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and not column.primary_key:
                    kind = column.type.compile(dialect=engine.dialect)
                    connection.execute(sql(
                        f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))
