"""Order status with the latest courier event, for the customer's own orders only."""
from __future__ import annotations

from actions import order_lookup
from actions.formatting import order_status_text
from actions.order_lookup import OrderContext, Reply


class ActionOrderStatus(order_lookup.CustomerOrderAction):
    def name(self) -> str:
        return "action_order_status"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        return Reply(order_status_text(order, await order_lookup.shop.shipment(order.id)))
