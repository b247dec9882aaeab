"""Every action when the order system misbehaves: a Chinese sentence, a human offered, the reason
logged, and nothing raised out of ``run``."""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.address import ActionChangeAddress
from actions.api.shop import ShopClient
from actions.cancel import ActionCancelOrder
from actions.confirm import ActionConfirmPending
from actions.exchange import ActionRequestExchange
from actions.logistics import ActionLogistics
from actions.order_lookup import BROKEN, HUMAN_BUTTON, SHOP_DOWN
from actions.order_status import ActionOrderStatus
from actions.quality import ActionReportQualityIssue
from actions.refunds import ActionRefundStatus
from actions.returns import ActionReturnEligibility
from actions.settings import Settings
from actions.urge import ActionUrgeShipment
from tests.rasa.conftest import make_tracker
from tests.support import free_port

ORDER_ID = "2611201234567890"
ACTIONS = [ActionOrderStatus(), ActionLogistics(), ActionUrgeShipment(), ActionChangeAddress(),
           ActionCancelOrder(), ActionReturnEligibility(), ActionRequestExchange(),
           ActionRefundStatus(), ActionReportQualityIssue()]


def broken_shop(mode: str, hits: Counter) -> web.Application:
    async def answer(request: web.Request) -> web.StreamResponse:
        hits[request.path] += 1
        if mode == "http500":
            return web.Response(status=500, text="Internal Server Error")
        if mode == "malformed":
            return web.Response(status=200, text="<html>oops", content_type="application/json")
        if mode == "wrong_shape":
            return web.json_response({"unexpected": True})
        if mode == "slow":
            await asyncio.sleep(5)
        return web.json_response({})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


@pytest.fixture(params=["http500", "malformed", "wrong_shape", "slow", "refused"])
async def failing_shop(request, monkeypatch):
    hits: Counter = Counter()
    server = None
    if request.param == "refused":
        url = f"http://127.0.0.1:{free_port()}/api/v1"
    else:
        server = TestServer(broken_shop(request.param, hits), host="127.0.0.1")
        await server.start_server()
        url = str(server.make_url("/api/v1"))
    settings = Settings(shop_api_url=url, shop_api_key="", shop_timeout_seconds=0.3,
                        shop_read_retries=1)
    monkeypatch.setattr(order_lookup, "shop", ShopClient(settings))
    yield request.param, hits
    await order_lookup.shop.close()
    if server:
        await server.close()


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name())
async def test_each_action_answers_and_offers_a_human(failing_shop, action, caplog):
    mode, hits = failing_shop
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(f"订单{ORDER_ID}", "C0001",
                           entities=[{"entity": "order_id", "value": ORDER_ID}])
    events = await action.run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["text"] in (SHOP_DOWN, BROKEN)
    assert message["buttons"] == [HUMAN_BUTTON]
    assert not any(e.get("name") == "pending_write" for e in events)
    assert action.name() in caplog.text  # the failure is logged with the action's name
    if mode in ("http500", "malformed", "slow"):
        assert sum(hits.values()) == 2  # one read, retried once


async def test_a_confirmed_write_against_a_broken_shop_keeps_the_customer_informed(failing_shop):
    dispatcher = CollectingDispatcher()
    pending = {"op": "cancel", "order_id": ORDER_ID, "customer_id": "C0001"}
    events = await ActionConfirmPending().run(
        dispatcher, make_tracker("确认", "C0001", intent="affirm", slots={"pending_write": pending}), {})
    assert dispatcher.messages[0]["text"] in (SHOP_DOWN, BROKEN)
    assert dispatcher.messages[0]["buttons"] == [HUMAN_BUTTON]
    assert events[0] == {"event": "slot", "timestamp": None, "name": "pending_write", "value": None}
