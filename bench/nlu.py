"""NLU parse latency in process (the trained model, the held-out utterances), and how long a
full training of the model takes. Runs in .venv-rasa.

    python -m bench.nlu [--no-training]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import report
from bot import training
from bot.evaluate import HELDOUT, load_examples, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-training", action="store_true", help="skip timing a full training")
    args = parser.parse_args()
    parse_latency()
    if not args.no_training:
        training_time()


def training_time() -> None:
    """A full training from scratch (NLU and dialogue), into a scratch folder."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(training.rasa_train_command(Path(out), "timing"), cwd=training.ROOT,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
    report.file("training", "Training the full model (NLU and dialogue, from scratch)",
                ["seconds", "minutes"], [[f"{seconds:.0f}", f"{seconds / 60:.1f}"]],
                figures={"seconds": seconds})


def parse_latency() -> None:
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
