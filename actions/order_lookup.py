"""Finding the order a customer means, shared by the order actions.

One shop client per action-server process; the customer is always the one the service named.
"""
from __future__ import annotations

import json
from typing import Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import settings
from actions.api.shop import Order, ShopClient
from actions.formatting import order_button_title
from bot.patterns import find_order_id

shop = ShopClient(settings.load())

NOT_LOGGED_IN = "请先登录账号，我才能帮您查询订单哦。"
SHOP_DOWN = "抱歉，订单系统暂时繁忙，请稍后再试一次 🙏"
NO_ORDERS = "您的账户下暂时没有订单哦。如果是用其他账号下的单，请登录那个账号后再问我。"


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
