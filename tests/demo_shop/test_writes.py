"""The shop's write routes: scoped to the customer, idempotent, refused when the state forbids."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from demo_shop.app import create_app
from demo_shop.settings import ShopSettings


@pytest.fixture()
def client(tmp_path):
    settings = ShopSettings(db_path=str(tmp_path / "shop.sqlite3"),
                            seed_anchor=datetime(2026, 11, 11, 4, 0))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def an_order(client, status: str, **where) -> dict:
    for order in client.get("/api/v1/orders", params={"status": status, "limit": 100}).json()["items"]:
        if all(order[key] == value for key, value in where.items()):
            return order
    raise LookupError(status)


def post(client, order: dict, what: str, body=None, key: str = "key-00000001", customer=None):
    customer = customer or order["customer_id"]
    return client.post(f"/api/v1/customers/{customer}/orders/{order['id']}/{what}",
                       json=body, headers={"Idempotency-Key": key})


def a_return(order: dict, **extra) -> dict:
    return {"kind": "return", "reason_code": "no_reason", "skus": [order["items"][0]["sku"]],
            "refund_estimate_fen": order["items"][0]["unit_price_fen"], **extra}


def test_a_return_is_created_once_and_replayed_for_a_retry(client):
    order = an_order(client, "delivered")
    first = post(client, order, "returns", a_return(order))
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["id"].startswith("RA") and created["status"] == "requested"
    assert created["return_address"] and created["pickup_from"] is None
    retry = post(client, order, "returns", a_return(order))
    assert retry.status_code == 201 and retry.json() == created
    assert retry.headers["Idempotent-Replay"] == "true"
    listed = client.get(f"/api/v1/orders/{order['id']}/returns").json()
    assert [r["id"] for r in listed if r["reason_code"]] == [created["id"]]
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "after_sale"


def test_a_key_reused_for_another_request_is_refused_and_changes_nothing(client):
    order = an_order(client, "delivered")
    assert post(client, order, "returns", a_return(order)).status_code == 201
    reused = post(client, order, "returns", a_return(order, pickup=True))
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    again = post(client, order, "returns", a_return(order), key="key-00000002")
    assert again.status_code == 409 and again.json()["error"]["code"] == "return_in_progress"


def test_concurrent_attempts_with_one_key_write_once(client):
    order = an_order(client, "delivered")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(client, order, "returns", a_return(order)), range(8)))
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["id"] for answer in answers}) == 1
    listed = client.get(f"/api/v1/orders/{order['id']}/returns").json()
    assert len([r for r in listed if r["reason_code"]]) == 1


def test_writes_need_a_well_formed_idempotency_key(client):
    order = an_order(client, "delivered")
    url = f"/api/v1/customers/{order['customer_id']}/orders/{order['id']}/returns"
    assert client.post(url, json=a_return(order)).status_code == 422
    for key in ["short", "x" * 200, "key with spaces", "../../etc/passwd", "key\x7fcontrol"]:
        assert client.post(url, json=a_return(order), headers={"Idempotency-Key": key}).status_code == 422
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "delivered"


def test_someone_elses_order_is_not_found_for_every_write(client):
    order = an_order(client, "pending_shipment")
    other = "C0001" if order["customer_id"] != "C0001" else "C0002"
    for what, body in [("address", {"address": "上海市浦东新区张江路 1 号"}), ("cancel", {}),
                       ("urges", None), ("cases", {"kind": "quality", "description": "坏了"}),
                       ("returns", a_return(order))]:
        answer = post(client, order, what, body, customer=other)
        assert answer.status_code == 404, what
        assert answer.json()["error"]["code"] == "order_not_found"
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "pending_shipment"


def test_address_change_and_cancel_only_before_shipment(client):
    waiting = an_order(client, "pending_shipment")
    changed = post(client, waiting, "address", {"address": "北京市朝阳区建国路 88 号 1 单元",
                                                "receiver_phone": "13912345678"})
    assert changed.status_code == 200
    assert changed.json()["address"] == "北京市朝阳区建国路 88 号 1 单元"
    assert changed.json()["receiver_phone"] == "13912345678"
    cancelled = post(client, waiting, "cancel", {"reason": "不想要了"}, key="key-cancel-1").json()
    assert cancelled["order"]["status"] == "cancelled"
    assert cancelled["refund"]["amount_fen"] == waiting["total_fen"]
    assert cancelled["refund"]["expected_by"]
    shipped = an_order(client, "in_transit")
    for what, body, code in [("address", {"address": "北京市朝阳区建国路 88 号"}, "order_already_shipped"),
                             ("cancel", {}, "order_not_cancellable"),
                             ("urges", None, "order_not_awaiting_shipment")]:
        answer = post(client, shipped, what, body)
        assert answer.status_code == 409 and answer.json()["error"]["code"] == code


def test_urges_are_counted_and_quote_the_promise(client):
    order = an_order(client, "pending_shipment")
    first = post(client, order, "urges").json()
    second = post(client, order, "urges", key="key-00000002").json()
    assert (first["urges"], second["urges"]) == (1, 2)
    paid = datetime.fromisoformat(order["paid_at"])
    assert (datetime.fromisoformat(first["promised_ship_by"]) - paid).total_seconds() == 48 * 3600


def test_exchange_checks_and_takes_stock(client):
    order = next(o for o in client.get("/api/v1/orders", params={"status": "delivered", "limit": 100})
                 .json()["items"] if o["items"][0]["category"] == "apparel")
    sku = order["items"][0]["sku"]
    variants = client.get(f"/api/v1/products/{sku}/variants").json()
    assert [v["variant"] for v in variants] == ["S", "M", "L", "XL", "XXL"]
    available = next(v for v in variants if v["in_stock"] > 0)
    body = {"kind": "exchange", "reason_code": "size", "skus": [sku],
            "exchange_variant": available["variant"]}
    assert post(client, order, "returns", body).status_code == 201
    after = {v["variant"]: v["in_stock"] for v in client.get(f"/api/v1/products/{sku}/variants").json()}
    assert after[available["variant"]] == available["in_stock"] - 1


def test_an_exchange_to_a_sold_out_size_is_refused(client):
    for order in client.get("/api/v1/orders", params={"status": "delivered", "limit": 100}).json()["items"]:
        sku = order["items"][0]["sku"]
        sold_out = [v for v in client.get(f"/api/v1/products/{sku}/variants").json() if v["in_stock"] == 0]
        if sold_out:
            break
    body = {"kind": "exchange", "reason_code": "size", "skus": [sku],
            "exchange_variant": sold_out[0]["variant"]}
    answer = post(client, order, "returns", body)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "out_of_stock"
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "delivered"


@pytest.mark.parametrize("body", [
    {"kind": "return", "reason_code": "no_reason", "skus": []},
    {"kind": "refund", "reason_code": "no_reason", "skus": ["AP-1001"]},
    {"kind": "return", "reason_code": "no_reason", "skus": ["'; DROP TABLE orders;--"]},
    {"kind": "return", "reason_code": "no_reason", "skus": ["AP-1001"], "admin": True},
    {"kind": "return", "reason_code": "no_reason", "skus": ["AP-1001"], "reason": "长" * 101},
    {"kind": "return", "reason_code": "no_reason", "skus": ["AP-1001"], "refund_estimate_fen": -1},
    [1, 2, 3],
])
def test_malformed_return_requests_are_refused_with_a_reason(client, body):
    order = an_order(client, "delivered")
    answer = post(client, order, "returns", body)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"
    assert client.get(f"/api/v1/orders/{order['id']}").json()["status"] == "delivered"


def test_items_and_amounts_outside_the_order_are_refused(client):
    order = an_order(client, "delivered")
    foreign = "VG-8003" if order["items"][0]["sku"] != "VG-8003" else "VG-8002"
    assert post(client, order, "returns", a_return(order, skus=[foreign])).json()["error"]["code"] \
        == "sku_not_in_order"
    too_much = a_return(order, refund_estimate_fen=order["total_fen"] + 1)
    assert post(client, order, "returns", too_much, key="key-00000002").json()["error"]["code"] \
        == "refund_too_high"


def test_hostile_text_is_stored_verbatim_not_executed(client):
    order = an_order(client, "delivered")
    hostile = "<script>alert(1)</script>'; DROP TABLE orders;--"
    case = post(client, order, "cases", {"kind": "quality", "description": hostile})
    assert case.status_code == 201 and case.json()["skill_group"] == "quality"
    assert case.json()["description"] == hostile
    assert client.get("/api/v1/orders", params={"limit": 1}).json()["total"] > 0


def test_phone_check_passes_on_the_right_digits_and_throttles_guessing(client):
    order = an_order(client, "in_transit")
    url = f"/api/v1/orders/{order['id']}/phone-check"
    right = order["receiver_phone"][-4:]
    passed = client.post(url, json={"last4": right})
    assert passed.status_code == 200 and passed.json()["customer_id"] == order["customer_id"]
    wrong = "0000" if right != "0000" else "1111"
    for _ in range(5):
        answer = client.post(url, json={"last4": wrong})
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "order_not_found"
    throttled = client.post(url, json={"last4": right})
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "too_many_attempts"
    assert client.post(url, json={"last4": "12a4"}).status_code == 422
