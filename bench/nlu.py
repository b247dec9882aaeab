"""NLU parse latency in process (the trained model, the held-out utterances). Runs in .venv-rasa.

    python -m bench.nlu
"""
from __future__ import annotations

import asyncio
import os
import statistics

from bot.evaluate import HELDOUT, load_examples, predict


def main() -> None:
    texts = [example["text"] for example in load_examples(HELDOUT)]
    asyncio.run(predict(texts[:10]))  # load and warm up; not measured
    _, latencies = asyncio.run(predict(texts))
    latencies.sort()
    print(f"\n## NLU parse latency ({os.cpu_count()} cores, {len(texts)} held-out utterances, "
          "in process)\n")
    print("| p50 | p95 | p99 | max |\n|---|---|---|---|")
    pick = [latencies[min(len(latencies) - 1, int(len(latencies) * q))] for q in (0.95, 0.99)]
    print(f"| {statistics.median(latencies):.1f} ms | {pick[0]:.1f} ms | {pick[1]:.1f} ms | "
          f"{latencies[-1]:.1f} ms |")


if __name__ == "__main__":
    main()
