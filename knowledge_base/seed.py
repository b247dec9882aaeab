"""Fill an empty ``KNOWLEDGE_BASE_DIR`` with the FAQ entries the image ships, before the service
and the action servers start on it (``python -m knowledge_base seed``).

Only a directory without entries is filled: once seeded it belongs to the editors, and a new
image must never overwrite their saves (deploy/README.md says how they get back into git).
Several replicas may seed at once (one initContainer per pod): they queue on the editor's lock,
and ``entries/`` appears in one rename, so a seeder that dies half way leaves nothing that looks
seeded and the next start does it again.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from knowledge_base import compiler
from knowledge_base.editor import directory_lock

# Retired entries and the audit log first, entries last: the entries are what says "seeded".
PARTS = ("retired", "audit.jsonl", "entries")


class SeedError(Exception):
    """The directory cannot be seeded; the message says which and why, for the operator."""


def seed(target: Path = compiler.KB_DIR, source: Path = compiler.BUNDLED_DIR) -> list[str]:
    """Copy ``source``'s entries, retired entries and audit log into ``target`` when ``target``
    has no entries yet. Returns what was copied (``entries/returns.yml``, ...), empty when there
    was nothing to do."""
    if target.resolve() == source.resolve():
        return []  # the bundled directory is its own seed
    try:
        with directory_lock(target):
            if has_entries(target):
                return []
            copied = []
            for part in PARTS:
                copied += _copy_part(source / part, target / part)
            return copied
    except OSError as error:
        raise SeedError(f"无法初始化知识库目录 {target}: {error.strerror or error} "
                        f"({getattr(error, 'filename', None) or target})。请检查挂载的卷是否存在、"
                        "是否可由运行用户 (uid 10001) 写入。") from error


def has_entries(kb_dir: Path) -> bool:
    return any((kb_dir / "entries").glob("*.yml"))


def _copy_part(source: Path, target: Path) -> list[str]:
    """One folder of YAML files, or one file, unless the target already has it."""
    if source.is_dir():
        files = sorted(source.glob("*.yml"))
        if not files or any(target.glob("*.yml")):
            return []
        _publish_folder(files, target)
        return [f"{target.name}/{path.name}" for path in files]
    if not source.is_file() or target.exists():
        return []
    _publish_file(source, target)
    return [target.name]


def _publish_folder(files: list[Path], target: Path) -> None:
    staged = Path(tempfile.mkdtemp(prefix=f".seed-{target.name}-", dir=target.parent))
    try:
        for path in files:
            shutil.copyfile(path, staged / path.name)
        os.chmod(staged, 0o755)  # mkdtemp's 0700 would hide it from a differently-run reader
        if target.exists():
            target.rmdir()  # empty of entries; anything else in it is not ours to delete
        os.rename(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def _publish_file(source: Path, target: Path) -> None:
    handle, staged = tempfile.mkstemp(prefix=f".seed-{target.name}-", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, staged)
        os.chmod(staged, 0o644)
        os.replace(staged, target)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
