"""KNOWLEDGE_BASE_DIR: where the FAQ editor's live files are. The deployments put one shared volume
there for every service replica and action server (deploy/README.md); these tests show that the
variable moves the entries, retired entries, audit log and write lock together, that a fresh
directory is seeded once and an edited one never overwritten, and that two replicas on one
directory queue on the same lock."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from knowledge_base import compiler, seed
from knowledge_base.audit import AuditLog
from knowledge_base.editor import KnowledgeBase
from tests.support import python_with_kb_dir, save_answer

BUNDLED_ENTRIES = compiler.BUNDLED_DIR / "entries"
NEW_ANSWER = "共享卷上的新答案：签收后七天内可无理由退货。"
PATHS = ("import json; from knowledge_base import audit, compiler, editor; "
         "print(json.dumps([str(p) for p in (compiler.ENTRIES_DIR, editor.RETIRED_DIR, "
         "audit.AUDIT_PATH, editor.KnowledgeBase()._lock_path)]))")


def run(args: list[str], kb_dir: Path | None = None) -> subprocess.CompletedProcess:
    process = python_with_kb_dir(args, kb_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def bundled_data() -> dict[str, bytes]:
    """The checkout's own FAQ files (not its code: running Python may write __pycache__)."""
    return {name: data for name, data in files(compiler.BUNDLED_DIR).items()
            if name.startswith(("entries/", "retired/")) or name in ("audit.jsonl", ".editor.lock")}


def editor_on(kb_dir: Path) -> KnowledgeBase:
    return KnowledgeBase(kb_dir / "entries", kb_dir / "retired", AuditLog(kb_dir / "audit.jsonl"))


# --- the variable -------------------------------------------------------------------------------

def test_the_variable_moves_entries_retired_entries_audit_log_and_lock_together(tmp_path):
    kb_dir = (tmp_path / "kb").resolve()
    moved = run(["-c", PATHS], kb_dir)
    assert moved.returncode == 0, moved.stderr
    names = ("entries", "retired", "audit.jsonl", ".editor.lock")
    assert json.loads(moved.stdout) == [str(kb_dir / name) for name in names]
    default = run(["-c", PATHS])
    assert json.loads(default.stdout) == [str(compiler.BUNDLED_DIR / name) for name in names]


def test_an_editor_save_lands_in_the_shared_dir_and_the_bundled_files_stay(tmp_path):
    kb_dir = tmp_path / "kb"
    seed.seed(kb_dir)
    bundled = bundled_data()
    script = ("from knowledge_base.editor import KnowledgeBase; from tests.support import save_answer; "
              f"save_answer(KnowledgeBase(), 'return_policy', {NEW_ANSWER!r})")
    saved = run(["-c", script], kb_dir)
    assert saved.returncode == 0, saved.stderr
    assert NEW_ANSWER in (kb_dir / "entries" / "returns.yml").read_text(encoding="utf-8")
    [record] = [json.loads(line) for line in (kb_dir / "audit.jsonl").read_text().splitlines()]
    assert (record["entry_id"], record["who"]["username"]) == ("return_policy", "editor1")
    assert bundled_data() == bundled


def test_two_replicas_on_one_dir_queue_on_the_lock_beside_it(tmp_path, monkeypatch):
    """Replicas on two hosts share the volume but not /tmp: each is built with a /tmp of its own."""
    kb_dir = tmp_path / "kb"
    seed.seed(kb_dir)
    replicas = []
    for host in ("host-a", "host-b"):
        (tmp_path / host).mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / host))
        replicas.append(editor_on(kb_dir))
    first, second = replicas
    outcome: list[object] = []

    def save() -> None:
        try:
            save_answer(second, "return_policy", NEW_ANSWER)
            outcome.append("saved")
        except Exception as error:  # reported by the assertion below
            outcome.append(error)

    with first._locked():
        writer = threading.Thread(target=save, daemon=True)
        writer.start()
        writer.join(1.0)
        assert outcome == [], "the second replica wrote while the first held the lock"
    writer.join(30)
    assert outcome == ["saved"]
    assert NEW_ANSWER in (kb_dir / "entries" / "returns.yml").read_text(encoding="utf-8")
    assert (kb_dir / ".editor.lock").is_file()


