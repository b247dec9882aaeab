"""Operations of the Rasa server and the action server: Prometheus metrics and JSON logs.

    python -m bot.ops rasa run --model … --port 5005   # what ``python -m bot rasa`` execs
    python -m bot.ops actions --actions actions …      # what ``python -m bot actions`` execs

Both are Sanic apps started by their own command lines; this wrapper prepares the process, then
hands over to that command line with the remaining arguments, so every Rasa option works as
before. It

- serves this process's metrics on a port of its own (``RASA_METRICS_PORT``, default 9105;
  ``ACTIONS_METRICS_PORT``, default 9155; ``0`` turns them off), on the server's interface: a
  scraper never needs the Rasa API (or the action server, which only Rasa may reach);
- counts and times HTTP requests by route template and status class, with Sanic middleware
  added when the app is built (Rasa: around ``rasa.core.run.configure_app``; rasa_sdk: its
  ``attach_sanic_app_extensions`` plugin hook), and each custom action by name and outcome;
- with ``LOG_FORMAT=json`` (the default when ``XS_ENV=production``) logs JSON lines naming the
  conversation (``bot.json_logs``), once Rasa and Sanic have set up their own logging.

Sanic must run one worker per process (the default; scale with processes): the metrics live in
the process that serves them.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any, Optional

import pluggy
from prometheus_client import Counter, Histogram, start_http_server

from bot.json_logs import CHANNEL, CONVERSATION_ID, channel_of, install, log_format

log = logging.getLogger("bot.ops")  # not "__main__", which it is when run with -m

SERVERS = {  # name: (metrics port variable, its default, the server's interface variable)
    "rasa": ("RASA_METRICS_PORT", 9105, "RASA_HOST"),
    "actions": ("ACTIONS_METRICS_PORT", 9155, "ACTIONS_HOST"),
}
SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access")
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
ACTION_OUTCOMES = {200: "ok", 400: "rejected", 404: "not_found"}  # anything else: error

HTTP_REQUESTS = Counter("xs_http_requests_total",
                        "HTTP requests by method, route template and status class",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("xs_http_request_duration_seconds",
                         "HTTP request duration by method and route template",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
ERRORS = Counter("xs_errors_total", "Errors by kind: http_5xx (answers)", ["kind"])
ACTIONS = Counter("xs_actions_total", "Custom action calls by action and outcome (ok, rejected, "
                  "not_found, error)", ["action", "outcome"])
ACTION_LATENCY = Histogram("xs_action_duration_seconds", "Custom action run time by action",
                           ["action"], buckets=LATENCY_BUCKETS)
ERRORS.labels("http_5xx")  # exists at 0 from the start, so alerts on its rate work at once


# --- metrics ------------------------------------------------------------------------------

def serve_metrics(server: str) -> Optional[int]:
    """Start the metrics endpoint of ``server`` (a thread); the port, or None when it is off or
    taken (the bot still runs: missing metrics must not take customers' answers down)."""
    variable, default, host_variable = SERVERS[server]
    port = int(os.environ.get(variable) or default)
    if port == 0:
        return None
    host = os.environ.get(host_variable, "127.0.0.1")
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        log.warning("metrics not served: %s:%s: %s (set %s)", host, port, error, variable)
        return None
    log.info("metrics on http://%s:%s/metrics", host, port)
    return port


def instrument(app: Any, server: str) -> None:
    """Count and time every request of a Sanic app; for the action server, every action too.
    Each request also sets the conversation its log lines name."""

    async def on_request(request: Any) -> None:
        request.ctx.xs_started = time.perf_counter()
        call = _json_body(request) if request.method == "POST" else {}
        conversation = _conversation_of(request, call)
        # Set, not reset later: one connection's requests share a task, so each request sets it.
        CONVERSATION_ID.set(conversation)
        CHANNEL.set(channel_of(conversation))
        if server == "actions":
            request.ctx.xs_action = call.get("next_action")

    async def on_response(request: Any, response: Any) -> None:
        route = request.uri_template if getattr(request, "route", None) else "unmatched"
        status = int(response.status)
        started = getattr(request.ctx, "xs_started", None)
        elapsed = time.perf_counter() - started if started is not None else None
        HTTP_REQUESTS.labels(request.method, route, f"{status // 100}xx").inc()
        if elapsed is not None:
            HTTP_LATENCY.labels(request.method, route).observe(elapsed)
        if status >= 500:
            ERRORS.labels("http_5xx").inc()
        action = getattr(request.ctx, "xs_action", None)
        if action and route == "/webhook":
            _count_action(str(action), status, elapsed)

    app.register_middleware(on_request, "request")
    app.register_middleware(on_response, "response")


def _count_action(action: str, status: int, elapsed: Optional[float]) -> None:
    outcome = ACTION_OUTCOMES.get(status, "error")
    # An unknown name is the caller's text: it must not become a series of its own.
    label = "unknown" if outcome == "not_found" else action
    ACTIONS.labels(label, outcome).inc()
    if elapsed is not None:
        ACTION_LATENCY.labels(label).observe(elapsed)
    log.info("action %s: %s in %.0f ms", label, outcome, (elapsed or 0) * 1000)


def _json_body(request: Any) -> dict[str, Any]:
    """The request's JSON object (Rasa may deflate action calls), or {} for anything else.
    ``request.json`` is parsed once and kept, so the handler does not parse it again."""
    # Imported here, not at the top: importing Sanic turns on warnings that libraries imported
    # before the JSON logs are set up would then print as plain text.
    from sanic.exceptions import SanicException

    try:
        if request.headers.get("Content-Encoding") == "deflate":
            data = json.loads(zlib.decompress(request.body))
        else:
            data = request.json if request.body else {}
    except (ValueError, zlib.error, SanicException):
        return {}
    return data if isinstance(data, dict) else {}


def _conversation_of(request: Any, call: dict[str, Any]) -> Optional[str]:
    """Rasa: the webhook's ``sender`` or the ``conversation_id`` in the path; the action server:
    the tracker's ``sender_id``."""
    tracker = call.get("tracker")
    for candidate in (call.get("sender"), tracker.get("sender_id") if isinstance(tracker, dict)
                      else None, (getattr(request, "match_info", None) or {}).get("conversation_id")):
        if isinstance(candidate, str) and candidate:
            return candidate[:128]
    return None


# --- wiring into Rasa and rasa_sdk ----------------------------------------------------------

def _prepare_rasa(json_logs: bool) -> None:
    import rasa.core.run

    build = rasa.core.run.configure_app

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = build(*args, **kwargs)
        instrument(app, "rasa")
        if json_logs:  # Rasa installed coloredlogs and Sanic its handlers by now: replace them
            install(_level(), SANIC_LOGGERS)
        return app

    rasa.core.run.configure_app = configure_app


class _ActionServerPlugin:
    """rasa_sdk's documented extension point: called with the app before it runs."""

    @pluggy.HookimplMarker("rasa_sdk")
    def attach_sanic_app_extensions(self, app: Any) -> None:
        instrument(app, "actions")
        if self.json_logs:
            install(_level(), SANIC_LOGGERS)

    def __init__(self, json_logs: bool) -> None:
        self.json_logs = json_logs


def _prepare_actions(json_logs: bool) -> None:
    from rasa_sdk.plugin import plugin_manager

    plugin_manager().register(_ActionServerPlugin(json_logs))


def _keep_coloredlogs_out() -> None:
    """Rasa and rasa_sdk install coloredlogs' console handler on the root logger at start, which
    would print text lines until the app is built: keep only the level it is asked for."""
    import coloredlogs

    def level_only(level: Any = None, **_ignored: Any) -> None:
        if level:
            logging.getLogger().setLevel(level.upper() if isinstance(level, str) else level)

    coloredlogs.install = level_only


def _level() -> int:
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").upper())
    return level if isinstance(level, int) else logging.INFO


def _rasa_main() -> None:
    from rasa.__main__ import main as rasa_main

    rasa_main()


def _actions_main() -> None:
    from rasa_sdk.__main__ import main as actions_main

    actions_main()


COMMANDS: dict[str, tuple[Callable[[bool], None], Callable[[], None]]] = {
    "rasa": (_prepare_rasa, _rasa_main),
    "actions": (_prepare_actions, _actions_main),
}


def main(argv: Optional[list[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit(f"usage: python -m bot.ops {{{','.join(COMMANDS)}}} <their arguments>")
    server, arguments = argv[0], argv[1:]
    json_logs = log_format() == "json"
    if json_logs:  # from the first line on; installed again once the servers set up theirs
        install(_level(), SANIC_LOGGERS)
        _keep_coloredlogs_out()
        # TensorFlow's C++ side writes its own text lines to stderr: keep only its errors.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    serve_metrics(server)
    prepare, run = COMMANDS[server]
    prepare(json_logs)
    sys.argv = [server, *arguments, *_secret_arguments(server, arguments)]
    run()  # the command lines parse sys.argv themselves


def _secret_arguments(server: str, arguments: list[str]) -> list[str]:
    """Rasa takes its API token only as ``--auth-token``. Added here, in the process's own
    ``sys.argv``, it stays out of ``/proc/<pid>/cmdline`` (what ``ps`` shows every user); the
    "=" form because a token may start with "-", which argparse would take for an option."""
    token = os.environ.get("RASA_AUTH_TOKEN")
    given = any(a == "--auth-token" or a.startswith("--auth-token=") for a in arguments)
    if server != "rasa" or not token or given:
        return []
    return [f"--auth-token={token}"]


if __name__ == "__main__":
    main()
