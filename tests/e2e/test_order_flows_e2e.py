"""Order flows across the whole stack: the service, Rasa (real NLU and dialogue), the action
server and the demo shop over HTTP. Expected values are read from the shop's API."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from bot.contract import TOKEN_HEADER, WEBHOOK_PATH
from tests.e2e.test_chat import chat, orders_in, reply_text

pytestmark = pytest.mark.e2e


def test_cancel_is_proposed_then_done_on_confirmation(service, shop, stack):
    order = orders_in(shop, "pending_shipment", 3)[-1]
    customer = order["customer_id"]
    proposal = chat(service, stack, customer, f"订单{order['id']}帮我取消掉")
    assert "确认取消订单" in reply_text(proposal)
    assert [b["payload"] for b in proposal["replies"][-1]["buttons"]] == ["/affirm", "/deny"]
    assert shop.get(f"/orders/{order['id']}").json()["status"] == "pending_shipment"
    done = reply_text(chat(service, stack, customer, "确认"))
    assert f"订单 {order['id']} 已取消" in done
    assert shop.get(f"/orders/{order['id']}").json()["status"] == "cancelled"


def test_address_change_asks_for_the_address_and_can_be_declined(service, shop, stack):
    order = orders_in(shop, "pending_shipment", 4)[-1]
    customer = order["customer_id"]
    ask = reply_text(chat(service, stack, customer, f"订单{order['id']}的收货地址写错了，要改一下"))
    assert "请发送新的收货地址" in ask
    new = "四川省成都市武侯区人民南路四段 12 号 5 栋"
    confirm = reply_text(chat(service, stack, customer, new))
    assert new in confirm and order["address"] not in confirm  # the old one is masked
    declined = reply_text(chat(service, stack, customer, "算了，不改了"))
    assert "订单保持不变" in declined
    assert shop.get(f"/orders/{order['id']}").json()["address"] == order["address"]


def test_return_is_opened_with_its_number_after_confirmation(service, shop, stack):
    now = datetime.now(timezone.utc)
    order = [o for o in shop.get("/orders", params={"status": "delivered", "limit": 100}).json()["items"]
             if now - datetime.fromisoformat(o["signed_at"]) < timedelta(days=5)
             and {i["category"] for i in o["items"]} <= {"apparel", "shoes", "electronics", "home"}][-1]
    customer = order["customer_id"]
    offer = reply_text(chat(service, stack, customer, f"订单{order['id']}不想要了，我要退货"))
    assert "需要我现在为您提交退货申请吗" in offer
    done = reply_text(chat(service, stack, customer, "好的，提交吧"))
    created = [r for r in shop.get(f"/orders/{order['id']}/returns").json() if r["reason_code"]]
    assert len(created) == 1 and f"售后单号 {created[0]['id']}" in done


def test_an_unbound_wechat_account_verifies_with_the_phone_digits(stack, shop):
    order = orders_in(shop, "in_transit", 5)[-1]
    sender = f"wechat:o-{uuid.uuid4().hex[:12]}"
    metadata = {"channel": "wechat", "external_id": sender.split(":", 1)[1]}

    def say(text: str) -> str:
        response = httpx.post(stack.rasa_url + WEBHOOK_PATH, timeout=30,
                              headers={TOKEN_HEADER: stack.rasa_token},
                              json={"sender": sender, "message": text, "metadata": metadata})
        assert response.status_code == 200, response.text
        return "\n".join(m.get("text", "") for m in response.json())

    asked = say(f"查一下订单{order['id']}的物流")
    assert "手机号的后四位" in asked and order["status_label"] not in asked
    shipment = shop.get(f"/orders/{order['id']}/shipment").json()
    answered = say(f"后四位是{order['receiver_phone'][-4:]}")
    assert shipment["tracking_number"] in answered


def test_asking_for_a_human_after_a_parcel_question_queues_for_logistics(service, shop, stack,
                                                                        redis_url, agent_on_duty):
    import redis

    order = orders_in(shop, "in_transit", 6)[-1]
    customer = order["customer_id"]
    chat(service, stack, customer, f"订单{order['id']}到哪了")
    answer = reply_text(chat(service, stack, customer, "别跟我扯了，转人工"))
    assert "正在为您转接人工客服" in answer and "预计等待" in answer
    client = redis.Redis.from_url(redis_url)
    handoff_id = client.get(f"xs:waiting:app:{customer}")
    assert client.hget(b"xs:handoff:" + handoff_id, "group") == b"logistics"
    assert client.get(f"xs:mode:app:{customer}") == b"queued"
    assert "不用了" in reply_text(chat(service, stack, customer, "还要多久"))
    reply_text(chat(service, stack, customer, "不用了"))
    assert client.get(f"xs:mode:app:{customer}") is None
