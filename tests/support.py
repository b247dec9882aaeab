"""Helpers for tests in both environments: free ports, real servers in subprocesses."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

# The same probes the local cluster uses (tests import free_port from here too).
from cluster.local import free_port, redis_answers

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
SERVICE_PYTHON = ROOT / ".venv" / "bin" / "python"


def wait_until(predicate, timeout: float, what: str, process: Optional[subprocess.Popen] = None,
               log: Optional[Path] = None, every: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it gives something true, and return that; fail with the process
    log if it dies, or when time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        if value := predicate():
            return value
        time.sleep(every)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s:\n{_tail(log)}")


def eventually(predicate, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    """What ``predicate`` gives once it is true (a short poll, for what a test just caused)."""
    return wait_until(predicate, timeout, "the expected outcome", every=0.05)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: Optional[Path], lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running(command: list[str], log: Path, env: Optional[dict[str, str]] = None,
            cwd: Path = ROOT) -> Iterator[subprocess.Popen]:
    """A subprocess (own process group, output to ``log``) stopped with SIGTERM, then SIGKILL."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def redis_server(tmp_dir: Path) -> Iterator[str]:
    """A private redis-server on a free port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(tmp_dir)]
    with running(command, tmp_dir / "redis.log") as process:
        wait_until(lambda: redis_answers(port), 20, "redis-server", process, tmp_dir / "redis.log")
        yield f"redis://127.0.0.1:{port}/0"


POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of the test's own: ``sqlite`` (a file under ``tmp_path``) or
    ``postgresql`` (a new database on the local server, dropped afterwards; the test is skipped
    with the reason when no server answers). For the service environment only."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/nested/service.sqlite3"
        return
    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    name = f"xs_test_{os.urandom(5).hex()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError as error:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server reachable at 127.0.0.1:5432 ({error.orig})")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def log_in_demo(client, username: str) -> None:
    """Log ``client`` (a TestClient) in as a development account (``<name>-demo-password``)."""
    client.cookies.clear()
    answer = client.post("/api/agent/login",
                         json={"username": username, "password": f"{username}-demo-password"})
    assert answer.status_code == 200, answer.text


def python_with_kb_dir(args: list[str], kb_dir: Optional[Path] = None, **popen) -> subprocess.Popen:
    """This environment's Python in a process of its own with ``KNOWLEDGE_BASE_DIR`` set to
    ``kb_dir`` (unset when None), as a replica of a deployment runs: the variable is read at
    import, so only a fresh process shows what it does."""
    env = {key: value for key, value in os.environ.items() if key != "KNOWLEDGE_BASE_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    if kb_dir is not None:
        env["KNOWLEDGE_BASE_DIR"] = str(kb_dir)
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True, **popen)


def save_answer(kb, entry_id: str, answer: str) -> None:  # type: ignore[no-untyped-def]
    """Edit one entry's answer through the FAQ editor (``kb``: a KnowledgeBase), as editor1."""
    from knowledge_base.editor import plain

    entry = kb.find(entry_id)
    data = {key: value for key, value in plain(entry.data).items() if key != "updated_at"}
    kb.update(entry_id, {**data, "answer": answer}, entry.version,
              {"id": "A-editor1", "username": "editor1", "name": "编辑小林"})
