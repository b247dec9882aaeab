"""Order status with the latest courier event, for the customer's own orders only."""
from __future__ import annotations

import json
import logging
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import settings
from actions.api.shop import NotFound, ShopClient, ShopError
from actions.customer import customer_id_of
from actions.formatting import order_button_title, order_status_text
from bot.patterns import find_order_id, is_order_id

log = logging.getLogger(__name__)
shop = ShopClient(settings.load())

NOT_LOGGED_IN = "请先登录账号，我才能帮您查询订单哦。"
SHOP_DOWN = "抱歉，订单系统暂时繁忙，请稍后再试一次 🙏"


class ActionOrderStatus(Action):
    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        customer_id = customer_id_of(tracker)
        if customer_id is None:
            dispatcher.utter_message(text=NOT_LOGGED_IN)
            return []
        order_id = requested_order_id(tracker)
        try:
            if order_id is None:
                await offer_recent_orders(dispatcher, customer_id)
                return []
            if not is_order_id(order_id):
                dispatcher.utter_message(
                    text=f"“{order_id}”不像是订单号哦，本店订单号是 16 位数字，请核对后再发给我。")
                return [SlotSet("order_id", None)]
            order = await shop.customer_order(customer_id, order_id)
            shipment = await shop.shipment(order.id)
        except NotFound:
            dispatcher.utter_message(text=f"没有在您的账户下找到订单 {order_id}，请核对订单号；"
                                          "也可以说“我的订单”，我把您最近的订单列出来。")
            return [SlotSet("order_id", None)]
        except ShopError as error:
            log.warning("order status failed: %s", error)
            dispatcher.utter_message(text=SHOP_DOWN)
            return []
        dispatcher.utter_message(text=order_status_text(order, shipment))
        return [SlotSet("order_id", order.id)]


def requested_order_id(tracker: Tracker) -> Optional[str]:
    """This message's order id (entity, else found in the text), else the one already discussed."""
    entity = next(tracker.get_latest_entity_values("order_id"), None)
    text = (tracker.latest_message or {}).get("text") or ""
    return entity or find_order_id(text) or tracker.get_slot("order_id")


async def offer_recent_orders(dispatcher: CollectingDispatcher, customer_id: str) -> None:
    orders = await shop.recent_orders(customer_id, limit=5)
    if not orders:
        dispatcher.utter_message(text="您的账户下暂时没有订单哦。如果是用其他账号下的单，请登录那个账号后再问我。")
        return
    buttons = [{"title": order_button_title(order),
                "payload": "/query_order" + json.dumps({"order_id": order.id})}
               for order in orders]
    dispatcher.utter_message(text="请问您要查询哪一笔订单？这是您最近的订单：", buttons=buttons)
