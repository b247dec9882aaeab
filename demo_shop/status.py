"""Order and shipment states of a Chinese shop, with the labels customers read."""
from __future__ import annotations

ORDER_STATUS_LABELS: dict[str, str] = {
    "pending_payment": "待付款",
    "pending_shipment": "待发货",
    "shipped": "已发货",
    "in_transit": "运输中",
    "out_for_delivery": "派送中",
    "delivered": "已签收",
    "cancelled": "已取消",
    "after_sale": "售后中",
    "refunding": "退款中",
    "refunded": "已退款",
}

SHIPMENT_STATUS_LABELS: dict[str, str] = {
    "picked_up": "已揽收",
    "in_transit": "运输中",
    "out_for_delivery": "派送中",
    "delivered": "已签收",
    "returned": "已退回",
}

RETURN_STATUS_LABELS: dict[str, str] = {
    "requested": "待审核",
    "approved": "已同意，待寄回",
    "received": "仓库已收货",
    "completed": "已完成",
}

REFUND_STATUS_LABELS: dict[str, str] = {
    "pending": "退款处理中",
    "completed": "退款成功",
}

MEMBERSHIP_LABELS: dict[str, str] = {
    "regular": "普通会员",
    "silver": "银卡会员",
    "gold": "金卡会员",
    "vip": "VIP 会员",
}

# code -> (name, tracking-number prefix, digits after the prefix)
COURIERS: dict[str, tuple[str, str, int]] = {
    "SF": ("顺丰速运", "SF", 13),
    "ZTO": ("中通快递", "7", 13),
    "YTO": ("圆通速递", "YT", 13),
    "YD": ("韵达快递", "43", 11),
    "STO": ("申通快递", "77", 11),
    "JD": ("京东物流", "JD", 13),
    "EMS": ("中国邮政 EMS", "1", 12),
}

# Usual days from shipping to delivery, per courier: the basis of an expected delivery date.
TRANSIT_DAYS: dict[str, int] = {"SF": 2, "JD": 2, "ZTO": 3, "YTO": 3, "YD": 3, "STO": 3, "EMS": 4}
# A pending refund arrives within this many days of being created.
REFUND_DAYS = 3
# Orders that have not left the warehouse: the address can change, the order can be cancelled.
NOT_SHIPPED = ("pending_payment", "pending_shipment")
