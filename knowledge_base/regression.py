"""Which customer questions would get another answer after an FAQ change: the preview and the
regression check of the editor page.

Two sources of truth, used for what each can honestly say:

* **The current model** (Rasa's ``POST /model/parse``) says what the bot answers *today*: the FAQ
  entry its response selector picks, with confidence, and the runner-up.
* **A quick lexical matcher** built from the entries' questions (character unigrams and bigrams
  of the bot's own normalised text, TF-IDF, nearest question) stands in for the model *after
  retraining*, which cannot be run on every keystroke. We build it twice, from the questions
  before and after the edit; a question is listed as "would change" when the two disagree.
  This is an estimate until ``make train``: the check also reports how often the matcher agrees
  with the held-out labels, so the editor knows how far to trust it.

An answer-only edit changes no routing: the questions listed are those the current model
already answers with the entry, which get the new text at once.

Plain Python apart from the HTTP call (made with the service's httpx client).
"""
from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from knowledge_base.compiler import ROOT, question_key

HELDOUT_PATH = ROOT / "tests" / "nlu" / "heldout.yml"
# "Confused more than 10% of the time": the issue's bar for two entries' questions.
CONFUSION_LIMIT = 0.10
PARSE_CONCURRENCY = 4
MAX_CACHE = 20_000


# ---------------------------------------------------------------------------------------------
# The lexical matcher

def _grams(text: str) -> Counter[str]:
    key = question_key(text)
    return Counter(list(key) + [key[i:i + 2] for i in range(len(key) - 1)])


class LexicalMatcher:
    """Nearest question by TF-IDF cosine over character 1- and 2-grams."""

    def __init__(self, questions: dict[str, list[str]]) -> None:
        self.owners: list[str] = []
        self.texts: list[str] = []
        raw = []
        for entry_id, texts in questions.items():
            for text in texts:
                self.owners.append(entry_id)
                self.texts.append(text)
                raw.append(_grams(text))
        documents = Counter(gram for grams in raw for gram in grams)
        total = max(len(raw), 1)
        self.idf = {gram: math.log((1 + total) / (1 + count)) + 1 for gram, count in documents.items()}
        self.index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, grams in enumerate(raw):
            vector = self._vector(grams)
            for gram, weight in vector.items():
                self.index[gram].append((number, weight))

    def _vector(self, grams: Counter[str]) -> dict[str, float]:
        weights = {gram: count * self.idf.get(gram, 0.0) for gram, count in grams.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {gram: weight / norm for gram, weight in weights.items() if weight}

    def rank(self, text: str, exclude: Optional[int] = None) -> list[tuple[str, float]]:
        """Entries by the similarity of their closest question, best first."""
        scores: dict[int, float] = defaultdict(float)
        for gram, weight in self._vector(_grams(text)).items():
            for number, other in self.index.get(gram, ()):
                scores[number] += weight * other
        best: dict[str, float] = {}
        for number, score in scores.items():
            owner = self.owners[number]
            if number != exclude and score > best.get(owner, 0.0):
                best[owner] = score
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))

    def top(self, text: str) -> Optional[str]:
        ranking = self.rank(text)
        return ranking[0][0] if ranking else None


def confusable_pairs(questions: dict[str, list[str]],
                     limit: float = CONFUSION_LIMIT) -> list[dict[str, Any]]:
    """Pairs of entries whose questions the matcher mixes up more than ``limit`` of the time,
    leaving each question out in turn (it would otherwise find itself)."""
    matcher = LexicalMatcher(questions)
    wrong: Counter[tuple[str, str]] = Counter()
    for number, owner in enumerate(matcher.owners):
        ranking = matcher.rank(matcher.texts[number], exclude=number)
        if ranking and ranking[0][0] != owner:
            wrong[tuple(sorted((owner, ranking[0][0])))] += 1  # type: ignore[arg-type]
    pairs = []
    for (first, second), count in wrong.items():
        rate = count / (len(questions[first]) + len(questions[second]))
        if rate > limit:
            pairs.append({"a": first, "b": second, "rate": round(rate, 3)})
    return sorted(pairs, key=lambda pair: -pair["rate"])


# ---------------------------------------------------------------------------------------------
# The current model, through Rasa's HTTP API

