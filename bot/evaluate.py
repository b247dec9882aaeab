"""``python -m bot eval``: score the trained model on the held-out set, beside a plain baseline.

The held-out set (tests/nlu/heldout.yml) is written apart from nlu_data/ and never trained on;
examples that also occur in the training data are refused so the numbers stay honest. Writes
reports/eval.md, reports/eval.json and reports/confusion_matrix.png. Runs in `.venv-rasa`.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
REPORTS = ROOT / "reports"
CHECKED_ENTITIES = ("order_id", "phone", "tracking_number")
FALLBACK = "nlu_fallback"


def load_examples(path: Path) -> list[dict[str, Any]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [{"text": m.get("text"), "intent": m.get("intent"),
             "response_key": m.get("intent_response_key"),
             "entities": {(e["entity"], e["value"]) for e in m.get("entities") or []
                          if e["entity"] in CHECKED_ENTITIES}}
            for m in data.intent_examples]


def training_texts() -> list[dict[str, Any]]:
    paths = sorted((ROOT / "nlu_data" / "nlu").glob("*.yml")) + [ROOT / "nlu_data" / "generated" / "faq.yml"]
    return [example for path in paths for example in load_examples(path)]


async def predict(texts: list[str]) -> tuple[list[dict[str, Any]], list[float]]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from bot.training import MODEL_PATH

    configure_structlog(logging.WARNING)  # one debug line per parse otherwise
    agent = Agent.load(str(MODEL_PATH))
    results, latencies = [], []
    for text in texts:
        started = time.perf_counter()
        results.append(await agent.parse_message(text))
        latencies.append((time.perf_counter() - started) * 1000)
    return results, latencies


def predicted_labels(parse: dict[str, Any]) -> tuple[str, str | None, set[tuple[str, str]]]:
    intent = (parse.get("intent") or {}).get("name") or FALLBACK
    selector = (parse.get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key") if intent == "faq" else None
    entities = {(e["entity"], e["value"]) for e in parse.get("entities") or []
                if e["entity"] in CHECKED_ENTITIES}
    return intent, key, entities


def entity_f1(gold: list[set], predicted: list[set]) -> dict[str, float]:
    scores = {}
    for name in CHECKED_ENTITIES:
        true_positive = sum(len({g for g in gs if g[0] == name} & ps)
                            for gs, ps in zip(gold, predicted, strict=True))
        gold_count = sum(1 for gs in gold for g in gs if g[0] == name)
        predicted_count = sum(1 for ps in predicted for p in ps if p[0] == name)
        precision = true_positive / predicted_count if predicted_count else 1.0
        recall = true_positive / gold_count if gold_count else 1.0
        scores[name] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return scores


def baseline(train: list[dict[str, Any]], test: list[dict[str, Any]]) -> list[str]:
    """TF-IDF character n-grams with a linear classifier, on raw text: the bar to clear."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
                          LogisticRegression(max_iter=2000, C=10))
    model.fit([e["text"] for e in train], [e["intent"] for e in train])
    return list(model.predict([e["text"] for e in test]))


