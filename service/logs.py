"""The service's logging: JSON lines (``bot.json_logs``) when ``LOG_FORMAT=json``, the default in
production; readable text, as uvicorn sets it up, in development.

``uvicorn --factory service.app:create_app`` configures its loggers before it calls the factory,
so ``configure`` (called from ``create_app``) replaces their handlers; every line after
"Started server process", uvicorn's own and its access log included, is JSON.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from bot.json_logs import install, log_format

# uvicorn's loggers that do not propagate to the root logger (uvicorn.error goes through "uvicorn").
UVICORN_LOGGERS = ("uvicorn", "uvicorn.access")


def configure(environ: Mapping[str, str] = os.environ) -> str:
    """Set up this process's logging for the chosen format; returns it (``json`` or ``text``).
    Raises ValueError for an unknown ``LOG_FORMAT``."""
    chosen = log_format(environ)
    if chosen == "json":
        level = logging.getLevelName(environ.get("LOG_LEVEL", "INFO").upper())
        install(level if isinstance(level, int) else logging.INFO, UVICORN_LOGGERS)
    return chosen
