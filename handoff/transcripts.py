"""The transcript store: every inbound and outbound message, durably, in SQL.

SQLite by default, PostgreSQL in production (same code; the URL decides). Calls are blocking:
async callers run them in a worker thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Optional

from sqlalchemy import JSON, DateTime, Integer, String, Text, create_engine, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

Direction = Literal["in", "out"]


class Base(DeclarativeBase):
    pass


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))
    customer_id: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    client_message_id: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)
    error: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class TranscriptMessage:
    conversation_id: str
    channel: str
    direction: Direction
    text: str
    customer_id: Optional[str] = None
    client_message_id: Optional[str] = None
    payload: Optional[dict[str, Any]] = None
    error: Optional[str] = None
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_wal)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_wal(connection: Any, _: Any) -> None:
    """Rasa's event broker writes to the same file from another process: with a write-ahead log
    readers never wait for it and writers only for each other's short transactions."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class TranscriptStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        Base.metadata.create_all(engine)

    @classmethod
    def from_url(cls, database_url: str) -> TranscriptStore:
        return cls(make_engine(database_url))

    def record(self, *messages: TranscriptMessage) -> None:
        """Store messages in one transaction (all or none)."""
        with Session(self.engine) as session, session.begin():
            session.add_all(MessageRow(**vars(message)) for message in messages)

    def conversation(self, conversation_id: str, limit: int = 200) -> list[TranscriptMessage]:
        """The latest ``limit`` messages of a conversation, oldest first."""
        return self._latest(MessageRow.conversation_id == conversation_id, limit)

    def customer_history(self, customer_id: str, limit: int = 500) -> list[TranscriptMessage]:
        """The latest ``limit`` messages of a customer on every channel, oldest first."""
        return self._latest(MessageRow.customer_id == customer_id, limit)

    def _latest(self, condition, limit: int) -> list[TranscriptMessage]:  # type: ignore[no-untyped-def]
        query = select(MessageRow).where(condition).order_by(MessageRow.id.desc()).limit(limit)
        with Session(self.engine) as session:
            rows = list(session.scalars(query))
        return [_to_message(row) for row in reversed(rows)]

    def close(self) -> None:
        self.engine.dispose()


def _to_message(row: MessageRow) -> TranscriptMessage:
    created = row.created_at
    # SQLite drops the zone (we only ever store UTC); PostgreSQL returns the session's zone.
    created = (created.replace(tzinfo=timezone.utc) if created.tzinfo is None
               else created.astimezone(timezone.utc))
    return TranscriptMessage(
        conversation_id=row.conversation_id, channel=row.channel,
        direction=row.direction,  # type: ignore[arg-type]
        text=row.text, customer_id=row.customer_id, client_message_id=row.client_message_id,
        payload=row.payload, error=row.error, created_at=created,
    )