@dataclass(frozen=True)
class ModelAnswer:
    intent: str
    intent_confidence: float
    entry_id: Optional[str]       # the response selector's choice (faq/<id>)
    confidence: float
    runner_up: Optional[str]
    runner_up_confidence: float

    @property
    def answers_with(self) -> Optional[str]:
        """The entry the bot answers with: only when the intent is ``faq``."""
        return self.entry_id if self.intent == "faq" else None


def model_answer(parsed: dict[str, Any]) -> ModelAnswer:
    intent = parsed.get("intent") or {}
    selector = (parsed.get("response_selector") or {}).get("faq") or {}
    response = selector.get("response") or {}
    ranking = [item for item in selector.get("ranking") or [] if isinstance(item, dict)]
    second = ranking[1] if len(ranking) > 1 else {}
    return ModelAnswer(
        intent=str(intent.get("name") or ""), intent_confidence=float(intent.get("confidence") or 0),
        entry_id=_entry(response.get("intent_response_key")),
        confidence=float(response.get("confidence") or 0),
        runner_up=_entry(second.get("intent_response_key")),
        runner_up_confidence=float(second.get("confidence") or 0))


def _entry(key: Any) -> Optional[str]:
    return key[4:] if isinstance(key, str) and key.startswith("faq/") else None


class ModelUnavailable(Exception):
    """Rasa did not answer; the check carries on with the estimate alone."""


class RasaParser:
    """``POST /model/parse`` with the shared token; answers cached per loaded model, so
    replaying the same questions again after an edit costs nothing."""

    def __init__(self, http: Any, base_url: str, token: str = "", timeout: float = 10.0) -> None:
        self.http, self.base_url, self.token, self.timeout = http, base_url.rstrip("/"), token, timeout
        self._cache: dict[tuple[str, str], ModelAnswer] = {}

    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    async def model_name(self) -> str:
        try:
            answer = await self.http.get(f"{self.base_url}/status", params=self._params(),
                                         timeout=self.timeout)
            answer.raise_for_status()
            return str(answer.json().get("model_file") or "")
        except Exception as error:  # noqa: BLE001  (any failure means: no model to ask)
            raise ModelUnavailable(str(error)) from error

    async def parse(self, text: str, model: str = "") -> ModelAnswer:
        cached = self._cache.get((model, text)) if model else None
        if cached is not None:
            return cached
        try:
            answer = await self.http.post(f"{self.base_url}/model/parse", params=self._params(),
                                          json={"text": text}, timeout=self.timeout)
            answer.raise_for_status()
            result = model_answer(answer.json())
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(str(error)) from error
        if model and len(self._cache) < MAX_CACHE:
            self._cache[(model, text)] = result
        return result

    async def parse_many(self, texts: list[str]) -> list[ModelAnswer]:
        model = await self.model_name()
        gate = asyncio.Semaphore(PARSE_CONCURRENCY)

        async def one(text: str) -> ModelAnswer:
            async with gate:
                return await self.parse(text, model)
        return list(await asyncio.gather(*(one(text) for text in texts)))


# ---------------------------------------------------------------------------------------------
# What is replayed

@dataclass(frozen=True)
class Sample:
    text: str
    source: str                 # "heldout" or "customer"
    expected: Optional[str] = None