def intent_scores(gold: list[str], predicted: list[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(gold))
    per_intent = f1_score(gold, predicted, labels=labels, average=None, zero_division=0)
    return {"accuracy": accuracy_score(gold, predicted),
            "macro_f1": f1_score(gold, predicted, labels=labels, average="macro", zero_division=0),
            "per_intent_f1": dict(zip(labels, map(float, per_intent), strict=True))}


def confusion_png(gold: list[str], predicted: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = sorted(set(gold) | set(predicted))
    figure, axes = plt.subplots(figsize=(12, 12))
    ConfusionMatrixDisplay.from_predictions(gold, predicted, labels=labels, ax=axes,
                                            xticks_rotation="vertical", colorbar=False)
    axes.set_title("Held-out intents: rows = true, columns = predicted")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def evaluate() -> dict[str, Any]:
    test = load_examples(HELDOUT)
    train = training_texts()
    leaked = {e["text"] for e in test} & {e["text"] for e in train}
    if leaked:
        raise SystemExit(f"held-out examples also in the training data: {sorted(leaked)[:10]}")
    parses, latencies = asyncio.run(predict([e["text"] for e in test]))
    labels = [predicted_labels(parse) for parse in parses]
    gold_intents = [e["intent"] for e in test]
    model_intents = [intent for intent, _, _ in labels]
    faq = [(e["response_key"], key) for e, (_, key, _) in zip(test, labels, strict=True)
           if e["intent"] == "faq"]
    oos = [intent for e, intent in zip(test, model_intents, strict=True) if e["intent"] == "out_of_scope"]
    REPORTS.mkdir(exist_ok=True)
    confusion_png(gold_intents, model_intents, REPORTS / "confusion_matrix.png")
    report = {
        "examples": len(test),
        "model": intent_scores(gold_intents, model_intents),
        "baseline": intent_scores(gold_intents, baseline(train, test)),
        "entity_f1": entity_f1([e["entities"] for e in test], [p for _, _, p in labels]),
        "faq_selection_accuracy": sum(g == p for g, p in faq) / len(faq) if faq else None,
        "out_of_scope_recall": sum(i in ("out_of_scope", FALLBACK) for i in oos) / len(oos),
        "out_of_scope_to_business_intent": dict(Counter(i for i in oos
                                                        if i not in ("out_of_scope", FALLBACK))),
        "parse_ms_p50": statistics.median(latencies),
        "parse_ms_p95": sorted(latencies)[int(0.95 * (len(latencies) - 1))],
        "errors": [{"text": e["text"], "true": e["intent"], "predicted": p}
                   for e, p in zip(test, model_intents, strict=True) if e["intent"] != p],
    }
    (REPORTS / "eval.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    (REPORTS / "eval.md").write_text(markdown(report), encoding="utf-8")
    return report


def markdown(report: dict[str, Any]) -> str:
    model, base = report["model"], report["baseline"]
    lines = [
        f"# NLU evaluation on the held-out set ({report['examples']} utterances)", "",
        "| metric | model | baseline (TF-IDF char + logistic regression) |", "|---|---|---|",
        f"| intent accuracy | {model['accuracy']:.3f} | {base['accuracy']:.3f} |",
        f"| intent macro-F1 | {model['macro_f1']:.3f} | {base['macro_f1']:.3f} |",
        *(f"| entity F1 `{name}` | {score:.3f} | – |" for name, score in report["entity_f1"].items()),
        f"| FAQ response selection accuracy | {report['faq_selection_accuracy']:.3f} | – |",
        f"| out-of-scope recall (out_of_scope or fallback) | {report['out_of_scope_recall']:.3f} | – |",
        f"| parse latency p50 / p95 (ms, in process) | {report['parse_ms_p50']:.1f} / "
        f"{report['parse_ms_p95']:.1f} | – |",
        "", "## Per-intent F1", "", "| intent | model | baseline |", "|---|---|---|",
        *(f"| {name} | {score:.2f} | {base['per_intent_f1'][name]:.2f} |"
          for name, score in model["per_intent_f1"].items()),
        "", f"## Errors ({len(report['errors'])})", "",
        *(f"- `{e['text']}`: {e['true']} → {e['predicted']}" for e in report["errors"]),
        "", "Confusion matrix: `reports/confusion_matrix.png`.", "",
    ]
    return "\n".join(lines)


def main() -> None:
    print(markdown(evaluate()).split("## Per-intent")[0])


def crossval_report(directory: Path = REPORTS / "crossval") -> str:
    """Summary of `rasa test nlu --cross-validation` (run on the training data only)."""
    def load(name: str) -> dict[str, Any]:
        return json.loads((directory / name).read_text())

    intents, entities = load("intent_report.json"), load("DIETClassifier_report.json")
    selection = load("response_selection_report.json")
    lines = ["## 5-fold cross-validation on the training data", "",
             "| metric | value |", "|---|---|",
             f"| intent accuracy | {intents['accuracy']:.3f} |",
             f"| intent macro-F1 | {intents['macro avg']['f1-score']:.3f} |",
             f"| FAQ response selection accuracy | {selection['accuracy']:.3f} |",
             *(f"| entity F1 `{name}` | {entities[name]['f1-score']:.3f} |"
               for name in (*CHECKED_ENTITIES, "product", "address") if name in entities), ""]
    text = "\n".join(lines)
    with open(REPORTS / "eval.md", "a", encoding="utf-8") as report:
        report.write("\n" + text)
    return text
