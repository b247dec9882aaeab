"""NLU parse latency in process (the trained model, the held-out utterances). Runs in .venv-rasa.

    python -m bench.nlu
"""
from __future__ import annotations

import asyncio
import statistics

from bench import report
from bot.evaluate import HELDOUT, load_examples, predict


def main() -> None:
    texts = [example["text"] for example in load_examples(HELDOUT)]
    asyncio.run(predict(texts[:10]))  # load and warm up; not measured
    _, latencies = asyncio.run(predict(texts))
    latencies.sort()
    p95, p99 = (latencies[min(len(latencies) - 1, int(len(latencies) * q))] for q in (0.95, 0.99))
    p50 = statistics.median(latencies)
    report.file("nlu", f"NLU parse latency ({len(texts)} held-out utterances, in process)",
                ["p50", "p95", "p99", "max"],
                [[f"{p50:.1f} ms", f"{p95:.1f} ms", f"{p99:.1f} ms", f"{latencies[-1]:.1f} ms"]],
                figures={"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": latencies[-1]})

if __name__ == "__main__":
    main()
