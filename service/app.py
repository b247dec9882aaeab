"""Build the service: channels and handoff routers over shared Redis, SQL and Rasa clients.

Nothing connects at import time; ``create_app`` wires things up in the lifespan, so tests and
several instances side by side each get their own clients.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Optional

import httpx
from anyio import to_thread
from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from redis.exceptions import RedisError

from analytics import dashboard_api
from channels import app_channel, demo_login, telegram, wechat
from channels.app_outbox import AppSender
from channels.identities import IdentityResolver
from channels.partitions import PartitionWorkers
from channels.rasa_client import RasaClient
from channels.router import ConversationRouter
from handoff import console_api
from handoff.agents import AgentDirectory, Sessions
from handoff.desk import HandoffDesk, ServiceHours
from handoff.queue import HandoffQueue
from handoff.records import HandoffRecords
from handoff.summary.request import warm_up
from handoff.transcripts import TranscriptStore
from knowledge_base import editor_api
from service import errors, health, logs
from service.body_limit import BodyLimit
from service.metrics import HttpMetrics
from service.rate_limit import Limit, PerAddressLimit, RateLimiter
from service.settings import Settings, get_settings

STATIC_DIR = Path(__file__).resolve().parent.parent / "channels" / "static"
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "handoff" / "static"
DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "analytics" / "static"
KB_EDITOR_DIR = Path(__file__).resolve().parent.parent / "knowledge_base" / "static"
REAP_EVERY_SECONDS = 5.0
# The longest a Redis read may block on purpose: a caller waiting for the bot's replies (BLPOP, up
# to BOT_TIMEOUT_SECONDS) or a console or outbox waiting for news (XREAD, 5 s).
LONGEST_BLOCK_SECONDS = 5.0


async def _reap_leases(queue: HandoffQueue) -> None:
    """Conversations of agents whose console went away go back to the front of the queue."""
    while True:
        await asyncio.sleep(REAP_EVERY_SECONDS)
        try:
            await queue.reap()
        except RedisError as error:
            logging.getLogger(__name__).warning("lease reaper: %s", error)


def redis_socket_timeout(settings: Settings) -> float:
    """Longer than any blocking read, so waiting is never mistaken for a dead Redis (redis-py
    8's default of 5 s made a customer whose reply took longer get 503), yet finite, so a Redis
    that stopped answering still fails a request instead of hanging it."""
    return max(settings.bot_timeout_seconds, LONGEST_BLOCK_SECONDS) + 5.0


def seed_demo_agents(agents: AgentDirectory) -> None:
    """Development only: accounts to try the console with (see README)."""
    every_group = ["logistics", "returns", "quality", "general"]
    agents.add("agent1", "客服小王", "agent", every_group, 3, "agent1-demo-password")
    agents.add("supervisor1", "主管小李", "supervisor", every_group, 5, "supervisor1-demo-password")
    agents.add("editor1", "编辑小张", "editor", [], 0, "editor1-demo-password")


def create_app(settings: Optional[Settings] = None,
               telegram_settings: Optional[telegram.TelegramSettings] = None,
               wechat_settings: Optional[wechat.WeChatSettings] = None) -> FastAPI:
    """The service; each channel is on when its settings (environment) configure it."""
    settings = settings or get_settings()
    logs.configure()  # before anything logs: uvicorn set up its own loggers before calling us
    drain = health.drain_seconds()
    # Channel API URLs carry credentials (WeChat access_token, the Telegram bot token).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    telegram_settings = telegram_settings or telegram.TelegramSettings()
    wechat_settings = wechat_settings or wechat.WeChatSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.settings = settings
        state.redis = Redis.from_url(settings.redis_url,
                                     socket_timeout=redis_socket_timeout(settings))
        state.http = httpx.AsyncClient(timeout=settings.probe_timeout_seconds)
        state.rasa = RasaClient(settings.rasa_url, settings.rasa_auth_token,
                                settings.bot_timeout_seconds)
        state.transcripts = TranscriptStore.from_url(settings.database_url)
        state.desk = HandoffDesk(HandoffQueue(state.redis), HandoffRecords(state.transcripts.engine),
                                 ServiceHours.parse(settings.handoff_hours,
                                                    settings.handoff_ticket_hours,
                                                    settings.handoff_wait_seconds))
        state.rate_limiter = RateLimiter(state.redis, Limit.parse(settings.rate_limit_per_ip),
                                         Limit.parse(settings.rate_limit_per_customer))
        state.agents = AgentDirectory(state.transcripts.engine)
        state.sessions = Sessions(state.redis)
        if settings.demo_login_enabled and not state.agents.has_any():
            seed_demo_agents(state.agents)
        state.conversations = ConversationRouter(
            state.redis, state.rasa, state.transcripts, settings.router_partitions,
            settings.dedupe_ttl_seconds,
            IdentityResolver(state.redis, state.http, settings.shop_api_url, settings.shop_api_key),
            state.desk)
        state.conversations.register_sender("app", AppSender(state.redis))
        state.telegram = None
        if telegram_settings.enabled:
            state.telegram = telegram.build_sender(telegram_settings, state.redis)
            await state.telegram.start()
            state.conversations.register_sender("telegram", state.telegram)
        if wechat_settings.enabled:
            state.wechat_sender = wechat.build_sender(wechat_settings, state.redis, state.http)
            state.conversations.register_sender("wechat", state.wechat_sender)
        workers = PartitionWorkers(state.conversations, lease_seconds=settings.router_lease_seconds,
                                   max_attempts=settings.router_max_attempts)
        consuming = asyncio.create_task(workers.run()) if settings.router_consumers else None
        reaping = asyncio.create_task(_reap_leases(state.desk.queue))
        # The first handoff's summary would otherwise load jieba and the IDF table (about 1 s)
        # while a customer waits; do it now, off the event loop.
        warming = asyncio.create_task(to_thread.run_sync(warm_up))
        # SIGTERM: unready at once, stop serving after the drain (see service.health).
        give_back_sigterm = health.drain_on_sigterm(state, drain)
        try:
            yield
        finally:
            give_back_sigterm()
            warming.cancel()
            reaping.cancel()
            if consuming is not None:
                await workers.stop()  # finish in-flight entries, release the partitions
                consuming.cancel()
            if state.telegram is not None:
                await state.telegram.aclose()
            await state.rasa.aclose()
            await state.http.aclose()
            await state.redis.aclose()
            state.transcripts.close()

    app = FastAPI(title="小售 Xiaoshou service", version="0.1.0", lifespan=lifespan,
                  description="Customer channels, conversation routing and human handoff.")
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=64 * 1024)
    app.add_middleware(PerAddressLimit)  # before the body is read: a flood costs little
    app.add_middleware(HttpMetrics)  # outside BodyLimit: its 413s count too
    app.include_router(health.router)
    app.include_router(app_channel.router)
    app.include_router(telegram.router)
    if wechat_settings.enabled:
        app.include_router(wechat.make_router(wechat_settings))
    if settings.demo_login_enabled:
        app.include_router(demo_login.router)
    app.include_router(console_api.router)
    app.include_router(dashboard_api.router)
    app.include_router(editor_api.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/console-static", StaticFiles(directory=CONSOLE_DIR, check_dir=False),
              name="console-static")
    app.mount("/dashboard-static", StaticFiles(directory=DASHBOARD_DIR, check_dir=False),
              name="dashboard-static")
    app.mount("/kb-static", StaticFiles(directory=KB_EDITOR_DIR, check_dir=False), name="kb-static")

    @app.get("/console", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(CONSOLE_DIR / "console.html")

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard_page() -> FileResponse:
        return FileResponse(DASHBOARD_DIR / "dashboard.html")

    @app.get("/kb", include_in_schema=False)
    async def kb_editor_page() -> FileResponse:
        return FileResponse(KB_EDITOR_DIR / "editor.html")

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/chat")

    @app.get("/chat", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "chat.html")

    return app
