"""Edit the FAQ YAML files for the browser editor: list, search, create, edit, retire, restore.

The files stay the source of truth and stay reviewable in git, so a save rewrites only the lines
of the one entry it changes, in the same house style as the hand-written entries (two-space
indent, ``tags: [a, b]``, answers as ``|`` blocks); every other byte of the file is kept.
Before anything is written the whole knowledge base, with the change applied, goes through the
same checker as ``make kb-check`` (in a scratch copy), the new text is read back to prove it
says exactly what the editor typed, and only then is the file replaced in one step.

Retiring moves the entry, unchanged, into ``retired/<same file>.yml`` beside ``entries/``: the
compiler only reads ``entries/``, so a retired entry leaves the training data at the next
``make train`` without any new field the checker, the action server or Rasa must know about,
and git shows the move. Restoring moves it back (checked like a new entry).

Concurrent saves of one entry: every entry has a ``version`` (a hash of its content); a save
names the version it was edited from and is refused with a conflict when the file has moved on.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

import yaml

from actions.policy import POLICY_PATH, SHOP_TZ
from bot.normalization import normalize
from knowledge_base import compiler
from knowledge_base.audit import AuditLog
from knowledge_base.reader import Problem, read_document

RETIRED_DIR = compiler.RETIRED_DIR
FILE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Far above any real entry (the largest has 12), far below a paste of 10,000 lines.
MAX_QUESTIONS = 100
MAX_TAGS = 20
MAX_TAG_CHARS = 20
# The ids other parts of the system name (DESIGN.md, "Canonical names"): they may be edited,
# never retired.
REQUIRED_IDS = frozenset({
    "return_policy", "return_shipping_fee", "refund_time", "delivery_time", "shipping_fee",
    "courier", "invoice", "payment_methods", "price_protection", "warranty", "exchange_policy",
    "membership", "coupon", "delivery_area", "contact_hours", "presale", "size_guide"})
FIELDS = ("id", "title", "skill_group", "tags", "owner", "updated_at", "questions", "answer",
          "answers_by_channel", "valid_from", "valid_to", "inactive_answer")
ANSWER_FIELDS = ("answer", "answers_by_channel", "inactive_answer")
WHEN_RE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")
# Control characters cannot be shown to a customer and cannot live in a YAML block.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
LINE_NUMBER_RE = re.compile(r"第 \d+ 行")


class EditorError(Exception):
    """Something the editor must fix; ``problems`` name the field when one is concerned."""

    def __init__(self, status: int, code: str, message: str,
                 problems: Optional[list[dict[str, Any]]] = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.problems = problems or []


def _invalid(problems: list[dict[str, Any]]) -> EditorError:
    first = problems[0]["message"] if problems else ""
    more = f"（另有 {len(problems) - 1} 处）" if len(problems) > 1 else ""
    return EditorError(422, "invalid_entry", f"未保存：{first}{more}", problems)


@dataclass
class Stored:
    """One entry as it is in its file: its data, and the lines it takes."""
    data: dict[str, Any]
    path: Path
    start: int   # 0-based first line ("  - id: ...")
    end: int     # 0-based, exclusive; trailing blank lines and comments belong to the next one
    retired: bool

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def version(self) -> str:
        return version_of(self.data)

    def public(self, full: bool = False) -> dict[str, Any]:
        summary = {"id": self.id, "title": _text(self.data.get("title")),
                   "skill_group": _text(self.data.get("skill_group")),
                   "tags": [_text(t) for t in self.data.get("tags") or []],
                   "file": self.path.stem, "retired": self.retired, "version": self.version,
                   "updated_at": _text(self.data.get("updated_at")),
                   "question_count": len(self.data.get("questions") or [])}
        return {**summary, "entry": plain(self.data)} if full else summary


def version_of(data: dict[str, Any]) -> str:
    canonical = json.dumps(plain(data), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def plain(data: dict[str, Any]) -> dict[str, Any]:
    """The entry with dates as text, the way the page shows and sends them."""
    return {key: _plain_value(value) for key, value in data.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return _when_text(value)
    if isinstance(value, list):
        return [_plain_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain_value(item) for key, item in value.items()}
    return value if value is None or isinstance(value, str) else str(value)


def _when_text(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M" + (":%S" if value.second else ""))
    return value.isoformat()


def _text(value: Any) -> str:
    return "" if value is None else str(_plain_value(value))


# ---------------------------------------------------------------------------------------------
# Reading the files

def read_file(path: Path, retired: bool = False) -> tuple[list[str], list[Stored]]:
    """The file's lines and its entries; EditorError when the file itself is broken."""
    problems: list[Problem] = []
    node = read_document(path, problems)
    if node is None:
        raise EditorError(409, "broken_file",
                          f"文件 {path.name} 有格式问题，请先修好（make kb-check）：{problems[0]}")
    text = path.read_text(encoding="utf-8-sig")
    data = yaml.safe_load(text) or {}
    items = _items(node)
    values = data.get("entries") if isinstance(data, dict) else None
    if items is None or not isinstance(values, list) or len(values) != len(items):
        raise EditorError(409, "broken_file", f"文件 {path.name} 缺少「entries:」列表，请先修好")
    lines = text.splitlines()
    starts = [item.start_mark.line for item in items] + [len(lines)]
    return lines, [Stored(value if isinstance(value, dict) else {}, path, starts[i],
                          _end(lines, starts[i], starts[i + 1]), retired)
                   for i, value in enumerate(values)]


