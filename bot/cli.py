"""Command line of the assistant: ``python -m bot {train,rasa,actions}`` (run in ``.venv-rasa``).

``rasa`` and ``actions`` replace this process with the server (exec), so the process runner's
signals reach Rasa directly and Ctrl-C stops it cleanly. The server runs through ``bot.ops``,
which adds its Prometheus metrics and JSON logs, then hands over to Rasa's (rasa_sdk's) own
command line with the arguments given here.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from bot import evaluate, training

ROOT = Path(__file__).resolve().parent.parent


def redis_env(redis_url: str) -> dict[str, str]:
    """Rasa's endpoints.yml wants host, port, db and password apart; we configure one URL."""
    parsed = urlparse(redis_url)
    if parsed.scheme not in ("redis", "unix") or not parsed.hostname:
        raise SystemExit(f"REDIS_URL must look like redis://[:password@]host:port/db, got {redis_url!r}")
    return {
        "RASA_REDIS_HOST": parsed.hostname,
        "RASA_REDIS_PORT": str(parsed.port or 6379),
        "RASA_REDIS_DB": (parsed.path or "/0").lstrip("/") or "0",
        "RASA_REDIS_PASSWORD": unquote(parsed.password or ""),
    }


# Rasa 3.6 brings SQLAlchemy 1.4 and psycopg2; the service's URL may name psycopg 3, which 1.4
# does not know. Same database, the driver Rasa has.
_RASA_DRIVERS = {"postgresql+psycopg": "postgresql+psycopg2", "postgres": "postgresql"}
DEFAULT_DATABASE_URL = "sqlite:///var/xiaoshou.sqlite3"


def event_broker_env(database_url: str) -> dict[str, str]:
    """Rasa's SQL event broker writes every tracker event into the service's database (table
    ``events``), where the supervisors' dashboard reads intents, FAQ answers and fallbacks."""
    scheme, separator, rest = database_url.partition("://")
    if not separator or not (scheme.startswith("sqlite") or scheme.startswith("postgres")):
        raise SystemExit(f"DATABASE_URL must be a sqlite:/// or postgresql:// URL, got {database_url!r}")
    if scheme.startswith("sqlite") and rest.startswith("/") and rest not in ("/", "/:memory:"):
        # Rasa may start before the service has created the file's folder.
        (ROOT / rest[1:]).parent.mkdir(parents=True, exist_ok=True)
    return {"RASA_EVENT_BROKER_URL": f"{_RASA_DRIVERS.get(scheme, scheme)}://{rest}"}


def _exec(command: list[str], extra_env: dict[str, str]) -> None:
    env = {**os.environ, **extra_env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    os.chdir(ROOT)
    os.execvpe(command[0], command, env)


def run_rasa(args: argparse.Namespace) -> None:
    if not training.MODEL_PATH.exists():
        raise SystemExit("no trained model: run `make train` first")
    env = redis_env(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    env.update(event_broker_env(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)))
    if os.environ.get("RASA_EVENT_BROKER_URL"):  # an operator's explicit choice wins
        env["RASA_EVENT_BROKER_URL"] = os.environ["RASA_EVENT_BROKER_URL"]
    # A replica killed mid-message leaves its conversation's lock behind until the lock's
    # lifetime ends (Rasa's default: 60 s, longer than the service waits for an answer). The
    # router already keeps each conversation's messages in order, so a short one is safe.
    env["TICKET_LOCK_LIFETIME"] = os.environ.get("TICKET_LOCK_LIFETIME", "15")
    env.setdefault("ACTION_SERVER_URL", os.environ.get(
        "ACTION_SERVER_URL", f"http://127.0.0.1:{os.environ.get('ACTIONS_PORT', '5055')}/webhook"))
    command = [
        sys.executable, "-m", "bot.ops", "rasa", "run",
        "--model", str(training.MODEL_PATH),
        "--endpoints", str(ROOT / "endpoints.yml"),
        "--credentials", str(ROOT / "credentials.yml"),
        "--interface", os.environ.get("RASA_HOST", "127.0.0.1"),
        "--port", os.environ.get("RASA_PORT", "5005"),
        "--enable-api",
    ]
    # RASA_AUTH_TOKEN stays in the environment: bot.ops hands it to Rasa inside the process, so
    # it never shows in the command line that `ps` prints to every user of the machine.
    _exec(command, env)


def run_actions(args: argparse.Namespace) -> None:
    command = [
        sys.executable, "-m", "bot.ops", "actions",
        "--actions", "actions",
        "--port", os.environ.get("ACTIONS_PORT", "5055"),
    ]
    # The action server trusts the customer id in the tracker Rasa sends, so only Rasa may reach
    # it: loopback unless ACTIONS_HOST says otherwise (rasa_sdk reads the host from SANIC_HOST).
    _exec(command, {"SANIC_HOST": os.environ.get("ACTIONS_HOST", "127.0.0.1")})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description="小售 assistant commands")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="compile the FAQ and train when inputs changed")
    train.add_argument("--force", action="store_true", help="train even if the model is current")
    train.set_defaults(func=lambda args: training.train(force=args.force))
    commands.add_parser("eval", help="score the model on the held-out set beside a baseline"
                        ).set_defaults(func=lambda args: evaluate.main())
    commands.add_parser("crossval-report", help="summarise reports/crossval into reports/eval.md"
                        ).set_defaults(func=lambda args: print(evaluate.crossval_report()))
    commands.add_parser("rasa", help="run the Rasa server").set_defaults(func=run_rasa)
    commands.add_parser("actions", help="run the action server").set_defaults(func=run_actions)
    args = parser.parse_args(argv)
    args.func(args)