def heldout_samples(path: Path = HELDOUT_PATH) -> list[Sample]:
    """The held-out set's FAQ utterances with their labels (never trained on)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    samples = []
    for block in data.get("nlu") or []:
        intent = str(block.get("intent") or "")
        if intent.startswith("faq/"):
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    samples.append(Sample(text, "heldout", intent[4:]))
    return samples


# ---------------------------------------------------------------------------------------------
# The check

def check(samples: list[Sample], answers: Optional[list[ModelAnswer]],
          before: dict[str, list[str]], after: dict[str, list[str]], entry_id: str,
          questions_changed: bool) -> dict[str, Any]:
    """Every replayed question whose answer would change, and the figures to judge it by."""
    old, new = LexicalMatcher(before), LexicalMatcher(after)
    rows = []
    for number, sample in enumerate(samples):
        now = answers[number] if answers else None
        row = _row(sample, now, old, new, entry_id, questions_changed)
        if row is not None:
            rows.append(row)
    held = [(n, s) for n, s in enumerate(samples) if s.source == "heldout"]
    return {"changes": rows, "replayed": {"heldout": len(held), "customer": len(samples) - len(held)},
            "model_available": answers is not None, "questions_changed": questions_changed,
            "heldout_model_top1": _accuracy([answers[n].entry_id for n, _ in held], held)
            if answers else None,
            "estimate_top1": {"before": _accuracy([old.top(s.text) for _, s in held], held),
                              "after": _accuracy([new.top(s.text) for _, s in held], held)},
            "confusable": _pairs_of(entry_id, before, after)}


def _row(sample: Sample, now: Optional[ModelAnswer], old: LexicalMatcher, new: LexicalMatcher,
         entry_id: str, questions_changed: bool) -> Optional[dict[str, Any]]:
    current = now.answers_with if now else old.top(sample.text)
    if questions_changed:
        estimated_before, estimated_after = old.top(sample.text), new.top(sample.text)
        if estimated_before == estimated_after:
            return None
    elif current != entry_id:
        return None  # an answer edit reaches exactly the questions answered with the entry
    else:
        estimated_after = entry_id
    return {"text": sample.text, "source": sample.source, "expected": sample.expected,
            "now": current, "now_confidence": round(now.confidence, 3) if now else None,
            "now_intent": now.intent if now else None, "after": estimated_after,
            "verdict": _verdict(sample.expected, current, estimated_after, questions_changed)}


def _verdict(expected: Optional[str], now: Optional[str], after: Optional[str],
             questions_changed: bool) -> str:
    if not questions_changed:
        return "new_text"          # same entry, the edited answer
    if expected is None:
        return "changed"           # a real customer's question: the editor judges
    if after == expected and now != expected:
        return "fixed"
    if now == expected and after != expected:
        return "broken"
    return "changed"


def _accuracy(predicted: list[Optional[str]], held: list[tuple[int, Sample]]) -> Optional[float]:
    if not held:
        return None
    right = sum(1 for guess, (_, sample) in zip(predicted, held, strict=True) if guess == sample.expected)
    return round(right / len(held), 3)


def _pairs_of(entry_id: str, before: dict[str, list[str]],
              after: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """Confusable pairs after the change, and which of them the change brought."""
    old = {(p["a"], p["b"]) for p in confusable_pairs(before)}
    pairs = confusable_pairs(after)
    return {"all": pairs,
            "new": [p for p in pairs if (p["a"], p["b"]) not in old and entry_id in (p["a"], p["b"])]}


def preview(text: str, now: Optional[ModelAnswer], questions: dict[str, list[str]],
            draft: Optional[dict[str, list[str]]] = None) -> dict[str, Any]:
    """The preview box: the model's answer today, and the estimate (with the unsaved draft)."""
    def top2(matcher: LexicalMatcher) -> list[dict[str, Any]]:
        return [{"entry_id": entry, "score": round(score, 3)} for entry, score in matcher.rank(text)[:2]]
    result: dict[str, Any] = {"text": text, "model": asdict(now) if now else None,
                              "estimate": top2(LexicalMatcher(questions))}
    if draft is not None:
        result["estimate_with_draft"] = top2(LexicalMatcher(draft))
    return result


def model_confusion(samples: list[Sample], answers: list[ModelAnswer],
                    limit: float = CONFUSION_LIMIT) -> list[dict[str, Any]]:
    """Pairs of entries whose labelled questions the current model mixes up more than ``limit``
    of the time: (A answered as B + B answered as A) / (questions of A + questions of B)."""
    asked: Counter[str] = Counter(s.expected for s in samples if s.expected)
    wrong: Counter[tuple[str, str]] = Counter()
    for sample, answer in zip(samples, answers, strict=True):
        if sample.expected and answer.entry_id and answer.entry_id != sample.expected:
            wrong[tuple(sorted((sample.expected, answer.entry_id)))] += 1  # type: ignore[arg-type]
    pairs = [{"a": a, "b": b, "rate": round(count / max(asked[a] + asked[b], 1), 3)}
             for (a, b), count in wrong.items()]
    return sorted((p for p in pairs if p["rate"] > limit), key=lambda p: -p["rate"])


def entry_samples(questions: dict[str, list[str]]) -> list[Sample]:
    return [Sample(text, "entry", entry_id) for entry_id, texts in questions.items() for text in texts]
