"""Normalise customer text before tokenisation, keeping track of where each character came from.

Traditional → simplified (OpenCC), full-width → half-width (NFKC), Latin case folding, emoji
(feelings become words, the rest is dropped), runs of punctuation and spaces collapsed, and the
table of input-method typos and colloquial variants in ``bot/data/variants.yml``.

Rasa's training examples carry entity offsets, so every step maps output characters back to
input positions and ``remap_span`` moves an annotated span onto the normalised text.
Used by the Rasa component (``bot.nlu_components``) and by the service wherever it matches text.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import opencc
import yaml

VARIANTS_PATH = Path(__file__).resolve().parent / "data" / "variants.yml"

_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F900-\U0001F9FF\u2B00-\u2BFF"
    "\uFE0F\u200D\u20E3]")
_REPEATED_PUNCTUATION = re.compile(r"([!?,.~。，！？、…~\-])\1+")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Normalized:
    text: str
    sources: tuple[int, ...]  # for each output character, the index of its input character

    def remap_span(self, start: int, end: int) -> Optional[tuple[int, int]]:
        """The span of the normalised text that input[start:end] became (None if it vanished)."""
        inside = [i for i, source in enumerate(self.sources) if start <= source < end]
        return (inside[0], inside[-1] + 1) if inside else None


def normalize(text: str, table: Optional[VariantTable] = None) -> str:
    return normalize_with_sources(text, table).text


def normalize_with_sources(text: str, table: Optional[VariantTable] = None) -> Normalized:
    """Normalise ``text`` with ``table`` (default: the table in the source tree)."""
    table = table or default_table()
    chars = [(c, i) for i, c in enumerate(text)]
    chars = _per_char(chars, _width_and_case)
    chars = _to_simplified(chars)
    chars = _emoji(chars, table.emoji_words)
    chars = _substitute(chars, table.pattern, table.variants)
    chars = _collapse(chars, _REPEATED_PUNCTUATION, lambda m: m.group(1))
    chars = _collapse(chars, _SPACES, lambda m: " ")
    chars = _strip(chars)
    return Normalized("".join(c for c, _ in chars), tuple(i for _, i in chars))


Chars = list[tuple[str, int]]


def _width_and_case(char: str) -> str:
    if _CONTROL.match(char) or unicodedata.category(char) == "Cs":  # lone surrogates: junk
        return ""
    return unicodedata.normalize("NFKC", char).lower()


def _per_char(chars: Chars, convert) -> Chars:  # type: ignore[no-untyped-def]
    return [(out, source) for char, source in chars for out in convert(char)]


def _to_simplified(chars: Chars) -> Chars:
    text = "".join(c for c, _ in chars)
    converted = _converter().convert(text)
    if len(converted) == len(text):  # OpenCC's t2s is character-for-character almost always
        return [(new, source) for new, (_, source) in zip(converted, chars, strict=True)]
    return _per_char(chars, _converter().convert)


def _emoji(chars: Chars, words: dict[str, str]) -> Chars:
    out: Chars = []
    for char, source in chars:
        if char in words:
            out += [(c, source) for c in f" {words[char]} "]
        elif not _EMOJI.match(char):
            out.append((char, source))
    return out


def _substitute(chars: Chars, pattern: Optional[re.Pattern[str]], table: dict[str, str]) -> Chars:
    if pattern is None:
        return chars
    return _collapse(chars, pattern, lambda m: table[m.group(0)])


def _collapse(chars: Chars, pattern: re.Pattern[str], replace) -> Chars:  # type: ignore[no-untyped-def]
    """Replace each match; the new characters map to the sources of the matched ones."""
    text = "".join(c for c, _ in chars)
    out: Chars = []
    position = 0
    for match in pattern.finditer(text):
        out += chars[position:match.start()]
        replacement = replace(match)
        sources = [source for _, source in chars[match.start():match.end()]]
        out += [(c, sources[min(k, len(sources) - 1)]) for k, c in enumerate(replacement)]
        position = match.end()
    return out + chars[position:]


def _strip(chars: Chars) -> Chars:
    start, end = 0, len(chars)
    while start < end and chars[start][0] == " ":
        start += 1
    while end > start and chars[end - 1][0] == " ":
        end -= 1
    return chars[start:end]


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


SECTIONS = ("typos", "colloquial", "emoji_words")


class VariantTable:
    """The variants table: typos and colloquial variants (substituted), emoji words.

    Built from the YAML text of ``variants.yml``; ``source`` keeps that text so the Rasa
    component can persist exactly the table it was trained with (``bot.nlu_components``).
    """

    def __init__(self, source: str) -> None:
        data = yaml.safe_load(source) or {}
        if not isinstance(data, dict):
            raise ValueError("variants table must be a mapping of sections")
        self.source = source
        self.sections = {key: {str(k): str(v) for k, v in (data.get(key) or {}).items()}
                         for key in SECTIONS}
        self.variants = {**self.sections["typos"], **self.sections["colloquial"]}
        self.emoji_words = {k.replace("\ufe0f", ""): v
                            for k, v in self.sections["emoji_words"].items()}
        keys = sorted(self.variants, key=len, reverse=True)  # longest first: 啥时候 before 啥
        self.pattern: Optional[re.Pattern[str]] = (
            re.compile("|".join(map(re.escape, keys))) if keys else None)

    @classmethod
    def from_file(cls, path: Path) -> VariantTable:
        return cls(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def default_table() -> VariantTable:
    """The table in the source tree (what the service uses, and what training starts from)."""
    return VariantTable.from_file(VARIANTS_PATH)


def _table() -> dict[str, dict[str, str]]:
    return default_table().sections
