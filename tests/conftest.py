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
