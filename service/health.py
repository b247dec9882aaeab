"""Liveness (``/healthz``) and readiness (``/readyz``) probes for load balancers and operators,
Prometheus metrics (``/metrics``), and draining on SIGTERM.

Draining: on SIGTERM ``/readyz`` answers 503 at once, so a load balancer stops sending new
requests, while the process keeps serving for ``SHUTDOWN_DRAIN_SECONDS``; then uvicorn stops
accepting connections, finishes the requests in flight (a customer waiting for the bot gets the
reply), and the lifespan's shutdown finishes the stream entries in hand.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Annotated, Any, Optional

import httpx
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError

from channels.partitions import DEAD_LETTERS, GROUP
from channels.router import PREFIX as STREAM_PREFIX
from handoff.queue import SKILL_GROUPS
from handoff.queue import P as QUEUE_PREFIX
from service.errors import error_body

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])
CHECKS = ("redis", "rasa", "action_server")  # what /readyz asks, in this order


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Redis, Rasa (with a model) and the action server answer",
            responses={400: {"description": "an unknown check in exclude"}})
async def readyz(request: Request,
                 exclude: Annotated[Optional[list[str]], Query(max_length=len(CHECKS))] = None,
                 ) -> JSONResponse:
    """All checks by default (what an operator or a start-up script waits for). ``exclude``
    (repeatable, as in Kubernetes' own ``/readyz?exclude=…``) leaves checks out: a load
    balancer's probe leaves out Rasa and the action server, which are other deployments with
    probes of their own; otherwise one Rasa outage would take every replica out of the balancer
    and agents and customers would get nothing at all instead of the "bot unavailable" path."""
    exclude = exclude or []
    unknown = sorted(set(exclude) - set(CHECKS))
    if unknown:
        names = "、".join(name[:32] for name in unknown[:3])  # not the caller's whole text back
        return JSONResponse(error_body("invalid_request", f"未知的检查项: {names}；"
                                       f"可选: {', '.join(CHECKS)}"), status_code=400)
    state = request.app.state
    if getattr(state, "draining", False):  # shutting down: no dependency checks, no new traffic
        return JSONResponse({"ready": False, "draining": True, "checks": {}}, status_code=503)
    timeout = state.settings.probe_timeout_seconds
    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "redis": lambda: _redis(state.redis),
        "rasa": lambda: _rasa(state.rasa, timeout),
        "action_server": lambda: _action_server(state.http, state.settings.action_server_url,
                                                timeout),
    }
    chosen = [name for name in CHECKS if name not in exclude]
    results = await asyncio.gather(*(_run(checks[name], timeout) for name in chosen))
    report = dict(zip(chosen, results, strict=True))
    ready = all(result["ok"] for result in report.values())
    return JSONResponse({"ready": ready, "checks": report}, status_code=200 if ready else 503)


async def _run(check: Callable[[], Awaitable[None]], timeout: float) -> dict[str, Any]:
    try:
        await asyncio.wait_for(check(), timeout)
    except Exception as error:  # a probe reports every failure, it never raises
        return {"ok": False, "error": f"{type(error).__name__}: {error}"[:200]}
    return {"ok": True}


async def _redis(redis: Any) -> None:
    await redis.ping()


async def _rasa(rasa: Any, timeout: float) -> None:
    status = await rasa.status(timeout)
    if not status.get("model_file"):
        raise RuntimeError("no model loaded")


async def _action_server(http: httpx.AsyncClient, webhook_url: str, timeout: float) -> None:
    health_url = webhook_url.rsplit("/", 1)[0] + "/health"
    response = await http.get(health_url, timeout=timeout)
    response.raise_for_status()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """This process's counters and histograms, and what Redis holds right now."""
    state = request.app.state
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Families(await redis_families(state.redis, state.settings.router_partitions)))
    return Response(generate_latest(REGISTRY) + generate_latest(snapshot),
                    media_type=CONTENT_TYPE_LATEST)


