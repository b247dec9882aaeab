"""Cancel an order: only before shipment, and only after the customer confirms."""
from __future__ import annotations

from typing import Any

from actions import order_lookup
from actions.address import NOT_SHIPPED
from actions.formatting import short_date
from actions.order_lookup import HUMAN_BUTTON, OrderContext, Reply
from actions.pending import propose


class ActionCancelOrder(order_lookup.CustomerOrderAction):
    offer_intent = "cancel_order"
    offer_prompt = "请问要取消哪一笔订单？这是您待发货的订单："
    offer_status = "pending_shipment"

    def name(self) -> str:
        return "action_cancel_order"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        if order.status == "cancelled":
            return Reply(f"订单 {order.id} 已经取消了，不需要再操作。")
        if order.status not in NOT_SHIPPED:
            return Reply(f"订单 {order.id} 当前状态是“{order.status_label}”，已经不能直接取消了。"
                         "您可以拒收，或签收后申请七天无理由退货；需要的话也可以转人工。",
                         [HUMAN_BUTTON], outcome="refused")
        refund = f"，已付的 {order.total_display} 将原路退回" if order.paid_at else ""
        return propose(f"确认取消订单 {order.id}（{order.summary}）吗？取消后不能恢复{refund}。",
                       "cancel", order.id, context.customer_id)


async def write_cancel(write: dict[str, Any], key: str) -> Reply:
    refund = await order_lookup.shop.cancel(write["customer_id"], write["order_id"], key)
    text = f"订单 {write['order_id']} 已取消。"
    if refund is not None:
        by = f"，预计 {short_date(refund.expected_by)} 前到账" if refund.expected_by else ""
        text += f"退款 {refund.amount_display} 已发起（退款单 {refund.id}）{by}，原路退回。"
    return Reply(text)
