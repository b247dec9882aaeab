"""action_order_status against a real demo shop process (and against a dead one)."""
from __future__ import annotations

import json

import aiohttp
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.api.shop import ShopClient
from actions.order_lookup import requested_order_id
from actions.order_status import ActionOrderStatus
from actions.settings import Settings
from tests.rasa.conftest import make_tracker, split_log
from tests.support import free_port


def settings_for(url: str, retries: int = 1) -> Settings:
    return Settings(shop_api_url=url, shop_api_key="", shop_timeout_seconds=2,
                    shop_read_retries=retries)


@pytest.fixture
def use_shop(monkeypatch, shop_url):
    monkeypatch.setattr(order_lookup, "shop", ShopClient(settings_for(shop_url)))


async def fetch(url: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.json()


async def run(tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events, _ = split_log(await ActionOrderStatus().run(dispatcher, tracker, {}))
    await order_lookup.shop.close()
    return dispatcher.messages, events


def test_order_id_precedence():
    entity = [{"entity": "order_id", "value": "2611081234567890"}]
    assert requested_order_id(make_tracker("x", entities=entity)) == "2611081234567890"
    assert requested_order_id(make_tracker("单号2611081234567891呢")) == "2611081234567891"
    remembered = make_tracker("它到哪了", slots={"order_id": "2611081234567892"})
    assert requested_order_id(remembered) == "2611081234567892"
    assert requested_order_id(make_tracker("我的订单")) is None


async def test_anonymous_customer_is_asked_to_log_in():
    messages, events = await run(make_tracker("我的订单到哪了", customer_id=None))
    assert messages[0]["text"] == order_lookup.NOT_LOGGED_IN and events == []


async def test_own_order_shows_status_and_latest_event(use_shop, shop_url):
    order = (await fetch(f"{shop_url}/orders?status=out_for_delivery&limit=1"))["items"][0]
    shipment = await fetch(f"{shop_url}/orders/{order['id']}/shipment")
    messages, events = await run(make_tracker(f"订单{order['id']}到哪了", order["customer_id"]))
    text = messages[0]["text"]
    assert "派送中" in text and shipment["events"][0]["description"] in text
    assert events == [{"event": "slot", "timestamp": None, "name": "order_id", "value": order["id"]}]


async def test_someone_elses_order_is_not_found(use_shop, shop_url):
    order = (await fetch(f"{shop_url}/orders?status=delivered&limit=1"))["items"][0]
    others = (await fetch(f"{shop_url}/customers?limit=5"))["items"]
    stranger = next(c["id"] for c in others if c["id"] != order["customer_id"])
    messages, _ = await run(make_tracker(f"订单{order['id']}", stranger))
    assert "没有在您的账户下找到订单" in messages[0]["text"]
    assert order["status_label"] not in messages[0]["text"]


async def test_recent_orders_are_offered_as_buttons(use_shop, shop_url):
    customer = (await fetch(f"{shop_url}/customers?limit=1"))["items"][0]
    orders = (await fetch(f"{shop_url}/customers/{customer['id']}/orders?limit=5"))["items"]
    messages, _ = await run(make_tracker("我的订单", customer["id"]))
    payloads = [json.loads(b["payload"].removeprefix("/query_order"))["order_id"]
                for b in messages[0]["buttons"]]
    assert payloads == [order["id"] for order in orders]


async def test_wrong_shape_is_explained(use_shop):
    entity = [{"entity": "order_id", "value": "12345"}]
    messages, events = await run(make_tracker("订单 12345", entities=entity))
    assert "16 位数字" in messages[0]["text"]


async def test_shop_down_gives_a_polite_answer(monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}/api/v1"
    monkeypatch.setattr(order_lookup, "shop", ShopClient(settings_for(dead, retries=2)))
    messages, events = await run(make_tracker("订单2611081234567890到哪了"))
    assert messages[0]["text"] == order_lookup.SHOP_DOWN and events == []
