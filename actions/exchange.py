"""Exchange for another size: within the no-reason window, only to a size that is in stock."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Optional

from rasa_sdk.events import SlotSet

from actions import order_lookup
from actions.api.shop import OrderItem, Variant
from actions.order_lookup import HUMAN_BUTTON, OrderContext, Reply
from actions.pending import propose
from actions.policy import Item, decide, load_policy
from actions.returns import tier_of

_SIZE = re.compile(r"(?<![A-Za-z0-9])(XXL|XL|L|M|S|3[5-9]|4[0-6])(?![A-Za-z0-9])")


class ActionRequestExchange(order_lookup.CustomerOrderAction):
    offer_intent = "request_exchange"
    offer_prompt = "请问要换哪一笔订单的商品？这是您最近签收的订单："
    offer_status = "delivered"

    def name(self) -> str:
        return "action_request_exchange"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        sized = await _first_sized_item(order.items)
        if sized is None:
            return Reply(f"订单 {order.id} 的商品没有可换的尺码。如需退货可以说“我要退货”，"
                         "质量问题可以直接告诉我。")
        item, variants = sized
        policy = load_policy()
        decision = decide(policy, [Item(item.sku, item.name, item.category, item.unit_price_fen,
                                        item.quantity)], "no_reason", order.signed_at,
                          datetime.now(timezone.utc), await tier_of(context.customer_id))
        if not decision.eligible:
            why = "；".join(decision.explanation).replace("退货", "退换")
            return Reply(f"抱歉，订单 {order.id} 目前不能换货：{why}。如有疑问可以转人工。", [HUMAN_BUTTON],
                         outcome="refused")
        in_stock = [v.variant for v in variants if v.in_stock > 0]
        size = size_in(context.text)
        if size in in_stock:
            return propose(f"为您把订单 {order.id} 的「{item.name}」换成 {size} 码：请在收到换货单后"
                           "把原商品寄回，仓库收到后寄出新尺码。", "exchange", order.id,
                           context.customer_id, sku=item.sku, size=size)
        prompt = f"抱歉，{size} 码暂时缺货。" if size else ""
        buttons = [{"title": f"{v} 码", "payload": f"换{v}码"} for v in in_stock]
        if not buttons:
            return Reply(f"{prompt}「{item.name}」目前所有尺码都缺货，可以先申请退货，或转人工登记到货提醒。",
                         [HUMAN_BUTTON])
        return Reply(f"{prompt}「{item.name}」想换成哪个尺码？目前有货：{'、'.join(in_stock)}",
                     buttons, [SlotSet("awaiting", f"size:{order.id}")])


async def _first_sized_item(items: tuple[OrderItem, ...]) -> Optional[tuple[OrderItem, list[Variant]]]:
    for item in items:
        variants = await order_lookup.shop.variants(item.sku)
        if variants:
            return item, variants
    return None


def size_in(text: str) -> Optional[str]:
    match = _SIZE.search(text.upper())
    return match.group(1) if match else None


async def write_exchange(write: dict[str, Any], key: str) -> Reply:
    request = {"kind": "exchange", "reason_code": "size", "reason": f"换 {write['size']} 码",
               "skus": [write["sku"]], "exchange_variant": write["size"]}
    created = await order_lookup.shop.create_after_sale(write["customer_id"], write["order_id"],
                                                        request, key)
    address = f"请把原商品寄到：{created.return_address}，" if created.return_address else ""
    return Reply(f"换货申请已提交，售后单号 {created.id}（换成 {write['size']} 码）。"
                 f"{address}仓库收到后 1–2 天内寄出新商品，寄出后可以随时问我物流。")
