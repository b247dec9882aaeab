"""A customer chats through the app channel; the answer crosses Rasa, the action server and the
demo shop's API. Every expected value is read from the shop's API, never written into the test."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from bot.contract import WEBHOOK_PATH
from channels import app_auth

pytestmark = pytest.mark.e2e


def token(stack, customer_id: str) -> str:
    return app_auth.sign(customer_id, stack.app_token_secret, 600)


def chat(service: httpx.Client, stack, customer_id: str, text: str,
         message_id: str | None = None) -> dict[str, Any]:
    response = service.post("/api/app/messages",
                            headers={"Authorization": f"Bearer {token(stack, customer_id)}"},
                            json={"client_message_id": message_id or uuid.uuid4().hex, "text": text})
    assert response.status_code == 200, response.text
    return response.json()


def reply_text(answer: dict[str, Any]) -> str:
    return "\n".join(reply["text"] for reply in answer["replies"])


def orders_in(shop: httpx.Client, status: str, count: int = 1) -> list[dict[str, Any]]:
    orders = shop.get("/orders", params={"status": status, "limit": 50}).json()["items"]
    assert len(orders) >= count, f"demo shop has fewer than {count} {status} orders"
    return orders[:count]


def test_order_question_gets_the_real_status_and_latest_courier_event(service, shop, stack):
    order = orders_in(shop, "in_transit")[0]
    shipment = shop.get(f"/orders/{order['id']}/shipment").json()
    answer = chat(service, stack, order["customer_id"], f"我的订单 {order['id']} 到哪了")
    text = reply_text(answer)
    assert order["status_label"] == "运输中"
    assert "运输中" in text
    assert shipment["tracking_number"] in text
    assert shipment["events"][0]["description"] in text


def test_unknown_order_number_gets_a_clear_chinese_answer(service, shop, stack):
    customer_id = orders_in(shop, "delivered")[0]["customer_id"]
    unknown = "2601019999999999"
    assert shop.get(f"/orders/{unknown}").status_code == 404
    text = reply_text(chat(service, stack, customer_id, f"我的订单 {unknown} 到哪了"))
    assert f"没有在您的账户下找到订单 {unknown}" in text


def test_another_customers_order_is_not_shown(service, shop, stack):
    theirs = orders_in(shop, "out_for_delivery")[0]
    mine = next(order for order in orders_in(shop, "pending_shipment", 10)
                if order["customer_id"] != theirs["customer_id"])
    shipment = shop.get(f"/orders/{theirs['id']}/shipment").json()
    text = reply_text(chat(service, stack, mine["customer_id"], f"订单 {theirs['id']} 到哪了"))
    assert f"没有在您的账户下找到订单 {theirs['id']}" in text
    assert shipment["tracking_number"] not in text
    assert shipment["events"][0]["description"] not in text


def test_without_an_order_number_recent_orders_are_offered_and_clickable(service, shop, stack):
    order = orders_in(shop, "shipped")[0]
    customer_id = order["customer_id"]
    own_ids = {o["id"] for o in shop.get(f"/customers/{customer_id}/orders",
                                         params={"limit": 5}).json()["items"]}
    answer = chat(service, stack, customer_id, "我的订单到哪了")
    buttons = [button for reply in answer["replies"] for button in reply["buttons"]]
    offered = {json.loads(b["payload"][b["payload"].index("{"):])["order_id"] for b in buttons}
    assert offered == own_ids
    clicked = next(b for b in buttons if order["id"] in b["payload"])
    text = reply_text(chat(service, stack, customer_id, clicked["payload"]))
    assert order["status_label"] in text and order["id"] in text


def test_a_retried_message_is_answered_once(service, shop, stack):
    customer_id = orders_in(shop, "cancelled")[0]["customer_id"]
    first = chat(service, stack, customer_id, "你好", message_id="retry-e2e-1")
    again = chat(service, stack, customer_id, "你好", message_id="retry-e2e-1")
    assert not first["duplicate"] and again["duplicate"]
    assert again["replies"] == first["replies"]
    history = service.get("/api/app/messages",
                          headers={"Authorization": f"Bearer {token(stack, customer_id)}"}).json()
    assert [item["text"] for item in history if item["direction"] == "in"] == ["你好"]


def test_websocket_chat_answers_order_questions(stack, shop):
    order = orders_in(shop, "delivered")[0]
    url = stack.service_url.replace("http", "ws") + f"/api/app/ws?token={token(stack, order['customer_id'])}"
    with connect(url, open_timeout=10) as socket:
        socket.send(json.dumps({"type": "message", "client_message_id": "ws-1",
                                "text": f"帮我查下订单{order['id']}"}))
        frame = json.loads(socket.recv(timeout=30))
    assert frame["type"] == "replies" and frame["client_message_id"] == "ws-1"
    assert "已签收" in "\n".join(reply["text"] for reply in frame["replies"])


def test_rasa_webhook_refuses_callers_without_the_service_token(stack):
    body = {"sender": "app:intruder", "message": "你好", "metadata": {"customer_id": "C0001"}}
    assert httpx.post(stack.rasa_url + WEBHOOK_PATH, json=body).status_code == 401
    wrong = httpx.post(stack.rasa_url + WEBHOOK_PATH, json=body,
                       headers={"X-Xiaoshou-Token": "wrong"})
    assert wrong.status_code == 401


def test_ready_when_everything_answers(service):
    ready = service.get("/readyz")
    assert ready.status_code == 200
    assert all(check["ok"] for check in ready.json()["checks"].values())


def test_return_question_gets_the_policy_answer_for_that_order(service, shop, stack):
    now = datetime.now(timezone.utc)
    order = next(o for o in shop.get("/orders", params={"status": "delivered", "limit": 100}).json()["items"]
                 if now - datetime.fromisoformat(o["signed_at"]) < timedelta(days=5)
                 and {i["category"] for i in o["items"]} <= {"apparel", "shoes", "electronics", "home"})
    text = reply_text(chat(service, stack, order["customer_id"], f"订单{order['id']}不想要了，我要退货"))
    assert f"订单 {order['id']} 可以申请7天无理由退货" in text
