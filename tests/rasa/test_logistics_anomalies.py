"""Which parcels need a person: pure functions over a shipment, the moment and the wording."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from actions.api.shop import Shipment, TraceEvent
from actions.logistics_anomalies import Anomaly, anomaly_of, says_not_received

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def parcel(status: str, hours_ago: float, description: str = "快件已到达【杭州转运中心】") -> Shipment:
    event = TraceEvent(time=NOW - timedelta(hours=hours_ago), location="杭州", description=description)
    return Shipment(courier_name="中通快递", tracking_number="73100000000001", status=status,
                    events=(event,))


@pytest.mark.parametrize("status, hours, text, expected", [
    ("in_transit", 47.9, "", None),
    ("in_transit", 48.1, "", Anomaly.STALLED),
    ("picked_up", 100, "", Anomaly.STALLED),
    ("returned", 1, "", Anomaly.RETURNED),
    ("problem", 1, "", Anomaly.PROBLEM),
    ("delivered", 200, "到了吗", None),
    ("delivered", 2, "显示签收了但我没收到", Anomaly.SIGNED_NOT_RECEIVED),
    ("delivered", 2, "不是我签的", Anomaly.SIGNED_NOT_RECEIVED),
])
def test_anomalies(status, hours, text, expected):
    assert anomaly_of(parcel(status, hours), NOW, text) is expected


def test_a_returned_scan_counts_even_before_the_status_changes():
    shipment = parcel("in_transit", 1, "收件人地址无法派送，快件已退回寄件人")
    assert anomaly_of(shipment, NOW) is Anomaly.RETURNED


def test_a_shipment_without_events_is_not_stalled():
    empty = Shipment(courier_name="顺丰速运", tracking_number="SF1", status="picked_up", events=())
    assert anomaly_of(empty, NOW) is None


@pytest.mark.parametrize("text, expected", [
    ("还没收到货", True), ("我没有收到", True), ("快递丢了吧", True), ("收到了谢谢", False),
    ("什么时候能收到", False), ("", False),
])
def test_not_received_wording(text, expected):
    assert says_not_received(text) is expected
