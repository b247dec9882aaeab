"""Agent accounts and sessions: hashed passwords in SQL, server-side sessions in Redis.

Passwords are stored as PBKDF2-SHA256 with a per-account salt and checked in constant time.
A session is a random id in an HttpOnly cookie; the server keeps what it means (in Redis, with a
lifetime), so logging out ends it everywhere at once. Roles: ``agent`` (works the queue),
``supervisor`` (also sees everyone's load), ``editor`` (the FAQ editor only).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Optional

from redis.asyncio import Redis
from sqlalchemy import Integer, String, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ROLES = ("agent", "supervisor", "editor")
ITERATIONS = 200_000
SESSION_SECONDS = 12 * 3600


class Base(DeclarativeBase):
    pass


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    groups: Mapped[str] = mapped_column(String(128))  # comma-separated skill groups
    capacity: Mapped[int] = mapped_column(Integer)
    password_hash: Mapped[str] = mapped_column(String(256))


@dataclass(frozen=True)
class Agent:
    id: str
    username: str
    name: str
    role: str
    groups: tuple[str, ...]
    capacity: int

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "groups": list(self.groups),
                "capacity": self.capacity}


def hash_password(password: str, salt: Optional[bytes] = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        _, iterations, salt, digest = stored.split("$")
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt),
                                        int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


# Checked when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = hash_password("not a password")


class AgentDirectory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        Base.metadata.create_all(engine)

    def add(self, username: str, name: str, role: str, groups: list[str], capacity: int,
            password: str) -> Agent:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        row = AgentRow(id="A" + secrets.token_hex(6), username=username, name=name, role=role,
                       groups=",".join(groups), capacity=capacity,
                       password_hash=hash_password(password))
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
        return _agent(row)

    def authenticate(self, username: str, password: str) -> Optional[Agent]:
        with Session(self._engine) as session:
            row = session.scalar(select(AgentRow).where(AgentRow.username == username))
        if row is None:
            password_matches(password, _DUMMY_HASH)
            return None
        return _agent(row) if password_matches(password, row.password_hash) else None

    def get(self, agent_id: str) -> Optional[Agent]:
        with Session(self._engine) as session:
            row = session.get(AgentRow, agent_id)
        return _agent(row) if row is not None else None

    def all(self) -> list[Agent]:
        with Session(self._engine) as session:
            return [_agent(row) for row in session.scalars(select(AgentRow).order_by(AgentRow.username))]

    def has_any(self) -> bool:
        with Session(self._engine) as session:
            return session.scalar(select(AgentRow.id).limit(1)) is not None


class Sessions:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def open(self, agent: Agent) -> str:
        session_id = secrets.token_urlsafe(32)
        await self._redis.set(f"xs:session:{session_id}", agent.id, ex=SESSION_SECONDS)
        return session_id

    async def agent_id(self, session_id: str) -> Optional[str]:
        if not session_id or len(session_id) > 100:
            return None
        value = await self._redis.get(f"xs:session:{session_id}")
        return value.decode() if value is not None else None

    async def close(self, session_id: str) -> None:
        await self._redis.delete(f"xs:session:{session_id}")


def _agent(row: AgentRow) -> Agent:
    return Agent(id=row.id, username=row.username, name=row.name, role=row.role,
                 groups=tuple(g for g in row.groups.split(",") if g), capacity=row.capacity)
