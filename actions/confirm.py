"""The customer's "确认" / "不用了" after a proposed write, and information they were asked for.

``action_confirm_pending`` carries out the write stored in ``pending_write`` (see
``actions.pending``), after checking that the conversation's customer is still the one it was
proposed to. ``action_handle_inform`` routes a bare piece of information (an order number, the
last four phone digits, an address, a size) to whatever the bot was waiting for (the ``awaiting``
slot: ``order:<action>``, ``verify:<order>:<action>``, ``address:<order>``, ``size:<order>``).
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.address import ActionChangeAddress, write_address
from actions.api.shop import NotFound
from actions.cancel import ActionCancelOrder, write_cancel
from actions.customer import verified_customer, who_is
from actions.exchange import ActionRequestExchange, write_exchange
from actions.logistics import ActionLogistics
from actions.order_lookup import Reply, not_found_text, settle
from actions.order_status import ActionOrderStatus
from actions.pending import PENDING, idempotency_key
from actions.quality import ActionReportQualityIssue
from actions.refunds import ActionRefundStatus
from actions.returns import ActionReturnEligibility, open_return
from actions.urge import ActionUrgeShipment
from bot.patterns import find_order_id

WRITES: dict[str, Callable[[dict[str, Any], str], Awaitable[Reply]]] = {
    "return": open_return, "exchange": write_exchange, "address": write_address,
    "cancel": write_cancel,
}
RESUMABLE = {action.name(): action for action in (
    ActionOrderStatus(), ActionLogistics(), ActionUrgeShipment(), ActionChangeAddress(),
    ActionCancelOrder(), ActionReturnEligibility(), ActionRequestExchange(),
    ActionRefundStatus(), ActionReportQualityIssue())}
_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")
MAX_WRONG_DIGITS = 3


class ActionConfirmPending(Action):
    def name(self) -> str:
        return "action_confirm_pending"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        write = tracker.get_slot(PENDING)
        if not isinstance(write, dict) or write.get("op") not in WRITES:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        reply = await settle(self.name(), tracker, lambda: _carry_out(tracker, write),
                             write.get("order_id"))
        return [SlotSet(PENDING, None), *reply.send(dispatcher)]


async def _carry_out(tracker: Tracker, write: dict[str, Any]) -> Reply:
    who = await who_is(tracker, order_lookup.shop)
    owner = who.customer_id or verified_customer(tracker, write["order_id"])
    if owner != write.get("customer_id"):  # the conversation changed hands: do nothing
        return Reply(not_found_text(write["order_id"]))
    key = idempotency_key(tracker, write["op"], write["order_id"])
    return await WRITES[write["op"]](write, key)


class ActionDenyPending(Action):
    def name(self) -> str:
        return "action_deny_pending"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if tracker.get_slot(PENDING):
            dispatcher.utter_message(text="好的，已取消这次操作，订单保持不变。还有其他可以帮您的吗？")
            return [SlotSet(PENDING, None)]
        dispatcher.utter_message(response="utter_deny")
        return []


class ActionHandleInform(Action):
    def name(self) -> str:
        return "action_handle_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        awaiting = tracker.get_slot("awaiting") or ""
        kind, _, rest = awaiting.partition(":")
        if kind == "verify":
            order_id, _, action = rest.partition(":")
            return await self._verify(dispatcher, tracker, domain, order_id, action)
        if kind == "order" and rest in RESUMABLE and _has_order_id(tracker):
            return await RESUMABLE[rest].run(dispatcher, tracker, domain)
        if kind == "address":
            return await ActionChangeAddress().run(dispatcher, tracker, domain)
        if kind == "size":
            return await ActionRequestExchange().run(dispatcher, tracker, domain)
        if _has_order_id(tracker):
            return await ActionOrderStatus().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_inform")
        return []

    async def _verify(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any], order_id: str, action: str) -> list[dict[str, Any]]:
        """The last four digits of the order's phone, for a channel account not bound yet."""
        match = _LAST4.search((tracker.latest_message or {}).get("text") or "")
        if match is None:
            dispatcher.utter_message(text="请回复订单收货手机号的后四位数字，例如“5678”。")
            return []
        wrong = int(tracker.get_slot("wrong_digits") or 0)
        if wrong >= MAX_WRONG_DIGITS:
            dispatcher.utter_message(text="验证失败次数过多，为保护账户安全，请转人工核实身份。",
                                     buttons=[order_lookup.HUMAN_BUTTON])
            return [SlotSet("awaiting", None)]

        async def check() -> Reply:
            try:
                customer_id = await order_lookup.shop.phone_check(order_id, match.group(1))
            except NotFound:  # answered exactly like an unknown order
                return Reply(not_found_text(order_id), events=[
                    SlotSet("awaiting", None), SlotSet("order_id", None),
                    SlotSet("wrong_digits", wrong + 1)])
            verified = {**(tracker.get_slot("verified_orders") or {}), order_id: customer_id}
            return Reply("", events=[SlotSet("verified_orders", verified), SlotSet("awaiting", None)])

        reply = await settle(self.name(), tracker, check, order_id)
        if reply.text or action not in RESUMABLE:
            return reply.send(dispatcher)
        # Verified: answer the question the customer asked before we needed the digits.
        tracker.slots.update({"verified_orders": reply.events[0]["value"], "awaiting": None,
                              "order_id": order_id})
        return [*reply.events, *await RESUMABLE[action].run(dispatcher, tracker, domain)]


def _has_order_id(tracker: Tracker) -> bool:
    text = (tracker.latest_message or {}).get("text") or ""
    return bool(next(tracker.get_latest_entity_values("order_id"), None) or find_order_id(text))