class _Families:
    """A collector of metric families read beforehand (Redis is asynchronous, collect() is not)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self._families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self._families


async def redis_families(redis: Any, partitions: int) -> list[GaugeMetricFamily]:
    """Queue depth per skill group, dead letters, stream entries read but not yet acknowledged
    (one round trip); ``xs_redis_up`` 0 (and nothing else) when Redis does not answer."""
    up = GaugeMetricFamily("xs_redis_up", "1 when Redis answered this scrape")
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for group in SKILL_GROUPS:
                pipe.zcard(f"{QUEUE_PREFIX}queue:{group}")
            pipe.xlen(DEAD_LETTERS)
            for partition in range(partitions):
                pipe.xpending(f"{STREAM_PREFIX}in:{partition}", GROUP)
            answers = await pipe.execute(raise_on_error=False)
        depths, dead_letters, pending = (answers[:len(SKILL_GROUPS)], answers[len(SKILL_GROUPS)],
                                         answers[len(SKILL_GROUPS) + 1:])
        in_flight = sum(_pending_count(answer) for answer in pending)
        if isinstance(dead_letters, Exception):
            raise dead_letters
    except RedisError as error:
        log.warning("metrics: Redis did not answer: %s", error)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    queue = GaugeMetricFamily("xs_handoff_queue_depth", "Conversations waiting for an agent, "
                              "by skill group", labels=["group"])
    for group, depth in zip(SKILL_GROUPS, depths, strict=True):
        queue.add_metric([group], depth)
    dead = GaugeMetricFamily("xs_dead_letters", "Messages that kept failing, waiting for an "
                             "operator in xs:dead (python -m channels.dead_letters list)")
    dead.add_metric([], dead_letters)
    entries = GaugeMetricFamily("xs_router_entries_in_flight", "Customer messages a consumer "
                                "has read but not finished (all partitions)")
    entries.add_metric([], in_flight)
    return [up, queue, dead, entries]


def _pending_count(answer: Any) -> int:
    """XPENDING's summary; a partition no consumer has read yet has no group (NOGROUP): 0."""
    if isinstance(answer, Exception):
        if "NOGROUP" in str(answer):
            return 0
        raise answer
    return int(answer.get("pending") or 0)


def drain_seconds(environ: Any = os.environ) -> float:
    """``SHUTDOWN_DRAIN_SECONDS``: how long to keep serving, unready, after SIGTERM (about the
    load balancer's probe interval times its failure threshold; 0 stops at once)."""
    try:
        value = float(environ.get("SHUTDOWN_DRAIN_SECONDS", "0") or 0)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ValueError("SHUTDOWN_DRAIN_SECONDS must be a number of seconds, 0 or more")
    return value


def drain_on_sigterm(state: Any, drain: float) -> Callable[[], None]:
    """Take over SIGTERM: ``state.draining`` (``/readyz`` 503) at once, the server's own stop
    after ``drain`` seconds. Returns the function that gives SIGTERM back. Only in the main
    thread (signals are delivered there; a test client runs the app elsewhere)."""
    state.draining = False
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(sig: int, frame: Optional[FrameType]) -> None:
        if state.draining:  # a second SIGTERM: stop now
            loop.call_soon_threadsafe(_stop_serving, previous)
            return
        state.draining = True
        log.info("SIGTERM: not ready any more; stopping in %.1f s", drain)
        loop.call_soon_threadsafe(loop.call_later, drain, _stop_serving, previous)

    signal.signal(signal.SIGTERM, on_sigterm)

    def give_back() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return give_back


def _stop_serving(previous: Any) -> None:
    """Start the server's graceful stop. Under uvicorn (its handler is a method of the server)
    that is ``should_exit``, which is what its handler sets, without also noting the signal:
    uvicorn would re-raise a noted SIGTERM after its clean shutdown, and the process would end
    killed by it instead of with status 0."""
    server = getattr(previous, "__self__", None)
    if server is not None and hasattr(server, "should_exit"):
        server.should_exit = True
    elif callable(previous):
        previous(signal.SIGTERM, None)
    elif previous != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
