"""The bot's side of asking for a human: the reason, the skill group, the customer's tier."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.api.shop import Order, ShopClient
from actions.escalation import skill_group
from actions.handoff import ActionHandOffNotUnderstood, ActionRequestHuman
from actions.settings import Settings
from actions.tiers import tier_of
from tests.rasa.conftest import make_tracker

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)


def order(days_ago: float, total_fen: int, status: str = "delivered") -> Order:
    return Order(id="2611201234567890", status=status, status_label="", items=(),
                 total_display="", shipping_fee_fen=0, created_at=NOW - timedelta(days=days_ago),
                 signed_at=None, total_fen=total_fen)


@pytest.mark.parametrize("membership, orders, tier", [
    ("vip", [], "vip"),
    ("regular", [order(10, 100_000) for _ in range(4)], "vip"),
    ("gold", [order(10, 100_000) for _ in range(3)], "potential"),
    ("regular", [order(5, 5_000), order(20, 5_000)], "potential"),
    ("regular", [order(5, 5_000)], "regular"),
    ("regular", [order(200, 900_000) for _ in range(9)], "regular"),   # long ago
    ("regular", [order(5, 900_000, "cancelled") for _ in range(9)], "regular"),
    ("regular", [], "regular"),
])
def test_tiers_from_recency_frequency_and_spend(membership, orders, tier):
    assert tier_of(membership, orders, NOW) == tier


def with_intents(*intents: str) -> Tracker:
    tracker = make_tracker("转人工", intent="request_human")
    tracker.events = [{"event": "user", "parse_data": {"intent": {"name": name}}}
                      for name in intents]
    return tracker


@pytest.mark.parametrize("intents, group", [
    (("greet", "query_logistics", "request_human"), "logistics"),
    (("request_return", "thank", "request_human"), "returns"),
    (("report_quality_issue", "complain"), "quality"),
    (("greet", "complain"), "general"),
    ((), "general"),
])
def test_skill_group_from_the_latest_business_intent(intents, group):
    assert skill_group(with_intents(*intents)) == group


@pytest.fixture
def use_shop(monkeypatch, shop_url):
    settings = Settings(shop_api_url=shop_url, shop_api_key="", shop_timeout_seconds=2,
                        shop_read_retries=1)
    monkeypatch.setattr(order_lookup, "shop", ShopClient(settings))


async def test_asking_for_a_human_tells_the_service_why_and_where(use_shop):
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman().run(dispatcher, with_intents("query_logistics"), {})
    await order_lookup.shop.close()
    [message] = dispatcher.messages
    assert message["text"] == "好的，正在为您转接人工客服，请稍候。"
    handoff = message["custom"]["handoff"]
    assert handoff["reason"] == "customer_request" and handoff["skill_group"] == "logistics"
    assert handoff["tier"] in ("vip", "potential", "regular") and events == []


async def test_two_misunderstandings_hand_over_and_forget_the_message(use_shop):
    dispatcher = CollectingDispatcher()
    events = await ActionHandOffNotUnderstood().run(dispatcher, with_intents(), {})
    await order_lookup.shop.close()
    assert dispatcher.messages[0]["custom"]["handoff"]["reason"] == "not_understood"
    assert events == [{"event": "rewind", "timestamp": None}]


async def test_with_the_shop_down_the_handoff_still_happens(monkeypatch):
    monkeypatch.setattr(order_lookup, "shop", ShopClient(Settings(
        shop_api_url="http://127.0.0.1:9/api/v1", shop_api_key="", shop_timeout_seconds=0.3,
        shop_read_retries=0)))
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, with_intents("request_refund"), {})
    await order_lookup.shop.close()
    assert dispatcher.messages[0]["custom"]["handoff"]["tier"] == "regular"


@pytest.mark.parametrize("text, hands_over", [
    ("你们服务太差了，我要投诉！！！垃圾", True),
    ("我想反馈一下包装有点简陋", False),
])
async def test_a_complaint_in_strong_words_is_handed_over_at_once(use_shop, text, hands_over):
    from actions.handoff import ActionComplain

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, customer_id="C0001", intent="complain")
    tracker.events = []
    await ActionComplain().run(dispatcher, tracker, {})
    await order_lookup.shop.close()
    [message] = dispatcher.messages
    assert message["text"].startswith("非常抱歉")
    if hands_over:
        assert message["custom"]["handoff"]["reason"] == "complaint"
    else:
        assert message["buttons"] == [{"title": "转人工", "payload": "/request_human"}]
        assert not message["custom"]


def test_vips_are_handed_over_on_milder_words():
    from actions.handoff import ActionComplain
    from handoff.summary.sentiment import sentiment

    mild = "不太满意"
    score = sentiment(mild)
    assert ActionComplain.THRESHOLD["regular"] < score <= ActionComplain.THRESHOLD["vip"]
