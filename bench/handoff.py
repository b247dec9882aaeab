"""Handoff figures on a running stack: escalation → visible in the agent console, and claims/s.

Called by ``bench.channels`` on the same stack (``make bench``). Escalation: a customer writes
转人工 through the app channel (real NLU, the action, the router, the queue) while an agent's
console listens on its WebSocket; the time from the customer's send to the conversation being in
the queue the console fetches when the socket says the queue changed. Claims: handoffs put
straight into the Redis queue, taken by 50 concurrent claimers through the queue's claim script
(the console's claim route adds one HTTP round trip).
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import httpx
import websockets
from redis.asyncio import Redis

from bench import report
from channels import app_auth
from handoff.queue import HandoffQueue
from tests.stack import Stack

AGENT = {"username": "agent1", "password": "agent1-demo-password"}


async def escalation_latencies(stack: Stack, customers: int) -> list[float]:
    """As the console sees it: its WebSocket says the queue changed, it fetches the queue."""
    latencies = []
    async with httpx.AsyncClient(base_url=stack.service_url, timeout=30) as agent, \
            httpx.AsyncClient(base_url=stack.service_url, timeout=30) as app:
        (await agent.post("/api/agent/login", json=AGENT)).raise_for_status()
        cookie = "; ".join(f"{name}={value}" for name, value in agent.cookies.items())
        socket_url = stack.service_url.replace("http", "ws", 1) + "/api/agent/ws"
        async with websockets.connect(socket_url, additional_headers={"Cookie": cookie}) as socket:
            for n in range(customers):
                latencies.append(await _one_escalation(stack, agent, app, socket, n))
    return latencies


async def _one_escalation(stack: Stack, agent: httpx.AsyncClient, app: httpx.AsyncClient,
                          socket: Any, n: int) -> float:
    customer = f"HB{uuid.uuid4().hex[:8]}{n}"
    headers = {"Authorization": "Bearer " + app_auth.sign(customer, stack.app_token_secret, 600)}
    started = time.perf_counter()
    sent = asyncio.create_task(app.post("/api/app/messages", headers=headers, json={
        "client_message_id": uuid.uuid4().hex, "text": "转人工"}))
    while True:
        frame = json.loads(await socket.recv())
        if frame.get("type") != "queue":
            continue
        queue = (await agent.get("/api/agent/queue")).json()
        if any(h["conversation_id"] == f"app:{customer}" for h in queue["waiting"]):
            elapsed = (time.perf_counter() - started) * 1000
            break
    await sent
    await app.post("/api/app/messages", headers=headers, json={
        "client_message_id": uuid.uuid4().hex, "text": "不用了"})
    return elapsed


async def claims_per_second(redis_url: str, handoffs: int = 2000, claimers: int = 50) -> float:
    redis = Redis.from_url(redis_url)
    queue = HandoffQueue(redis)
    run = uuid.uuid4().hex[:6]
    for n in range(handoffs):
        await queue.enqueue(f"bench-{run}-{n}", f"bench:{run}:{n}", "general", "regular")
    claimed = 0

    async def claimer(k: int) -> None:
        nonlocal claimed
        while (await queue.claim_next(f"bench-agent-{run}-{k}", ["general"], 10**6)).outcome == "claimed":
            claimed += 1

    started = time.perf_counter()
    await asyncio.gather(*(claimer(k) for k in range(claimers)))
    elapsed = time.perf_counter() - started
    await redis.aclose()
    assert claimed == handoffs, (claimed, handoffs)
    return claimed / elapsed


def measure(stack: Stack, redis_url: str, customers: int = 30) -> None:
    latencies = sorted(asyncio.run(escalation_latencies(stack, customers)))
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rate = asyncio.run(claims_per_second(redis_url))
    p50 = statistics.median(latencies)
    report.file("handoff", "Handoff", ["figure", "value"], [
        [f"escalation → visible in the console, p50 / p99 ({len(latencies)} customers)",
         f"{p50:.0f} / {p99:.0f} ms"],
        ["claims per second (50 concurrent claimers, queue script)", f"{rate:.0f}"]],
        figures={"escalation_p50_ms": p50, "escalation_p99_ms": p99, "claims_per_second": rate})
