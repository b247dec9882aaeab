"""Load, check and compile the FAQ knowledge base into Rasa training data.

Each entry becomes a sub-intent ``faq/<id>`` of the retrieval intent with its questions as
examples, and a response ``utter_faq/<id>`` with its answer (policy placeholders filled). The
running bot does not answer from that compiled response: ``actions/faq.py`` reads the entries
themselves (``current_entries``), so an edited answer is live at once and only edited questions
need a retrain. The compiled response is the fallback when the files cannot be read.

Plain Python + PyYAML: it runs in both environments (training in ``.venv-rasa``, checks and the
editor side in ``.venv``). The schema is described in ``knowledge_base/README.md``.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from actions.policy import POLICY_PATH, SHOP_TZ
from bot.normalization import normalize
from knowledge_base import placeholders
from knowledge_base.reader import Problem, line_of, mapping_items, read_document

ROOT = Path(__file__).resolve().parent.parent
# The entries as they ship with the code (and as git has them).
BUNDLED_DIR = ROOT / "knowledge_base"
# Where the live entries, retired entries and audit log are. The one place the variable is
# read: a deployment points every service replica and action server at one shared volume, so
# an editor's save reaches them all and outlives the container (deploy/README.md). The package
# directory itself must not be mounted over, hence a separate path.
KB_DIR = Path(os.environ.get("KNOWLEDGE_BASE_DIR") or BUNDLED_DIR).expanduser().resolve()
ENTRIES_DIR = KB_DIR / "entries"
RETIRED_DIR = KB_DIR / "retired"
AUDIT_PATH = KB_DIR / "audit.jsonl"
# The editor's write lock lives beside the data, so every process sharing the data shares it.
LOCK_NAME = ".editor.lock"
COMPILED_PATH = ROOT / "nlu_data" / "generated" / "faq.yml"

ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
SKILL_GROUPS = ("logistics", "returns", "quality", "general")
CHANNELS = ("app", "wechat", "telegram")
MIN_QUESTIONS = 5
MAX_QUESTION_CHARS = 80
MAX_TITLE_CHARS = 40
# No FAQ answer needs more; a longer one is a paste accident (or a 1 MB attack) and is refused
# before the per-channel checks so the editor gets one message, not three.
MAX_ANSWER_CHARS = 2000
# What fits one message of each channel. WeChat cuts text replies at 2048 bytes (the channel
# splits at 2047, and every extra part spends one of the 5 replies WeChat allows per message);
# Telegram's sendMessage takes 4096 characters; the app has no hard limit, so readability decides.
CHANNEL_LIMITS: dict[str, tuple[int, str]] = {
    "app": (1000, "字"), "wechat": (2047, "字节"), "telegram": (4096, "字")}
REQUIRED = ("id", "title", "questions", "answer", "tags", "skill_group", "owner", "updated_at")
OPTIONAL = ("valid_from", "valid_to", "answers_by_channel", "inactive_answer")
# Rasa reads "[text](entity)" inside examples as an entity annotation.
ANNOTATION_CHARS = re.compile(r"[\[\]]")
# What does not tell two questions apart: punctuation, spaces, symbols.
_NOT_WORDS = re.compile(r"[\W_]+")

When = Union[date, datetime]
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeBaseError(ValueError):
    """Problems an editor must fix; each line names the file and the line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True, eq=False)
class Entry:
    id: str
    title: str
    questions: tuple[str, ...]
    answer: str                          # as written: may hold policy placeholders
    skill_group: str
    source: Path
    tags: tuple[str, ...] = ()
    owner: str = ""
    updated_at: Optional[date] = None
    valid_from: Optional[When] = None
    valid_to: Optional[When] = None      # a date means "through the end of that day"
    answers_by_channel: dict[str, str] = field(default_factory=dict)
    inactive_answer: str = ""
    line: int = 0                        # where the entry starts in its file
    question_lines: tuple[int, ...] = ()


# ---------------------------------------------------------------------------------------------
# Loading and checking

