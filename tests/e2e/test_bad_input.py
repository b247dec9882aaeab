"""Hostile and odd customer input through the whole stack: a reply, never an exception."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_chat import reply_text, token

pytestmark = pytest.mark.e2e

CUSTOMER = "C0042"
# Odd messages may well end in a handoff (two misunderstandings): the forgery test must not
# find its customer waiting in the queue.
FORGER = "C0043"


def send(service, stack, text: str, customer: str = CUSTOMER):
    return service.post("/api/app/messages",
                        headers={"Authorization": f"Bearer {token(stack, customer)}"},
                        json={"client_message_id": uuid.uuid4().hex, "text": text})


@pytest.mark.parametrize("text", [
    "😀😀😀",
    "？？？！！！。。。",
    "......",
    "' OR 1=1; DROP TABLE orders; --",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "\ufffd\ufffd\u202e\u200b乱码\ufeff",
    "a" * 2000,
    "退货" * 1000,
    "/query_order{\"order_id\": \"' OR 1=1\"}",
    "/nonexistent_intent",
    "{{7*7}} ${jndi:ldap://x}",
])
def test_odd_messages_get_a_reply(service, stack, text):
    response = send(service, stack, text)
    assert response.status_code == 200, response.text
    assert reply_text(response.json()).strip(), "the customer must always get some answer"


def test_too_long_message_gets_a_clear_chinese_error(service, stack):
    response = send(service, stack, "退" * 5000)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "请求格式不正确"


def test_forged_order_payload_does_not_leak_other_customers_orders(service, shop, stack):
    theirs = next(order for order in shop.get("/orders", params={"limit": 50}).json()["items"]
                  if order["customer_id"] != FORGER)
    response = send(service, stack, '/query_order{"order_id": "' + theirs["id"] + '"}', FORGER)
    text = reply_text(response.json())
    assert f"没有在您的账户下找到订单 {theirs['id']}" in text
    assert theirs["status_label"] not in text
