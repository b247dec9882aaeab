"""The scripted customers of `make eval` (tests/scripted): enough of them, every flow, and only
expectations the evaluation can check. Running them needs the live stack: that is `make eval`."""
from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone

import pytest

from bench.conversations import Outcome, Script, _fits, _judge, load_scripts

FLOWS = {"order_status", "logistics", "urge", "address", "cancel", "return", "exchange", "refund",
         "quality", "complaint", "human", "fallback", "faq", "out_of_scope", "chitchat"}
REASONS = {"customer_request", "not_understood", "complaint", "policy_dispute", "action_failure",
           "bot_unavailable", "shop_rule"}
PLACEHOLDERS = {"order", "order_fullwidth", "other_order", "missing_order"}
SCRIPTS = load_scripts()


def test_at_least_forty_conversations_cover_every_flow():
    assert len(SCRIPTS) >= 40
    assert {script.flow for script in SCRIPTS} >= FLOWS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_each_script_can_be_run_and_judged(script):
    assert script.expect["ends"] in ("settled", "human")
    assert script.expect.get("reason") in REASONS | {None}
    assert script.expect.get("group") in {"logistics", "returns", "quality", "general", None}
    used = {name for turn in script.turns for _, name, _, _ in string.Formatter().parse(turn) if name}
    assert used <= PLACEHOLDERS
    if used - {"missing_order"}:
        assert "status" in script.customer  # an order placeholder needs a customer with orders


def order(days_signed: float | None, total_yuan: int, categories: list[str]) -> dict:
    signed = (datetime.now(timezone.utc) - timedelta(days=days_signed)).isoformat() \
        if days_signed is not None else None
    return {"signed_at": signed, "total_fen": total_yuan * 100,
            "items": [{"category": c} for c in categories]}


@pytest.mark.parametrize("wanted, fits", [
    ({"signed_days_over": 9}, False), ({"signed_days_under": 5}, True),
    ({"total_over_yuan": 2000}, False), ({"total_under_yuan": 2000}, True),
    ({"plain_goods": True}, False), ({"sized": True}, True),
])
def test_customers_are_picked_by_what_the_script_needs(wanted, fits):
    assert _fits(order(3, 399, ["apparel", "fresh"]), wanted) is fits


def test_an_ending_is_judged_on_group_reason_and_last_reply():
    script = Script("x", "return", {}, ("订单{order}要退货",),
                    {"ends": "human", "group": "returns", "reason": "policy_dispute",
                     "last_reply": "转接.*{order}"})
    outcome = Outcome(script, "C1", ends="human", group="returns", reason="complaint",
                      values={"order": "2611201234567890"},
                      replies=["已为您转接人工客服，订单 2611201234567890"])
    _judge(outcome)
    assert outcome.problems == ["reason complaint, expected policy_dispute"]
