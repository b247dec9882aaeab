"""What is wrong with a parcel, if anything: plain functions over a shipment and the moment.

Three cases a customer should not have to argue about: no courier scan for 48 hours, a parcel
returned to the sender, and a parcel signed for that the customer says never arrived.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import Enum
from typing import Optional

from actions.api.shop import Shipment

STALL_AFTER = timedelta(hours=48)
_NOT_RECEIVED = re.compile(
    r"(没|没有|未|还没|并没有|没能)(收到|拿到|见到|看到)|不是我签|没人签|我没签|被冒签|丢了|丢件")
_RETURNED_WORDS = ("退回", "退签", "拒收")


class Anomaly(Enum):
    STALLED = "stalled"
    RETURNED = "returned"
    SIGNED_NOT_RECEIVED = "signed_not_received"
    PROBLEM = "problem"


def says_not_received(text: str) -> bool:
    return bool(_NOT_RECEIVED.search(text))


def anomaly_of(shipment: Shipment, now: datetime, customer_text: str = "") -> Optional[Anomaly]:
    latest = shipment.latest
    if shipment.status == "returned" or (latest and any(w in latest.description for w in _RETURNED_WORDS)):
        return Anomaly.RETURNED
    if shipment.status == "problem":  # the courier itself flagged it (疑难, 拒签, 派件异常)
        return Anomaly.PROBLEM
    if shipment.status == "delivered":
        return Anomaly.SIGNED_NOT_RECEIVED if says_not_received(customer_text) else None
    if latest is not None and now - latest.time > STALL_AFTER:
        return Anomaly.STALLED
    return None


ANOMALY_TEXT = {
    Anomaly.STALLED: "⚠️ 这个包裹已经超过 48 小时没有新的物流记录，可能在中转时滞留。"
                     "我可以帮您转给物流专员，由他们联系快递核实。",
    Anomaly.RETURNED: "⚠️ 这个包裹已被退回寄件人。退回入库后会为您重新发货或退款，"
                      "我可以帮您转给物流专员确认。",
    Anomaly.PROBLEM: "⚠️ 快递公司把这个包裹标记为异常件（例如地址不详、派送失败），"
                     "我可以帮您转给物流专员，由他们联系快递处理。",
    Anomaly.SIGNED_NOT_RECEIVED: "物流显示已签收，但您说没有收到：请先看看快递柜、驿站、门卫或家人"
                                 "是否代收。如果还是找不到，我帮您转给物流专员，他们会联系快递核实签收情况。",
}
