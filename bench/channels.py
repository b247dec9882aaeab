"""Messages per second and latency through the app channel, beside bare Rasa REST, in one run,
at several concurrencies; the memory of each process; then the handoff figures
(``bench.handoff``) on the same stack.

    python -m bench.channels [--concurrency 1 10 50] [--messages 10]

Starts a private Redis and the whole stack (demo shop, action server, Rasa, service), then, for
each concurrency, sends the same simulated customers' messages twice: straight to Rasa's REST
webhook and through the service's app channel (token check, dedupe, stream, consumer, Rasa,
transcript). The ratio is what the channel layer costs. Figures are for this machine only.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import handoff, report
from bot.contract import TOKEN_HEADER, WEBHOOK_PATH
from channels import app_auth
from tests.stack import Stack, full_stack
from tests.support import redis_server

LINES = ["你好", "我的订单到哪了", "退货运费谁出", "怎么开发票", "谢谢", "我要退货",
         "什么时候发货", "能便宜点吗", "转人工", "再见"]


async def customer(client: httpx.AsyncClient, send, messages: int) -> list[float]:
    latencies = []
    for n in range(messages):
        started = time.perf_counter()
        response = await send(client, LINES[n % len(LINES)])
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def run(label: str, make_sender, customers: int, messages: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=customers + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(customer(client, make_sender(n), messages)
                                         for n in range(customers)))
        elapsed = time.perf_counter() - started
    latencies = sorted(value for result in results for value in result)
    return {"label": label, "customers": customers, "messages": len(latencies),
            "per_second": len(latencies) / elapsed, "p50": statistics.median(latencies),
            **{f"p{q}": latencies[min(len(latencies) - 1, int(len(latencies) * q / 100))]
               for q in (95, 99)}}


def app_sender(stack: Stack, run_id: str):
    def make(n: int):
        token = app_auth.sign(f"BENCH{run_id}{n:04d}", stack.app_token_secret, 3600)

        async def send(client: httpx.AsyncClient, text: str) -> httpx.Response:
            return await client.post(f"{stack.service_url}/api/app/messages",
                                     headers={"Authorization": f"Bearer {token}"},
                                     json={"client_message_id": uuid.uuid4().hex, "text": text})
        return send
    return make


def rasa_sender(stack: Stack, run_id: str):
    def make(n: int):
        async def send(client: httpx.AsyncClient, text: str) -> httpx.Response:
            return await client.post(f"{stack.rasa_url}{WEBHOOK_PATH}",
                                     headers={TOKEN_HEADER: stack.rasa_token},
                                     json={"sender": f"bare:{run_id}:{n}", "message": text,
                                           "metadata": {"channel": "app",
                                                        "customer_id": f"BARE{n:04d}"}})
        return send
    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--messages", type=int, default=10, help="per simulated customer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url, \
            full_stack(Path(tmp), redis_url) as stack:
        asyncio.run(run("warm-up", rasa_sender(stack, "warm"), 2, 3))
        rows = []
        for customers in args.concurrency:
            run_id = uuid.uuid4().hex[:6]
            rows.append(asyncio.run(run("bare Rasa REST webhook", rasa_sender(stack, run_id),
                                        customers, args.messages)))
            rows.append(asyncio.run(run("app channel (service → stream → Rasa)",
                                        app_sender(stack, run_id), customers, args.messages)))
        file_throughput(rows, args.messages)
        handoff.measure(stack, redis_url)
        file_memory(stack)


def file_throughput(rows: list[dict[str, Any]], messages: int) -> None:
    pairs = list(zip(rows[::2], rows[1::2], strict=True))  # (bare, app) per concurrency
    ratios = [app["per_second"] / bare["per_second"] for bare, app in pairs]
    report.file(
        "throughput", f"End to end: simulated customers × {messages} messages each",
        ["customers", "path", "messages", "msg/s", "p50 ms", "p95 ms", "p99 ms"],
        [[row["customers"], row["label"], row["messages"], f"{row['per_second']:.1f}",
          f"{row['p50']:.0f}", f"{row['p95']:.0f}", f"{row['p99']:.0f}"] for row in rows],
        "app channel / bare Rasa throughput: " + ", ".join(
            f"{bare['customers']} customers {ratio:.2f}"
            for (bare, _), ratio in zip(pairs, ratios, strict=True)),
        {"rows": rows, "ratios": ratios})


def file_memory(stack: Stack) -> None:
    """Resident memory of each process now and at its peak (Linux /proc), after the load."""
    rows = [[name, *(f"{kib / 1024:.0f} MiB" for kib in _memory(pid))]
            for name, pid in stack.pids.items()]
    report.file("memory", "Memory of each process after the load", ["process", "RSS", "peak RSS"],
                rows, figures={row[0]: {"rss": row[1], "peak": row[2]} for row in rows})


def _memory(pid: int) -> tuple[int, ...]:
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM"))

if __name__ == "__main__":
    main()
