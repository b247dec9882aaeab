"""Refund status: the stage of the order's latest refund or return, and when money arrives."""
from __future__ import annotations

from actions import order_lookup
from actions.formatting import short_date, short_time
from actions.order_lookup import OrderContext, Reply
from actions.policy import load_policy


class ActionRefundStatus(order_lookup.CustomerOrderAction):
    offer_intent = "query_refund"
    offer_prompt = "请问要查哪一笔订单的退款？这是您退款中的订单："
    offer_status = "refunding"

    def name(self) -> str:
        return "action_refund_status"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        refunds = await order_lookup.shop.refunds(order.id)
        if refunds:
            refund = refunds[-1]
            if refund.completed_at:
                return Reply(f"订单 {order.id} 的退款 {refund.amount_display} 已于 "
                             f"{short_time(refund.completed_at)} 退回原支付账户（退款单 {refund.id}）。"
                             "银行卡到账可能还要 1–3 天，请留意账单。")
            by = f"，预计 {short_date(refund.expected_by)} 前到账" if refund.expected_by else ""
            return Reply(f"订单 {order.id} 的退款 {refund.amount_display} 正在处理：{refund.status_label}"
                         f"（退款单 {refund.id}）{by}。")
        open_ones = [a for a in await order_lookup.shop.after_sales(order.id) if a.status != "completed"]
        if open_ones:
            low, high = load_policy().refund_working_days
            latest = open_ones[-1]
            kind = "换货" if latest.kind == "exchange" else "退货"
            return Reply(f"订单 {order.id} 的{kind}售后单 {latest.id} 当前状态：{latest.status_label}。"
                         + (f"仓库收到退货并检查后 {low}–{high} 个工作日内退款。" if kind == "退货" else ""))
        return Reply(f"订单 {order.id} 没有退款记录。如需退货，可以说“我要退货”。")
