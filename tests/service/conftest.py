"""Fixtures of the service-side tests: a Rasa webhook stand-in and an async Redis client."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from redis.asyncio import Redis

from tests.stand_ins.rasa_webhook import rasa_stand_in


@pytest.fixture
def rasa():
    with rasa_stand_in() as stand_in:
        yield stand_in


@pytest.fixture
async def redis(fresh_redis_url):
    client = Redis.from_url(fresh_redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def one_rate_window(monkeypatch):
    """Rate-limit windows follow the clock (fixed windows): a test counting requests must not
    straddle two of them, so the limiter's clock stands still."""
    monkeypatch.setattr("service.rate_limit.time", SimpleNamespace(time=lambda: 1_800_000_030.0))
