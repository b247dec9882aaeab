"""The whole stack as separate processes (demo shop, action server, Rasa, service) on free
ports, for the end-to-end tests and the benchmarks."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import RASA_PYTHON, ROOT, SERVICE_PYTHON, free_port, http_ok, running, wait_until

MODEL = ROOT / "models" / "xiaoshou.tar.gz"


@dataclass(frozen=True)
class Stack:
    service_url: str
    shop_url: str
    rasa_url: str
    app_token_secret: str
    rasa_token: str
    pids: dict[str, int] = field(default_factory=dict)  # shop, actions, rasa, service


@contextmanager
def full_stack(tmp: Path, redis_url: str, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    if not MODEL.exists():
        raise RuntimeError("no trained model at models/xiaoshou.tar.gz: run `make train` first")
    ports = {name: free_port() for name in ("rasa", "actions", "shop", "service")}
    rasa_url = f"http://127.0.0.1:{ports['rasa']}"
    shop_url = f"http://127.0.0.1:{ports['shop']}"
    service_url = f"http://127.0.0.1:{ports['service']}"
    env = {
        "XS_ENV": "development",
        "REDIS_URL": redis_url,
        "RASA_PORT": str(ports["rasa"]), "RASA_URL": rasa_url,
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(16),
        "ACTIONS_PORT": str(ports["actions"]),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
        "SHOP_DB_PATH": str(tmp / "shop.sqlite3"), "SHOP_API_URL": f"{shop_url}/api/v1",
        "DATABASE_URL": f"sqlite:///{tmp}/service.sqlite3",
        "APP_TOKEN_SECRET": secrets.token_urlsafe(32),
        "HANDOFF_HOURS": "00:00-00:00",  # agents around the clock: tests must not depend on the hour
        # Off: several stacks (and the cluster tests) may run at once on the default ports.
        "RASA_METRICS_PORT": "0", "ACTIONS_METRICS_PORT": "0",
        **(extra_env or {}),
    }
    commands = {
        "shop": [str(SERVICE_PYTHON), "-m", "demo_shop", "--port", str(ports["shop"])],
        "actions": [str(RASA_PYTHON), "-m", "bot", "actions"],
        "rasa": [str(RASA_PYTHON), "-m", "bot", "rasa"],
        "service": [str(SERVICE_PYTHON), "-m", "uvicorn", "--factory", "service.app:create_app",
                    "--port", str(ports["service"])],
    }
    with ExitStack() as processes:
        started = {name: processes.enter_context(running(command, tmp / f"{name}.log", env))
                   for name, command in commands.items()}
        wait_until(lambda: http_ok(f"{shop_url}/healthz"), 60, "demo shop", started["shop"],
                   tmp / "shop.log")
        wait_until(lambda: http_ok(f"{service_url}/readyz"), 240, "stack readiness",
                   started["rasa"], tmp / "rasa.log")
        yield Stack(service_url, shop_url, rasa_url, env["APP_TOKEN_SECRET"],
                    env["RASA_AUTH_TOKEN"], {name: p.pid for name, p in started.items()})
