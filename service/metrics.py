"""Prometheus metrics of the service process (``GET /metrics``, see ``service.health``).

Counters and histograms live in this process's default registry: each uvicorn process
(instance) exposes its own and Prometheus adds them up. Run one worker per process and port
(``uvicorn --workers N`` would answer each scrape from a random worker). What lives in Redis
(queue depths, dead letters, entries in flight) is read at scrape time instead, so every instance
reports the same, current value. No label carries a customer, conversation or message id: they
would make one series per customer (and put personal data into the monitoring system).
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Histogram

from handoff.summary.summarise import HANDOFF_REASONS

CHANNELS = ("app", "wechat", "telegram")
# The method is whatever the client sends: anything else becomes "other", so random methods
# cannot make one series each.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ERROR_KINDS = ("http_5xx", "bot_unavailable", "entry_failed", "dead_letter")
# A customer waits for these: from a quick FAQ answer (~50 ms) to BOT_TIMEOUT_SECONDS (20 s).
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

MESSAGES_RECEIVED = Counter("xs_messages_received_total",
                            "Customer messages accepted (retries not counted), by channel",
                            ["channel"])
DUPLICATES = Counter("xs_messages_duplicate_total",
                     "Retries of a message already accepted (answered from the first), by channel",
                     ["channel"])
REPLIES_SENT = Counter("xs_replies_sent_total",
                       "Replies handed to a channel (in the HTTP answer or through its sender), "
                       "by channel and author (bot or agent)", ["channel", "author"])
BOT_LATENCY = Histogram("xs_bot_latency_seconds",
                        "Round trip of one customer message to Rasa and back, by outcome "
                        "(ok, unavailable)", ["outcome"], buckets=LATENCY_BUCKETS)
HANDOFFS = Counter("xs_handoffs_total",
                   "Escalations to a human by reason, skill group and outcome (queued, ticket: "
                   "no agent online or outside hours, already_waiting)",
                   ["reason", "group", "outcome"])
ERRORS = Counter("xs_errors_total",
                 "Errors by kind: http_5xx (answers), bot_unavailable (Rasa failed or timed out), "
                 "entry_failed (a failed try of a stream entry), dead_letter (gave up on one)",
                 ["kind"])
HTTP_REQUESTS = Counter("xs_http_requests_total",
                        "HTTP requests by method, route template and status class",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("xs_http_request_duration_seconds",
                         "HTTP request duration by method and route template",
                         ["method", "route"], buckets=LATENCY_BUCKETS)

# Series that exist from the start (at 0), so rates and alerts work before the first event.
for _channel in CHANNELS:
    MESSAGES_RECEIVED.labels(_channel)
for _kind in ERROR_KINDS:
    ERRORS.labels(_kind)


def handoff_reason(reason: str) -> str:
    """The reason as a label: one of the known ones, else ``other`` (the bot sends free text)."""
    return reason if reason in HANDOFF_REASONS else "other"


def channel_label(channel: str) -> str:
    return channel if channel in CHANNELS else "other"


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class HttpMetrics:
    """ASGI middleware: count and time HTTP requests by route template (``/api/handoff/{id}``,
    not the path itself, so ids do not turn into series) and status class (``2xx`` …)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            route, method = route_template(scope), method_label(scope.get("method", ""))
            HTTP_REQUESTS.labels(method, route, f"{status // 100}xx").inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
            if status >= 500:
                ERRORS.labels("http_5xx").inc()


def route_template(scope: Scope) -> str:
    """The matched route's path template (a mount's prefix for static files); ``unmatched`` for
    paths no route knows (a scanner's guesses must not become series)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"
