"""Can this order be returned? The answer comes from the policy engine, never from guesswork.

Creating the return itself (authorisation number, pickup) needs the backend's write API; until
then the customer is told exactly what they are entitled to and where to apply.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.api.shop import NotFound, Order, ShopError
from actions.customer import customer_id_of
from actions.formatting import short_time, yuan
from actions.policy import Decision, Item, Policy, decide, load_policy

log = logging.getLogger(__name__)
APPLY_HINT = "办理方式：App「我的订单」→ 该订单 →「申请售后」→「退货退款」。"


class ActionReturnEligibility(Action):
    def name(self) -> str:
        return "action_return_eligibility"

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
                orders = await shop.recent_orders(customer_id, 5, status="delivered")
                order_lookup.offer_orders(dispatcher, orders, "request_return",
                                          "请问要退哪一笔订单？这是您最近签收的订单：")
                return []
            order = await shop.customer_order(customer_id, order_id)
            customer = await shop.customer(customer_id)
        except NotFound:
            dispatcher.utter_message(text=order_lookup.not_found_text(order_id or ""))
            return [SlotSet("order_id", None)]
        except ShopError as error:
            log.warning("return eligibility failed: %s", error)
            dispatcher.utter_message(text=order_lookup.SHOP_DOWN)
            return []
        policy = load_policy()  # read each time: shop staff may have edited it
        tier = "vip" if customer.membership == "vip" else "regular"
        decision = decide(policy, items_of(order), "no_reason", order.signed_at,
                          datetime.now(timezone.utc), tier, order.shipping_fee_fen)
        dispatcher.utter_message(text=return_answer(order, decision, policy))
        return [SlotSet("order_id", order.id)]


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
