"""Load, check and compile the FAQ knowledge base into Rasa training data.

Each entry becomes a sub-intent ``faq/<id>`` of the retrieval intent with its questions as
examples, and a response ``utter_faq/<id>`` with its answer. Plain Python + PyYAML: it runs in
both environments (training in ``.venv-rasa``, checks and the editor side in ``.venv``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ENTRIES_DIR = ROOT / "knowledge_base" / "entries"
COMPILED_PATH = ROOT / "nlu_data" / "generated" / "faq.yml"

ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
SKILL_GROUPS = ("logistics", "returns", "quality", "general")
MIN_QUESTIONS = 5
# Rasa reads "[text](entity)" inside examples as an entity annotation.
ANNOTATION_CHARS = re.compile(r"[\[\]]")


class KnowledgeBaseError(ValueError):
    """A problem an editor must fix; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    questions: tuple[str, ...]
    answer: str
    skill_group: str
    source: Path


def load_entries(entries_dir: Path = ENTRIES_DIR) -> list[Entry]:
    """All entries, checked; raises KnowledgeBaseError listing every problem found."""
    problems: list[str] = []
    entries: list[Entry] = []
    for path in sorted(entries_dir.glob("*.yml")):
        entries.extend(_load_file(path, problems))
    seen: dict[str, Path] = {}
    for entry in entries:
        if entry.id in seen:
            problems.append(f"{entry.source.name}: id '{entry.id}' 与 {seen[entry.id].name} 重复")
        seen.setdefault(entry.id, entry.source)
    if problems:
        raise KnowledgeBaseError("\n".join(problems))
    return entries


_cache: dict[str, tuple[tuple, list[Entry]]] = {}


def current_entries(entries_dir: Path = ENTRIES_DIR) -> list[Entry]:
    """``load_entries``, re-read only when a file was added, removed or changed.

    For callers on the message path (the action server), so a fallback does not parse every
    YAML file each time, while an editor's change is still seen at once."""
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                  for p in sorted(entries_dir.glob("*.yml")))
    cached = _cache.get(str(entries_dir))
    if cached is None or cached[0] != stamp:
        cached = (stamp, load_entries(entries_dir))
        _cache[str(entries_dir)] = cached
    return cached[1]


def _load_file(path: Path, problems: list[str]) -> Iterable[Entry]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        problems.append(f"{path.name}: YAML 格式错误: {error}")
        return []
    raw_entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(raw_entries, list):
        problems.append(f"{path.name}: 顶层需要 'entries:' 列表")
        return []
    entries = []
    for index, raw in enumerate(raw_entries, start=1):
        entry = _parse_entry(raw, path, index, problems)
        if entry:
            entries.append(entry)
    return entries


def _parse_entry(raw: Any, path: Path, index: int, problems: list[str]) -> Entry | None:
    where = f"{path.name} 第 {index} 条"
    if not isinstance(raw, dict):
        problems.append(f"{where}: 条目必须是键值对")
        return None
    entry_id = str(raw.get("id", ""))
    if not ID_RE.match(entry_id):
        problems.append(f"{where}: id '{entry_id}' 须为小写字母开头的 snake_case")
        return None
    where = f"{path.name} [{entry_id}]"
    questions = raw.get("questions")
    answer = raw.get("answer")
    missing = [key for key in ("title", "answer", "skill_group") if not raw.get(key)]
    if missing:
        problems.append(f"{where}: 缺少字段 {', '.join(missing)}")
        return None
    if not isinstance(questions, list) or len(questions) < MIN_QUESTIONS:
        problems.append(f"{where}: 至少需要 {MIN_QUESTIONS} 个问法")
        return None
    if raw["skill_group"] not in SKILL_GROUPS:
        problems.append(f"{where}: skill_group 须为 {'/'.join(SKILL_GROUPS)} 之一")
        return None
    cleaned = tuple(str(question).strip() for question in questions)
    bad = [question for question in cleaned if not question or ANNOTATION_CHARS.search(question)]
    if bad:
        problems.append(f"{where}: 问法不能为空，也不能含方括号: {bad}")
        return None
    return Entry(entry_id, str(raw["title"]), cleaned, str(answer).strip(),
                 str(raw["skill_group"]), path)


def to_rasa_data(entries: list[Entry]) -> dict[str, Any]:
    """The Rasa 3 training-data document for the ``faq`` retrieval intent."""
    return {
        "version": "3.1",
        "nlu": [
            {"intent": f"faq/{entry.id}",
             "examples": "".join(f"- {question}\n" for question in entry.questions)}
            for entry in entries
        ],
        "responses": {f"utter_faq/{entry.id}": [{"text": entry.answer}] for entry in entries},
    }


def compile_to(path: Path = COMPILED_PATH, entries_dir: Path = ENTRIES_DIR) -> int:
    """Write the compiled training data; returns the number of entries."""
    entries = load_entries(entries_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated from knowledge_base/entries by `make kb-check`; do not edit.\n"
    body = yaml.safe_dump(to_rasa_data(entries), allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(header + body, encoding="utf-8")
    return len(entries)
