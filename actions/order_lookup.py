"""Actions about one of the customer's own orders, and finding the order a customer means.

One shop client per action-server process; the customer is always the one the service named.
"""
from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import settings
from actions.api.shop import NotFound, Order, ShopClient, ShopError
from actions.customer import customer_id_of
from actions.formatting import order_button_title
from bot.patterns import find_order_id, is_order_id

log = logging.getLogger(__name__)
shop = ShopClient(settings.load())

NOT_LOGGED_IN = "请先登录账号，我才能帮您查询订单哦。"
SHOP_DOWN = "抱歉，订单系统暂时繁忙，请稍后再试一次 🙏"
NO_ORDERS = "您的账户下暂时没有订单哦。如果是用其他账号下的单，请登录那个账号后再问我。"


class CustomerOrderAction(Action, ABC):
    """Template: find the customer's order (or offer their orders), then ``answer`` about it.

    Abstract, so rasa_sdk does not register it as an action of its own."""

    offer_intent = "query_order"
    offer_prompt = "请问您要查询哪一笔订单？这是您最近的订单："
    offer_status: Optional[str] = None  # only offer orders in this status

    @abstractmethod
    async def answer(self, order: Order, customer_id: str) -> str:
        """The reply about this order (it belongs to this customer)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        customer_id = customer_id_of(tracker)
        if customer_id is None:
            dispatcher.utter_message(text=NOT_LOGGED_IN)
            return []
        order_id = requested_order_id(tracker)
        try:
            if order_id is None:
                orders = await shop.recent_orders(customer_id, 5, status=self.offer_status)
                offer_orders(dispatcher, orders, self.offer_intent, self.offer_prompt)
                return []
            if not is_order_id(order_id):
                dispatcher.utter_message(
                    text=f"“{order_id}”不像是订单号哦，本店订单号是 16 位数字，请核对后再发给我。")
                return [SlotSet("order_id", None)]
            order = await shop.customer_order(customer_id, order_id)
            text = await self.answer(order, customer_id)
        except NotFound:
            dispatcher.utter_message(text=not_found_text(order_id or ""))
            return [SlotSet("order_id", None)]
        except ShopError as error:
            log.warning("%s failed: %s", self.name(), error)
            dispatcher.utter_message(text=SHOP_DOWN)
            return []
        dispatcher.utter_message(text=text)
        return [SlotSet("order_id", order.id)]


def requested_order_id(tracker: Tracker) -> Optional[str]:
    """This message's order id (entity, else found in the text), else the one already discussed."""
    entity = next(tracker.get_latest_entity_values("order_id"), None)
    text = (tracker.latest_message or {}).get("text") or ""
    return entity or find_order_id(text) or tracker.get_slot("order_id")


def not_found_text(order_id: str) -> str:
    return (f"没有在您的账户下找到订单 {order_id}，请核对订单号；"
            "也可以说“我的订单”，我把您最近的订单列出来。")


def offer_orders(dispatcher: CollectingDispatcher, orders: list[Order], intent: str,
                 prompt: str) -> None:
    """The customer's orders as buttons that repeat ``intent`` for the chosen one."""
    if not orders:
        dispatcher.utter_message(text=NO_ORDERS)
        return
    buttons = [{"title": order_button_title(order),
                "payload": f"/{intent}" + json.dumps({"order_id": order.id})} for order in orders]
    dispatcher.utter_message(text=prompt, buttons=buttons)
