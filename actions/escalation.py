"""When and how the bot hands a conversation to a human: the reason, the skill group, the
shop's own rules, and the packet the agent gets.

The actions tell the service through a ``custom`` message ``{"handoff": {"reason",
"skill_group", "tier", "facts"}}`` that travels with the replies; the service queues the
conversation (``handoff.desk``). ``facts`` is what the bot knows for sure: the order and
logistics snapshot, the bot's action log (``actions.action_log``), the order ids. It may hold the
receiver's phone and address: the service uses them to mask the summary and stores only a
masked copy.

Reasons: ``customer_request``; ``not_understood`` (two misunderstandings in a row);
``complaint`` (strong negative emotion); ``policy_dispute`` (the customer pushes back after the
policy or the shop refused); ``action_failure`` (the backend failed twice in a row, or the
customer asks for a human right after a failure); ``shop_rule`` (an ``escalation_rules`` entry
of shop_policy.yml, e.g. returns of orders over an amount).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml
from rasa_sdk import Tracker

from actions import action_log
from actions.api.shop import Order, Shipment
from actions.policy import POLICY_PATH, PolicyError
from bot.normalization import normalize

log = logging.getLogger(__name__)

SKILL_GROUPS = ("logistics", "returns", "quality", "general")
GROUP_OF_INTENT = {
    "query_logistics": "logistics", "urge_shipment": "logistics", "change_address": "logistics",
    "query_order": "logistics",
    "request_return": "returns", "request_exchange": "returns", "query_refund": "returns",
    "cancel_order": "returns",
    "report_quality_issue": "quality",
}
GROUP_OF_ACTION = {
    "action_order_status": "logistics", "action_logistics": "logistics",
    "action_urge_shipment": "logistics", "action_change_address": "logistics",
    "action_return_eligibility": "returns", "action_request_exchange": "returns",
    "action_refund_status": "returns", "action_cancel_order": "returns",
    "action_report_quality_issue": "quality",
}
EVENTS_IN_PACKET = 3
_RULE_KEYS = {"name", "say", "skill_group", "intents", "order_total_over_yuan", "keywords"}


def skill_group(tracker: Tracker) -> str:
    """The group of the latest business intent of this conversation (general when none)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in GROUP_OF_INTENT:
                return GROUP_OF_INTENT[intent]
    return "general"


def reason_after(tracker: Tracker, default: str) -> tuple[str, Optional[str]]:
    """Why the customer wants a human now, and the group that should take it (None: by the
    intents): right after a refusal it is a policy dispute, right after a failure an action
    failure."""
    last = action_log.last_entry(tracker)
    if last is None or not action_log.recent(last):
        return default, None
    if last.get("outcome") == "refused":
        return "policy_dispute", GROUP_OF_ACTION.get(last["action"])
    if action_log.failed(last):
        return "action_failure", GROUP_OF_ACTION.get(last["action"])
    return default, None


def repeated(new: dict[str, Any], previous: Optional[dict[str, Any]]) -> Optional[str]:
    """The reason to hand over when this turn's action log entry repeats the previous one's
    failure (``action_failure``), or the same refusal of the same order (``policy_dispute``:
    the customer insists)."""
    if previous is None or not action_log.recent(previous):
        return None
    if action_log.failed(new) and action_log.failed(previous):
        return "action_failure"
    same = (new["action"], new.get("order_id")) == (previous["action"], previous.get("order_id"))
    if new["outcome"] == previous.get("outcome") == "refused" and same:
        return "policy_dispute"
    return None


