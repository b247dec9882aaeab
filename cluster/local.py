"""The scale-out setup on one machine: 2 Rasa servers, 2 action servers and 2 service instances
behind nginx, with PostgreSQL as the SQL store and a Redis that keeps an append-only file.

Every member is an ordinary process of the project (the same commands as the Procfile), so what
runs here is what runs in production, only on loopback. ``make run-cluster`` starts it in the
foreground; ``make soak`` starts one, loads it and kills members with SIGKILL. Runs in ``.venv``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Optional

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
SERVICE_PYTHON = ROOT / ".venv" / "bin" / "python"
MODEL = ROOT / "models" / "xiaoshou.tar.gz"
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
REPLICAS = 2
RASA_START_SECONDS = 420  # loading the model on a busy 2-core machine (20 s when idle)
# Graceful shutdown: uvicorn stops taking requests and lets in-flight ones finish within this.
SERVICE_GRACE_SECONDS = 25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Member:
    """One process of the cluster, which can be killed and started again the same way."""
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ready: Optional[Callable[[], bool]] = None
    process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing gets to clean up."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, grace: float = SERVICE_GRACE_SECONDS + 5) -> None:
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}): see {self.log}")
            if self.ready is None or self.ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s: see {self.log}")


@dataclass
class ClusterConfig:
    var: Path                         # logs, Redis's append-only file, nginx's files
    database_url: str                 # PostgreSQL (created when missing)
    front_port: int = 0               # where customers, agents and editors connect (0: free)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. channel settings


class LocalCluster:
    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.var = config.var
        self.ports = {name: free_port() for name in (
            "redis", "shop", "rasa-lb", "actions-lb", "rasa1", "rasa2", "actions1", "actions2",
            "service1", "service2", "rasa1-metrics", "rasa2-metrics", "actions1-metrics",
            "actions2-metrics")}
        self.ports["front"] = config.front_port or free_port()
        self.url = f"http://127.0.0.1:{self.ports['front']}"
        self.redis_url = f"redis://127.0.0.1:{self.ports['redis']}/0"
        self.env = self._common_env()
        self.members = self._members()

    # --- configuration -------------------------------------------------------------------

    def _common_env(self) -> dict[str, str]:
        secret = self.config.extra_env.get("APP_TOKEN_SECRET") or os.urandom(24).hex()
        return {
            **os.environ, "PYTHONPATH": str(ROOT), "XS_ENV": "development",
            "REDIS_URL": self.redis_url, "DATABASE_URL": self.config.database_url,
            "RASA_URL": f"http://127.0.0.1:{self.ports['rasa-lb']}",
            "RASA_AUTH_TOKEN": os.urandom(16).hex(),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.ports['actions-lb']}/webhook",
            "SHOP_API_URL": f"http://127.0.0.1:{self.ports['shop']}/api/v1",
            "SHOP_DB_PATH": str(self.var / "shop.sqlite3"),
            "HANDOFF_HOURS": "00:00-00:00", "APP_TOKEN_SECRET": secret,
            **self.config.extra_env,
        }

    def _member(self, name: str, command: list[str], ready_path: Optional[str] = None,
                **env: str) -> Member:
        url = f"http://127.0.0.1:{self.ports[name]}{ready_path}"
        ready = (lambda: _answers(url)) if ready_path else None
        return Member(name, command, {**self.env, **env}, self.var / f"{name}.log", ready)

    def _members(self) -> dict[str, Member]:
        members = [
            self._member("redis", [shutil.which("redis-server") or "redis-server",
                                   "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
                                   "--dir", str(self.var / "redis"), "--appendonly", "yes",
                                   "--appendfsync", "everysec", "--save", ""]),
            self._member("shop", [str(SERVICE_PYTHON), "-m", "demo_shop",
                                  "--port", str(self.ports["shop"])], "/healthz"),
        ]
        for n in range(1, REPLICAS + 1):
            members.append(self._member(f"actions{n}", [str(RASA_PYTHON), "-m", "bot", "actions"],
                                        "/health", ACTIONS_PORT=str(self.ports[f"actions{n}"]),
                                        ACTIONS_METRICS_PORT=str(self.ports[f"actions{n}-metrics"])))
        for n in range(1, REPLICAS + 1):
            rasa = self._member(f"rasa{n}", [str(RASA_PYTHON), "-m", "bot", "rasa"],
                                RASA_PORT=str(self.ports[f"rasa{n}"]),
                                RASA_METRICS_PORT=str(self.ports[f"rasa{n}-metrics"]))
            rasa.ready = _model_loaded(f"http://127.0.0.1:{self.ports[f'rasa{n}']}",
                                       self.env["RASA_AUTH_TOKEN"])
            members.append(rasa)
        for n in range(1, REPLICAS + 1):
            members.append(self._member(f"service{n}", [
                str(SERVICE_PYTHON), "-m", "uvicorn", "--factory", "service.app:create_app",
                "--host", "127.0.0.1", "--port", str(self.ports[f"service{n}"]),
                "--no-access-log", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
                "--timeout-graceful-shutdown", str(SERVICE_GRACE_SECONDS)], "/healthz"))
        members.append(Member("nginx", ["nginx", "-c", str(self.var / "nginx.conf"),
                                        "-g", "daemon off;"], self.env, self.var / "nginx.log"))
        return {member.name: member for member in members}

    def nginx_conf(self) -> str:
        def servers(kind: str) -> str:
            return "\n".join(f"    server 127.0.0.1:{self.ports[f'{kind}{n}']} max_fails=1 "
                             f"fail_timeout=3s;" for n in range(1, REPLICAS + 1))
        return Template(TEMPLATE.read_text()).substitute(
            var=self.var, front_port=self.ports["front"], rasa_port=self.ports["rasa-lb"],
            actions_port=self.ports["actions-lb"], service_servers=servers("service"),
            rasa_servers=servers("rasa"), actions_servers=servers("actions"),
            # As root, nginx would run its workers as "nobody", who cannot use our folders.
            user="user root;" if os.geteuid() == 0 else "")

    # --- running -------------------------------------------------------------------------

    def start(self) -> None:
        if not MODEL.exists():
            raise RuntimeError("no trained model at models/xiaoshou.tar.gz: run `make train` first")
        if shutil.which("nginx") is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        for folder in ("redis", "nginx-tmp"):
            (self.var / folder).mkdir(parents=True, exist_ok=True)
        (self.var / "nginx.conf").write_text(self.nginx_conf())
        ensure_database(self.config.database_url)
        self.members["redis"].start()
        _wait(lambda: redis_answers(self.ports["redis"]), 20, "redis")
        self.members["nginx"].start()
        for name in ("shop", "actions1", "actions2", "rasa1"):
            self.members[name].start()
        # Each Rasa creates its event broker's table at start; two at once race on PostgreSQL
        # (one dies of a duplicate type), so the second starts once the first has made it.
        _wait(lambda: self._has_table("events") or not self.members["rasa1"].alive(),
              RASA_START_SECONDS, "Rasa's events table")
        self.members["rasa2"].start()
        self.members["shop"].wait_ready(60)
        # One service first: it creates the tables, which two at once would race to do.
        self._start_service("service1")
        self._start_service("service2")
        for name in ("actions1", "actions2"):
            self.members[name].wait_ready(60)
        for name in ("rasa1", "rasa2"):
            self.members[name].wait_ready(RASA_START_SECONDS)
        _wait(lambda: _answers(f"{self.url}/readyz"), 60, "the cluster's readiness")

    def _has_table(self, name: str) -> bool:
        engine = create_engine(self.config.database_url)
        try:
            return inspect(engine).has_table(name)
        except OSError:
            return False
        finally:
            engine.dispose()

    def _start_service(self, name: str) -> None:
        self.members[name].start()
        self.members[name].wait_ready(60)

    def kill(self, name: str) -> None:
        self.members[name].kill()

    def restart(self, name: str, timeout: float = RASA_START_SECONDS) -> None:
        """Start a killed member again; Redis reads its append-only file back."""
        member = self.members[name]
        member.start()
        if name == "redis":
            _wait(lambda: redis_answers(self.ports["redis"]), timeout, "redis")
        else:
            member.wait_ready(timeout)

    def stop(self) -> None:
        """Services first (they finish in-flight messages), the stores last."""
        order = ["nginx", "service1", "service2", "rasa1", "rasa2", "actions1", "actions2",
                 "shop", "redis"]
        for name in order:
            self.members[name].stop()

    def pids(self) -> dict[str, int]:
        return {name: m.process.pid for name, m in self.members.items() if m.alive()}


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database named in the URL if it does not exist."""
    url = make_url(database_url)
    if not url.get_backend_name().startswith("postgres"):
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": url.database}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()


def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _model_loaded(rasa_url: str, token: str) -> Callable[[], bool]:
    def loaded() -> bool:
        try:
            with urllib.request.urlopen(f"{rasa_url}/status?token={token}", timeout=2) as answer:
                return bool(json.loads(answer.read()).get("model_file"))
        except (OSError, ValueError):
            return False
    return loaded


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s")
