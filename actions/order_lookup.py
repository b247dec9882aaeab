"""Actions about one of the customer's own orders: finding the order, then answering about it.

One shop client per action-server process; the customer is always the one the service named
(``actions.customer``). Every failure becomes a Chinese sentence, logged with its reason, and
where the customer still needs help the reply offers a human. No action raises out of ``run``.
"""
from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import action_log, escalation, packet, settings
from actions.api.shop import NotFound, Order, Refused, ShopClient, ShopError, TooManyAttempts
from actions.customer import verified_customer, who_is
from actions.formatting import order_button_title
from bot.patterns import find_order_id, is_order_id

log = logging.getLogger(__name__)
shop = ShopClient(settings.load())

NOT_LOGGED_IN = "请先登录账号，我才能帮您查询订单哦。"
ASK_ORDER_ID = "请把订单号（16 位数字）发给我，我帮您查询。"
ASK_LAST4 = "为了保护您的隐私，请回复这笔订单收货手机号的后四位，验证后我马上帮您处理。"
SHOP_DOWN = "抱歉，订单系统暂时繁忙，请稍后再试一次 🙏"
BROKEN = "抱歉，系统刚刚出了点问题，没能处理您的请求 🙏"
NO_ORDERS = "您的账户下暂时没有订单哦。如果是用其他账号下的单，请登录那个账号后再问我。"
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
REPEATED = {"action_failure": "抱歉，系统还是没有响应，已为您转接人工客服，请稍候 🙏",
            "policy_dispute": "明白您对这个结果有异议，已为您转接人工客服复核，请稍候。"}


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "ok"                       # for the action log: ok, refused, not_found …
    custom: Optional[dict[str, Any]] = None   # a handoff (actions.escalation.handoff_custom)

    def send(self, dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=self.text, buttons=self.buttons, json_message=self.custom)
        return self.events


@dataclass(frozen=True)
class OrderContext:
    """What an action knows when it answers: the order belongs to ``customer_id``."""
    tracker: Tracker
    order: Order
    customer_id: str

    @property
    def text(self) -> str:
        return (self.tracker.latest_message or {}).get("text") or ""


async def settle(name: str, tracker: Tracker, work: Callable[[], Awaitable[Reply]],
                 order_id: Optional[str] = None) -> Reply:
    """``work``'s reply, or the Chinese sentence for whatever went wrong (logged with why); the
    backend calls it made go to the action log. The same failure or refusal twice in a row
    hands the conversation over (``escalation.repeated``)."""
    with action_log.recording() as calls:
        reply = await _attempt(name, work, order_id)
    if not calls and reply.outcome == "ok":
        return reply  # nothing was asked of the backend: nothing to log
    detail = reply.text.splitlines()[0] if reply.text else ""
    new = action_log.entry(name, reply.outcome, calls, order_id, detail)
    repeated = escalation.repeated(new, action_log.last_entry(tracker))
    if repeated is not None:  # the same failure or refusal again: a human takes it from here
        custom = await packet.handoff(shop, tracker, repeated,
                                      group=escalation.GROUP_OF_ACTION.get(name), order_id=order_id,
                                      fetch=repeated != "action_failure", also=[new])
        reply = Reply(REPEATED[repeated], events=reply.events, outcome=reply.outcome, custom=custom)
    reply.events.append(action_log.appended(tracker, new))
    return reply


async def _attempt(name: str, work: Callable[[], Awaitable[Reply]],
                   order_id: Optional[str]) -> Reply:
    try:
        return await work()
    except NotFound:
        if not order_id:  # no order named: the shop does not know the customer, so no orders
            return Reply(NO_ORDERS, outcome="not_found")
        return Reply(not_found_text(order_id), events=[SlotSet("order_id", None)],
                     outcome="not_found")
    except Refused as refusal:
        log.info("%s refused by the shop: %s", name, refusal.code)
        return Reply(f"抱歉，{refusal.message}。如需帮助可以转人工。", [HUMAN_BUTTON],
                     outcome="refused")
    except TooManyAttempts:
        log.warning("%s: too many attempts for order %s", name, order_id)
        return Reply("尝试次数过多，请一小时后再试，或转人工处理。", [HUMAN_BUTTON],
                     outcome="too_many_attempts")
    except ShopError as error:
        log.warning("%s failed: %s: %s", name, type(error).__name__, error)
        return Reply(getattr(error, "customer_text", None) or SHOP_DOWN, [HUMAN_BUTTON],
                     outcome=error.outcome)
    except Exception:  # a malformed answer or a bug must not leave the customer without a reply
        log.exception("%s broke", name)
        return Reply(BROKEN, [HUMAN_BUTTON], outcome="failed")


