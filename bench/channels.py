"""Messages per second and latency through the app channel, beside bare Rasa REST, in one run;
then the handoff figures (``bench.handoff``) on the same stack.

    python -m bench.channels [--customers 20] [--messages 10]

Starts a private Redis and the whole stack (demo shop, action server, Rasa, service), then sends
the same customer messages twice: through the service's app channel (token check, dedupe,
stream, consumer, Rasa, transcript) and straight to Rasa's REST webhook. Prints a table; the
ratio is what the channel layer costs. Figures are for this machine only.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench import handoff
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


async def run(label: str, make_sender, customers: int, messages: int) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(customer(client, make_sender(n), messages)
                                         for n in range(customers)))
        elapsed = time.perf_counter() - started
    latencies = sorted(value for result in results for value in result)
    return {"label": label, "messages": len(latencies), "per_second": len(latencies) / elapsed,
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


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
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url, \
            full_stack(Path(tmp), redis_url) as stack:
        run_id = uuid.uuid4().hex[:6]
        asyncio.run(run("warm-up", rasa_sender(stack, "warm"), 2, 3))
        rows = [asyncio.run(run("bare Rasa REST webhook", rasa_sender(stack, run_id),
                                args.customers, args.messages)),
                asyncio.run(run("app channel (service → stream → Rasa)", app_sender(stack, run_id),
                                args.customers, args.messages))]
        print_table(rows, args)
        handoff.report(stack, redis_url)


def print_table(rows: list[dict[str, float]], args: argparse.Namespace) -> None:
    print(f"\n## Channel throughput ({os.cpu_count()} cores, {args.customers} concurrent customers "
          f"× {args.messages} messages)\n")
    print("| path | messages | msg/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['label']} | {row['messages']} | {row['per_second']:.1f} | "
              f"{row['p50']:.0f} | {row['p99']:.0f} |")
    print(f"\napp channel / bare Rasa throughput: {rows[1]['per_second'] / rows[0]['per_second']:.2f}")


if __name__ == "__main__":
    main()
