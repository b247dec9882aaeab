"""Returns: eligibility from the policy engine, then, once the customer confirms, the return.

Eligible orders get the deadline, the refund estimate and who pays the return parcel, and an
offer to open the return; the shop then gives the return authorisation number (RA…) with a
pickup slot (when the shop pays the parcel) or the address to post it to.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from actions import order_lookup
from actions.api.shop import AfterSale, Order
from actions.formatting import short_time, yuan
from actions.order_lookup import HUMAN_BUTTON, OrderContext, Reply
from actions.pending import propose
from actions.policy import Decision, Item, Policy, decide, load_policy


class ActionReturnEligibility(order_lookup.CustomerOrderAction):
    offer_intent = "request_return"
    offer_prompt = "请问要退哪一笔订单？这是您最近签收的订单："
    offer_status = "delivered"

    def name(self) -> str:
        return "action_return_eligibility"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        policy = load_policy()  # read each time: shop staff may have edited it
        decision = decide(policy, items_of(order), "no_reason", order.signed_at,
                          datetime.now(timezone.utc), await tier_of(context.customer_id),
                          order.shipping_fee_fen)
        if not decision.eligible:
            return Reply(refusal_text(order, decision, policy), [HUMAN_BUTTON], outcome="refused")
        skus = [d.item.sku for d in decision.items if d.eligible]
        return propose(eligible_text(order, decision, policy) + "\n需要我现在为您提交退货申请吗？",
                       "return", order.id, context.customer_id, skus=skus,
                       refund_fen=decision.refund_fen, pickup=decision.shop_pays_return_shipping)


async def tier_of(customer_id: str) -> str:
    customer = await order_lookup.shop.customer(customer_id)
    return "vip" if customer.membership == "vip" else "regular"


def items_of(order: Order) -> list[Item]:
    return [Item(i.sku, i.name, i.category, i.unit_price_fen, i.quantity) for i in order.items]


def refusal_text(order: Order, decision: Decision, policy: Policy) -> str:
    return "\n".join([f"抱歉，订单 {order.id} 目前不能申请无理由退货：",
                      *(f"· {why}" for why in decision.explanation),
                      f"如果商品有质量问题，签收后 {policy.quality_days} 天内仍可申请退换；"
                      "对结果有疑问可以转人工。"])


def eligible_text(order: Order, decision: Decision, policy: Policy) -> str:
    returnable = "、".join(d.item.name for d in decision.items if d.eligible)
    low, high = policy.refund_working_days
    estimate = yuan(decision.customer_shipping_estimate_fen)
    shipping = ("寄回运费：本店承担，可预约快递上门取件。" if decision.shop_pays_return_shipping
                else f"寄回运费：由您承担，约 {estimate}（购买了运费险的可获赔付）。")
    return "\n".join([f"订单 {order.id} 可以申请{policy.no_reason_days}天无理由退货，请在 "
                      f"{short_time(decision.deadline)} 前提交。",
                      f"可退商品：{returnable}；预计退款 {yuan(decision.refund_fen)}，"
                      f"仓库收到并检查后 {low}–{high} 个工作日内原路退回。",
                      shipping,
                      *(f"不能退：{why}" for why in decision.explanation)])


async def open_return(write: dict[str, Any], key: str) -> Reply:
    """Carry out a confirmed return (see ``actions.confirm``)."""
    request = {"kind": "return", "reason_code": "no_reason", "reason": "七天无理由退货",
               "skus": write["skus"], "refund_estimate_fen": write["refund_fen"],
               "pickup": write["pickup"]}
    created = await order_lookup.shop.create_after_sale(write["customer_id"], write["order_id"],
                                                         request, key)
    return Reply(created_text(created, write["refund_fen"]))


def created_text(created: AfterSale, refund_fen: int) -> str:
    policy = load_policy()
    low, high = policy.refund_working_days
    if created.pickup_from and created.pickup_to:
        how = (f"快递员将在 {short_time(created.pickup_from)}–{short_time(created.pickup_to)[-5:]} "
               "上门取件，请把商品和配件包装好。")
    else:
        how = f"请把商品寄到：{created.return_address}，寄出后把快递单号发给我。"
    return "\n".join([f"退货申请已提交，售后单号 {created.id}。", how,
                      f"预计退款 {yuan(refund_fen)}，仓库收到并检查后 {low}–{high} 个工作日内原路退回。"])
