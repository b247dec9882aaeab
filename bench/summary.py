"""Character ROUGE of the handoff summary's request line (诉求) on CSDS, beside simple baselines.

    python -m bench.summary [--data PATH] [--variants]

CSDS (Lin et al., EMNLP 2021) is a set of JD.com after-sales dialogues with gold summaries of
what the user asked. For each of its 800 test dialogues we feed the annotated key utterances
(user and agent turns) to ``handoff.summary.summarise`` and score its 诉求 against the gold user
summary with the benchmark's own character ROUGE-1/2/L F1 (``char_rouge.py``, loaded from
../shared when present, else from the copy in tests/fixtures/csds/). The baselines run on the
same inputs in the same run. This is a test set: it is measured, never trained or tuned on.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import report
from handoff.summary import Style, summarise, summarise_request
from handoff.summary.request import warm_up

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "benchmarks" / "csds"
FIXTURES = ROOT / "tests" / "fixtures" / "csds"
DATA = SHARED / "csds_test_keyutt_summary_pairs.jsonl"
# Published ROUGE-L on the user summary, from full dialogues (CSDS paper, results/): a different
# input from ours (key utterances), so only the baselines computed here compare directly.
PUBLISHED_USER_RL = {"Longest": 33.49, "LexPageRank": 33.82, "SummaRuNNer": 41.89, "PGN": 51.05,
                     "Fast-RL": 55.17}

Summariser = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Row:
    name: str
    rouge_1: float
    rouge_2: float
    rouge_l: float
    ms_per_dialogue: float


def load_scorer() -> ModuleType:
    """The benchmark's char_rouge.py: ../shared's when it is there, else our attributed copy."""
    path = SHARED / "char_rouge.py"
    if not path.exists():
        path = FIXTURES / "char_rouge.py"
    spec = importlib.util.spec_from_file_location("csds_char_rouge", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_dialogues(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def user_texts(dialogue: dict[str, Any]) -> list[str]:
    return [u["text"] for u in dialogue["key_utterances"] if u["speaker"] == "user"]


def ours(dialogue: dict[str, Any]) -> str:
    """The production path: the whole summary (mood, quotes, masking), of which 诉求 is scored."""
    return summarise(dialogue["key_utterances"]).诉求


def variant(style: Style) -> Summariser:
    return lambda dialogue: summarise_request(user_texts(dialogue), style)


def first_user(dialogue: dict[str, Any]) -> str:
    texts = user_texts(dialogue)
    return texts[0] if texts else ""


def longest_user(dialogue: dict[str, Any]) -> str:
    return max(user_texts(dialogue), key=len, default="")


def all_user(dialogue: dict[str, Any]) -> str:
    return "。".join(user_texts(dialogue))


def templated_user(dialogue: dict[str, Any]) -> str:
    """Every user utterance as "用户询问<utterance>。": how much the gold's own template earns."""
    return "".join(f"用户询问{text}。" for text in user_texts(dialogue))


BASELINES: dict[str, Summariser] = {
    "baseline: first user utterance": first_user,
    "baseline: longest user utterance": longest_user,
    "baseline: all user utterances": all_user,
    "baseline: 用户询问 + each user utterance": templated_user,
}
# The designs compared before choosing the default Style (bench/README in the report).
VARIANTS: dict[str, Summariser] = {
    "variant: select, verbatim": variant(Style(rewrite=False)),
    "variant: select, rewrite": variant(Style(whether=False, merge=False)),
    "variant: select, rewrite + 是否": variant(Style(merge=False)),
    "variant: select, rewrite + 是否 + merge": variant(Style()),
    "variant: no selection, rewrite + 是否 + merge": variant(Style(select=False)),
}


def score(scorer: ModuleType, references: Sequence[str], predictions: Sequence[str]) -> tuple[float, ...]:
    """Mean character ROUGE-1/2/L F1 × 100, as char_rouge.main computes them."""
    n = len(references)
    pairs = list(zip(references, predictions, strict=True))
    return (100 * sum(scorer.rouge_n(r, p, 1) for r, p in pairs) / n,
            100 * sum(scorer.rouge_n(r, p, 2) for r, p in pairs) / n,
            100 * sum(scorer.rouge_l(r, p) for r, p in pairs) / n)


def evaluate(dialogues: Sequence[dict[str, Any]], systems: dict[str, Summariser],
             scorer: ModuleType) -> list[Row]:
    references = [d["user_summary"] for d in dialogues]
    rows = []
    for name, system in systems.items():
        started = time.perf_counter()
        predictions = [system(d) for d in dialogues]
        elapsed_ms = (time.perf_counter() - started) * 1000
        rows.append(Row(name, *score(scorer, references, predictions), elapsed_ms / len(dialogues)))
    return rows


def per_dialogue_ms(dialogues: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """Median and worst milliseconds of one full summary."""
    times = []
    for dialogue in dialogues:
        started = time.perf_counter()
        summarise(dialogue["key_utterances"])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--variants", action="store_true", help="also score the designs compared")
    args = parser.parse_args()
    scorer = load_scorer()
    dialogues = load_dialogues(args.data)
    started = time.perf_counter()
    warm_up()
    warm_ms = (time.perf_counter() - started) * 1000
    systems = {"ours: summarise(...).诉求": ours, **BASELINES, **(VARIANTS if args.variants else {})}
    rows = evaluate(dialogues, systems, scorer)
    median_ms, worst_ms = per_dialogue_ms(dialogues)

    first = next(r for r in rows if r.name == "baseline: first user utterance")
    longest = next(r for r in rows if r.name == "baseline: longest user utterance")
    note = "\n".join([
        f"ours / first user utterance (R-L): {rows[0].rouge_l / first.rouge_l:.2f}; "
        f"ours / longest user utterance (R-L): {rows[0].rouge_l / longest.rouge_l:.2f}.",
        f"Full summary per dialogue: median {median_ms:.2f} ms, worst {worst_ms:.2f} ms; "
        f"one-off load of jieba and the IDF table {warm_ms:.0f} ms.",
        "Published user-summary R-L on full dialogues (not the same input): "
        + ", ".join(f"{k} {v}" for k, v in PUBLISHED_USER_RL.items()) + "."])
    report.file("summary", f"Handoff request summary (诉求) on CSDS test key utterances "
                f"({len(dialogues)} dialogues)", ["system", "R-1", "R-2", "R-L", "ms / dialogue"],
                [[r.name, f"{r.rouge_1:.2f}", f"{r.rouge_2:.2f}", f"{r.rouge_l:.2f}",
                  f"{r.ms_per_dialogue:.2f}"] for r in rows], note,
                {r.name: {"rouge_1": r.rouge_1, "rouge_2": r.rouge_2, "rouge_l": r.rouge_l}
                 for r in rows})

if __name__ == "__main__":
    main()
