"""The whole service for the fuzz tests (tests/service/test_fuzz.py), with every channel on, and
a snapshot of everything a request could change: Redis, SQL, the knowledge-base files.

The service runs in process behind schemathesis' ASGI client (a ``requests`` session), which
starts the app's lifespan once and keeps it for every request. Stand-ins answer for what
cannot run here or is not under test: the Telegram Bot API, Rasa's parse API (the FAQ
editor's "model"), and the demo shop is real, served in a thread.
"""
from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import schemathesis
from fastapi import FastAPI
from redis.asyncio import Redis as AsyncRedis
from schemathesis.python import asgi
from sqlalchemy import Engine, func, inspect, literal, select, table, union_all

from channels import app_auth
from channels.telegram import TelegramSettings
from channels.wechat import WeChatSettings
from demo_shop.app import create_app as create_shop
from demo_shop.settings import ShopSettings
from handoff.agents import Agent, Sessions
from handoff.console_api import COOKIE
from knowledge_base import compiler
from knowledge_base.audit import AuditLog
from knowledge_base.editor import KnowledgeBase
from service.app import create_app
from service.settings import Settings
from tests.service.telegram.updates import SECRET as TELEGRAM_SECRET
from tests.service.telegram.updates import TOKEN as TELEGRAM_TOKEN
from tests.service.wechat.helpers import APP_ID, APP_SECRET
from tests.service.wechat.helpers import TOKEN as WECHAT_TOKEN
from tests.stand_ins.rasa_parse import parse_stand_in
from tests.stand_ins.serving import serve
from tests.stand_ins.telegram_api import TelegramStandIn
from tests.support import scratch_database

BASE_URL = f"http://{asgi.HOST}"
APP_TOKEN_SECRET = "fuzz-" + "f" * 40
RASA_TOKEN = "fuzz-rasa-token"
CUSTOMER = "C0001"
ROLES = ("agent", "supervisor", "editor")
# Keys a rejected request is meant to write: rate limits and the login-failure counters that
# lock out password guessing (a wrong password is answered 401 *and* counted, on purpose).
DELIBERATE_KEY_PARTS = (":rate:", "xs:login-failures:")


@dataclass
class Service:
    """The running service and what a test needs to talk to it as anyone."""

    app: FastAPI
    client: asgi.ASGIClient
    redis_url: str
    kb_dir: Path
    agents: dict[str, Agent] = field(default_factory=dict)  # role -> the demo account

    def customer_token(self, customer_id: str = CUSTOMER) -> str:
        return app_auth.sign(customer_id, APP_TOKEN_SECRET, 3600)

    def session_cookie(self, role: str) -> dict[str, str]:
        """A brand-new session of the role's demo account: a fuzzed logout ends only its own."""
        return {COOKIE: self._loop.run_until_complete(self._sessions.open(self.agents[role]))}

    def snapshot(self) -> dict[str, Any]:
        return snapshot(self._redis, self.app.state.transcripts.engine, self.kb_dir)

    def __post_init__(self) -> None:
        # Sessions are opened as the login opens them, on a loop and client of the test's own.
        self._loop = asyncio.new_event_loop()
        self._async_redis = AsyncRedis.from_url(self.redis_url)
        self._sessions = Sessions(self._async_redis)
        self._redis = redis.Redis.from_url(self.redis_url)

    def close(self) -> None:
        self._redis.close()
        self._loop.run_until_complete(self._async_redis.aclose())
        self._loop.close()


@contextmanager
def running_service(redis_url: str, work_dir: Path, database_url: str, router_consumers: bool = False,
                    rasa_url: str = "", bot_timeout_seconds: float = 0.05) -> Iterator[Service]:
    """The service on ``redis_url`` (flushed first) and ``database_url``, with a scratch copy of
    the FAQ under ``work_dir``. Without consumers nothing happens behind a request's back, so a
    snapshot taken around it sees only what the request itself did."""
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    kb_dir = work_dir / "kb"
    shutil.copytree(compiler.ENTRIES_DIR, kb_dir / "entries")
    knowledge = KnowledgeBase(kb_dir / "entries", kb_dir / "retired", AuditLog(kb_dir / "audit.jsonl"))
    with ExitStack() as stack:
        telegram_api = TelegramStandIn(TELEGRAM_TOKEN)
        telegram_url = stack.enter_context(serve(telegram_api.app))
        shop_url = stack.enter_context(serve(create_shop(ShopSettings(
            db_path=str(work_dir / "shop.sqlite3")))))
        actions_url = stack.enter_context(serve(_action_server_health()))
        if not rasa_url:
            rasa_url = stack.enter_context(
                parse_stand_in(knowledge.active_questions(), RASA_TOKEN)).url
        settings = service_settings(redis_url, database_url, rasa_url,
                                    shop_url, router_consumers, bot_timeout_seconds)
        settings.action_server_url = f"{actions_url}/webhook"
        app = create_app(settings, *channel_settings(telegram_url, min(bot_timeout_seconds, 4)))
        app.state.kb = knowledge
        client = stack.enter_context(asgi.get_client(app))
        stack.callback(asgi.shutdown_lifespans)  # the app's lifespan ends with the module
        service = Service(app, client, redis_url, kb_dir)
        stack.callback(service.close)
        for role in ROLES:
            service.agents[role] = _log_in(client, f"{role}1")
        yield service


