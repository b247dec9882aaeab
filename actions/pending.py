"""Writes that wait for the customer's "确认": what was proposed, and the key that makes it once.

An action that proposes a write (cancel, new address, return, exchange) stores it in the
``pending_write`` slot, which only actions set; ``action_confirm_pending`` carries it out when
the customer affirms. The idempotency key comes from the conversation, the confirming message
and the operation, so Rasa re-running the action (or the client retrying) cannot write twice.
"""
from __future__ import annotations

import hashlib
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.order_lookup import Reply

PENDING = "pending_write"
CONFIRM_BUTTONS = [{"title": "确认", "payload": "/affirm"}, {"title": "先不要", "payload": "/deny"}]


def propose(text: str, op: str, order_id: str, customer_id: str, **details: Any) -> Reply:
    write = {"op": op, "order_id": order_id, "customer_id": customer_id, **details}
    return Reply(f"{text}\n确认请回复“确认”，不需要请回复“不用了”。", list(CONFIRM_BUTTONS),
                 [SlotSet(PENDING, write)])


def idempotency_key(tracker: Tracker, op: str, order_id: str) -> str:
    """One key per write the customer confirmed. Built on the channel's id of the confirming
    message (the service sends it in the metadata): a retry through another Rasa replica, after
    the first died mid-message, keeps it, so the shop applies the write once. Rasa's own
    message id, the fallback, is new on every try."""
    latest = tracker.latest_message or {}
    metadata = latest.get("metadata") if isinstance(latest.get("metadata"), dict) else {}
    message_id = str(metadata.get("message_id") or latest.get("message_id") or "")
    raw = f"{tracker.sender_id}\n{message_id}\n{op}\n{order_id}"
    return "xs-" + hashlib.sha256(raw.encode()).hexdigest()[:40]
