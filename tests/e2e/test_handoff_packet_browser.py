"""What the agent knows when a conversation arrives, in real headless Chromium against the whole
stack (real Rasa, action server and demo shop): the order and its logistics (masked), the bot's
backend calls, and closing so that the bot carries on with a chosen flow."""
from __future__ import annotations

import pytest

from tests.e2e.test_agent_console_browser import wait_for
from tests.e2e.test_agent_console_tools import AGENT, open_page, sign_in  # noqa: F401 (fixture)
from tests.e2e.test_chat import chat, reply_text, token

pytestmark = pytest.mark.e2e
# Customers other end-to-end tests talk as, by name or as the first of a status.
TAKEN = {"C0001", "C0031", "C0032", "C0042", "C0043", "C0047", "C0053", "C0060"}


def test_the_order_panel_shows_what_the_bot_knew_and_the_bot_carries_on_after_closing(
        open_page, stack, service, shop, agent_on_duty, tmp_path):  # noqa: F811 (fixture)
    orders = shop.get("/orders", params={"status": "in_transit", "limit": 50}).json()["items"]
    order = next(o for o in reversed(orders) if o["customer_id"] not in TAKEN)
    customer, full = order["customer_id"], shop.get(f"/orders/{order['id']}").json()
    shipment = shop.get(f"/orders/{order['id']}/shipment").json()

    answer = reply_text(chat(service, stack, customer, f"订单{order['id']}到哪了"))
    assert shipment["tracking_number"] in answer, answer
    queued = chat(service, stack, customer, "转人工")
    assert "转接人工客服" in reply_text(queued), reply_text(queued)
    conversation_id = queued["conversation_id"]

    agent = open_page("agent")
    sign_in(agent, stack, AGENT, "客服")
    item = agent.locator(f'.queue-item[data-conversation="{conversation_id}"]')
    item.wait_for(timeout=15_000)
    item.get_by_role("button", name="接入").click()
    panel = agent.locator("#order-panel")
    panel.wait_for(timeout=10_000)
    agent.locator("#order-info", has_text=order["id"]).wait_for(timeout=10_000)

    info = agent.locator("#order-info").inner_text()
    assert full["receiver_phone"][-4:] in info and full["receiver_phone"] not in info
    assert "****" in info and full["address"] not in info
    assert shipment["tracking_number"] in agent.locator("#logistics-info").inner_text()
    assert shipment["events"][0]["description"][:8] in agent.locator("#logistics-events").inner_text()
    latest = agent.locator("#action-log li").first
    assert "查询物流" in latest.inner_text() and "成功" in latest.inner_text()
    assert f"/orders/{order['id']}/shipment" in latest.locator(".action-log__calls").inner_text()
    assert f"订单概况：订单 {order['id']}" in agent.locator("#summary").inner_text()
    assert full["receiver_phone"] not in agent.locator("#summary").inner_text()
    agent.screenshot(path=str(tmp_path / "console_order_panel.png"))

    # Closing with "查物流": the bot answers about the same order (the slot was kept), then the
    # customer is asked to rate.
    def outbox() -> list[str]:
        frames = service.get("/api/app/outbox", params={"since": "0-0"},
                             headers={"Authorization": f"Bearer {token(stack, customer)}"}).json()
        return [reply["text"] for frame in frames for reply in frame["replies"]]

    def about_the_parcel(text: str) -> bool:
        return shipment["tracking_number"] in text and text.startswith(f"订单 {order['id']}")

    before = sum(about_the_parcel(text) for text in outbox())
    agent.locator("#close-conversation").click()
    agent.locator("#close-resume").select_option(label="查物流")
    assert agent.locator("#close-order").input_value() == order["id"]
    agent.locator("#close-confirm").click()
    agent.locator("#conversation-empty").wait_for(timeout=10_000)
    wait_for(lambda: any("满意" in text for text in outbox()), 30, "the satisfaction question")
    texts = outbox()
    rating = next(i for i, text in enumerate(texts) if "满意" in text)
    answered = [i for i, text in enumerate(texts) if about_the_parcel(text)]
    assert len(answered) == before + 1 and answered[-1] < rating, texts
    assert agent.dialogs == []