def _items(root: yaml.Node) -> Optional[list[yaml.Node]]:
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == "entries" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return None


def _end(lines: list[str], start: int, next_start: int) -> int:
    end = next_start
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


# ---------------------------------------------------------------------------------------------
# Writing an entry in the house style

def render(data: dict[str, Any]) -> tuple[list[str], list[tuple[str, Optional[int]]]]:
    """The entry's lines, and for each line the field (and question index) it belongs to."""
    lines: list[str] = []
    where: list[tuple[str, Optional[int]]] = []

    def add(text: str, field: str, index: Optional[int] = None) -> None:
        lines.append(text)
        where.append((field, index))

    add(f"  - id: {_scalar(data['id'])}", "id")
    for key in ("title", "skill_group"):
        add(f"    {key}: {_scalar(data[key])}", key)
    add(f"    tags: {_flow(data['tags'])}", "tags")
    add(f"    owner: {_scalar(data['owner'])}", "owner")
    add(f"    updated_at: {data['updated_at']}", "updated_at")
    add("    questions:", "questions")
    for index, question in enumerate(data["questions"]):
        add(f"      - {_scalar(question)}", "questions", index)
    _render_optional(data, add)
    return lines, where


def _render_optional(data: dict[str, Any], add) -> None:  # type: ignore[no-untyped-def]
    for line in _block("answer", data["answer"], 4):
        add(line, "answer")
    variants = data.get("answers_by_channel") or {}
    if variants:
        add("    answers_by_channel:", "answers_by_channel")
        for channel in compiler.CHANNELS:
            if channel in variants:
                for line in _block(channel, variants[channel], 6):
                    add(line, f"answers_by_channel.{channel}")
    for key in ("valid_from", "valid_to"):
        if data.get(key):
            add(f"    {key}: {data[key]}", key)
    if data.get("inactive_answer"):
        for line in _block("inactive_answer", data["inactive_answer"], 4):
            add(line, "inactive_answer")


def _scalar(text: str) -> str:
    """One line of text as YAML: plain when that reads back the same, else quoted by PyYAML
    (so "618", "yes", "- x" or "a: b" stay text)."""
    dumped = yaml.safe_dump(text, allow_unicode=True, width=1 << 20)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _flow(items: list[str]) -> str:
    return yaml.safe_dump(list(items), allow_unicode=True, default_flow_style=True,
                          width=1 << 20).rstrip("\n")


def _block(key: str, text: str, indent: int) -> list[str]:
    pad = " " * (indent + 2)
    return [f"{' ' * indent}{key}: |"] + [pad + line if line else "" for line in text.split("\n")]


# ---------------------------------------------------------------------------------------------
# What an editor sends, cleaned and checked before the file checker sees it

