"""Fixtures of the WeChat channel tests: a real Redis (the session's private redis-server), the
webhook mounted on a bare FastAPI app with a test-double router, and the api.weixin.qq.com
stand-in served by uvicorn in a thread."""
from __future__ import annotations

import time
import uuid
from typing import Any, Optional

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from channels.wechat import WeChatSender, WeChatSettings, make_router
from channels.wechat.api import WeChatApi
from service import errors
from service.rate_limit import Limit, RateLimiter
from tests.service.wechat.doubles import RecordingSubmitter
from tests.service.wechat.helpers import APP_ID, APP_SECRET, TOKEN
from tests.stand_ins.wechat_api import WeChatApiState, serving

UNLIMITED = Limit(10**6, 60)  # the limit is tested where a test sets one


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:wechat:"


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def make_settings(prefix):
    def make(**overrides: Any) -> WeChatSettings:
        values = {"token": TOKEN, "app_id": APP_ID, "app_secret": APP_SECRET, "redis_prefix": prefix,
                  "passive_timeout_seconds": 0.2, **overrides}
        return WeChatSettings(**values)
    return make


@pytest.fixture
async def make_webhook(redis):
    """A client of a bare app with the webhook; returns (client, submitter)."""
    clients: list[httpx.AsyncClient] = []

    async def make(settings: WeChatSettings, submitter: Optional[RecordingSubmitter] = None,
                   sender: Any = None, clock: Any = time.time,
                   redis_client: Optional[Redis] = None,
                   per_customer: Limit = UNLIMITED) -> tuple[httpx.AsyncClient, Any]:
        submitter = submitter or RecordingSubmitter()
        app = FastAPI()
        errors.install(app)
        app.include_router(make_router(settings, clock=clock))
        app.state.redis = redis_client or redis
        app.state.conversations = submitter
        app.state.wechat_sender = sender
        app.state.rate_limiter = RateLimiter(app.state.redis, UNLIMITED, per_customer)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(client)
        return client, submitter

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture(scope="session")
def wechat_api_server():
    with serving(WeChatApiState(app_id=APP_ID, secret=APP_SECRET)) as running:
        yield running


@pytest.fixture
def wechat_api(wechat_api_server):
    """The api.weixin.qq.com stand-in with a fresh state: (state, base URL)."""
    state = WeChatApiState(app_id=APP_ID, secret=APP_SECRET)
    wechat_api_server.use(state)
    return state, wechat_api_server.url


@pytest.fixture
async def make_sender(redis, wechat_api, make_settings):
    state, base_url = wechat_api
    http = httpx.AsyncClient()

    def make(**overrides: Any) -> WeChatSender:
        settings = make_settings(api_base_url=base_url, **overrides)
        # As build_sender makes it, with the retry backoff shortened (the retries still happen).
        api = WeChatApi(http, redis, settings, retries=2, backoff_seconds=0.001)
        return WeChatSender(api, redis, settings.redis_prefix)

    yield make
    await http.aclose()
