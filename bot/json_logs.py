"""JSON log lines: one object per line, with the conversation it is about and no personal data.

Used by the service (``service.logs``) and by Rasa and the action server (``bot.ops``), so it
needs nothing beyond the standard library and the masking helpers (which both environments have).

Each line carries ``time`` (UTC), ``level``, ``logger``, ``message`` and, when the line was logged
while a message was being handled, ``conversation_id`` and ``channel`` (from context variables:
``log_context`` sets them where a message is handled). Phone numbers, ID numbers, addresses and
names after a cue (收货人…) are masked in every message and traceback, as a second line of
defence: code must not log what customers typed in the first place.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import urlsplit

from handoff.summary.masking import mask_text

CONVERSATION_ID: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
    "xs_conversation_id", default=None)
CHANNEL: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("xs_channel", default=None)
CHANNELS = ("app", "wechat", "telegram")
FORMATS = ("json", "text")


def log_format(environ: Mapping[str, str] = os.environ) -> str:
    """``LOG_FORMAT`` when set, else JSON in production and readable text in development."""
    chosen = environ.get("LOG_FORMAT", "").strip().lower()
    if not chosen:
        return "json" if environ.get("XS_ENV", "development") == "production" else "text"
    if chosen not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, got {chosen!r}")
    return chosen


def channel_of(conversation_id: Optional[str]) -> Optional[str]:
    """``app:C0001`` -> ``app``; None for anything that is not one of our channels' ids."""
    prefix = (conversation_id or "").partition(":")[0]
    return prefix if prefix in CHANNELS else None


@contextmanager
def log_context(conversation_id: Optional[str], channel: Optional[str] = None) -> Iterator[None]:
    """Lines logged inside (in this task and the tasks it starts) name this conversation."""
    conversation = CONVERSATION_ID.set(conversation_id)
    channel_token = CHANNEL.set(channel or channel_of(conversation_id))
    try:
        yield
    finally:
        CHANNEL.reset(channel_token)
        CONVERSATION_ID.reset(conversation)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(_message(record)),
        }
        conversation_id = getattr(record, "conversation_id", None) or CONVERSATION_ID.get()
        if conversation_id:
            entry["conversation_id"] = conversation_id
            entry["channel"] = getattr(record, "channel", None) or CHANNEL.get() or channel_of(
                conversation_id)
        if record.exc_info:
            entry["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def _message(record: logging.LogRecord) -> str:
    """The record's text; access logs without query strings (tokens, openids, signatures) and
    without the client's address."""
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
        _client, method, path, _version, status = record.args
        return f"{method} {urlsplit(str(path)).path} {status}"
    if record.name == "sanic.access":  # Sanic puts the request in extras, the message is empty
        request = str(getattr(record, "request", ""))
        method, _, url = request.partition(" ")
        return f"{method} {urlsplit(url).path} {getattr(record, 'status', '')}".strip()
    return record.getMessage()


def install(level: int = logging.INFO, handled: tuple[str, ...] = ()) -> logging.Handler:
    """Send every log line to stderr as JSON: the root logger gets one JSON handler, the loggers
    named in ``handled`` (which do not propagate, like uvicorn's) have theirs replaced by it, and
    handlers libraries put on their own loggers for the console (jieba's) are removed, so their
    lines reach the root's handler instead of being printed as plain text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if name in handled:
            if logger.handlers:  # none means switched off (uvicorn --no-access-log): keep it so
                logger.handlers = [handler]
        elif any(_to_console(existing) for existing in logger.handlers):
            logger.handlers = [h for h in logger.handlers if not _to_console(h)]
            logger.propagate = True
    logging.captureWarnings(True)
    return handler


def _to_console(handler: logging.Handler) -> bool:
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    return getattr(handler, "stream", None) in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