# --- seeding ------------------------------------------------------------------------------------

def test_an_empty_dir_is_seeded_with_the_bundled_entries(tmp_path):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    copied = seed.seed(kb_dir)
    assert copied == [f"entries/{path.name}" for path in sorted(BUNDLED_ENTRIES.glob("*.yml"))]
    assert files(kb_dir / "entries") == files(BUNDLED_ENTRIES)
    assert not [path for path in kb_dir.iterdir() if path.name.startswith(".seed-")]
    assert [entry.id for entry in editor_on(kb_dir).stored()] == \
        [entry.id for entry in KnowledgeBase(BUNDLED_ENTRIES).stored()]


def test_retired_entries_and_the_audit_log_come_along(tmp_path):
    source = tmp_path / "image"
    for name, text in (("entries/a.yml", "entries: []\n"), ("retired/b.yml", "entries: []\n"),
                       ("audit.jsonl", '{"entry_id": "b"}\n')):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    assert sorted(seed.seed(tmp_path / "kb", source)) == ["audit.jsonl", "entries/a.yml",
                                                          "retired/b.yml"]
    assert files(tmp_path / "kb") == {**files(source), ".editor.lock": b""}


def test_a_dir_with_entries_is_left_alone(tmp_path):
    kb_dir = tmp_path / "kb"
    (kb_dir / "entries").mkdir(parents=True)
    (kb_dir / "entries" / "mine.yml").write_text("entries: []\n")
    assert seed.seed(kb_dir) == []
    assert files(kb_dir) == {"entries/mine.yml": b"entries: []\n", ".editor.lock": b""}


def test_a_second_run_keeps_the_editors_work(tmp_path):
    kb_dir = tmp_path / "kb"
    assert seed.seed(kb_dir)
    save_answer(editor_on(kb_dir), "return_policy", NEW_ANSWER)
    before = files(kb_dir)
    again = run(["-m", "knowledge_base", "seed"], kb_dir)
    assert again.returncode == 0, again.stderr
    assert "已有 FAQ 条目, 保持不变" in again.stdout
    assert files(kb_dir) == before


def test_two_replicas_seeding_at_once_fill_the_dir_once(tmp_path):
    kb_dir = tmp_path / "kb"
    seeders = [python_with_kb_dir(["-m", "knowledge_base", "seed"], kb_dir, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [seeder.communicate(timeout=60) for seeder in seeders]
    assert [seeder.returncode for seeder in seeders] == [0, 0, 0], outputs
    assert sorted("已初始化" in stdout for stdout, _ in outputs) == [False, False, True]
    assert files(kb_dir / "entries") == files(BUNDLED_ENTRIES)


@pytest.mark.parametrize("case", ["a file in the way", "read-only"])
def test_an_unwritable_dir_is_a_clear_error_with_exit_code_2(tmp_path, case):
    if case == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only directories")
        target = tmp_path / "kb"
        target.mkdir(mode=0o500)
    else:
        (tmp_path / "volume").write_text("")
        target = tmp_path / "volume" / "kb"
    result = run(["-m", "knowledge_base", "seed"], target)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"无法初始化知识库目录 {target}")
    assert "Traceback" not in result.stderr
    with pytest.raises(seed.SeedError, match="请检查挂载的卷"):
        seed.seed(target)


def test_without_the_variable_seeding_is_a_no_op():
    bundled = bundled_data()
    result = run(["-m", "knowledge_base", "seed"])
    assert (result.returncode, result.stderr) == (0, "")
    assert "无需初始化" in result.stdout
    assert seed.seed(compiler.BUNDLED_DIR) == []
    assert bundled_data() == bundled


def test_an_unknown_subcommand_is_refused_with_exit_code_2():
    result = run(["-m", "knowledge_base", "sed"])
    assert result.returncode == 2 and "用法: python -m knowledge_base [seed]" in result.stderr
