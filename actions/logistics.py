"""Where is my parcel: the latest courier events, the expected delivery, and what looks wrong."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Optional

from actions import order_lookup, settings
from actions.api.kuaidi100 import Kuaidi100Client
from actions.api.shop import Order, Shipment
from actions.formatting import short_date, short_time
from actions.logistics_anomalies import ANOMALY_TEXT, anomaly_of
from actions.order_lookup import OrderContext, Reply

EVENTS_SHOWN = 3


class LogisticsSource:
    """The order system's trace, or Kuaidi100's live one for the same waybill (by configuration).

    Kuaidi100 locks a waybill that is queried more than about once every 30 minutes, so its
    answers are kept that long; a customer asking twice gets the same trace.
    """

    CACHE_SECONDS = 30 * 60
    CACHE_SIZE = 10_000

    def __init__(self, config: settings.Settings) -> None:
        self._courier = (Kuaidi100Client(config.kuaidi100_url, config.kuaidi100_customer,
                                         config.kuaidi100_key, config.shop_timeout_seconds,
                                         config.shop_read_retries)
                         if config.logistics_source == "kuaidi100" else None)
        self._cache: dict[str, tuple[float, Shipment]] = {}

    async def trace(self, order: Order) -> Optional[Shipment]:
        shipment = await order_lookup.shop.shipment(order.id)
        if shipment is None or self._courier is None:
            return shipment
        live = await self._live(shipment, order.receiver_phone[-4:] or None)
        return Shipment(courier_name=live.courier_name, tracking_number=live.tracking_number,
                        status=live.status, events=live.events,
                        estimated_delivery_at=shipment.estimated_delivery_at,
                        courier_code=shipment.courier_code)

    async def _live(self, shipment: Shipment, phone: Optional[str]) -> Shipment:
        assert self._courier is not None
        cached = self._cache.get(shipment.tracking_number)
        if cached and time.monotonic() - cached[0] < self.CACHE_SECONDS:
            return cached[1]
        live = await self._courier.trace(shipment.courier_code, shipment.tracking_number, phone)
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()  # crude, but bounded; a miss only costs one query
        self._cache[shipment.tracking_number] = (time.monotonic(), live)
        return live


source = LogisticsSource(settings.load())


class ActionLogistics(order_lookup.CustomerOrderAction):
    offer_intent = "query_logistics"
    offer_prompt = "请问要查哪一笔订单的物流？这是您最近的订单："

    def name(self) -> str:
        return "action_logistics"

    async def answer(self, context: OrderContext) -> Reply:
        shipment = await source.trace(context.order)
        return logistics_reply(context.order, shipment, context.text, datetime.now(timezone.utc))


def logistics_reply(order: Order, shipment: Optional[Shipment], text: str, now: datetime) -> Reply:
    if shipment is None:
        hint = "着急的话可以说“催发货”，我帮您催一下仓库。" if order.status == "pending_shipment" else ""
        return Reply(f"订单 {order.id}（{order.summary}）当前状态：{order.status_label}，还没有物流信息。"
                     + hint)
    lines = [f"订单 {order.id}（{order.summary}）{order.status_label}："
             f"{shipment.courier_name} {shipment.tracking_number}"]
    for event in shipment.events[:EVENTS_SHOWN]:
        where = f"【{event.location}】" if event.location else ""
        lines.append(f"· {short_time(event.time)} {where}{event.description}")
    if not shipment.events:
        lines.append("· 快递公司暂时还没有返回物流记录")
    if shipment.estimated_delivery_at and shipment.status not in ("delivered", "returned"):
        lines.append(f"预计 {short_date(shipment.estimated_delivery_at)} 左右送达。")
    anomaly = anomaly_of(shipment, now, text)
    if anomaly is None:
        return Reply("\n".join(lines))
    lines.append(ANOMALY_TEXT[anomaly])
    return Reply("\n".join(lines), [{"title": "转物流专员", "payload": "/request_human"}])

