"""Order status with the latest courier event, for the customer's own orders only."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.api.shop import NotFound, ShopError
from actions.customer import customer_id_of
from actions.formatting import order_status_text
from bot.patterns import is_order_id

log = logging.getLogger(__name__)


class ActionOrderStatus(Action):
    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        customer_id = customer_id_of(tracker)
        if customer_id is None:
            dispatcher.utter_message(text=order_lookup.NOT_LOGGED_IN)
            return []
        shop = order_lookup.shop
        order_id = order_lookup.requested_order_id(tracker)
        try:
            if order_id is None:
                order_lookup.offer_orders(dispatcher, await shop.recent_orders(customer_id, 5),
                                          "query_order", "请问您要查询哪一笔订单？这是您最近的订单：")
                return []
            if not is_order_id(order_id):
                dispatcher.utter_message(
                    text=f"“{order_id}”不像是订单号哦，本店订单号是 16 位数字，请核对后再发给我。")
                return [SlotSet("order_id", None)]
            order = await shop.customer_order(customer_id, order_id)
            shipment = await shop.shipment(order.id)
        except NotFound:
            dispatcher.utter_message(text=order_lookup.not_found_text(order_id))
            return [SlotSet("order_id", None)]
        except ShopError as error:
            log.warning("order status failed: %s", error)
            dispatcher.utter_message(text=order_lookup.SHOP_DOWN)
            return []
        dispatcher.utter_message(text=order_status_text(order, shipment))
        return [SlotSet("order_id", order.id)]
