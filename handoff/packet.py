"""What the agent's order panel shows: the bot's facts of a handoff, checked and masked.

The bot sends the order as the shop has it (receiver phone and address in full, so the summary
can mask them wherever the customer typed them too); only this masked copy is stored and shown.
Whatever is malformed is left out: a packet never stops a handoff.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from bot.masking import mask_address, mask_name, mask_phone
from handoff.summary.masking import mask_text
from handoff.summary.summarise import ACTION_NAMES

MAX_TEXT = 200
MAX_ITEMS = 20
MAX_EVENTS = 3
MAX_LOG = 12
MAX_CALLS = 8
OUTCOMES = {"ok": "成功", "not_found": "未找到", "refused": "被拒绝",
            "too_many_attempts": "尝试次数过多", "unavailable": "系统无响应", "failed": "出错"}
FAILURES = ("unavailable", "failed")  # the backend did not answer usably (actions.action_log)


def masked_packet(facts: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"order", "logistics", "action_log", "rule"}`` for the console, masked."""
    facts = facts if isinstance(facts, Mapping) else {}
    order = facts.get("order")
    logistics = facts.get("logistics")
    log = facts.get("action_log")
    return {"order": _order(order) if isinstance(order, Mapping) else None,
            "logistics": _logistics(logistics) if isinstance(logistics, Mapping) else None,
            "action_log": _log_entries(log),
            "rule": _text(facts.get("rule")) or None}


def summary_actions(log: Any) -> list[dict[str, Any]]:
    """The action log as the summary's "机器人已做的事和结果" reads it (``BotAction``s)."""
    return [{"action": e["action"], "ok": e["outcome"] not in FAILURES,
             "result": "；".join(filter(None, [e["outcome_label"], e["detail"]]))}
            for e in _log_entries(log)]


def _log_entries(log: Any) -> list[dict[str, Any]]:
    """The latest entries, checked and masked; malformed ones are left out."""
    if not isinstance(log, list):
        return []
    return [_entry(e) for e in log[-MAX_LOG:] if isinstance(e, Mapping) and _text(e.get("action"))]


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _order(order: Mapping[str, Any]) -> dict[str, Any]:
    items = order.get("items") if isinstance(order.get("items"), list) else []
    phone, name, address = (_text(order.get(k)) for k in ("receiver_phone", "receiver_name", "address"))
    return {"id": _text(order.get("id"), 32), "status": _text(order.get("status"), 32),
            "status_label": _text(order.get("status_label"), 32),
            "items": [{"name": _text(i.get("name"), 60),
                       "quantity": i.get("quantity") if isinstance(i.get("quantity"), int) else None}
                      for i in items[:MAX_ITEMS] if isinstance(i, Mapping)],
            "total_display": _text(order.get("total_display"), 32),
            "created_at": _text(order.get("created_at"), 40) or None,
            "signed_at": _text(order.get("signed_at"), 40) or None,
            "receiver": " ".join(filter(None, [mask_name(name) if name else "",
                                               mask_phone(phone) if phone else ""])),
            "address": mask_address(address) if address else ""}


def _logistics(shipment: Mapping[str, Any]) -> dict[str, Any]:
    events = shipment.get("events") if isinstance(shipment.get("events"), list) else []
    return {"courier": _text(shipment.get("courier"), 40),
            "tracking_number": _text(shipment.get("tracking_number"), 40),
            "status": _text(shipment.get("status"), 32),
            "estimated_delivery_at": _text(shipment.get("estimated_delivery_at"), 40) or None,
            "events": [{"time": _text(e.get("time"), 40), "location": _text(e.get("location"), 60),
                        "description": mask_text(_text(e.get("description")))}
                       for e in events[:MAX_EVENTS] if isinstance(e, Mapping)]}


def _entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    action = _text(entry.get("action"), 64)
    outcome = _text(entry.get("outcome"), 32)
    calls = entry.get("calls") if isinstance(entry.get("calls"), list) else []
    return {"action": action, "label": ACTION_NAMES.get(action, action),
            "at": _text(entry.get("at"), 40), "outcome": outcome,
            "outcome_label": OUTCOMES.get(outcome, outcome),
            "order_id": _text(entry.get("order_id"), 32) or None,
            "detail": mask_text(_text(entry.get("detail"))),
            "calls": [{"call": _text(c.get("call"), 160), "outcome": _text(c.get("outcome"), 32),
                       "ms": c.get("ms") if isinstance(c.get("ms"), int) else None}
                      for c in calls[:MAX_CALLS] if isinstance(c, Mapping)]}
