"""How the customer sounds: a score in [-1, 1] per message (negative = unhappy, angry) and a
mood for the whole conversation, for the handoff summary and for ordering the agents' queue.

Lexicon-based and deterministic. The words live in ``data/sentiment.yml`` (editors extend it):
sentiment words with weights, insults, threats to go outside the shop (投诉, 12315, 差评, 曝光,
报警), negators ("不满意" is negative, "不太满意" less so, "没有很满意" too), intensifiers
("非常", "太") and diminishers ("有点"). Text is normalised first (``bot.normalization``:
traditional → simplified, full-width → half-width, 😡 → 生气), then matched longest-word-first;
runs of "！！！" or "？？？" and repeated words ("快点快点快点") make the message count more.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

from bot.normalization import normalize

from .cleaning import MAX_CHARS

LEXICON_PATH = Path(__file__).resolve().parent / "data" / "sentiment.yml"

# Conversation labels, from best to worst, with the lowest score each still covers.
CALM, CONTENT, UNHAPPY, ANGRY = "平静", "满意", "不满", "愤怒"
_LABEL_FLOORS = ((0.3, CONTENT), (-0.25, CALM), (-0.6, UNHAPPY))
SCALE = 2.5             # a raw sum of ±SCALE maps to ±tanh(1) ≈ ±0.76
NEGATED_POSITIVE = 0.9  # "不满意"-style negation keeps most of the weight, turned round
NEGATED_NEGATIVE = 0.3  # "不差" is only mildly positive

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_REPEATED = re.compile(r"([\u4e00-\u9fa5a-z]{1,4}?)\1{2,}")
_EXCLAMATIONS = re.compile(r"!{2,}")
_QUESTIONS = re.compile(r"[?？]{2,}")


@dataclass(frozen=True)
class Term:
    kind: str      # positive, negative, profanity, threat, negator, intensifier, neutral
    weight: float  # signed for sentiment words, a multiplier for negators and intensifiers


@dataclass(frozen=True)
class Lexicon:
    terms: dict[str, Term]
    longest: int


@dataclass(frozen=True)
class Reading:
    """The score of one message and why."""
    score: float
    words: tuple[str, ...]     # the sentiment words that counted, as matched
    threats: tuple[str, ...]   # 投诉, 12315, …
    profanity: bool


@dataclass(frozen=True)
class Mood:
    score: float                  # [-1, 1]
    label: str                    # 满意 / 平静 / 不满 / 愤怒
    worst_message: Optional[str]  # the most negative customer message, None when none is
    threats: tuple[str, ...] = ()


def sentiment(text: str) -> float:
    """The score of one customer message in [-1, 1]; negative is unhappy or angry."""
    return read(text).score


def read(text: str) -> Reading:
    if not isinstance(text, str) or not text.strip():
        return Reading(0.0, (), (), False)
    raw = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    normal = normalize(text[:MAX_CHARS])
    total, words, threats, profanity = _score_words(normal, lexicon())
    total = _punctuation(raw, normal, total)
    return Reading(round(math.tanh(total / SCALE), 3), tuple(words), tuple(threats), profanity)


def conversation_mood(texts: Iterable[str]) -> Mood:
    """The mood of a conversation from its customer messages (oldest first): half the worst
    message, half the mean with later messages weighing more (how they feel now)."""
    messages = [t for t in texts if isinstance(t, str) and t.strip()]
    if not messages:
        return Mood(0.0, CALM, None)
    readings = [read(t) for t in messages]
    scores = [r.score for r in readings]
    weights = [1.0 + i / len(scores) for i in range(len(scores))]
    recent_mean = sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)
    score = round(0.5 * min(scores) + 0.5 * recent_mean, 3)
    worst = min(range(len(scores)), key=lambda i: (scores[i], i))
    threats = tuple(dict.fromkeys(t for r in readings for t in r.threats))
    label = label_of(score)
    if any(r.profanity for r in readings) and min(scores) <= -0.6:
        label = ANGRY
    elif threats and label in (CONTENT, CALM):
        label = UNHAPPY
    return Mood(score, label, messages[worst] if scores[worst] < 0 else None, threats)


def label_of(score: float) -> str:
    return next((label for floor, label in _LABEL_FLOORS if score >= floor), ANGRY)


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return load_lexicon(LEXICON_PATH)


def load_lexicon(path: Path) -> Lexicon:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    terms: dict[str, Term] = {}
    for word in data.get("neutral") or []:
        terms[_key(word)] = Term("neutral", 0.0)
    for kind, sign in (("positive", 1), ("negative", -1), ("profanity", -1), ("threats", -1)):
        for word, weight in (data.get(kind) or {}).items():
            terms[_key(word)] = Term(kind.rstrip("s"), sign * abs(float(weight)))
    for kind, section in (("negator", "negators"), ("intensifier", "intensifiers"),
                          ("intensifier", "diminishers")):
        for word, weight in (data.get(section) or {}).items():
            terms.setdefault(_key(word), Term(kind, float(weight)))
    terms.pop("", None)
    return Lexicon(terms, max((len(k) for k in terms), default=1))


def _key(word: object) -> str:
    return normalize(str(word))


def _matches(text: str, lex: Lexicon) -> list[tuple[int, int, str, Term]]:
    """Longest-first matches, left to right; a Latin or digit entry must stand alone ("sb" is
    not in "usb", "12315" not inside an order id)."""
    out, i = [], 0
    while i < len(text):
        for size in range(min(lex.longest, len(text) - i), 0, -1):
            word = text[i:i + size]
            term = lex.terms.get(word)
            if term is None or (_ASCII_WORD.fullmatch(word) and not _alone(text, i, i + size)):
                continue
            out.append((i, i + size, word, term))
            i += size
            break
        else:
            i += 1
    return out


def _alone(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def _score_words(text: str, lex: Lexicon) -> tuple[float, list[str], list[str], bool]:
    total, words, threats, profanity = 0.0, [], [], False
    negation, strength, intensity, chain_end = False, 1.0, 1.0, -10
    for start, end, word, term in _matches(text, lex):
        if start - chain_end > 1:  # modifiers reach only the word right after them
            negation, strength, intensity = False, 1.0, 1.0
        if term.kind == "negator":
            negation, strength, chain_end = not negation, strength * term.weight, end
            continue
        if term.kind == "intensifier":
            intensity, chain_end = intensity * term.weight, end
            continue
        value = term.weight * intensity
        if term.kind == "profanity":
            profanity = True
        elif negation and term.kind == "threat":
            value = 0.0  # "不会投诉": no threat
        elif negation:
            value = -value * strength * (NEGATED_POSITIVE if value > 0 else NEGATED_NEGATIVE)
        if term.kind == "threat" and value:
            threats.append(word)
        if value:
            words.append(word)
        total += value
        negation, strength, intensity, chain_end = False, 1.0, 1.0, -10
    return total, words, threats, profanity


def _punctuation(raw: str, normal: str, total: float) -> float:
    """Shouting and insisting make a message count more; "？？？" alone is exasperation."""
    amplify = 1.0
    exclaimed = max((len(m.group(0)) for m in _EXCLAMATIONS.finditer(raw)), default=0)
    if exclaimed:
        amplify += 0.3 + 0.1 * min(exclaimed - 2, 3)
    elif "!" in raw:
        amplify += 0.1
    asked = max((len(m.group(0)) for m in _QUESTIONS.finditer(raw)), default=0)
    if asked:
        total -= 0.6 + 0.15 * min(asked - 2, 4)
    if _REPEATED.search(normal):
        amplify += 0.3
    return total * amplify
