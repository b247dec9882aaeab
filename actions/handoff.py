"""Asking for a human: the bot decides why and to which skill group, the service does the rest.

The action tells the service through a ``custom`` message ``{"handoff": {"reason", "skill_group",
"tier"}}`` that travels with the replies; the service's router queues the conversation for that
group (``handoff/``) and tells the customer their place. Reasons: ``customer_request``,
``not_understood`` (two misunderstandings in a row), ``complaint`` (a complaint in strong words,
by the sentiment score of ``handoff.summary.sentiment``, with a lower bar for VIPs).

The tier comes from the customer's orders (recency, frequency, monetary value) as the shop
reports them: ``vip`` customers wait least, ``potential`` ones next.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.api.shop import Order, ShopError
from actions.customer import who_is
from handoff.summary.sentiment import sentiment

log = logging.getLogger(__name__)

GROUP_OF_INTENT = {
    "query_logistics": "logistics", "urge_shipment": "logistics", "change_address": "logistics",
    "query_order": "logistics",
    "request_return": "returns", "request_exchange": "returns", "query_refund": "returns",
    "cancel_order": "returns",
    "report_quality_issue": "quality",
}
VIP_SPEND_FEN = 300_000          # ¥3000 in the last 180 days …
VIP_ORDERS = 4                   # … over at least this many orders
POTENTIAL_RECENT_DAYS = 30


def skill_group(tracker: Tracker) -> str:
    """The group of the latest business intent of this conversation (general when none)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in GROUP_OF_INTENT:
                return GROUP_OF_INTENT[intent]
    return "general"


def tier_of(membership: str, orders: list[Order], now: datetime) -> str:
    recent = [o for o in orders if now - o.created_at <= timedelta(days=180)
              and o.status not in ("cancelled", "pending_payment")]
    spend = sum(o.total_fen for o in recent)
    if membership == "vip" or (spend >= VIP_SPEND_FEN and len(recent) >= VIP_ORDERS):
        return "vip"
    if recent and now - max(o.created_at for o in recent) <= timedelta(days=POTENTIAL_RECENT_DAYS):
        return "potential" if len(recent) >= 2 else "regular"
    return "regular"


async def customer_tier(tracker: Tracker) -> str:
    try:
        who = await who_is(tracker, order_lookup.shop)
        if who.customer_id is None:
            return "regular"
        customer = await order_lookup.shop.customer(who.customer_id)
        orders = await order_lookup.shop.recent_orders(who.customer_id, 50)
        return tier_of(customer.membership, orders, datetime.now(timezone.utc))
    except (ShopError, KeyError, TypeError, ValueError) as error:
        log.warning("tier unknown: %s", error)
        return "regular"


def handoff_message(reason: str, group: str, tier: str, text: str) -> dict[str, Any]:
    return {"text": text, "custom": {"handoff": {"reason": reason, "skill_group": group,
                                                 "tier": tier}}}


class ActionRequestHuman(Action):
    reason = "customer_request"
    text = "好的，正在为您转接人工客服，请稍候。"

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        tier = await customer_tier(tracker)
        message = handoff_message(self.reason, skill_group(tracker), tier, self.text)
        dispatcher.utter_message(text=message["text"], custom=message["custom"])
        return self.events()

    def events(self) -> list[dict[str, Any]]:
        return []


class ActionComplain(Action):
    """A complaint: apologise; hand over at once when the customer is very upset (sooner for
    VIPs), otherwise offer a human."""

    APOLOGY = "非常抱歉让您有不愉快的经历，您的反馈我们一定认真对待 🙏"
    THRESHOLD = {"vip": -0.3, "potential": -0.5, "regular": -0.6}

    def name(self) -> str:
        return "action_complain"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        tier = await customer_tier(tracker)
        if sentiment(text) <= self.THRESHOLD[tier]:
            message = handoff_message("complaint", skill_group(tracker), tier,
                                      self.APOLOGY + " 已为您优先转接人工客服。")
            dispatcher.utter_message(text=message["text"], custom=message["custom"])
            return []
        dispatcher.utter_message(text=self.APOLOGY + " 能具体说说遇到了什么问题吗？如果方便，请附上订单号；"
                                 "也可以直接转人工。",
                                 buttons=[{"title": "转人工", "payload": "/request_human"}])
        return []


class ActionHandOffNotUnderstood(ActionRequestHuman):
    """The last stage of the two-stage fallback: after two misunderstandings a human takes over
    (instead of Rasa's default, which only says it did not understand)."""

    reason = "not_understood"
    text = "抱歉，我没能理解您的问题，已为您转接人工客服，请稍候。"

    def name(self) -> str:
        return "action_default_fallback"

    def events(self) -> list[dict[str, Any]]:
        return [UserUtteranceReverted()]  # as Rasa's own fallback: forget what was not understood


