"""The shop API over a real SQLite file, with the app's own startup (create + seed)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from demo_shop.app import create_app, openapi_json
from demo_shop.settings import ShopSettings
from tests.support import ROOT


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("shop") / "nested" / "shop.sqlite3"
    settings = ShopSettings(db_path=str(path), seed_anchor=datetime(2026, 11, 11, 4, 0))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def first(client, path: str, **params) -> dict:
    return client.get(path, params={"limit": 1, **params}).json()["items"][0]


def test_customers_are_listed_and_paged(client):
    page = client.get("/api/v1/customers", params={"limit": 5, "offset": 5}).json()
    assert page["total"] >= 50 and page["limit"] == 5 and len(page["items"]) == 5
    assert page["items"][0]["id"] == "C0006"
    customer = client.get("/api/v1/customers/C0006").json()
    assert customer == page["items"][0] and customer["membership_label"].endswith("会员")


def test_channel_identity_leads_to_the_customer(client):
    assert client.get("/api/v1/identities/app/C0003").json()["customer_id"] == "C0003"
    assert client.get("/api/v1/identities/wechat/o-nobody").status_code == 404


def test_customer_orders_are_theirs_and_newest_first(client):
    page = client.get("/api/v1/customers/C0001/orders", params={"limit": 100}).json()
    assert page["items"] and all(o["customer_id"] == "C0001" for o in page["items"])
    created = [o["created_at"] for o in page["items"]]
    assert created == sorted(created, reverse=True)
    delivered = client.get("/api/v1/customers/C0001/orders",
                           params={"status": "delivered", "limit": 100}).json()["items"]
    assert all(o["status"] == "delivered" for o in delivered)


def test_order_amounts_add_up(client):
    order = first(client, "/api/v1/orders", status="delivered")
    goods = sum(i["unit_price_fen"] * i["quantity"] for i in order["items"])
    assert order["goods_fen"] == goods
    assert order["total_fen"] == goods + order["shipping_fee_fen"]
    assert order["total_display"] == f"¥{order['total_fen'] // 100}.{order['total_fen'] % 100:02d}"
    assert order["created_at"].endswith("+00:00")


def test_customer_scoped_order_hides_other_customers_orders(client):
    order = first(client, "/api/v1/orders", status="in_transit")
    own = client.get(f"/api/v1/customers/{order['customer_id']}/orders/{order['id']}")
    assert own.status_code == 200 and own.json()["id"] == order["id"]
    other = "C0001" if order["customer_id"] != "C0001" else "C0002"
    foreign = client.get(f"/api/v1/customers/{other}/orders/{order['id']}")
    missing = client.get(f"/api/v1/customers/{other}/orders/2601019999999999")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() == {"error": {"code": "order_not_found",
                                                          "message": "订单不存在"}}


def test_shipment_by_order_and_by_tracking_number(client):
    order = first(client, "/api/v1/orders", status="out_for_delivery")
    shipment = client.get(f"/api/v1/orders/{order['id']}/shipment").json()
    assert shipment["order_id"] == order["id"] and shipment["status_label"] == "派送中"
    times = [event["time"] for event in shipment["events"]]
    assert times == sorted(times, reverse=True)
    assert client.get(f"/api/v1/shipments/{shipment['tracking_number']}").json() == shipment


def test_unshipped_order_has_no_shipment(client):
    order = first(client, "/api/v1/orders", status="pending_shipment")
    response = client.get(f"/api/v1/orders/{order['id']}/shipment")
    assert response.status_code == 404 and response.json()["error"]["code"] == "shipment_not_found"


def test_returns_and_refunds(client):
    order = first(client, "/api/v1/orders", status="refunding")
    returns = client.get(f"/api/v1/orders/{order['id']}/returns").json()
    refunds = client.get(f"/api/v1/orders/{order['id']}/refunds").json()
    assert returns[0]["status"] == "received" and refunds[0]["status"] == "pending"
    assert client.get(f"/api/v1/returns/{returns[0]['id']}").json() == returns[0]
    assert client.get(f"/api/v1/refunds/{refunds[0]['id']}").json()["amount_display"].startswith("¥")
    assert client.get("/api/v1/refunds/RF000000000000").status_code == 404


@pytest.mark.parametrize("path", [
    "/api/v1/customers/C9999", "/api/v1/orders/2601019999999999",
    "/api/v1/orders/2601019999999999/shipment", "/api/v1/shipments/SF0000000000000",
    "/api/v1/returns/RA000000000000", "/api/v1/customers/C9999/orders",
])
def test_unknown_ids_are_404_with_a_json_error(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message"}


@pytest.mark.parametrize("path, params", [
    ("/api/v1/orders/123", {}),
    ("/api/v1/orders/26110812345678901", {}),
    ("/api/v1/orders/261108123456789x", {}),
    ("/api/v1/orders/" + "9" * 5000, {}),
    ("/api/v1/customers/C0001/orders/12", {}),
    ("/api/v1/customers/C0001%20OR%201=1", {}),
    ("/api/v1/customers/客户", {}),
    ("/api/v1/orders", {"limit": 0}),
    ("/api/v1/orders", {"limit": 101}),
    ("/api/v1/orders", {"offset": -1}),
    ("/api/v1/orders", {"status": "lost"}),
    ("/api/v1/identities/email/a@b.c", {}),
    ("/api/v1/identities/wechat/" + "x" * 200, {}),
    ("/api/v1/shipments/sf'--", {}),
])
def test_malformed_input_is_422_never_500(client, path, params):
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_api_key_is_enforced_when_configured(tmp_path):
    settings = ShopSettings(db_path=str(tmp_path / "shop.sqlite3"), api_key="k" * 24)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/customers/C0001").status_code == 401
        assert client.get("/api/v1/customers/C0001", headers={"X-Api-Key": "wrong"}).status_code == 401
        ok = client.get("/api/v1/customers/C0001", headers={"X-Api-Key": "k" * 24})
        assert ok.status_code == 200
        assert client.get("/healthz").status_code == 200


def test_committed_contract_matches_the_app():
    committed = (ROOT / "docs" / "shop-api.openapi.json").read_text(encoding="utf-8")
    assert json.loads(committed) == json.loads(openapi_json()), (
        "docs/shop-api.openapi.json is stale: run `.venv/bin/python -m demo_shop openapi "
        "> docs/shop-api.openapi.json`")
