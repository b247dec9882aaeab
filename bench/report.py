"""The benchmark report: every ``make bench`` module prints its table and files it here, in
``reports/bench.json`` (figures) and ``reports/bench.md`` (the same tables, for people).

Plain Python (it runs in both environments). Each module replaces only its own section, so the
modules can run one by one; the report says when and on how many cores each was measured.
"""
from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

REPORTS = Path(__file__).resolve().parent.parent / "reports"
ORDER = ["throughput", "memory", "handoff", "nlu", "training", "summary"]


def table(title: str, columns: list[str], rows: list[list[Any]], note: str = "") -> str:
    """A Markdown table (and its note) as printed and as filed."""
    lines = [f"## {title}", "", "| " + " | ".join(columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    if note:
        lines += ["", note]
    return "\n".join(lines)


def file(section: str, title: str, columns: list[str], rows: list[list[Any]], note: str = "",
         figures: Optional[dict[str, Any]] = None, reports: Path = REPORTS,
         name: str = "bench") -> None:
    """Print the table and keep it (with ``figures``, the raw numbers) in the report ``name``
    (``bench``: ``make bench``'s; ``scripted``: the scripted conversations of ``make eval``;
    ``soak``: ``make soak``'s)."""
    print("\n" + table(title, columns, rows, note))
    reports.mkdir(parents=True, exist_ok=True)
    data = _load(reports / f"{name}.json")
    data["sections"][section] = {
        "title": title, "columns": columns, "rows": rows, "note": note, "figures": figures or {},
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "python": platform.python_version()}
    _write(reports / f"{name}.json", json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    _write(reports / f"{name}.md", render(data, name))


def render(data: dict[str, Any], name: str = "bench") -> str:
    sections = data.get("sections", {})
    names = [n for n in ORDER if n in sections] + [n for n in sections if n not in ORDER]
    heading = {"bench": "benchmarks", "soak": "soak test"}.get(name, "evaluation")
    parts = [f"# 小售 {heading}", "",
             "Measured on the machine at hand; figures, not pass/fail. Each section says when "
             "and on how many cores it was measured."]
    for name in names:
        section = sections[name]
        parts += ["", table(section["title"], section["columns"], section["rows"],
                            section.get("note", "")),
                  "", f"*{section['measured_at']}, {section['cores']} cores, "
                      f"Python {section['python']}*"]
    return "\n".join(parts) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value).replace("|", "\\|")


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"sections": {}}
    return data if isinstance(data.get("sections"), dict) else {"sections": {}}


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a crash mid-write must not leave half a report."""
    partial = path.with_suffix(path.suffix + ".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
