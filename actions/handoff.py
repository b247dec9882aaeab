"""Asking for a human: the customer's request, a complaint in strong words, or the last stage of
the two-stage fallback. What goes to the service, and why, is ``actions.escalation``'s;
``actions.packet`` assembles it.

Right after the bot or the shop refused something, asking for a human is a policy dispute;
right after a backend failure, an action failure (``escalation.reason_after``).
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import escalation, order_lookup, packet
from actions.api.shop import ShopError
from actions.customer import who_is
from actions.tiers import customer_tier
from handoff.summary.sentiment import sentiment

log = logging.getLogger(__name__)


class ActionRequestHuman(Action):
    reason = "customer_request"
    text = "好的，正在为您转接人工客服，请稍候。"

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        reason, group = self.why(tracker)
        custom = await packet.handoff(order_lookup.shop, tracker, reason, group=group)
        dispatcher.utter_message(text=self.text, json_message=custom)
        return self.events()

    def why(self, tracker: Tracker) -> tuple[str, Optional[str]]:
        return escalation.reason_after(tracker, self.reason)

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
        rule = escalation.matching_rule("complain", text)
        if rule is not None:
            custom = await packet.handoff(order_lookup.shop, tracker, "shop_rule",
                                          group=rule.skill_group, extra={"rule": rule.name})
            dispatcher.utter_message(text=self.APOLOGY + " " + rule.say, json_message=custom)
            return []
        tier = await _tier(tracker)
        if sentiment(text) <= self.THRESHOLD[tier]:
            reason, group = escalation.reason_after(tracker, "complaint")
            custom = await packet.handoff(order_lookup.shop, tracker, reason, group=group,
                                          tier=tier)
            dispatcher.utter_message(text=self.APOLOGY + " 已为您优先转接人工客服。",
                                     json_message=custom)
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

    def why(self, tracker: Tracker) -> tuple[str, Optional[str]]:
        return self.reason, None  # not understood, whatever came before

    def events(self) -> list[dict[str, Any]]:
        return [UserUtteranceReverted()]  # as Rasa's own fallback: forget what was not understood




async def _tier(tracker: Tracker) -> str:
    try:
        who = await who_is(tracker, order_lookup.shop)
    except ShopError as error:
        log.warning("tier unknown: %s", error)
        return "regular"
    return await customer_tier(order_lookup.shop, who.customer_id)
