"""The customer's request (诉求) as a few short third-person sentences, extracted from what the
customer wrote: "用户询问订单为什么还没到。用户要求退货。"

1. Split the customer's messages into sentences; drop greetings, thanks, acknowledgements.
2. Score each sentence: content words weighted by their general IDF (jieba's table), more when
   the conversation repeats them, plus cues that it asks something, wants something or names a
   problem. Keep the best ``max_sentences`` in their order, dropping near-repeats.
3. Rewrite each kept sentence the way after-sales summaries read: a question becomes
   "用户询问…" (a yes/no question "…吗" becomes "是否…"), a wish "用户希望…", a demand
   "用户要求…", anything else "用户表示…"; first person becomes third.

Deterministic, plain Python with jieba; a long conversation takes a few milliseconds.
The cue lists live in ``data/request.yml``.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import jieba
import yaml

from .cleaning import clean, clip

CUES_PATH = Path(__file__).resolve().parent / "data" / "request.yml"
MAX_WEIGHT = 30.0  # content beyond this (a pasted address, a long story) adds nothing more
MAX_SENTENCES_SEEN = 300  # of a very long conversation, only the latest sentences are read

_URL = re.compile(r"(?:https?://|www\.)[^\s，。！？]+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+|\s+(?=[^\x00-\x7f])(?<=[^\x00-\x7f]\s)|…{1,}|\.{3,}|~+")
_PUNCTUATION = re.compile(r"[\s，,。.！!？?；;：:、~…\-—\"'“”‘’()（）\[\]【】<>《》*#@&^%$/\\|=+_`]+")
_EDGE_PUNCTUATION = re.compile(r"^[\s，,。.！!？?；;：:、~…\-—]+|[\s，,。.！!？?；;：:、~…\-—]+$")
_QUESTION_END = re.compile(r"[吗么嘛][\s?？]*$|[?？]\s*$")
_TRAILING_PARTICLES = re.compile(r"[啊呀呢吧哦哈嘛啦呗哇吗么]+$")
# Greetings that begin other words too ("亲戚", "客服电话"): removed only before a break.
_NEED_A_BREAK = frozenset({"亲", "亲亲", "客服", "人工", "喂", "hi", "嗨"})
_HAS_DIGIT = re.compile(r"\d")
_A_NOT_A = re.compile(r"([\u4e00-\u9fa5])[不没]\1")  # 管不管, 到没到: a yes/no question


@dataclass(frozen=True)
class Style:
    """How the request is written; the defaults are what the benchmark chose (bench/summary.py)."""
    rewrite: bool = True     # "用户询问/表示/希望/要求…", third person; False: the customer's words
    whether: bool = True     # yes/no and A-not-A questions as "是否…"
    merge: bool = True       # sentences of one message of the same kind under one prefix
    select: bool = True      # keep the best max_sentences; False: every non-filler sentence
    max_sentences: int = 4
    max_sentence_chars: int = 80


@dataclass(frozen=True)
class Sentence:
    message: int   # index of the customer message it comes from
    text: str      # cleaned, without greetings and openers
    kind: str      # 询问 / 希望 / 要求 / 表示
    score: float
    yes_no: bool = False  # a question to answer with yes or no ("…吗", "补发？")
    plain: str = ""       # the customer's own words, without greetings


def summarise_request(messages: Sequence[str], style: Style = Style(),
                      intents: Optional[Sequence[Optional[str]]] = None) -> str:
    """The request of the customer whose ``messages`` (oldest first) these are; "" if there is
    nothing but greetings. ``intents`` (one per message, from the NLU) mark small talk."""
    sentences = candidate_sentences(messages, intents)
    if style.select:
        sentences = select(sentences, style.max_sentences)
    return render(sentences, style)


def candidate_sentences(messages: Sequence[str],
                        intents: Optional[Sequence[Optional[str]]] = None) -> list[Sentence]:
    cues = _cues()
    pieces: list[tuple[int, str, str, bool, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, str):
            continue
        if intents and index < len(intents) and intents[index] in SMALL_TALK:
            continue
        for raw in _split(clean(message)):
            kind, text, yes_no = _classify(raw, cues)
            if text:
                plain = _EDGE_PUNCTUATION.sub("", _strip_leading(_strip_filler_clauses(raw, cues),
                                                                 cues.greetings + cues.openers))
                pieces.append((index, kind, text, yes_no, plain or text))
    pieces = pieces[-MAX_SENTENCES_SEEN:]
    tokens = [_content_tokens(piece[2]) for piece in pieces]
    in_conversation = Counter(t for sentence in tokens for t in set(sentence))
    idf, median = _idf()
    out = []
    for (index, kind, text, yes_no, plain), words in zip(pieces, tokens, strict=True):
        weight = sum(min(idf.get(w, median), 12.0) * (1 + 0.3 * (in_conversation[w] - 1))
                     for w in set(words))
        bonus = (1.5 if kind != "表示" else 0.0) + (1.0 if any(p in text for p in cues.problems) else 0.0)
        bonus += 1.0 if not out else 0.0  # the first thing a customer says is usually the matter
        short = 1.0 if len(text) < 4 else 0.0
        out.append(Sentence(index, text, kind, round(min(weight, MAX_WEIGHT) / 10 + bonus - short, 4),
                            yes_no, plain))
    return out


def select(sentences: list[Sentence], limit: int) -> list[Sentence]:
    """The best ``limit`` sentences in conversation order, a near-repeat of a better one left out."""
    chosen: list[int] = []
    for i in sorted(range(len(sentences)), key=lambda i: (-sentences[i].score, i)):
        if len(chosen) >= limit:
            break
        if all(_similarity(sentences[i].text, sentences[j].text) < 0.6 for j in chosen):
            chosen.append(i)
    return [sentences[i] for i in sorted(chosen)]


def render(sentences: list[Sentence], style: Style) -> str:
    if not sentences:
        return ""
    if not style.rewrite:
        return "".join(clip(s.plain or s.text, style.max_sentence_chars) + "。" for s in sentences)
    groups: list[list[Sentence]] = []
    for sentence in sentences:
        previous = groups[-1][-1] if groups else None
        if (style.merge and previous and previous.message == sentence.message
                and previous.kind == sentence.kind):
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    cues = _cues()
    lines = []
    for group in groups:
        bodies = [_third_person(_whether(s.text, cues) if style.whether and s.yes_no else s.text, cues)
                  for s in group]
        body = clip("，".join(b for b in bodies if b), style.max_sentence_chars)
        if body:
            lines.append(f"用户{group[0].kind}{body}。")
    return "".join(lines)


SMALL_TALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"})


@dataclass(frozen=True)
class Cues:
    greetings: tuple[str, ...]
    fillers: frozenset[str]
    openers: tuple[str, ...]
    question_openers: tuple[str, ...]
    question_words: tuple[str, ...]
    requests: dict[str, str]
    whether: dict[str, str]
    predicates: tuple[str, ...]
    problems: tuple[str, ...]
    pronouns: dict[str, str]
    stopwords: frozenset[str]
    filler_pattern: re.Pattern[str]
    pronoun_pattern: re.Pattern[str]
    whether_pattern: re.Pattern[str]


@lru_cache(maxsize=1)
def _cues() -> Cues:
    return load_cues(CUES_PATH)


def load_cues(path: Path) -> Cues:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def words(key: str) -> tuple[str, ...]:
        return tuple(sorted({str(w) for w in data.get(key) or [] if str(w)}, key=len, reverse=True))

    def table(key: str) -> dict[str, str]:
        return {str(k): str(v or "") for k, v in (data.get(key) or {}).items() if str(k)}

    def alternation(keys) -> re.Pattern[str]:  # type: ignore[no-untyped-def]
        return re.compile("|".join(map(re.escape, sorted(keys, key=len, reverse=True))) or "(?!)")

    fillers = words("fillers")
    pronouns, whether = table("pronouns"), table("whether")
    return Cues(
        greetings=words("greetings"), fillers=frozenset(fillers), openers=words("openers"),
        question_openers=words("question_openers"), question_words=words("question_words"),
        requests=table("requests"), whether=whether, predicates=tuple(map(str, data.get("predicates") or [])),
        problems=words("problems"), pronouns=pronouns, stopwords=frozenset(words("stopwords")),
        filler_pattern=alternation(fillers), pronoun_pattern=alternation(pronouns),
        whether_pattern=alternation(whether))


def warm_up() -> None:
    """Load the tokenizer, the IDF table and the cue lists now (about a second) rather than
    in the first summary."""
    _cues()
    _tokenizer()
    _idf()


def _split(text: str) -> list[str]:
    """Sentences, each with its final question mark if it had one."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[start:match.start()] + ("?" if re.search(r"[?？]", match.group(0)) else "")
        out.append(piece)
        start = match.end()
    out.append(text[start:])
    return [p.strip() for p in out if p.strip()]


