"""Quality problems: open an after-sales case for the quality group and ask for photos."""
from __future__ import annotations

from actions import order_lookup
from actions.order_lookup import HUMAN_BUTTON, OrderContext, Reply
from actions.pending import idempotency_key
from actions.policy import load_policy


class ActionReportQualityIssue(order_lookup.CustomerOrderAction):
    offer_intent = "report_quality_issue"
    offer_prompt = "非常抱歉！请问是哪一笔订单的商品有问题？这是您最近签收的订单："
    offer_status = "delivered"

    def name(self) -> str:
        return "action_report_quality_issue"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        if order.shipped_at is None:
            return Reply(f"订单 {order.id} 还没有发货，收到商品后如有问题随时告诉我。")
        description = context.text.strip() or "顾客反馈质量问题"
        case = await order_lookup.shop.open_quality_case(
            context.customer_id, order.id, description,
            idempotency_key(context.tracker, "quality", order.id))
        policy = load_policy()
        return Reply(f"非常抱歉给您带来不好的体验！已为您登记质量问题售后单 {case.id}，由质检专员跟进。\n"
                     f"请把商品问题部位的照片发给我（可以多张），照片清楚能更快处理。"
                     f"签收后 {policy.quality_days} 天内的质量问题可以退货或换货，来回运费由本店承担。",
                     [HUMAN_BUTTON])
