"""Urge shipment: record the urge with the shop and quote its promised ship date."""
from __future__ import annotations

from datetime import datetime, timezone

from actions import order_lookup
from actions.formatting import short_time
from actions.logistics import logistics_reply, source
from actions.order_lookup import HUMAN_BUTTON, OrderContext, Reply
from actions.pending import idempotency_key


class ActionUrgeShipment(order_lookup.CustomerOrderAction):
    offer_intent = "urge_shipment"
    offer_prompt = "请问要催哪一笔订单？这是您待发货的订单："
    offer_status = "pending_shipment"

    def name(self) -> str:
        return "action_urge_shipment"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        now = datetime.now(timezone.utc)
        if order.status == "pending_payment":
            return Reply(f"订单 {order.id} 还没有付款哦，付款后仓库才会安排发货。")
        if order.status != "pending_shipment":
            if order.shipped_at is None:
                return Reply(f"订单 {order.id} 当前状态是“{order.status_label}”，不需要催发货。")
            shipment = await source.trace(order)
            reply = logistics_reply(order, shipment, context.text, now)
            reply.text = "这笔订单已经发货啦 📦\n" + reply.text
            return reply
        urge = await order_lookup.shop.urge(context.customer_id, order.id,
                                            idempotency_key(context.tracker, "urge", order.id))
        if urge.promised_ship_by < now:
            return Reply(f"已帮您加急催促仓库（这笔订单已催 {urge.urges} 次）。非常抱歉，订单已超过承诺的"
                         f"发货时间（{short_time(urge.promised_ship_by)}），如需申请补偿可以转人工。",
                         [HUMAN_BUTTON])
        return Reply(f"已帮您催促仓库优先发货（这笔订单已催 {urge.urges} 次）。按本店承诺，最晚 "
                     f"{short_time(urge.promised_ship_by)} 前发出，发货后可以随时问我物流。")
