"""Small text helpers shared by the summary modules: simplified characters, no emoji, no junk."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

MAX_CHARS = 2000  # a message longer than this is cut before any analysis (a paste, an attack)

_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\u2B00-\u2BFF\uFE0F\u200D\u20E3]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_TAG = re.compile(r"<[^<>]{0,200}>")
_SPACES = re.compile(r"\s+")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional → simplified characters (OpenCC t2s), leaving everything else as it is."""
    return _t2s().convert(text) if text else ""


def is_valid_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def clean(text: str) -> str:
    """Simplified, without emoji, control characters, HTML tags or runs of spaces, at most
    ``MAX_CHARS`` long: the form the summary analyses (quotes keep the original)."""
    text = _CONTROL.sub("", text[:MAX_CHARS])
    text = "".join(c for c in text if unicodedata.category(c) != "Cs")  # lone surrogates
    text = _TAG.sub(" ", _EMOJI.sub("", text))
    return _SPACES.sub(" ", simplified(text.translate(_FULL_WIDTH_DIGITS))).strip()


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
