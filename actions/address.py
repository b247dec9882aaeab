"""Change the delivery address: only before shipment, and only after the customer confirms."""
from __future__ import annotations

import re
from typing import Any, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import order_lookup
from actions.order_lookup import HUMAN_BUTTON, OrderContext, Reply
from actions.pending import propose
from bot.masking import mask_address, mask_name, mask_phone

NOT_SHIPPED = ("pending_payment", "pending_shipment")
# "改成/改为/新地址是 …": what follows is the new address.
_LEAD_IN = re.compile(
    r"^.*?(?:新地址[是为]?|地址[是为]|(?:地址)?(?:改成|改为|改到|换成|换到)|地址改)[:：\s]*")
_PLACE_WORDS = re.compile(r"[省市区县镇乡村路街道巷弄号栋幢楼室]")


class ActionChangeAddress(order_lookup.CustomerOrderAction):
    offer_intent = "change_address"
    offer_prompt = "请问要修改哪一笔订单的地址？这是您待发货的订单："
    offer_status = "pending_shipment"

    def name(self) -> str:
        return "action_change_address"

    async def answer(self, context: OrderContext) -> Reply:
        order = context.order
        if order.status not in NOT_SHIPPED:
            return Reply(f"订单 {order.id} 当前状态是“{order.status_label}”，已经不能修改地址了。"
                         "运输中的包裹可以联系快递改派，需要的话我帮您转人工处理。", [HUMAN_BUTTON],
                         outcome="refused")
        waiting = context.tracker.get_slot("awaiting") == f"address:{order.id}"
        new = address_in(context.tracker, waiting)
        if new is None:
            prompt = ("这个地址好像不完整，" if waiting else "") + \
                "请发送新的收货地址（省、市、区和详细地址）："
            return Reply(prompt, events=[SlotSet("awaiting", f"address:{order.id}")])
        receiver = f"收货人：{mask_name(order.receiver_name)} {mask_phone(order.receiver_phone)}（不变）"
        return propose(f"将订单 {order.id} 的收货地址\n由：{mask_address(order.address)}\n改为：{new}\n"
                       f"{receiver}", "address", order.id, context.customer_id, address=new)


def address_in(tracker: Tracker, waiting: bool) -> Optional[str]:
    """The new address in this message: the words after "改成", (when we asked for it) the whole
    message, or the address entity; None unless it looks like a Chinese address. The entity
    comes last because the model may cut an address short ("…人民南路四段" without "12 号")."""
    text = ((tracker.latest_message or {}).get("text") or "").strip()
    entity = next(tracker.get_latest_entity_values("address"), None)
    lead = _LEAD_IN.sub("", text, count=1) if _LEAD_IN.match(text) else None
    for candidate in (lead, text if waiting else None, entity):
        if candidate and _plausible(candidate.strip(" ，。,.")):
            return candidate.strip(" ，。,.")
    return None


def _plausible(address: str) -> bool:
    return 6 <= len(address) <= 120 and len(_PLACE_WORDS.findall(address)) >= 2


async def write_address(write: dict[str, Any], key: str) -> Reply:
    order = await order_lookup.shop.change_address(write["customer_id"], write["order_id"],
                                                   write["address"], key)
    return Reply(f"好的，订单 {order.id} 的收货地址已改为：{write['address']}。发货后可以随时问我物流。")
