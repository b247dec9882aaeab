"""Chinese wording of backend records in replies."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from actions.api.shop import Order, Shipment

SHOP_TZ = ZoneInfo("Asia/Shanghai")


def short_time(moment: datetime) -> str:
    local = moment.astimezone(SHOP_TZ) if moment.tzinfo else moment
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def short_date(moment: datetime) -> str:
    """The day alone, for estimates: a refund "by 11月27日 02:40" promises a precision we lack."""
    local = moment.astimezone(SHOP_TZ) if moment.tzinfo else moment
    return f"{local.month}月{local.day}日"


def order_status_text(order: Order, shipment: Shipment | None) -> str:
    lines = [f"订单 {order.id}（{order.summary}，{order.total_display}）当前状态：{order.status_label}。"]
    if shipment and shipment.latest:
        event = shipment.latest
        where = f"【{event.location}】" if event.location else ""
        lines.append(f"{shipment.courier_name} {shipment.tracking_number}")
        lines.append(f"最新物流：{short_time(event.time)} {where}{event.description}")
    return "\n".join(lines)


def order_button_title(order: Order) -> str:
    return f"{order.id[-6:]} · {order.summary} · {order.status_label}"


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"
