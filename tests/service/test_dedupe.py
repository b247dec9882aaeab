import uuid

import pytest
from redis.asyncio import Redis

from channels.dedupe import Deduplicator


@pytest.fixture
async def dedupe(redis_url):
    redis = Redis.from_url(redis_url)
    yield Deduplicator(redis, ttl_seconds=60, prefix=f"test:{uuid.uuid4().hex}:")
    await redis.aclose()


async def test_first_claim_is_new_then_in_progress(dedupe):
    assert (await dedupe.claim("m1")).new
    again = await dedupe.claim("m1")
    assert not again.new and again.in_progress


async def test_completed_message_returns_the_stored_result(dedupe):
    await dedupe.claim("m2")
    await dedupe.complete("m2", {"replies": [{"text": "您好"}]})
    claim = await dedupe.claim("m2")
    assert not claim.new and claim.result == {"replies": [{"text": "您好"}]}


async def test_released_claim_can_be_taken_again(dedupe):
    await dedupe.claim("m3")
    await dedupe.release("m3")
    assert (await dedupe.claim("m3")).new


async def test_keys_expire(redis_url):
    redis = Redis.from_url(redis_url)
    dedupe = Deduplicator(redis, ttl_seconds=60, prefix="test:ttl:")
    await dedupe.claim("m4")
    assert 0 < await redis.ttl("test:ttl:m4") <= 60
    await redis.aclose()