@contextmanager
def strictest_database(work_dir: Path) -> Iterator[str]:
    """PostgreSQL when one answers (it refuses what SQLite swallows, such as NUL characters),
    else SQLite."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database("postgresql", work_dir))
        except pytest.skip.Exception:
            url = f"sqlite:///{work_dir}/service.sqlite3"
        yield url


def _action_server_health() -> FastAPI:
    """The action server as the readiness probe sees it (no action runs in these tests)."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _log_in(client: asgi.ASGIClient, username: str) -> Agent:
    """Through the real login once, to learn the demo account (sessions are made per case)."""
    answer = client.post("/api/agent/login",
                         json={"username": username, "password": f"{username}-demo-password"})
    assert answer.status_code == 200, answer.text
    public = answer.json()["agent"]
    client.cookies.clear()
    return Agent(id=public["id"], username=username, name=public["name"], role=public["role"],
                 groups=tuple(public["groups"]), capacity=public["capacity"])


def service_settings(redis_url: str, database_url: str, rasa_url: str, shop_url: str,
                     router_consumers: bool, bot_timeout_seconds: float) -> Settings:
    return Settings(
        redis_url=redis_url, database_url=database_url, rasa_url=rasa_url,
        rasa_auth_token=RASA_TOKEN, app_token_secret=APP_TOKEN_SECRET,
        shop_api_url=f"{shop_url}/api/v1", bot_timeout_seconds=bot_timeout_seconds,
        probe_timeout_seconds=1, router_consumers=router_consumers, handoff_hours="00:00-00:00")


def channel_settings(telegram_url: str, passive_timeout_seconds: float
                     ) -> tuple[TelegramSettings, WeChatSettings]:
    return (TelegramSettings(bot_token=TELEGRAM_TOKEN, webhook_secret=TELEGRAM_SECRET,
                             api_base_url=f"{telegram_url}/bot"),
            WeChatSettings(token=WECHAT_TOKEN, app_id=APP_ID, app_secret=APP_SECRET,
                           api_base_url=telegram_url,  # never called: no consumer sends
                           passive_timeout_seconds=passive_timeout_seconds))


def api_schema(config: dict[str, Any]) -> schemathesis.BaseSchema:
    """The service's OpenAPI schema, every channel on (building the app connects nothing)."""
    unused = "http://127.0.0.1:9"
    app = create_app(service_settings("redis://127.0.0.1:9/0", "sqlite://", unused, unused,
                                      False, 1), *channel_settings(unused, 1))
    return schemathesis.openapi.from_dict(app.openapi(), config=schemathesis.Config.from_dict(config))


# Bounded so the whole file runs in about two minutes on two cores; deterministic for CI. The
# coverage phase (boundary values, missing and wrong-typed fields) runs everywhere but on the
# routes that replay hundreds of questions through the model per call.
FUZZ_CONFIG = {
    # NUL characters too (schemathesis leaves them out unless asked): PostgreSQL refuses them.
    "generation": {"max-examples": 6, "deterministic": True, "allow-x00": True},
    "phases": {"coverage": {"unexpected-methods": ["PATCH"]}},
    "operations": [{"include-path-regex": "^/api/kb/(regression|confusion|preview|backlog)$",
                    "phases": {"coverage": {"enabled": False}},
                    "generation": {"max-examples": 3}}],
}
# The wrong user is turned away before the body matters: a few examples, no boundary values.
WRONG_USER_CONFIG = {"generation": {"max-examples": 3, "deterministic": True},
                     "phases": {"coverage": {"enabled": False}}}


# --- the state a rejected request must leave alone ----------------------------------------------

def snapshot(client: redis.Redis, engine: Engine, kb_dir: Path) -> dict[str, Any]:
    return {"redis": redis_state(client), "sql": sql_row_counts(engine),
            "files": file_digests(kb_dir)}


def redis_state(client: redis.Redis) -> dict[str, Any]:
    """Every key but the deliberate counters, with its whole value (TTLs tick, so not those)."""
    keys = sorted(key for key in client.scan_iter(count=10_000)
                  if not any(part.encode() in key for part in DELIBERATE_KEY_PARTS))
    with client.pipeline(transaction=False) as types:
        for key in keys:
            types.type(key)
        kinds = [kind.decode() for kind in types.execute()]
    with client.pipeline(transaction=False) as values:
        for key, kind in zip(keys, kinds, strict=True):
            _read(values, kind, key)
        return dict(zip(keys, zip(kinds, values.execute(), strict=True), strict=True))


def _read(pipeline: Any, kind: str, key: bytes) -> None:
    readers = {"string": pipeline.get, "hash": pipeline.hgetall, "set": pipeline.smembers,
               "list": lambda k: pipeline.lrange(k, 0, -1),
               "zset": lambda k: pipeline.zrange(k, 0, -1, withscores=True),
               "stream": pipeline.xrange, "none": pipeline.exists}
    readers[kind](key)


def sql_row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table that has any, in one query (a table may be created on first use, even
    by a refused request: an empty table is no state)."""
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        if not names:
            return {}
        counts = union_all(*(select(literal(name), func.count()).select_from(table(name))
                             for name in names))
        return {name: count for name, count in connection.execute(counts) if count}


def file_digests(folder: Path) -> dict[str, str]:
    """Every file's digest, but the editor's empty lock file: taking the lock is not a change."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != compiler.LOCK_NAME}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What differs between two snapshots, readable in an assertion message."""
    found: dict[str, Any] = {}
    for part in before:
        old, new = before[part], after[part]
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                found[f"{part}:{key!r}"] = (old.get(key), new.get(key))
    return found
