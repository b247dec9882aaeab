"""Fixtures shared by the tests of both environments."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real, private Redis for this test session."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


_next_db = iter(range(1, 10_000))


@pytest.fixture
def fresh_redis_url(redis_url: str) -> str:
    """An empty database of the private Redis, for a test that runs router consumers: they
    must not compete with the end-to-end stack's consumers, which use database 0."""
    import redis

    url = f"{redis_url.rsplit('/', 1)[0]}/{next(_next_db) % 15 + 1}"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url