def handoff_custom(reason: str, group: str, tier: str,
                   facts: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    return {"handoff": {"reason": reason, "skill_group": group, "tier": tier,
                        "facts": facts or {}}}


def facts(tracker: Tracker, order: Optional[Order] = None, shipment: Optional[Shipment] = None,
          also: tuple[dict[str, Any], ...] | list[dict[str, Any]] = ()) -> dict[str, Any]:
    """The handoff packet's facts: what the bot knows for sure, as JSON; ``also``: action log
    entries of this very turn, not in the tracker yet."""
    log = [*action_log.log_of(tracker), *also]
    order_ids = [item["order_id"] for item in log if isinstance(item.get("order_id"), str)]
    return {"order_ids": list(dict.fromkeys(order_ids)),
            "action_log": log,
            "order": order_snapshot(order) if order else None,
            "logistics": shipment_snapshot(shipment) if shipment else None}


def order_snapshot(order: Order) -> dict[str, Any]:
    return {"id": order.id, "status": order.status, "status_label": order.status_label,
            "items": [{"name": i.name, "sku": i.sku, "quantity": i.quantity} for i in order.items],
            "total_display": order.total_display, "created_at": order.created_at.isoformat(),
            "signed_at": order.signed_at.isoformat() if order.signed_at else None,
            "receiver_name": order.receiver_name, "receiver_phone": order.receiver_phone,
            "address": order.address}


def shipment_snapshot(shipment: Shipment) -> dict[str, Any]:
    eta = shipment.estimated_delivery_at
    return {"courier": shipment.courier_name, "tracking_number": shipment.tracking_number,
            "status": shipment.status, "estimated_delivery_at": eta.isoformat() if eta else None,
            "events": [{"time": e.time.isoformat(), "location": e.location,
                        "description": e.description}
                       for e in shipment.events[:EVENTS_IN_PACKET]]}


@dataclass(frozen=True)
class Rule:
    """An ``escalation_rules`` entry: when every condition it names holds, a human takes over."""
    name: str
    say: str
    skill_group: str = "general"
    intents: frozenset[str] = frozenset()
    order_total_over_fen: Optional[int] = None
    keywords: tuple[str, ...] = ()

    def matches(self, intent: str, text: str, order: Optional[Order]) -> bool:
        """``text`` normalised already (``bot.normalization.normalize``)."""
        if self.intents and intent not in self.intents:
            return False
        if self.order_total_over_fen is not None and (
                order is None or order.total_fen <= self.order_total_over_fen):
            return False
        return not self.keywords or any(word in text for word in self.keywords)


_parsed: dict[Path, tuple[tuple[int, int], list[Rule]]] = {}


def load_rules(path: Path = POLICY_PATH) -> list[Rule]:
    """The shop's escalation rules. Order actions ask on every message, so the file is parsed
    again only when it changed (shop staff may edit it at any time)."""
    try:
        stat = path.stat()
    except OSError as error:
        raise PolicyError(f"{path.name}: {error}") from error
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, _read_rules(path))
        _parsed[path] = cached
    return cached[1]


def _read_rules(path: Path) -> list[Rule]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise PolicyError(f"{path.name}: {error}") from error
    items = data.get("escalation_rules") or []
    if not isinstance(items, list):
        raise PolicyError(f"{path.name}: escalation_rules must be a list")
    return [_rule(item, n) for n, item in enumerate(items, 1)]


def _rule(item: Any, n: int) -> Rule:
    where = f"escalation_rules #{n}"
    if not isinstance(item, dict) or not isinstance(item.get("say"), str) or not item["say"].strip():
        raise PolicyError(f"{where}: needs `say`, what the customer is told")
    unknown = set(item) - _RULE_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if not set(item) & {"intents", "order_total_over_yuan", "keywords"}:
        raise PolicyError(f"{where}: names no condition, so it would hand over everything")
    group = item.get("skill_group", "general")
    if group not in SKILL_GROUPS:
        raise PolicyError(f"{where}: skill_group must be one of {', '.join(SKILL_GROUPS)}")
    total = item.get("order_total_over_yuan")
    if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float))
                              or total < 0):
        raise PolicyError(f"{where}: order_total_over_yuan must be a number of yuan")
    return Rule(name=str(item.get("name") or where), say=item["say"].strip(), skill_group=group,
                intents=frozenset(_words(item, "intents", where)),
                order_total_over_fen=round(total * 100) if total is not None else None,
                keywords=tuple(normalize(w) for w in _words(item, "keywords", where)))


def _words(item: dict[str, Any], key: str, where: str) -> list[str]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(w, (str, int)) and str(w) for w in value):
        raise PolicyError(f"{where}: {key} must be a list of words")
    return [str(w) for w in value]


def matching_rule(intent: str, text: str, order: Optional[Order] = None) -> Optional[Rule]:
    """The first rule that applies. A broken rules file is logged and ignored: the bot keeps
    answering (``make test`` loads the file, so a broken one does not ship)."""
    try:
        rules = load_rules()
    except PolicyError as error:
        log.error("escalation rules ignored: %s", error)
        return None
    normalized = normalize(text)
    return next((rule for rule in rules if rule.matches(intent, normalized, order)), None)