def check(entries_dir: Path = ENTRIES_DIR, now: Optional[datetime] = None,
          policy_path: Path = POLICY_PATH) -> tuple[list[Entry], list[Problem]]:
    """All entries that parsed, and every problem found (errors and warnings)."""
    problems: list[Problem] = []
    try:
        values = placeholders.load_values(policy_path)
    except placeholders.PolicyValuesError as error:
        return [], [Problem(policy_path.name, None, str(error))]
    entries: list[Entry] = []
    for path in sorted(entries_dir.glob("*.yml")):
        entries.extend(_load_file(path, values, problems))
    problems += _duplicate_ids(entries) + _question_problems(entries)
    problems += _expiry_warnings(entries, now or datetime.now(SHOP_TZ))
    return entries, sorted(problems, key=lambda problem: (problem.file, problem.line or 0))


def load_entries(entries_dir: Path = ENTRIES_DIR, policy_path: Path = POLICY_PATH) -> list[Entry]:
    """All entries, checked; raises KnowledgeBaseError listing every error found."""
    entries, problems = check(entries_dir, policy_path=policy_path)
    errors = [problem for problem in problems if not problem.warning]
    if errors:
        raise KnowledgeBaseError(errors)
    return entries


def _load_file(path: Path, values: dict, problems: list[Problem]) -> Iterable[Entry]:
    root = read_document(path, problems)
    if root is None:
        return []
    raw_entries = _entries_node(root, path.name, problems)
    if raw_entries is None:
        return []
    parsed = (_parse_entry(node, path, values, problems) for node in raw_entries.value)
    return [entry for entry in parsed if entry is not None]


def _entries_node(root: yaml.Node, name: str, problems: list[Problem]) -> Optional[yaml.SequenceNode]:
    items = mapping_items(root, name, "", problems) if isinstance(root, yaml.MappingNode) else {}
    node = items.get("entries", (None, None))[1]
    if not isinstance(node, yaml.SequenceNode):
        line = line_of(node) if node is not None else line_of(root)
        problems.append(Problem(name, line, "顶层需要 'entries:' 列表，每条 FAQ 以「- id: …」开头"))
        return None
    return node


def _parse_entry(node: yaml.Node, path: Path, values: dict,
                 problems: list[Problem]) -> Optional[Entry]:
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(path.name, line_of(node),
                                "每条 FAQ 应是「字段: 内容」的键值对，以「- id: …」开头"))
        return None
    fields = _Fields(path.name, mapping_items(node, path.name, "", problems), node, problems)
    before = len(problems)
    entry = fields.entry(path, values)
    return entry if len(problems) == before else None


