"""action_return_eligibility against a real demo shop: the policy engine's answer, in Chinese."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.api.shop import ShopClient
from actions.formatting import yuan
from actions.returns import ActionReturnEligibility
from actions.settings import Settings
from tests.rasa.conftest import make_tracker

PLAIN_CATEGORIES = {"apparel", "shoes", "electronics", "home"}


@pytest.fixture(autouse=True)
def use_shop(monkeypatch, shop_url):
    settings = Settings(shop_api_url=shop_url, shop_api_key="", shop_timeout_seconds=2,
                        shop_read_retries=1)
    monkeypatch.setattr(order_lookup, "shop", ShopClient(settings))


async def delivered_orders(shop_url: str) -> list[dict]:
    async with aiohttp.ClientSession() as session:
        url = f"{shop_url}/orders?status=delivered&limit=100"
        async with session.get(url) as response:
            return (await response.json())["items"]


def signed_days_ago(order: dict) -> float:
    signed = datetime.fromisoformat(order["signed_at"])
    return (datetime.now(timezone.utc) - signed) / timedelta(days=1)


async def run(tracker) -> str:
    dispatcher = CollectingDispatcher()
    await ActionReturnEligibility().run(dispatcher, tracker, {})
    await order_lookup.shop.close()
    return dispatcher.messages[0]["text"]


async def test_recently_signed_plain_goods_can_be_returned(shop_url):
    order = next(o for o in await delivered_orders(shop_url)
                 if signed_days_ago(o) < 5 and {i["category"] for i in o["items"]} <= PLAIN_CATEGORIES)
    text = await run(make_tracker(f"订单{order['id']}我要退货", order["customer_id"],
                                  intent="request_return"))
    assert f"订单 {order['id']} 可以申请7天无理由退货" in text
    assert f"预计退款 {yuan(order['goods_fen'])}" in text
    assert "需要我现在为您提交退货申请吗" in text


async def test_too_late_is_refused_with_the_reason(shop_url):
    order = next(o for o in await delivered_orders(shop_url) if signed_days_ago(o) > 9)
    text = await run(make_tracker(f"订单{order['id']}要退", order["customer_id"],
                                  intent="request_return"))
    assert text.startswith(f"抱歉，订单 {order['id']} 目前不能申请无理由退货")
    assert "转人工" in text


async def test_without_an_order_number_signed_orders_are_offered(shop_url):
    order = (await delivered_orders(shop_url))[0]
    dispatcher = CollectingDispatcher()
    await ActionReturnEligibility().run(
        dispatcher, make_tracker("我要退货", order["customer_id"], intent="request_return"), {})
    await order_lookup.shop.close()
    buttons = dispatcher.messages[0]["buttons"]
    assert buttons and all(b["payload"].startswith("/request_return") for b in buttons)
    assert any(order["id"] in b["payload"] for b in buttons)
