"""Two-stage fallback through Rasa and the action server (NLU is bypassed with intent payloads,
so the dialogue is what is tested, whatever the model's confidence on a given sentence)."""
from __future__ import annotations

import pytest

from tests.e2e.test_chat import chat, reply_text

pytestmark = pytest.mark.e2e


def test_two_misunderstandings_hand_over_to_a_human(service, stack, agent_on_duty):
    first = reply_text(chat(service, stack, "C0031", "/nlu_fallback"))
    assert "换个说法" in first
    second = reply_text(chat(service, stack, "C0031", "/nlu_fallback"))
    assert "没能理解" in second and "已为您转接人工客服。您" in second
    waiting = reply_text(chat(service, stack, "C0031", "人呢？"))
    assert waiting.startswith("收到，客服接入后会看到您的消息。")
    back = reply_text(chat(service, stack, "C0031", "不用了"))
    assert back.startswith("好的，已取消转人工")


def test_after_a_misunderstanding_the_clarified_request_is_answered(service, shop, stack):
    customer_id = "C0032"
    chat(service, stack, customer_id, "/nlu_fallback")
    answer = chat(service, stack, customer_id, "/query_order")
    buttons = [button for reply in answer["replies"] for button in reply["buttons"]]
    own = shop.get(f"/customers/{customer_id}/orders", params={"limit": 5}).json()["items"]
    assert len(buttons) == len(own)
    assert all(o["id"] in b["payload"] for o, b in zip(own, buttons, strict=True))