class _Fields:
    """One entry's fields, read with the checks and line numbers editors need."""

    def __init__(self, name: str, items: dict[str, tuple[yaml.Node, yaml.Node]],
                 node: yaml.Node, problems: list[Problem]):
        self.name, self.items, self.node, self.problems = name, items, node, problems
        self.entry_id = ""

    def problem(self, line: Optional[int], message: str) -> None:
        self.problems.append(Problem(self.name, line, message, self.entry_id))

    def entry(self, path: Path, values: dict) -> Optional[Entry]:
        self.entry_id = self.identifier()
        self.known_keys()
        if not self.entry_id or not self.required_present():
            return None
        questions, lines = self.questions()
        answer, variants = self.answer("answer", values), self.variants(values)
        self.check_lengths(answer, variants, values)
        return Entry(
            id=self.entry_id, title=self.text("title", MAX_TITLE_CHARS), questions=questions,
            answer=answer, skill_group=self.skill_group(), source=path,
            tags=tuple(self.text_list("tags", 1)[0]), owner=self.text("owner", 40),
            updated_at=self.when("updated_at", date_only=True),
            valid_from=self.when("valid_from"), valid_to=self.window_end(),
            answers_by_channel=variants, inactive_answer=self.answer("inactive_answer", values),
            line=line_of(self.node), question_lines=lines)

    def identifier(self) -> str:
        value = self.scalar("id")
        if value is not None and not ID_RE.match(value):
            self.problem(line_of(self.items["id"][1]),
                         f"id '{value}' 须为小写字母开头的 snake_case（如 return_policy）")
            return ""
        return value or ""

    def known_keys(self) -> None:
        for key, (key_node, _) in self.items.items():
            if key not in REQUIRED + OPTIONAL:
                known = ", ".join(REQUIRED + OPTIONAL)
                self.problem(line_of(key_node), f"未知字段 {key}（可用字段：{known}）")

    def required_present(self) -> bool:
        missing = [key for key in REQUIRED if key not in self.items or _is_null(self.items[key][1])]
        if missing:
            self.problem(line_of(self.node), f"缺少字段 {', '.join(missing)}")
        return not missing

    def scalar(self, key: str) -> Optional[str]:
        """The text of a field as written (``618`` stays "618"), or None if absent or not text."""
        if key not in self.items or _is_null(self.items[key][1]):
            return None
        node = self.items[key][1]
        if not isinstance(node, yaml.ScalarNode):
            kind = "列表" if isinstance(node, yaml.SequenceNode) else "键值对"
            self.problem(line_of(node), f"{key} 应为一段文字，不是{kind}")
            return None
        return node.value.strip()

    def text(self, key: str, limit: int) -> str:
        value = self.scalar(key) or ""
        if key in self.items and not value and isinstance(self.items[key][1], yaml.ScalarNode):
            self.problem(line_of(self.items[key][1]), f"{key} 不能为空")
        elif len(value) > limit:
            self.problem(line_of(self.items[key][1]), f"{key} 过长（{len(value)} 字，最多 {limit} 字）")
        return value

    def text_list(self, key: str, minimum: int) -> tuple[list[str], tuple[int, ...]]:
        node = self.items[key][1]
        if not isinstance(node, yaml.SequenceNode):
            self.problem(line_of(node), f"{key} 应为列表（每项一行，以「- 」开头）")
            return [], ()
        texts, lines = [], []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or _is_null(item) or not item.value.strip():
                self.problem(line_of(item), f"{key} 的每一项都应是一段不为空的文字")
                continue
            texts.append(item.value.strip())
            lines.append(line_of(item))
        if len(node.value) < minimum:
            self.problem(line_of(node), f"{key} 至少需要 {minimum} 项，现在只有 {len(node.value)} 项")
        return texts, tuple(lines)

    def questions(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        texts, lines = self.text_list("questions", MIN_QUESTIONS)
        for text, line in zip(texts, lines, strict=True):
            if ANNOTATION_CHARS.search(text):
                self.problem(line, f"问法不能含方括号 [ ]：「{text}」")
            elif len(text) > MAX_QUESTION_CHARS:
                self.problem(line, f"问法过长（{len(text)} 字，最多 {MAX_QUESTION_CHARS} 字）")
        return tuple(texts), lines

    def skill_group(self) -> str:
        value = self.scalar("skill_group") or ""
        if value not in SKILL_GROUPS:
            self.problem(line_of(self.items["skill_group"][1]),
                         f"skill_group '{value}' 须为 {'/'.join(SKILL_GROUPS)} 之一")
        return value

    def answer(self, key: str, values: dict) -> str:
        """An answer text, checked for size and placeholders."""
        if key not in self.items:
            return ""
        text = self.text(key, MAX_ANSWER_CHARS)
        if text and len(text) <= MAX_ANSWER_CHARS:
            self.placeholder_problems(self.items[key][1], text, values)
        return text

    def placeholder_problems(self, node: yaml.Node, text: str, values: dict) -> None:
        first = _content_line(node)
        for offset, message in placeholders.problems_in(text, values):
            self.problem(first + offset, message)

    def variants(self, values: dict) -> dict[str, str]:
        if "answers_by_channel" not in self.items:
            return {}
        return self.variant_map(values)

    def variant_map(self, values: dict) -> dict[str, str]:
        node = self.items["answers_by_channel"][1]
        if not isinstance(node, yaml.MappingNode):
            self.problem(line_of(node), f"answers_by_channel 应为「渠道: 答案」，渠道为 {'/'.join(CHANNELS)}")
            return {}
        found = {}
        for channel, (key_node, value_node) in mapping_items(node, self.name, self.entry_id,
                                                             self.problems).items():
            if channel not in CHANNELS:
                self.problem(line_of(key_node), f"未知渠道 {channel}（可用：{'/'.join(CHANNELS)}）")
                continue
            text = _variant_text(self, value_node, f"answers_by_channel.{channel}")
            if text and len(text) <= MAX_ANSWER_CHARS:
                self.placeholder_problems(value_node, text, values)
                found[channel] = text
        return found

    def check_lengths(self, answer: str, variants: dict[str, str], values: dict) -> None:
        """What each channel will actually send (variant or answer, numbers filled) must fit."""
        for channel, (limit, unit) in CHANNEL_LIMITS.items():
            key = f"answers_by_channel.{channel}" if channel in variants else "answer"
            text = variants.get(channel, answer)
            if not text or len(text) > MAX_ANSWER_CHARS or placeholders.problems_in(text, values):
                continue  # already reported; a length on top would only add noise
            size = _size(placeholders.fill(text, values), unit)
            if size > limit:
                hint = "" if channel in variants else f"，请在 answers_by_channel.{channel} 写一个短版本"
                self.problem(self.line(key),
                             f"{key} 对 {channel} 渠道太长（{size} {unit}，上限 {limit} {unit}）{hint}")

    def line(self, key: str) -> int:
        """The line of a field, or of a channel's variant (``answers_by_channel.wechat``)."""
        section, _, channel = key.partition(".")
        node = self.items[section][1]
        if channel and isinstance(node, yaml.MappingNode):
            node = next(value for name, value in node.value if name.value == channel)
        return line_of(node)

    def when(self, key: str, date_only: bool = False) -> Optional[When]:
        if key not in self.items or _is_null(self.items[key][1]):
            return None
        node = self.items[key][1]
        value = _parse_when(node)
        if value is None or (date_only and isinstance(value, datetime)):
            example = "2026-11-20" if date_only else "2026-11-11 或 2026-11-11 20:00:00"
            self.problem(line_of(node), f"{key} 应为日期，如 {example}")
            return None
        return value

    def window_end(self) -> Optional[When]:
        end, start = self.when("valid_to"), self.when_quiet("valid_from")
        if end is not None and start is not None and starts_at(start) >= ends_at(end):
            self.problem(line_of(self.items["valid_to"][1]), "valid_to 早于 valid_from")
        return end

    def when_quiet(self, key: str) -> Optional[When]:
        node = self.items.get(key, (None, None))[1]
        return _parse_when(node) if node is not None else None


def _variant_text(fields: _Fields, node: yaml.Node, key: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or _is_null(node) or not node.value.strip():
        fields.problem(line_of(node), f"{key} 应为一段不为空的文字")
        return ""
    text = node.value.strip()
    if len(text) > MAX_ANSWER_CHARS:
        fields.problem(line_of(node), f"{key} 过长（{len(text)} 字，最多 {MAX_ANSWER_CHARS} 字）")
    return text


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _content_line(node: yaml.Node) -> int:
    """The line the text starts on: a block scalar (| or >) starts below its indicator."""
    return line_of(node) + (1 if getattr(node, "style", None) in ("|", ">") else 0)


def _size(text: str, unit: str) -> int:
    return len(text.encode("utf-8")) if unit == "字节" else len(text)


def _parse_when(node: yaml.Node) -> Optional[When]:
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == "tag:yaml.org,2002:timestamp":
        return yaml.constructor.SafeConstructor().construct_yaml_timestamp(node)
    try:  # quoted, or a time without seconds ("2026-11-11 20:00"), which YAML leaves as text
        value = datetime.fromisoformat(node.value.strip())
    except ValueError:
        return None
    return value.date() if len(node.value.strip()) == 10 else value


def starts_at(value: When) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHOP_TZ)
    return datetime.combine(value, time.min, SHOP_TZ)


def ends_at(value: When) -> datetime:
    """The first moment after the window (a date includes its whole day, shop time)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHOP_TZ)
    return datetime.combine(value + timedelta(days=1), time.min, SHOP_TZ)


def question_key(question: str) -> str:
    """What makes two questions the same for the model: traditional/simplified, width, case,
    typos and punctuation do not count (``bot.normalization`` is what the NLU sees too)."""
    return _NOT_WORDS.sub("", normalize(question))


def _duplicate_ids(entries: list[Entry]) -> list[Problem]:
    seen: dict[str, Entry] = {}
    problems = []
    for entry in entries:
        first = seen.setdefault(entry.id, entry)
        if first is not entry:
            problems.append(Problem(entry.source.name, entry.line,
                                    f"id '{entry.id}' 重复（{first.source.name} 第 {first.line} 行已有）",
                                    entry.id))
    return problems


def _question_problems(entries: list[Entry]) -> list[Problem]:
    """Two identical questions teach the model nothing; the same question under two entries
    teaches it to guess. Both are errors."""
    seen: dict[str, tuple[Entry, int, str]] = {}
    problems = []
    for entry in entries:
        for question, line in zip(entry.questions, entry.question_lines, strict=True):
            key = question_key(question)
            if not key:
                problems.append(Problem(entry.source.name, line,
                                        f"问法「{question}」去掉标点和表情后为空", entry.id))
            elif key in seen:
                problems.append(_collision(entry, line, question, *seen[key]))
            else:
                seen[key] = (entry, line, question)
    return problems


def _collision(entry: Entry, line: int, question: str, other: Entry, other_line: int,
               other_question: str) -> Problem:
    if other is entry:
        message = f"问法「{question}」与第 {other_line} 行「{other_question}」重复"
    else:
        message = (f"问法「{question}」与 {other.source.name} 第 {other_line} 行 [{other.id}] 的"
                   f"「{other_question}」相同（不计繁简、全半角、大小写和标点），"
                   "同一句话只能属于一条 FAQ")
    return Problem(entry.source.name, line, message, entry.id)


def _expiry_warnings(entries: list[Entry], now: datetime) -> list[Problem]:
    return [Problem(entry.source.name, entry.line,
                    f"已于 {when_text(entry.valid_to)} 过期：机器人只会回答「活动已结束」，"
                    "请更新 valid_to 或删除这条", entry.id, warning=True)
            for entry in entries if entry.valid_to is not None and now >= ends_at(entry.valid_to)]


def when_text(value: When) -> str:
    text = f"{value.year}年{value.month}月{value.day}日"
    return text + (f" {value:%H:%M}" if isinstance(value, datetime) else "")


# ---------------------------------------------------------------------------------------------
# Serving (the action server and, later, the editor's preview)

_cache: dict[str, tuple[tuple, list[Entry]]] = {}


def current_entries(entries_dir: Path = ENTRIES_DIR, policy_path: Path = POLICY_PATH) -> list[Entry]:
    """``load_entries``, re-read only when a file (or the policy) was added, removed or changed.

    For callers on the message path (the action server), so an answer does not parse every
    YAML file each time, while an editor's change is still seen at the next message."""
    stamp = _stamp([*sorted(entries_dir.glob("*.yml")), policy_path])
    key = f"{entries_dir}|{policy_path}"
    cached = _cache.get(key)
    if cached is None or cached[0] != stamp:
        cached = (stamp, load_entries(entries_dir, policy_path))
        _cache[key] = cached
    return cached[1]


def _stamp(paths: list[Path]) -> tuple:
    stats = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed between glob and stat: part of the stamp too
            stats.append((path.name, None, None))
            continue
        stats.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(stats)


def is_active(entry: Entry, now: datetime) -> bool:
    if entry.valid_from is not None and now < starts_at(entry.valid_from):
        return False
    return entry.valid_to is None or now < ends_at(entry.valid_to)


def inactive_text(entry: Entry, now: datetime) -> str:
    """What a time-bounded entry says outside its window, unless it has ``inactive_answer``."""
    if entry.inactive_answer:
        return entry.inactive_answer
    if entry.valid_from is not None and now < starts_at(entry.valid_from):
        return (f"「{entry.title}」将于 {when_text(entry.valid_from)} 开始，该活动尚未开始，"
                "届时再来问我就好。活动详情请留意活动页公告。")
    return (f"「{entry.title}」已于 {when_text(entry.valid_to)} 结束，该活动已结束，"  # type: ignore[arg-type]
            "相关规则不再适用。现在的优惠和规则请以商品页和活动页为准。")


def answer_text(entry: Entry, channel: str, now: datetime, values: dict) -> str:
    """The text a customer on ``channel`` gets at ``now``: window, channel variant, policy numbers."""
    if not is_active(entry, now):
        text = inactive_text(entry, now)
    else:
        text = entry.answers_by_channel.get(channel) or entry.answer
    return placeholders.fill(text, values)


# ---------------------------------------------------------------------------------------------
# Compiling

@dataclass
class CompileReport:
    count: int
    warnings: list[Problem]
    questions_changed: list[str]   # entries added, removed, or with other questions
    answers_changed: list[str]     # entries whose compiled answer changed


def to_rasa_data(entries: list[Entry], values: dict) -> dict[str, Any]:
    """The Rasa 3 training-data document for the ``faq`` retrieval intent."""
    return {
        "version": "3.1",
        "nlu": [
            {"intent": f"faq/{entry.id}",
             "examples": "".join(f"- {question}\n" for question in entry.questions)}
            for entry in entries
        ],
        "responses": {f"utter_faq/{entry.id}": [{"text": _compiled_answer(entry, values)}]
                      for entry in entries},
    }


def _compiled_answer(entry: Entry, values: dict) -> str:
    """The fallback answer: it cannot know the time it is served at, so it names the window."""
    text = placeholders.fill(entry.answer, values)
    if entry.valid_from is None and entry.valid_to is None:
        return text
    since = when_text(entry.valid_from) if entry.valid_from else "即日"
    until = when_text(entry.valid_to) if entry.valid_to else "另行通知"
    return f"{text}\n（以上规则适用时间：{since} 至 {until}）"


def build(path: Path = COMPILED_PATH, entries_dir: Path = ENTRIES_DIR,
          policy_path: Path = POLICY_PATH, now: Optional[datetime] = None) -> CompileReport:
    """Check everything, then replace the compiled file in one step (never half-written)."""
    entries, problems = check(entries_dir, now, policy_path)
    errors = [problem for problem in problems if not problem.warning]
    if errors:
        raise KnowledgeBaseError(errors)
    data = to_rasa_data(entries, placeholders.load_values(policy_path))
    previous = _read_compiled(path)
    header = "# Generated from knowledge_base/entries by `make kb-check`; do not edit.\n"
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    _atomic_write(path, header + body)
    questions, answers = _changes(previous, data)
    return CompileReport(len(entries), [p for p in problems if p.warning], questions, answers)


def compile_to(path: Path = COMPILED_PATH, entries_dir: Path = ENTRIES_DIR) -> int:
    """Write the compiled training data; returns the number of entries."""
    return build(path, entries_dir).count


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory, so os.replace is a rename; ".tmp" so Rasa never reads it as data.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_compiled(path: Path) -> Optional[dict]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_FAST_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _changes(previous: Optional[dict], data: dict) -> tuple[list[str], list[str]]:
    def by_id(document: Optional[dict], section: str, prefix: str) -> dict[str, Any]:
        if not document:
            return {}
        items = document.get(section) or ({} if section == "responses" else [])
        if section == "nlu":
            return {item.get("intent", "")[len(prefix):]: item.get("examples") for item in items}
        return {key[len(prefix):]: value for key, value in items.items()}
    old_q, new_q = by_id(previous, "nlu", "faq/"), by_id(data, "nlu", "faq/")
    old_a, new_a = by_id(previous, "responses", "utter_faq/"), by_id(data, "responses", "utter_faq/")
    questions = sorted(key for key in old_q.keys() | new_q.keys() if old_q.get(key) != new_q.get(key))
    answers = sorted(key for key in new_a if key in old_a and old_a[key] != new_a[key])
    return questions, answers


def training_view(path: Path = COMPILED_PATH) -> bytes:
    """The part of the compiled file that shapes the model: the questions, not the answers.

    ``bot.training`` fingerprints this instead of the file, so an answer-only edit (served live
    by ``actions/faq.py``) does not cost a retrain, while any change of questions or ids does."""
    data = _read_compiled(path)
    if data is None or not isinstance(data.get("nlu"), list):
        return path.read_bytes() if path.exists() else b""
    return json.dumps(data["nlu"], ensure_ascii=False, sort_keys=True).encode("utf-8")
