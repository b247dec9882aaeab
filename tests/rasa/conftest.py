"""Fixtures for action tests: a real demo shop process and trackers built like Rasa builds them."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import pytest
from rasa_sdk import Tracker

from tests.support import SERVICE_PYTHON, free_port, http_ok, running, wait_until


@pytest.fixture(scope="session")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo shop API (it runs in the service environment), on a private port and database."""
    tmp = tmp_path_factory.mktemp("shop")
    port = free_port()
    command = [str(SERVICE_PYTHON), "-m", "demo_shop", "--port", str(port)]
    with running(command, tmp / "shop.log", {"SHOP_DB_PATH": str(tmp / "shop.sqlite3")}) as process:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 60, "demo shop", process,
                   tmp / "shop.log")
        yield f"http://127.0.0.1:{port}/api/v1"


def make_tracker(text: str, customer_id: Optional[str] = "C0001", intent: str = "query_order",
                 entities: Optional[list[dict[str, Any]]] = None,
                 slots: Optional[dict[str, Any]] = None,
                 metadata: Optional[dict[str, Any]] = None, message_id: str = "m1") -> Tracker:
    """A tracker as Rasa sends it; ``metadata`` replaces the app's signed customer id."""
    if metadata is None:
        metadata = {"channel": "app", "customer_id": customer_id} if customer_id else {}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
              "entities": entities or [], "metadata": metadata, "message_id": message_id}
    return Tracker("app:test", {"order_id": None, **(slots or {})}, latest, [], False, None, {},
                   "action_listen")


def split_log(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Optional[list[dict]]]:
    """The events without the action log's SlotSet, and the log it sets (None if untouched)."""
    logs = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "action_log"]
    rest = [e for e in events if not (e.get("event") == "slot" and e.get("name") == "action_log")]
    return rest, (logs[-1] if logs else None)
