"""Fixtures of the Telegram channel tests: a Bot API stand-in, real Redis, the webhook app.

The router is replaced by ``RecordingSubmitter``, a test double of ``ConversationSubmitter``
that records what it is given and deduplicates by ``dedupe_key`` as the real one does (the
engineer's integration tests run the real router).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Optional

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from channels.messages import Inbound, Reply, RouterUnavailable, Submitted
from channels.telegram import TelegramSettings, build_sender, router
from service import errors
from service.rate_limit import Limit, RateLimiter
from tests.service.telegram.updates import SECRET, TOKEN
from tests.stand_ins.serving import serve
from tests.stand_ins.telegram_api import TelegramStandIn

REDIS_DB = 7  # this package's own database in the session's Redis, flushed per test

UNLIMITED = Limit(10**6, 60)  # the limit is tested where a test sets one


class RecordingSubmitter:
    """Test double of ``ConversationSubmitter``."""

    def __init__(self) -> None:
        self.inbounds: list[Inbound] = []
        self.seen: set[str] = set()
        self.unavailable = False  # True: behave as if Redis were down

    async def submit(self, inbound: Inbound) -> Submitted:
        if self.unavailable:
            raise RouterUnavailable("redis down (test)")
        if inbound.dedupe_key in self.seen:
            return Submitted(duplicate=True, entry_id=None)
        self.seen.add(inbound.dedupe_key)
        self.inbounds.append(inbound)
        return Submitted(duplicate=False, entry_id=f"{len(self.inbounds)}-0")

    async def wait_replies(self, inbound: Inbound, timeout: float) -> Optional[list[Reply]]:
        return None


@pytest.fixture
def telegram_redis_url(redis_url: str) -> str:
    url = redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    with SyncRedis.from_url(url) as client:
        client.flushdb()
    return url


@pytest.fixture
def stand_in() -> TelegramStandIn:
    return TelegramStandIn(TOKEN)


@pytest.fixture
def api_url(stand_in: TelegramStandIn) -> Iterator[str]:
    with serve(stand_in.app) as url:
        yield url


def make_settings(api_url: str, **overrides: Any) -> TelegramSettings:
    values = {"bot_token": TOKEN, "webhook_secret": SECRET, "api_base_url": f"{api_url}/bot",
              "request_timeout_seconds": 5, **overrides}
    return TelegramSettings(**values)


@pytest.fixture
def settings(api_url: str) -> TelegramSettings:
    return make_settings(api_url)


def webhook_app(settings: Optional[TelegramSettings], redis_url: str,
                submitter: RecordingSubmitter, per_customer: Limit = UNLIMITED) -> FastAPI:
    """The webhook as the service will mount it (``None`` settings: channel not configured)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = Redis.from_url(redis_url)
        app.state.conversations = submitter
        app.state.rate_limiter = RateLimiter(app.state.redis, UNLIMITED, per_customer)
        if settings is not None:
            app.state.telegram = build_sender(settings, app.state.redis)
            await app.state.telegram.start()
        try:
            yield
        finally:
            if settings is not None:
                await app.state.telegram.aclose()
            await app.state.redis.aclose()

    app = FastAPI(lifespan=lifespan)
    errors.install(app)
    app.include_router(router)
    return app


@pytest.fixture
def submitter() -> RecordingSubmitter:
    return RecordingSubmitter()


@pytest.fixture
def client(settings, telegram_redis_url, submitter) -> Iterator[TestClient]:
    with TestClient(webhook_app(settings, telegram_redis_url, submitter)) as test_client:
        yield test_client


@pytest.fixture
async def redis(telegram_redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(telegram_redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def sender(settings, redis):
    telegram = build_sender(settings, redis)
    await telegram.start()
    yield telegram
    await telegram.aclose()