class CustomerOrderAction(Action, ABC):
    """Template: find the customer's order (or offer their orders), then ``answer`` about it.

    Abstract, so rasa_sdk does not register it as an action of its own."""

    offer_intent = "query_order"
    offer_prompt = "请问您要查询哪一笔订单？这是您最近的订单："
    offer_status: Optional[str] = None  # only offer orders in this status

    @abstractmethod
    async def answer(self, context: OrderContext) -> Reply:
        """The reply about this order (it belongs to this customer)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        order_id = requested_order_id(tracker)
        reply = await settle(self.name(), tracker, lambda: self._reply(tracker, order_id), order_id)
        if tracker.get_slot("awaiting") and not any(e.get("name") == "awaiting" for e in reply.events):
            reply.events.insert(0, SlotSet("awaiting", None))  # whatever we waited for is moot
        return reply.send(dispatcher)

    async def _reply(self, tracker: Tracker, order_id: Optional[str]) -> Reply:
        who = await who_is(tracker, shop)
        if order_id is None:
            # A number typed next (not clicked) is for this action: see action_handle_inform.
            waiting = [SlotSet("awaiting", f"order:{self.name()}")]
            if who.customer_id is None:
                return Reply(ASK_ORDER_ID, events=waiting) if who.has_account else Reply(NOT_LOGGED_IN)
            orders = await shop.recent_orders(who.customer_id, 5, status=self.offer_status)
            reply = offer_orders(orders, self.offer_intent, self.offer_prompt)
            reply.events += waiting if orders else []
            return reply
        if not is_order_id(order_id):
            return Reply(f"“{order_id[:40]}”不像是订单号哦，本店订单号是 16 位数字，请核对后再发给我。",
                         events=[SlotSet("order_id", None)])
        customer_id = who.customer_id or verified_customer(tracker, order_id)
        if customer_id is None:
            if not who.has_account:
                return Reply(NOT_LOGGED_IN)
            return Reply(ASK_LAST4, events=[SlotSet("order_id", order_id),
                                            SlotSet("awaiting", f"verify:{order_id}:{self.name()}")])
        order = await shop.customer_order(customer_id, order_id)
        if self._stale(tracker, order) and who.customer_id is not None:
            # "还不发货" about the order discussed earlier, which has shipped since: the customer
            # most likely means another order, so offer the ones this action is for.
            orders = await shop.recent_orders(who.customer_id, 5, status=self.offer_status)
            if orders:
                reply = offer_orders(orders, self.offer_intent, self.offer_prompt)
                reply.events.append(SlotSet("awaiting", f"order:{self.name()}"))
                return reply
        context = OrderContext(tracker, order, customer_id)
        rule = escalation.matching_rule(self.offer_intent, context.text, order)
        reply = await (self._hand_over(rule, context) if rule else self.answer(context))
        reply.events.insert(0, SlotSet("order_id", order.id))
        return reply

    async def _hand_over(self, rule: escalation.Rule, context: OrderContext) -> Reply:
        """The shop wants a human to settle this (an ``escalation_rules`` entry)."""
        log.info("%s: shop rule %r hands order %s over", self.name(), rule.name, context.order.id)
        return Reply(rule.say, custom=await packet.handoff(
            shop, context.tracker, "shop_rule", group=rule.skill_group, order=context.order,
            customer_id=context.customer_id, extra={"rule": rule.name}))

    def _stale(self, tracker: Tracker, order: Order) -> bool:
        """The order was only remembered (not named now) and is not in the state this action
        is about."""
        named_now = next(tracker.get_latest_entity_values("order_id"), None) or find_order_id(
            (tracker.latest_message or {}).get("text") or "")
        return not named_now and self.offer_status is not None and order.status != self.offer_status


def requested_order_id(tracker: Tracker) -> Optional[str]:
    """This message's order id (entity, else found in the text), else the one already discussed."""
    entity = next(tracker.get_latest_entity_values("order_id"), None)
    text = (tracker.latest_message or {}).get("text") or ""
    return entity or find_order_id(text) or tracker.get_slot("order_id")


def not_found_text(order_id: str) -> str:
    return (f"没有在您的账户下找到订单 {order_id[:40]}，请核对订单号；"
            "也可以说“我的订单”，我把您最近的订单列出来。")


def offer_orders(orders: list[Order], intent: str, prompt: str) -> Reply:
    """The customer's orders as buttons that repeat ``intent`` for the chosen one."""
    if not orders:
        return Reply(NO_ORDERS)
    buttons = [{"title": order_button_title(order),
                "payload": f"/{intent}" + json.dumps({"order_id": order.id})} for order in orders]
    return Reply(prompt, buttons)
