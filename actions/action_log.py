"""What the bot did in this conversation: each action's backend calls and how they ended.

The log lives in the ``action_log`` slot (oldest first, at most ``MAX_ENTRIES``) so that a
handoff shows the agent what the bot already tried, and so the bot notices a failure that
repeats or a refusal the customer disputes (``actions.escalation``). The backend clients note
their calls (``note_call``) while an action is ``recording()``; outside that, nothing is kept.

An entry: ``{"action", "at", "outcome", "order_id", "detail", "calls": [{"call", "outcome",
"ms"}]}``. Outcomes: ``ok``, ``not_found``, ``refused`` (the shop or the return policy said no),
``too_many_attempts``, ``unavailable`` (the backend did not answer usably), ``failed``.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

ACTION_LOG = "action_log"
MAX_ENTRIES = 12
MAX_CALLS = 8
DETAIL_CHARS = 80
RECENT_SECONDS = 15 * 60
FAILURES = ("unavailable", "failed")
_calls: ContextVar[Optional[list[dict[str, Any]]]] = ContextVar("xs_action_calls", default=None)


def note_call(method: str, path: str, outcome: str, started: float) -> None:
    """Called by the backend clients after each call (retries included)."""
    calls = _calls.get()
    if calls is not None and len(calls) < MAX_CALLS:
        calls.append({"call": f"{method} {path.split('?')[0][:120]}", "outcome": outcome,
                      "ms": round((time.monotonic() - started) * 1000)})


@contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """The calls made inside the block, as ``note_call`` saw them."""
    calls: list[dict[str, Any]] = []
    token = _calls.set(calls)
    try:
        yield calls
    finally:
        _calls.reset(token)


def entry(action: str, outcome: str, calls: list[dict[str, Any]], order_id: Optional[str],
          detail: str = "") -> dict[str, Any]:
    return {"action": action, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "outcome": outcome, "order_id": order_id, "detail": detail[:DETAIL_CHARS],
            "calls": calls}


def log_of(tracker: Tracker) -> list[dict[str, Any]]:
    """The log so far; anything malformed in the slot is ignored."""
    value = tracker.get_slot(ACTION_LOG)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and isinstance(item.get("action"), str)]


def appended(tracker: Tracker, new: dict[str, Any]) -> dict[str, Any]:
    """The SlotSet event that adds ``new`` to the log (the oldest entries make room)."""
    return SlotSet(ACTION_LOG, [*log_of(tracker), new][-MAX_ENTRIES:])


def last_entry(tracker: Tracker) -> Optional[dict[str, Any]]:
    log = log_of(tracker)
    return log[-1] if log else None


def failed(item: Optional[dict[str, Any]]) -> bool:
    return item is not None and item.get("outcome") in FAILURES


def recent(item: Optional[dict[str, Any]], seconds: float = RECENT_SECONDS) -> bool:
    """The entry was made within ``seconds`` (what happened yesterday is not "just now")."""
    try:
        at = datetime.fromisoformat(str((item or {}).get("at")))
    except ValueError:
        return False
    if at.tzinfo is None:  # entries are written in UTC; a zone-less one would not compare
        at = at.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - at).total_seconds() <= seconds