def clean(payload: Any) -> dict[str, Any]:
    """The entry fields from the page, tidied (spaces, line ends); EditorError 422 listing every
    problem with its field."""
    if not isinstance(payload, dict):
        raise _invalid([{"field": None, "index": None, "message": "内容格式不正确"}])
    problems: list[dict[str, Any]] = []
    unknown = [key for key in payload if key not in FIELDS]
    for key in unknown:
        problems.append(_problem(None, f"未知字段 {str(key)[:40]}"))
    data = {"id": _line(payload, "id", problems, 64),
            "title": _line(payload, "title", problems, compiler.MAX_TITLE_CHARS),
            "skill_group": _line(payload, "skill_group", problems, 20),
            "tags": _tags(payload.get("tags"), problems),
            "owner": _line(payload, "owner", problems, 40),
            "questions": _questions(payload.get("questions"), problems),
            "answer": _answer(payload.get("answer"), "answer", problems),
            "answers_by_channel": _variants(payload.get("answers_by_channel"), problems),
            "inactive_answer": _answer(payload.get("inactive_answer"), "inactive_answer", problems,
                                       required=False)}
    for key in ("valid_from", "valid_to"):
        data[key] = _when(payload.get(key), key, problems)
    if problems:
        raise _invalid(problems)
    return data


def _problem(field: Optional[str], message: str, index: Optional[int] = None) -> dict[str, Any]:
    return {"field": field, "index": index, "message": message}


def _tidy(value: Any, field: str, problems: list[dict[str, Any]], index: Optional[int] = None,
          multiline: bool = False) -> Optional[str]:
    """Text without tabs, carriage returns or trailing spaces; None (and a problem) if it is
    not text or holds what cannot be shown or saved."""
    if not isinstance(value, str):
        problems.append(_problem(field, f"{field} 应为文字", index))
        return None
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        problems.append(_problem(field, f"{field} 含有无法保存的字符，请重新输入", index))
        return None
    if CONTROL_RE.search(text) or (not multiline and "\n" in text):
        what = "控制字符" if CONTROL_RE.search(text) else "换行"
        problems.append(_problem(field, f"{field} 含有{what}，请删除（只能是一行文字）"
                                 if what == "换行" else f"{field} 含有不可见的{what}，请删除", index))
        return None
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def _line(payload: dict, field: str, problems: list[dict[str, Any]], limit: int) -> str:
    text = _tidy(payload.get(field, ""), field, problems)
    if text is None:
        return ""
    if not text:
        problems.append(_problem(field, f"{field} 不能为空"))
    elif len(text) > limit:
        problems.append(_problem(field, f"{field} 过长（{len(text)} 字，最多 {limit} 字）"))
    return text


def _tags(value: Any, problems: list[dict[str, Any]]) -> list[str]:
    if not isinstance(value, list) or not value:
        problems.append(_problem("tags", "tags 至少需要 1 个标签"))
        return []
    if len(value) > MAX_TAGS:
        problems.append(_problem("tags", f"标签太多（{len(value)} 个，最多 {MAX_TAGS} 个）"))
        return []
    tags = [_tidy(tag, "tags", problems, i) or "" for i, tag in enumerate(value)]
    for index, tag in enumerate(tags):
        if not tag or len(tag) > MAX_TAG_CHARS:
            problems.append(_problem("tags", f"每个标签 1–{MAX_TAG_CHARS} 字", index))
    return tags


def _questions(value: Any, problems: list[dict[str, Any]]) -> list[str]:
    if not isinstance(value, list):
        problems.append(_problem("questions", "questions 应为问法列表（每行一个）"))
        return []
    if len(value) > MAX_QUESTIONS:
        problems.append(_problem("questions", f"问法太多（{len(value)} 个，最多 {MAX_QUESTIONS} 个）："
                                 "请只保留客户真正会说的不同说法"))
        return []
    questions = []
    for index, item in enumerate(value):
        text = _tidy(item, "questions", problems, index)
        if text:  # empty lines of the text box are not questions
            questions.append(text)
    return questions


def _answer(value: Any, field: str, problems: list[dict[str, Any]], required: bool = True) -> str:
    if value in (None, "") and not required:
        return ""
    if isinstance(value, str) and len(value) > compiler.MAX_ANSWER_CHARS * 2:
        # Refused before any work: a 1 MB paste gets one clear sentence, quickly.
        problems.append(_problem(field, f"{field} 过长（{len(value)} 字，最多 "
                                 f"{compiler.MAX_ANSWER_CHARS} 字）"))
        return ""
    text = _tidy(value, field, problems, multiline=True)
    if text == "" and required:
        problems.append(_problem(field, f"{field} 不能为空"))
    return text or ""


