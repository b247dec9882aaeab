"""Handoff figures on a running stack: escalation → visible in the agent console, and claims/s.

Called by ``bench.channels`` on the same stack (``make bench``). Escalation: a customer writes
转人工 through the app channel (real NLU, the action, the router, the queue) while an agent's
console polls its queue; the time from the customer's send to the conversation appearing in the
console's queue. Claims: handoffs put straight into the Redis queue, taken by 50 concurrent
claimers through the queue's claim script (the console's claim route adds one HTTP round trip).
"""
from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import httpx
from redis.asyncio import Redis

from channels import app_auth
from handoff.queue import HandoffQueue
from tests.stack import Stack

AGENT = {"username": "agent1", "password": "agent1-demo-password"}


async def escalation_latencies(stack: Stack, customers: int) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=stack.service_url, timeout=30) as agent, \
            httpx.AsyncClient(base_url=stack.service_url, timeout=30) as app:
        (await agent.post("/api/agent/login", json=AGENT)).raise_for_status()
        for n in range(customers):
            customer = f"HB{uuid.uuid4().hex[:8]}{n}"
            headers = {"Authorization": "Bearer " + app_auth.sign(customer, stack.app_token_secret, 600)}
            started = time.perf_counter()
            sent = asyncio.create_task(app.post("/api/app/messages", headers=headers, json={
                "client_message_id": uuid.uuid4().hex, "text": "转人工"}))
            while True:
                queue = (await agent.get("/api/agent/queue")).json()
                if any(h["conversation_id"] == f"app:{customer}" for h in queue["waiting"]):
                    latencies.append((time.perf_counter() - started) * 1000)
                    break
                await asyncio.sleep(0.005)
            await sent
            await app.post("/api/app/messages", headers=headers, json={
                "client_message_id": uuid.uuid4().hex, "text": "不用了"})
    return latencies


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


def report(stack: Stack, redis_url: str, customers: int = 30) -> None:
    latencies = sorted(asyncio.run(escalation_latencies(stack, customers)))
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rate = asyncio.run(claims_per_second(redis_url))
    print("\n## Handoff\n")
    print("| figure | value |\n|---|---|")
    print(f"| escalation → visible in the console, p50 / p99 ({len(latencies)} customers) | "
          f"{statistics.median(latencies):.0f} / {p99:.0f} ms |")
    print(f"| claims per second (50 concurrent claimers, queue script) | {rate:.0f} |")
