"""The whole stack as separate processes: Redis, demo shop, action server, Rasa, service."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.stack import MODEL, Stack, full_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail("no trained model at models/xiaoshou.tar.gz: run `make train` first")
    with full_stack(tmp_path_factory.mktemp("stack"), redis_url) as running_stack:
        yield running_stack


@pytest.fixture
def service(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.service_url, timeout=30) as client:
        yield client


@pytest.fixture
def shop(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack.shop_url}/api/v1", timeout=10) as client:
        yield client


@pytest.fixture
def agent_on_duty(stack: Stack) -> Iterator[httpx.Client]:
    """The demo agent logged in (and so counted as on duty for the next half minute)."""
    with httpx.Client(base_url=stack.service_url, timeout=10) as agent:
        answer = agent.post("/api/agent/login",
                            json={"username": "agent1", "password": "agent1-demo-password"})
        assert answer.status_code == 200, answer.text
        yield agent