def _classify(sentence: str, cues: Cues) -> tuple[str, str, bool]:
    """The kind of a sentence, its text without greetings, openers and final particles, and
    whether it is a yes/no question."""
    if _URL.fullmatch(sentence.rstrip("?")):
        return "表示", "发送了链接", False
    text = _URL.sub("链接", sentence)
    asked = bool(_QUESTION_END.search(text))
    text = _strip_leading(_strip_filler_clauses(text, cues), cues.greetings + cues.openers)
    if text in cues.greetings:
        return "", "", False
    opener = next((o for o in cues.question_openers if text.startswith(o)), None)
    if opener:
        asked, text = True, _strip_leading(text[len(opener):], cues.openers)
    if _is_filler(text, cues):
        return "", "", False
    text = _EDGE_PUNCTUATION.sub("", text)
    wh = any(w in text for w in cues.question_words if w != "么") or bool(_A_NOT_A.search(text))
    yes_no = bool(re.search(r"[吗么嘛]$", text)) or (asked and not wh and sentence.endswith("?"))
    request = next((r for r in cues.requests if text.startswith(r)), None)
    if not (wh or yes_no) and len(text) <= 10 and text.endswith("呢"):  # "我的订单呢": where is it
        return "询问", (_TRAILING_PARTICLES.sub("", text) or text) + "的情况", False
    if asked or wh or yes_no:
        return "询问", _TRAILING_PARTICLES.sub("", text) or text, \
            yes_no or bool(cues.whether_pattern.search(text) or _A_NOT_A.search(text))
    if request:
        return cues.requests[request], _EDGE_PUNCTUATION.sub("", text[len(request):]) or text, False
    return "表示", _TRAILING_PARTICLES.sub("", text) or text, False


