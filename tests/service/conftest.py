"""Fixtures of the service-side tests: a Rasa webhook stand-in and an async Redis client."""
from __future__ import annotations

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
