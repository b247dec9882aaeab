"""The few expressions SQLite and PostgreSQL spell differently: the shop day of a stored moment,
fields of Rasa's JSON event rows, and rounding down. Everything else is plain SQLAlchemy."""
from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    func,
    inspect,
    literal_column,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

SHOP_OFFSET_SECONDS = 8 * 3600

# Rasa's SQL event broker (rasa.core.brokers.sql) writes every tracker event here as JSON text;
# Rasa creates the table, we only read it.
EVENTS = Table("events", MetaData(), Column("id", Integer, primary_key=True),
               Column("sender_id", String(255)), Column("data", Text))


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def shop_day(engine: Engine, column: ColumnElement) -> ColumnElement:
    """``YYYY-MM-DD`` of a UTC timestamp column in shop time (UTC+8)."""
    if is_postgres(engine):
        shifted = func.timezone("UTC", column) + literal_column("interval '8 hours'")
        return func.to_char(shifted, "YYYY-MM-DD")
    return func.date(column, "+8 hours")  # SQLite keeps UTC wall-clock text


def event_text(engine: Engine, *path: str) -> ColumnElement:
    """A text field of an event row, e.g. ``("parse_data", "intent", "name")``."""
    if is_postgres(engine):
        # The path is ours (never user input): a literal keeps the statement cacheable.
        return cast(EVENTS.c.data, postgresql.JSON).op("#>>")(
            literal_column("'{" + ",".join(path) + "}'"))
    return func.json_extract(EVENTS.c.data, "$." + ".".join(path))


def event_number(engine: Engine, *path: str) -> ColumnElement:
    return cast(event_text(engine, *path), Float)


def floor(engine: Engine, value: ColumnElement) -> ColumnElement:
    """Round down a non-negative number (PostgreSQL's integer cast rounds to nearest)."""
    if is_postgres(engine):
        return func.floor(value)
    return cast(value, Integer)


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)