def _strip_leading(text: str, words: tuple[str, ...]) -> str:
    while True:
        text = _EDGE_PUNCTUATION.sub("", text) if text[:1] and not text[:1].isalnum() else text
        word = next((w for w in words if text.lower().startswith(w) and len(text) > len(w)
                     and (w not in _NEED_A_BREAK or not text[len(w)].isalnum())), None)
        if word is None:
            return text
        text = text[len(word):].lstrip("，,、 !！~")


def _strip_filler_clauses(text: str, cues: Cues) -> str:
    """"好的，自提点在哪" -> "自提点在哪": leading clauses that are only fillers or greetings."""
    clauses = re.split(r"(?<=[，,、])", text)
    while len(clauses) > 1 and (_is_filler(clauses[0], cues)
                                or clauses[0].strip("，,、 ") in cues.greetings):
        clauses.pop(0)
    return "".join(clauses)


def _is_filler(text: str, cues: Cues) -> bool:
    rest = cues.filler_pattern.sub("", _PUNCTUATION.sub("", text.lower()))
    return not rest


def _whether(text: str, cues: Cues) -> str:
    """"自提可以吗" -> "自提是否可以", "补发？" -> "是否补发": a yes/no question as a 是否 clause."""
    text = _TRAILING_PARTICLES.sub("", text.rstrip("?？ ")) or text
    if "是否" in text:
        return text
    if cues.whether_pattern.search(text):
        return cues.whether_pattern.sub(lambda m: cues.whether[m.group(0)], text, count=1)
    if _A_NOT_A.search(text):
        return _A_NOT_A.sub(r"是否\1", text, count=1)
    head, sep, last = text.rpartition("，")
    words = _tokenizer().lcut(last)
    starts = [sum(map(len, words[:i])) for i in range(len(words))]
    found = [(cues.predicates.index(w), i) for i, w in enumerate(words) if w in cues.predicates]
    if len(last) <= 3 or not found:
        return head + sep + "是否" + last
    _, i = min(found)
    if words[i] == "是":
        return head + sep + last[:starts[i]] + "是否" + last[starts[i] + 1:]
    while i > 0 and words[i - 1] in ("不", "没", "也", "都", "还", "就", "还能", "又"):
        i -= 1
    return head + sep + last[:starts[i]] + "是否" + last[starts[i]:]


def _third_person(text: str, cues: Cues) -> str:
    for lead in ("我的", "我们", "我"):
        if text.startswith(lead) and len(text) > len(lead):
            text = text[len(lead):]
            break
    return cues.pronoun_pattern.sub(lambda m: cues.pronouns[m.group(0)], text).strip("，, ")


def _content_tokens(text: str) -> list[str]:
    """Words that say what the matter is: no punctuation, numbers or stopwords."""
    return [w for w in _tokenizer().lcut(text) if len(w) > 1 or "\u4e00" <= w <= "\u9fa5"
            if not _PUNCTUATION.fullmatch(w) and not _HAS_DIGIT.search(w) and w not in _cues().stopwords]


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    """jieba's general-purpose IDF table (from its own corpus, not from any conversation here)."""
    path = Path(jieba.__file__).resolve().parent / "analyse" / "idf.txt"
    table: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, value = line.partition(" ")
        if value:
            table[word] = float(value)
    values = sorted(table.values())
    return table, values[len(values) // 2] if values else 10.0


def _similarity(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x and y else float(a == b)


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}
