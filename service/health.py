"""Liveness (``/healthz``) and readiness (``/readyz``) probes for load balancers and operators."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Redis, Rasa (with a model) and the action server answer")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    timeout = state.settings.probe_timeout_seconds
    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "redis": lambda: _redis(state.redis),
        "rasa": lambda: _rasa(state.rasa, timeout),
        "action_server": lambda: _action_server(state.http, state.settings.action_server_url,
                                                timeout),
    }
    results = await asyncio.gather(*(_run(check, timeout) for check in checks.values()))
    report = dict(zip(checks, results, strict=True))
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