def _variants(value: Any, problems: list[dict[str, Any]]) -> dict[str, str]:
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        problems.append(_problem("answers_by_channel", "answers_by_channel 格式不正确"))
        return {}
    found = {}
    for channel, text in value.items():
        if channel not in compiler.CHANNELS:
            problems.append(_problem("answers_by_channel", f"未知渠道 {str(channel)[:20]}"))
        elif text not in (None, ""):
            found[channel] = _answer(text, f"answers_by_channel.{channel}", problems)
    return {channel: found[channel] for channel in compiler.CHANNELS if found.get(channel)}


def _when(value: Any, field: str, problems: list[dict[str, Any]]) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not WHEN_RE.match(value.strip()):
        problems.append(_problem(field, f"{field} 应为日期，如 2026-11-11 或 2026-11-11 20:00"))
        return ""
    # "20:00:00" reads back from YAML as "20:00": write it the way it will read back.
    return value.strip().removesuffix(":00") if value.count(":") == 2 else value.strip()


# ---------------------------------------------------------------------------------------------
# The knowledge base as the editor sees it

class KnowledgeBase:
    def __init__(self, entries_dir: Path = compiler.ENTRIES_DIR, retired_dir: Path = RETIRED_DIR,
                 audit: Optional[AuditLog] = None, policy_path: Path = POLICY_PATH) -> None:
        self.entries_dir, self.retired_dir, self.policy_path = entries_dir, retired_dir, policy_path
        self.audit = audit or AuditLog()
        self._thread_lock = threading.Lock()
        # Beside the entries, not in /tmp: replicas on other hosts that share the entries'
        # volume must queue on the same file.
        self._lock_path = entries_dir.parent / compiler.LOCK_NAME

    # --- reading -------------------------------------------------------------------------------

    def stored(self, retired: bool = False) -> list[Stored]:
        folder = self.retired_dir if retired else self.entries_dir
        found: list[Stored] = []
        for path in sorted(folder.glob("*.yml")):
            found.extend(read_file(path, retired)[1])
        return found

    def all_entries(self) -> list[Stored]:
        active = self.stored()
        ids = {entry.id for entry in active}
        # A retire interrupted between its two writes leaves a copy in both: the active one rules.
        return active + [entry for entry in self.stored(True) if entry.id not in ids]

    def find(self, entry_id: str) -> Stored:
        entry = next((e for e in self.all_entries() if e.id == entry_id), None)
        if entry is None:
            raise EditorError(404, "not_found", f"没有 id 为「{entry_id[:64]}」的 FAQ")
        return entry

    def search(self, query: str = "", retired: Optional[bool] = None) -> list[dict[str, Any]]:
        """Entries whose id, title, tags, questions or answer contain every word of ``query``
        (traditional/simplified, width and case folded, as the bot folds customers' text)."""
        words = [normalize(word) for word in query.split()[:8] if word]
        found = []
        for entry in self.all_entries():
            if retired is not None and entry.retired != retired:
                continue
            haystack = normalize(json.dumps(plain(entry.data), ensure_ascii=False))
            if all(word in haystack for word in words):
                found.append(entry.public())
        return found

    def topics(self) -> list[str]:
        return sorted(path.stem for path in self.entries_dir.glob("*.yml"))

    def active_questions(self) -> dict[str, list[str]]:
        return {entry.id: [str(q) for q in entry.data.get("questions") or []]
                for entry in self.stored()}

    # --- writing -------------------------------------------------------------------------------

    def create(self, payload: Any, topic: Any, who: dict[str, str]) -> dict[str, Any]:
        data = clean(payload)
        if not isinstance(topic, str) or not FILE_RE.match(topic):
            raise _invalid([_problem("file", "主题文件名应为小写英文字母、数字和下划线，如 returns")])
        with self._locked():
            if any(entry.id == data["id"] for entry in self.all_entries()):
                raise _invalid([_problem("id", f"id「{data['id']}」已被使用（可能是已下线的条目，"
                                         "可在「已下线」中恢复），请换一个")])
            data["updated_at"] = _today()
            path = self.entries_dir / f"{topic}.yml"
            self._write_checked(path, _append_lines(path, render(data)[0]), data, render(data)[1],
                                _appended_start(path))
            self.audit.record(who, "create", data["id"], path.name, _changes({}, data))
        return self.find(data["id"]).public(full=True)

    def update(self, entry_id: str, payload: Any, version: Any, who: dict[str, str]) -> dict[str, Any]:
        data = clean(payload)
        if data["id"] != entry_id:
            raise _invalid([_problem("id", "id 不能修改（模型和统计都按 id 记这条 FAQ）；"
                                     "如需新 id，请新建一条并下线这条")])
        with self._locked():
            current = self._current(entry_id, version, retired=False)
            data["updated_at"] = _today()
            lines, where = render(data)
            text = _replace_lines(current, lines)
            self._write_checked(current.path, text, data, where, current.start)
            self.audit.record(who, "edit", entry_id, current.path.name,
                              _changes(plain(current.data), data))
        return self.find(entry_id).public(full=True)

    def retire(self, entry_id: str, version: Any, who: dict[str, str]) -> dict[str, Any]:
        if entry_id in REQUIRED_IDS:
            raise EditorError(409, "required_entry", f"「{entry_id}」是系统必需的 FAQ（其他功能依赖它），"
                              "不能下线；可以修改它的问法和答案")
        with self._locked():
            current = self._current(entry_id, version, retired=False)
            self._move(current, self.retired_dir / current.path.name)
            self.audit.record(who, "retire", entry_id, current.path.name, {})
        return self.find(entry_id).public(full=True)

    def restore(self, entry_id: str, version: Any, who: dict[str, str]) -> dict[str, Any]:
        with self._locked():
            current = self._current(entry_id, version, retired=True)
            data = clean({key: value for key, value in plain(current.data).items()
                          if key != "updated_at"})
            data["updated_at"] = _today()
            path = self.entries_dir / current.path.name
            lines, where = render(data)
            self._write_checked(path, _append_lines(path, lines), data, where, _appended_start(path))
            _atomic_write(current.path, _without(current), remove_if_empty=True)
            self.audit.record(who, "restore", entry_id, path.name, {})
        return self.find(entry_id).public(full=True)

    def _current(self, entry_id: str, version: Any, retired: bool) -> Stored:
        current = self.find(entry_id)
        if current.retired != retired:
            state = "已下线" if current.retired else "在使用中"
            raise EditorError(409, "wrong_state", f"「{entry_id}」{state}，请刷新后再操作")
        if version != current.version:
            last = self.audit.history(entry_id, 1)
            by = f"（{last[0]['who'].get('name', '')} 于 {last[0]['at']} 修改）" if last else ""
            raise EditorError(409, "conflict", f"这条 FAQ 在您打开之后已被修改{by}。您的修改未保存："
                              "请复制您的内容，刷新后在最新版本上重新修改")
        return current

    def _move(self, entry: Stored, target: Path) -> None:
        """Retire: the copy in ``retired/`` is written first, so a crash in between leaves the
        entry in both places (the active one rules), never in neither."""
        lines = _entry_lines(entry)
        _atomic_write(target, _append_lines(target, lines))
        self._write_checked(entry.path, _without(entry), None, [], 0)

    def _write_checked(self, path: Path, text: str, data: Optional[dict[str, Any]],
                       where: list[tuple[str, Optional[int]]], start: int) -> None:
        problems = self._new_problems(path.name, text, where, start)
        if problems:
            raise _invalid(problems)
        if data is not None:
            _read_back(text, data)
        _atomic_write(path, text, remove_if_empty=True)

    def _new_problems(self, name: str, text: str, where: list[tuple[str, Optional[int]]],
                      start: int) -> list[dict[str, Any]]:
        """Errors the change would bring, found by ``make kb-check``'s checker on a scratch copy
        of every file (errors that were there before are not the editor's doing)."""
        with tempfile.TemporaryDirectory(prefix="kb-edit-") as scratch:
            folder = Path(scratch)
            for path in self.entries_dir.glob("*.yml"):
                shutil.copyfile(path, folder / path.name)
            before = _error_keys(compiler.check(folder, policy_path=self.policy_path)[1])
            if text:
                (folder / name).write_text(text, encoding="utf-8")
            else:
                (folder / name).unlink(missing_ok=True)
            after = compiler.check(folder, policy_path=self.policy_path)[1]
        fresh = [p for p in after if not p.warning and _key(p) not in before]
        return [_field_problem(p, name, where, start) for p in fresh]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time: threads of this process, and every process (on any host) that
        works on the same directory."""
        with self._thread_lock, directory_lock(self._lock_path.parent):
            yield


@contextmanager
def directory_lock(kb_dir: Path) -> Iterator[None]:
    """The knowledge base's cross-process lock, ``<kb_dir>/.editor.lock``. flock is kept by the
    file server on NFSv4, CephFS and EFS, so replicas on several hosts queue too."""
    kb_dir.mkdir(parents=True, exist_ok=True)
    with open(kb_dir / compiler.LOCK_NAME, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _today() -> str:
    return datetime.now(SHOP_TZ).date().isoformat()


def _entry_lines(entry: Stored) -> list[str]:
    lines = entry.path.read_text(encoding="utf-8-sig").splitlines()
    return lines[entry.start:entry.end]


def _replace_lines(entry: Stored, new: list[str]) -> str:
    lines = entry.path.read_text(encoding="utf-8-sig").splitlines()
    return "\n".join(lines[:entry.start] + new + lines[entry.end:]) + "\n"


def _without(entry: Stored) -> str:
    lines = entry.path.read_text(encoding="utf-8-sig").splitlines()
    rest = lines[entry.end:]
    if rest and not rest[0].strip():
        rest = rest[1:]  # the blank line that separated it from the next entry
    kept = lines[:entry.start] + rest
    while kept and not kept[-1].strip():
        kept.pop()
    if not any(line.lstrip().startswith("- ") for line in kept):
        return ""  # no entry left: the file goes
    return "\n".join(kept) + "\n"


def _append_lines(path: Path, new: list[str]) -> str:
    if not path.exists():
        return "\n".join(["entries:", *new]) + "\n"
    text = path.read_text(encoding="utf-8-sig").rstrip("\n")
    if not text.strip() or re.search(r"^entries:\s*\[\s*\]\s*$", text, re.M):
        return "\n".join(["entries:", *new]) + "\n"
    return text + "\n\n" + "\n".join(new) + "\n"


def _appended_start(path: Path) -> int:
    """The line the appended entry starts on (for naming the field of a problem)."""
    if not path.exists():
        return 1
    text = _append_lines(path, ["@@"])
    return text.splitlines().index("@@")


def _atomic_write(path: Path, text: str, remove_if_empty: bool = False) -> None:
    if remove_if_empty and not text:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so os.replace is a rename: readers see the old file or the new, never half.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_back(text: str, data: dict[str, Any]) -> None:
    """The written text must say exactly what the editor typed; a difference is our bug, and then
    nothing is written."""
    entries = (yaml.safe_load(text) or {}).get("entries") or []
    found = next((_stripped(plain(e)) for e in entries
                  if isinstance(e, dict) and e.get("id") == data["id"]), None)
    wanted = {key: value for key, value in data.items() if value not in ("", {}, None)}
    if found != wanted:
        raise EditorError(500, "self_check_failed",
                          "保存前自检发现写出的内容与输入不一致，未保存；请联系技术同事")


def _stripped(value: Any) -> Any:
    """A ``|`` block keeps one final line break; the checker strips it, and so do we."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_stripped(item) for item in value]
    if isinstance(value, dict):
        return {key: _stripped(item) for key, item in value.items()}
    return value


def _error_keys(problems: list[Problem]) -> set[tuple[str, str, str]]:
    return {_key(p) for p in problems if not p.warning}


def _key(problem: Problem) -> tuple[str, str, str]:
    # Line numbers move when an entry grows; the same error on another line is not a new one.
    return problem.file, problem.entry_id, LINE_NUMBER_RE.sub("第 N 行", problem.message)


def _field_problem(problem: Problem, name: str, where: list[tuple[str, Optional[int]]],
                   start: int) -> dict[str, Any]:
    if problem.file == name and problem.line and 0 <= problem.line - 1 - start < len(where):
        field, index = where[problem.line - 1 - start]
        return _problem(field.split(".")[0], problem.message, index)
    other = f"[{problem.entry_id}] " if problem.entry_id else ""
    return _problem("questions" if "问法" in problem.message else None,
                    f"{problem.file} {other}{problem.message}")


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Field by field, what a save changed (the audit's "what")."""
    changes = {}
    for key in FIELDS:
        if key == "updated_at":
            continue
        old, new = before.get(key) or None, after.get(key) or None
        if old != new:
            changes[key] = {"before": old, "after": new}
    return changes
