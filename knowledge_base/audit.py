"""Who changed which FAQ entry, when, and what: an append-only JSON-lines file beside the entries.

Why a file in the repository and not a SQL table: the YAML files are the knowledge base and git
is where it is reviewed. Keeping the log next to them means the commit that carries an edit also
carries who made it in the browser (the commit author is whoever commits, not the editor), a
fresh checkout has the whole history, and ``git log -p knowledge_base/`` reads as one story.
A table would split the history from the content it describes. One JSON object per line, only
ever appended, so git diffs stay one line per change and merges rarely conflict. Deployed, it is
on the shared volume beside the entries (``KNOWLEDGE_BASE_DIR``) and goes back into git with them.

Plain Python (no third-party import): it runs wherever the editor runs.
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from knowledge_base.compiler import AUDIT_PATH

# Reading the history is for the page; the tail is what an editor looks at.
MAX_READ_BYTES = 8 * 1024 * 1024


class AuditLog:
    def __init__(self, path: Path = AUDIT_PATH) -> None:
        self.path = path

    def record(self, who: dict[str, str], action: str, entry_id: str, file: str,
               changes: dict[str, Any], now: Optional[datetime] = None) -> dict[str, Any]:
        """Append one line: ``{"at", "who", "action", "entry_id", "file", "changes"}``."""
        line = {"at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
                "who": who, "action": action, "entry_id": entry_id, "file": file,
                "changes": changes}
        data = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND plus an exclusive lock: two service processes never interleave half lines.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return line

    def history(self, entry_id: Optional[str] = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest ``limit`` records (of one entry, when given), newest first."""
        found = []
        for line in reversed(self._lines()):
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a hand-edited or merge-damaged line must not hide the rest
            if isinstance(record, dict) and (entry_id is None or record.get("entry_id") == entry_id):
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    def _lines(self) -> list[str]:
        try:
            with self.path.open("rb") as file:
                size = file.seek(0, os.SEEK_END)
                file.seek(max(0, size - MAX_READ_BYTES))
                data = file.read()
        except FileNotFoundError:
            return []
        return data.decode("utf-8", errors="replace").splitlines()
