"""Read one FAQ file into YAML nodes, refusing what an editor's tool can get wrong.

Editors are not programmers: a pasted tab, a file saved as GBK, a binary file dropped into the
folder or an unclosed quote must each give one Chinese sentence naming the file and the line,
never a Python traceback. We compose nodes (``yaml.compose``) instead of loading values so every
value keeps its line for later messages. Plain Python + PyYAML: runs in both environments.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

# Far above any real topic file; a bigger one is a mistake (a dump, a video), not an FAQ.
MAX_FILE_BYTES = 4 * 1024 * 1024
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: a 1 MB file stays fast

# PyYAML's English problems, and what an editor should do about them.
_HINTS = (
    ("mapping values are not allowed", "冒号后面的内容里又有冒号，请给整句加上引号"),
    ("could not find expected ':'", "缺少冒号，或上一行的引号没有闭合"),
    ("found unexpected end of stream", "引号或括号没有闭合"),
    ("did not find expected key", "缩进不一致，请检查这一行和上一行的空格数"),
    ("did not find expected '-' indicator", "列表缩进不一致，请检查每个「-」前的空格数"),
    ("found character that cannot start any token",
     "这一行以不能开头的字符开始（如 @、` 或 Tab），请给内容加引号"),
    ("found duplicate anchor", "重复的锚点 (&)"),
    ("found undefined alias", "引用了未定义的锚点 (*)"),
    ("expected a single document", "一个文件里只能有一份内容（不要用 ---分隔多份）"),
)


@dataclass(frozen=True)
class Problem:
    """Something an editor must fix, and where."""
    file: str
    line: Optional[int]   # 1-based; None when the whole file is concerned
    message: str
    entry_id: str = ""
    warning: bool = False  # reported, but does not stop compiling (e.g. an expired entry)

    def __str__(self) -> str:
        where = self.file + (f" 第 {self.line} 行" if self.line else "")
        where += f" [{self.entry_id}]" if self.entry_id else ""
        return f"{where}: {self.message}"


def read_document(path: Path, problems: list[Problem]) -> Optional[yaml.Node]:
    """The file's root node, or None after adding the reason to ``problems``."""
    text = _read_text(path, problems)
    if text is None or _has_tab_indentation(path.name, text, problems):
        return None
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        problems.append(_yaml_problem(path.name, error))
    except yaml.YAMLError as error:  # unmarked: rare, but must not escape as a traceback
        problems.append(Problem(path.name, None, f"YAML 格式错误（{error}）"))
    return None


def _read_text(path: Path, problems: list[Problem]) -> Optional[str]:
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.append(Problem(path.name, None, f"无法读取文件（{error.strerror}）"))
        return None
    if len(data) > MAX_FILE_BYTES:
        problems.append(Problem(path.name, None,
                                f"文件过大（{len(data) // 1024} KB，上限 {MAX_FILE_BYTES // 1024} KB）"))
        return None
    if b"\0" in data:
        problems.append(Problem(path.name, _line_at(data, data.index(b"\0")),
                                "含有二进制内容，不是文本文件（是否误放了图片或压缩包？）"))
        return None
    try:
        return data.decode("utf-8-sig")  # tolerate the BOM some Windows editors add
    except UnicodeDecodeError as error:
        problems.append(Problem(path.name, _line_at(data, error.start),
                                "不是 UTF-8 编码的文本，请用 UTF-8 保存（不要用 GBK/ANSI）"))
        return None


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _has_tab_indentation(name: str, text: str, problems: list[Problem]) -> bool:
    """YAML forbids tabs in indentation; PyYAML's own message for it is cryptic."""
    found = False
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(Problem(name, number, "用了制表符 (Tab) 缩进，请改用空格"))
            found = True
    return found


def _yaml_problem(name: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or str(error)
    said = f"{error.context or ''} {error.problem or ''}"
    hint = next((chinese for english, chinese in _HINTS if english in said), "格式不正确")
    return Problem(name, mark.line + 1 if mark else None, f"YAML 格式错误：{hint}（{problem}）")


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def mapping_items(node: yaml.MappingNode, name: str, entry_id: str,
                  problems: list[Problem]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Keys to (key node, value node); a key given twice is an error, since YAML would silently
    keep the last one and an editor's first answer would vanish."""
    items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            problems.append(Problem(name, line_of(key_node), "字段名必须是文字", entry_id))
        elif key in items:
            problems.append(Problem(name, line_of(key_node),
                                    f"字段 {key} 重复出现（第 {line_of(items[key][0])} 行已有）",
                                    entry_id))
        else:
            items[key] = (key_node, value_node)
    return items
