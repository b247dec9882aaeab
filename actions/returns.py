"""Can this order be returned? The answer comes from the policy engine, never from guesswork.

Creating the return itself (authorisation number, pickup) needs the backend's write API; until
then the customer is told exactly what they are entitled to and where to apply.
"""
from __future__ import annotations

from datetime import datetime, timezone

from actions import order_lookup
from actions.api.shop import Order
from actions.formatting import short_time, yuan
from actions.policy import Decision, Item, Policy, decide, load_policy

APPLY_HINT = "办理方式：App「我的订单」→ 该订单 →「申请售后」→「退货退款」。"


class ActionReturnEligibility(order_lookup.CustomerOrderAction):
    offer_intent = "request_return"
    offer_prompt = "请问要退哪一笔订单？这是您最近签收的订单："
    offer_status = "delivered"

    def name(self) -> str:
        return "action_return_eligibility"

    async def answer(self, order: Order, customer_id: str) -> str:
        customer = await order_lookup.shop.customer(customer_id)
        policy = load_policy()  # read each time: shop staff may have edited it
        tier = "vip" if customer.membership == "vip" else "regular"
        decision = decide(policy, items_of(order), "no_reason", order.signed_at,
                          datetime.now(timezone.utc), tier, order.shipping_fee_fen)
        return return_answer(order, decision, policy)


def items_of(order: Order) -> list[Item]:
    return [Item(i.sku, i.name, i.category, i.unit_price_fen, i.quantity) for i in order.items]


def return_answer(order: Order, decision: Decision, policy: Policy) -> str:
    if not decision.eligible:
        lines = [f"抱歉，订单 {order.id} 目前不能申请无理由退货：",
                 *(f"· {why}" for why in decision.explanation),
                 f"如果商品有质量问题，签收后 {policy.quality_days} 天内仍可申请退换；"
                 "需要的话可以说“转人工”。"]
        return "\n".join(lines)
    returnable = "、".join(d.item.name for d in decision.items if d.eligible)
    low, high = policy.refund_working_days
    estimate = yuan(decision.customer_shipping_estimate_fen)
    shipping = ("寄回运费：本店承担。" if decision.shop_pays_return_shipping
                else f"寄回运费：由您承担，约 {estimate}（购买了运费险的可获赔付）。")
    lines = [f"订单 {order.id} 可以申请{policy.no_reason_days}天无理由退货，请在 "
             f"{short_time(decision.deadline)} 前提交。",
             f"可退商品：{returnable}；预计退款 {yuan(decision.refund_fen)}，"
             f"仓库收到并检查后 {low}–{high} 个工作日内原路退回。",
             shipping,
             *(f"不能退：{why}" for why in decision.explanation),
             APPLY_HINT]
    return "\n".join(lines)
