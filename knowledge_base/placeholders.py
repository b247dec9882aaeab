"""Policy numbers inside FAQ answers: ``{returns.no_reason_days}``, ``{shipping.fee_fen|yuan}``.

An answer that quotes a number of the shop's policy takes it from ``shop_policy.yml`` (the one
source of truth ``actions/policy.py`` decides from), so the bot never says "7 天" while the
policy engine counts 10. Syntax: ``{section.key}`` for any number or text in the policy file,
``{section.key|yuan}`` to turn an amount in fen into yuan, ``{{`` and ``}}`` for literal braces.
Plain Python + PyYAML: runs in both environments.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Union

import yaml

from actions.policy import POLICY_PATH

Scalar = Union[int, float, str]
# Either an escaped brace, or one {...} on a single line: every such group must be a placeholder.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}")
_NAME = re.compile(r"^\s*([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\s*(?:\|\s*([a-z_]+)\s*)?$")


class PolicyValuesError(ValueError):
    """shop_policy.yml cannot be read, so answers quoting it cannot be filled."""


def _number(value: Scalar) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _yuan(value: Scalar) -> str:
    fen = int(value)
    return str(fen // 100) if fen % 100 == 0 else f"{fen / 100:.2f}"


FORMATS: dict[str, Callable[[Scalar], str]] = {"yuan": _yuan}


def load_values(path: Path = POLICY_PATH) -> dict[str, Scalar]:
    """The policy file flattened to ``section.key`` → number or text (lists are codes, not prose)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise PolicyValuesError(f"{path.name} 无法读取: {error}") from error
    if not isinstance(data, dict):
        raise PolicyValuesError(f"{path.name} 顶层应为键值对")
    return dict(_flatten(data, ""))


def _flatten(data: dict, prefix: str) -> Iterator[tuple[str, Scalar]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{name}.")
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            yield name, value


def problems_in(text: str, values: dict[str, Scalar]) -> list[tuple[int, str]]:
    """(line offset within ``text``, message) for every placeholder that cannot be filled."""
    found = []
    for match in _TOKEN.finditer(text):
        if match.group(1) is None:
            continue  # an escaped brace
        problem = _check(match.group(1), values)
        if problem:
            found.append((text.count("\n", 0, match.start()), problem))
    return found


def _check(inside: str, values: dict[str, Scalar]) -> str:
    parsed = _NAME.match(inside)
    if not parsed:
        return (f"无法识别的占位符 {{{inside}}}（写法：{{returns.no_reason_days}}；"
                "要显示花括号请写 {{ 和 }}）")
    name, style = parsed.groups()
    if name not in values:
        close = difflib.get_close_matches(name, values, n=1)
        hint = f"，是不是想写 {{{close[0]}}}？" if close else f"（可用：{'、'.join(sorted(values)[:6])} …）"
        return f"未知占位符 {{{name}}}：shop_policy.yml 里没有这一项{hint}"
    if style and style not in FORMATS:
        return f"占位符 {{{inside}}} 的格式 |{style} 不存在（可用：{'、'.join(FORMATS)}）"
    if style == "yuan" and not isinstance(values[name], int):
        return f"占位符 {{{inside}}}：|yuan 只能用于以分为单位的整数"
    return ""


def fill(text: str, values: dict[str, Scalar]) -> str:
    """The text with every placeholder replaced; call only on text ``problems_in`` accepted."""
    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        name, style = _NAME.match(match.group(1)).groups()  # type: ignore[union-attr]
        return FORMATS[style](values[name]) if style else _number(values[name])
    return _TOKEN.sub(replace, text)
