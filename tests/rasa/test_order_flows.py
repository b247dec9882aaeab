"""Order flows through the real actions against a real demo shop process (its own database,
since these tests write): the exact messages and events each action produces."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import order_lookup
from actions.address import ActionChangeAddress
from actions.api.shop import ShopClient
from actions.cancel import ActionCancelOrder
from actions.confirm import ActionConfirmPending, ActionDenyPending, ActionHandleInform
from actions.exchange import ActionRequestExchange
from actions.logistics import ActionLogistics
from actions.order_lookup import ASK_LAST4, HUMAN_BUTTON, not_found_text
from actions.pending import CONFIRM_BUTTONS
from actions.quality import ActionReportQualityIssue
from actions.refunds import ActionRefundStatus
from actions.returns import ActionReturnEligibility
from actions.settings import Settings
from actions.urge import ActionUrgeShipment
from bot.masking import mask_address
from tests.rasa.conftest import make_tracker, split_log
from tests.support import SERVICE_PYTHON, free_port, http_ok, running, wait_until

PLAIN = {"apparel", "shoes", "electronics", "home"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("writable-shop")
    port, database = free_port(), tmp / "shop.sqlite3"
    command = [str(SERVICE_PYTHON), "-m", "demo_shop", "--port", str(port)]
    with running(command, tmp / "shop.log", {"SHOP_DB_PATH": str(database)}) as process:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 60, "demo shop", process,
                   tmp / "shop.log")
        yield f"http://127.0.0.1:{port}/api/v1", database


@pytest.fixture(autouse=True)
def use_shop(monkeypatch, shop):
    settings = Settings(shop_api_url=shop[0], shop_api_key="", shop_timeout_seconds=2,
                        shop_read_retries=1)
    monkeypatch.setattr(order_lookup, "shop", ShopClient(settings))


@pytest.fixture
def api(shop):
    async def get(path: str):
        async with aiohttp.ClientSession() as session, session.get(shop[0] + path) as response:
            return await response.json()
    return get


async def orders(api, status: str) -> list[dict]:
    return (await api(f"/orders?status={status}&limit=100"))["items"]


async def run(action, tracker) -> tuple[list[dict], list[dict]]:
    """The messages, and the events other than the action log's (see ``run_logged``)."""
    messages, events, _ = await run_logged(action, tracker)
    return messages, events


async def run_logged(action, tracker) -> tuple[list[dict], list[dict], list[dict] | None]:
    dispatcher = CollectingDispatcher()
    events, log = split_log(await action.run(dispatcher, tracker, {}))
    await order_lookup.shop.close()
    return dispatcher.messages, events, log


def slots(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def days_since(moment: str) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(moment)) / timedelta(days=1)


def tracker_for(order: dict, text: str, intent: str, **kwargs):
    return make_tracker(text, order["customer_id"], intent=intent,
                        entities=[{"entity": "order_id", "value": order["id"]}], **kwargs)


async def test_logistics_shows_latest_events_and_expected_delivery(api):
    order = (await orders(api, "in_transit"))[0]
    shipment = await api(f"/orders/{order['id']}/shipment")
    messages, events = await run(ActionLogistics(), tracker_for(order, "到哪了", "query_logistics"))
    text = messages[0]["text"]
    assert shipment["tracking_number"] in text and shipment["courier_name"] in text
    for event in shipment["events"][:3]:
        assert event["description"] in text
    if shipment["status"] != "returned":
        assert "预计" in text
    assert events == [{"event": "slot", "timestamp": None, "name": "order_id", "value": order["id"]}]


async def test_signed_for_but_not_received_is_offered_the_logistics_group(api):
    order = (await orders(api, "delivered"))[0]
    messages, _ = await run(ActionLogistics(),
                            tracker_for(order, "显示签收了但我根本没收到", "query_logistics"))
    assert "没有收到" in messages[0]["text"] and messages[0]["buttons"][0]["payload"] == "/request_human"
    calm, _ = await run(ActionLogistics(), tracker_for(order, "物流怎么样了", "query_logistics"))
    assert calm[0]["buttons"] == []


async def test_a_returned_parcel_is_flagged(api):
    for order in await orders(api, "in_transit"):
        shipment = await api(f"/orders/{order['id']}/shipment")
        if shipment["status"] == "returned":
            break
    else:
        pytest.skip("the seed has no returned parcel")
    messages, _ = await run(ActionLogistics(), tracker_for(order, "快递呢", "query_logistics"))
    assert "退回寄件人" in messages[0]["text"] and messages[0]["buttons"]


async def test_urge_records_each_urge_and_quotes_the_promise(api):
    order = (await orders(api, "pending_shipment"))[0]
    first, _ = await run(ActionUrgeShipment(), tracker_for(order, "快发货", "urge_shipment",
                                                              message_id="u1"))
    retry, _ = await run(ActionUrgeShipment(), tracker_for(order, "快发货", "urge_shipment",
                                                              message_id="u1"))
    second, _ = await run(ActionUrgeShipment(), tracker_for(order, "还不发？", "urge_shipment",
                                                               message_id="u2"))
    assert "已催 1 次" in first[0]["text"] and "已催 1 次" in retry[0]["text"]
    assert "已催 2 次" in second[0]["text"]


async def test_address_change_asks_confirms_and_writes(api):
    order = (await orders(api, "pending_shipment"))[1]
    messages, events = await run(ActionChangeAddress(),
                                 tracker_for(order, "地址填错了", "change_address"))
    assert messages[0]["text"].startswith("请发送新的收货地址")
    assert slots(events) == {"order_id": order["id"], "awaiting": f"address:{order['id']}"}
    new = "浙江省杭州市西湖区文三路 100 号 2 栋"
    messages, events = await run(ActionHandleInform(), make_tracker(
        new, order["customer_id"], intent="inform", slots={"order_id": order["id"], **slots(events)}))
    assert mask_address(order["address"]) in messages[0]["text"] and new in messages[0]["text"]
    assert "****" in messages[0]["text"].split("收货人：")[1]
    assert order["address"] not in messages[0]["text"]
    assert messages[0]["buttons"] == CONFIRM_BUTTONS
    pending = slots(events)["pending_write"]
    assert pending == {"op": "address", "order_id": order["id"], "customer_id": order["customer_id"],
                       "address": new}
    messages, events = await run(ActionConfirmPending(), make_tracker(
        "确认", order["customer_id"], intent="affirm", slots={"pending_write": pending}))
    assert new in messages[0]["text"] and slots(events) == {"pending_write": None}
    assert (await api(f"/orders/{order['id']}"))["address"] == new


async def test_an_address_we_asked_for_is_taken_whole_even_if_the_model_cut_it_short(api):
    order = (await orders(api, "pending_shipment"))[1]
    new = "四川省成都市武侯区人民南路四段 12 号 5 栋"
    cut = [{"entity": "address", "value": "四川省成都市武侯区人民南路四段"}]
    messages, events = await run(ActionHandleInform(), make_tracker(
        new, order["customer_id"], intent="inform", entities=cut,
        slots={"order_id": order["id"], "awaiting": f"address:{order['id']}"}))
    assert slots(events)["pending_write"]["address"] == new and new in messages[0]["text"]


async def test_address_in_the_first_message_goes_straight_to_confirmation(api):
    order = (await orders(api, "pending_shipment"))[2]
    messages, events = await run(ActionChangeAddress(), tracker_for(
        order, "地址改成北京市朝阳区建国路 88 号 SOHO 3 栋", "change_address"))
    assert slots(events)["pending_write"]["address"] == "北京市朝阳区建国路 88 号 SOHO 3 栋"


async def test_shipped_orders_keep_their_address_and_offer_a_human(api):
    order = (await orders(api, "in_transit"))[1]
    messages, events = await run(ActionChangeAddress(), tracker_for(
        order, "地址改成北京市朝阳区建国路 88 号", "change_address"))
    assert "不能修改地址" in messages[0]["text"] and messages[0]["buttons"] == [HUMAN_BUTTON]
    assert "pending_write" not in slots(events)


async def test_cancel_is_confirmed_then_refunded_or_declined(api):
    waiting = [o for o in await orders(api, "pending_shipment")][3:5]
    messages, events = await run(ActionCancelOrder(), tracker_for(waiting[0], "取消", "cancel_order"))
    pending = slots(events)["pending_write"]
    assert pending["op"] == "cancel" and waiting[0]["total_display"] in messages[0]["text"]
    messages, _ = await run(ActionConfirmPending(), make_tracker(
        "确认", waiting[0]["customer_id"], intent="affirm", slots={"pending_write": pending}))
    expected = f"订单 {waiting[0]['id']} 已取消。退款 {waiting[0]['total_display']}"
    assert messages[0]["text"].startswith(expected)
    assert (await api(f"/orders/{waiting[0]['id']}"))["status"] == "cancelled"
    _, events = await run(ActionCancelOrder(), tracker_for(waiting[1], "取消", "cancel_order"))
    messages, events = await run(ActionDenyPending(), make_tracker(
        "算了", waiting[1]["customer_id"], intent="deny", slots=slots(events)))
    assert "订单保持不变" in messages[0]["text"] and slots(events) == {"pending_write": None}
    assert (await api(f"/orders/{waiting[1]['id']}"))["status"] == "pending_shipment"


async def test_confirming_with_nothing_pending_writes_nothing():
    messages, events = await run(ActionConfirmPending(), make_tracker("好的", intent="affirm"))
    assert messages[0]["response"] == "utter_anything_else" and events == []


async def test_a_pending_write_is_not_carried_out_for_another_customer(api):
    order = (await orders(api, "pending_shipment"))[5]
    _, events = await run(ActionCancelOrder(), tracker_for(order, "取消", "cancel_order"))
    stranger = "C0001" if order["customer_id"] != "C0001" else "C0002"
    messages, _ = await run(ActionConfirmPending(), make_tracker(
        "确认", stranger, intent="affirm", slots=slots(events)))
    assert messages[0]["text"] == not_found_text(order["id"])
    assert (await api(f"/orders/{order['id']}"))["status"] == "pending_shipment"


async def test_eligible_return_is_opened_once_with_its_number(api):
    order = next(o for o in await orders(api, "delivered")
                 if days_since(o["signed_at"]) < 5 and {i["category"] for i in o["items"]} <= PLAIN)
    messages, events = await run(ActionReturnEligibility(),
                                 tracker_for(order, "我要退货", "request_return"))
    assert "需要我现在为您提交退货申请吗" in messages[0]["text"]
    pending = slots(events)["pending_write"]
    assert pending["skus"] == [i["sku"] for i in order["items"]]
    confirm = make_tracker("确认", order["customer_id"], intent="affirm",
                           slots={"pending_write": pending}, message_id="confirm-1")
    messages, _ = await run(ActionConfirmPending(), confirm)
    text = messages[0]["text"]
    assert text.startswith("退货申请已提交，售后单号 RA") and "预计退款" in text
    assert ("上门取件" in text) == pending["pickup"] and ("请把商品寄到" in text) != pending["pickup"]
    again, _ = await run(ActionConfirmPending(), confirm)  # Rasa retrying the same message
    assert again[0]["text"] == text
    opened = [r for r in await api(f"/orders/{order['id']}/returns") if r["reason_code"]]
    assert len(opened) == 1 and opened[0]["id"] in text


async def test_exchange_offers_sizes_in_stock_and_opens_the_exchange(api):
    order = next(o for o in await orders(api, "delivered")
                 if days_since(o["signed_at"]) < 5 and o["items"][0]["category"] == "apparel")
    variants = await api(f"/products/{order['items'][0]['sku']}/variants")
    in_stock = [v["variant"] for v in variants if v["in_stock"] > 0]
    messages, events = await run(ActionRequestExchange(),
                                 tracker_for(order, "想换个尺码", "request_exchange"))
    assert [b["title"] for b in messages[0]["buttons"]] == [f"{v} 码" for v in in_stock]
    assert slots(events)["awaiting"] == f"size:{order['id']}"
    messages, events = await run(ActionHandleInform(), make_tracker(
        f"换{in_stock[0]}码", order["customer_id"], intent="inform",
        slots={"order_id": order["id"], "awaiting": f"size:{order['id']}"}))
    pending = slots(events)["pending_write"]
    assert pending["size"] == in_stock[0] and messages[0]["buttons"] == CONFIRM_BUTTONS
    messages, _ = await run(ActionConfirmPending(), make_tracker(
        "确认", order["customer_id"], intent="affirm", slots={"pending_write": pending}))
    assert messages[0]["text"].startswith("换货申请已提交，售后单号 RA")
    sold_out = [v["variant"] for v in variants if v["in_stock"] == 0]
    if sold_out:
        messages, _ = await run(ActionRequestExchange(), tracker_for(
            order, f"换{sold_out[0]}码", "request_exchange"))
        assert messages[0]["text"].startswith(f"抱歉，{sold_out[0]} 码暂时缺货")


async def test_refund_status_tells_stage_and_date(api):
    refunding = (await orders(api, "refunding"))[0]
    messages, _ = await run(ActionRefundStatus(), tracker_for(refunding, "退款呢", "query_refund"))
    refund = (await api(f"/orders/{refunding['id']}/refunds"))[-1]
    assert f"退款 {refund['amount_display']} 正在处理" in messages[0]["text"]
    assert "预计" in messages[0]["text"] and refund["id"] in messages[0]["text"]
    refunded = (await orders(api, "refunded"))[0]
    messages, _ = await run(ActionRefundStatus(), tracker_for(refunded, "退款到了吗", "query_refund"))
    assert "退回原支付账户" in messages[0]["text"]


async def test_quality_issue_opens_a_case_for_the_quality_group(api):
    order = (await orders(api, "delivered"))[2]
    messages, _ = await run(ActionReportQualityIssue(),
                            tracker_for(order, "耳机一边没声音", "report_quality_issue"))
    assert "质量问题售后单 QC" in messages[0]["text"] and "照片" in messages[0]["text"]
    assert messages[0]["buttons"] == [HUMAN_BUTTON]


@pytest.mark.parametrize("action", [ActionLogistics(), ActionUrgeShipment(), ActionChangeAddress(),
                                    ActionCancelOrder(), ActionReturnEligibility(),
                                    ActionRequestExchange(), ActionRefundStatus(),
                                    ActionReportQualityIssue()], ids=lambda a: a.name())
async def test_someone_elses_order_and_a_guessed_one_look_the_same(api, action):
    order = (await orders(api, "pending_shipment"))[-1]
    stranger = "C0001" if order["customer_id"] != "C0001" else "C0002"
    for order_id in (order["id"], "2611119999999999"):
        tracker = make_tracker("看看这个", stranger, entities=[{"entity": "order_id", "value": order_id}])
        messages, events = await run(action, tracker)
        assert [(m["text"], m["buttons"]) for m in messages] == [(not_found_text(order_id), [])]
        assert slots(events) == {"order_id": None}
    assert (await api(f"/orders/{order['id']}"))["status"] == "pending_shipment"


def bound_identity(database: Path, channel: str) -> tuple[str, str]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT external_id, customer_id FROM identities WHERE channel = ? "
                          "LIMIT 1", (channel,)).fetchone()


async def test_a_bound_wechat_account_sees_its_orders(api, shop):
    openid, customer_id = bound_identity(shop[1], "wechat")
    messages, _ = await run(ActionLogistics(), make_tracker(
        "我的快递", metadata={"channel": "wechat", "external_id": openid}))
    buttons = messages[0]["buttons"]
    mine = (await api(f"/customers/{customer_id}/orders?limit=5"))["items"]
    assert [json.loads(b["payload"].removeprefix("/query_logistics"))["order_id"] for b in buttons] \
        == [o["id"] for o in mine]


async def test_an_unbound_account_proves_the_phone_digits_first(api):
    order = (await orders(api, "out_for_delivery"))[0]
    unbound = {"channel": "telegram", "external_id": "999000111"}
    entities = [{"entity": "order_id", "value": order["id"]}]
    messages, events = await run(ActionLogistics(), make_tracker(
        "到哪了", metadata=unbound, entities=entities, intent="query_logistics"))
    assert messages[0]["text"] == ASK_LAST4
    assert slots(events)["awaiting"] == f"verify:{order['id']}:action_logistics"
    right = order["receiver_phone"][-4:]
    wrong = "0000" if right != "0000" else "1111"
    messages, events = await run(ActionHandleInform(), make_tracker(
        f"尾号{wrong}", metadata=unbound, intent="inform", slots=slots(events)))
    assert messages[0]["text"] == not_found_text(order["id"])  # exactly like an unknown order
    assert slots(events)["wrong_digits"] == 1
    waiting = {"awaiting": f"verify:{order['id']}:action_logistics", "order_id": order["id"]}
    messages, events = await run(ActionHandleInform(), make_tracker(
        f"后四位是{right}", metadata=unbound, intent="inform", slots=waiting))
    assert slots(events)["verified_orders"] == {order["id"]: order["customer_id"]}
    assert order["id"] in messages[0]["text"] and "派送" in messages[0]["text"]


async def test_repeated_wrong_digits_are_stopped(api):
    order = (await orders(api, "out_for_delivery"))[1]
    unbound = {"channel": "wechat", "external_id": "o-not-bound-1"}
    waiting = {"awaiting": f"verify:{order['id']}:action_logistics", "wrong_digits": 3}
    messages, events = await run(ActionHandleInform(), make_tracker(
        "1234", metadata=unbound, intent="inform", slots=waiting))
    assert "验证失败次数过多" in messages[0]["text"] and slots(events) == {"awaiting": None}


async def test_without_any_identity_nothing_is_shown(api):
    order = (await orders(api, "in_transit"))[0]
    messages, _ = await run(ActionLogistics(), make_tracker(
        "到哪了", None, entities=[{"entity": "order_id", "value": order["id"]}]))
    assert messages[0]["text"] == order_lookup.NOT_LOGGED_IN


KUAIDI_CUSTOMER, KUAIDI_KEY = "TESTCUSTOMER", "test-key-not-secret"
KUAIDI_COM = {"SF": "shunfeng", "ZTO": "zhongtong", "YTO": "yuantong", "YD": "yunda",
              "STO": "shentong", "JD": "jd", "EMS": "ems"}


@pytest.fixture
async def kuaidi100(monkeypatch, shop):
    """The logistics action configured for Kuaidi100, against the protocol stand-in."""
    from aiohttp.test_utils import TestServer

    from actions import logistics
    from tests.stand_ins.kuaidi100 import REQUESTS, make_app

    waybills: dict = {}
    app = make_app(KUAIDI_CUSTOMER, KUAIDI_KEY, waybills)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    settings = Settings(shop_api_url=shop[0], shop_api_key="", shop_timeout_seconds=1,
                        shop_read_retries=1, logistics_source="kuaidi100",
                        kuaidi100_url=str(server.make_url("/poll/query.do")),
                        kuaidi100_customer=KUAIDI_CUSTOMER, kuaidi100_key=KUAIDI_KEY)
    monkeypatch.setattr(logistics, "source", logistics.LogisticsSource(settings))
    yield waybills, app[REQUESTS]
    await server.close()


async def test_logistics_from_kuaidi100_is_live_and_cached(api, kuaidi100):
    waybills, requests = kuaidi100
    order = (await orders(api, "in_transit"))[2]
    shipment = await api(f"/orders/{order['id']}/shipment")
    waybills[shipment["tracking_number"]] = {
        "com": KUAIDI_COM[shipment["courier_code"]], "state": "5",
        "phone": order["receiver_phone"],
        "events": [{"time": "2026-11-20 09:05:00", "context": "快件交给王师傅，正在派送途中",
                    "location": "上海"}]}
    for _ in range(2):
        messages, _ = await run(ActionLogistics(), tracker_for(order, "到哪了", "query_logistics"))
        assert "快件交给王师傅，正在派送途中" in messages[0]["text"]
    assert requests[shipment["tracking_number"]] == 1


async def test_a_kuaidi100_refusal_becomes_a_chinese_sentence(api, kuaidi100, caplog):
    waybills, _ = kuaidi100
    order = (await orders(api, "in_transit"))[3]
    shipment = await api(f"/orders/{order['id']}/shipment")
    waybills[shipment["tracking_number"]] = {"com": KUAIDI_COM[shipment["courier_code"]],
                                             "fail": "502"}
    messages, events = await run(ActionLogistics(), tracker_for(order, "到哪了", "query_logistics"))
    assert messages[0]["text"] == "物流查询暂时不可用，请稍后再试。"
    assert messages[0]["buttons"] == [HUMAN_BUTTON]
    assert "action_logistics failed: CourierUnavailable" in caplog.text
    assert KUAIDI_KEY not in caplog.text


async def test_an_order_number_typed_after_an_offer_goes_to_the_offering_action(api):
    order = (await orders(api, "pending_shipment"))[6]
    messages, events = await run(ActionUrgeShipment(), make_tracker(
        "催一下发货", order["customer_id"], intent="urge_shipment"))
    assert messages[0]["buttons"] and slots(events) == {"awaiting": "order:action_urge_shipment"}
    messages, events = await run(ActionHandleInform(), make_tracker(
        f"订单{order['id']}", order["customer_id"], intent="inform", slots=slots(events)))
    assert "已帮您催促仓库优先发货" in messages[0]["text"]
    assert slots(events) == {"awaiting": None, "order_id": order["id"]}


async def test_a_remembered_order_in_another_state_is_not_assumed(api):
    waiting = {o["customer_id"] for o in await orders(api, "pending_shipment")}
    shipped = next(o for o in await orders(api, "in_transit") if o["customer_id"] in waiting)
    messages, events = await run(ActionUrgeShipment(), make_tracker(
        "怎么还不发货", shipped["customer_id"], intent="urge_shipment",
        slots={"order_id": shipped["id"]}))
    assert messages[0]["text"].startswith("请问要催哪一笔订单")
    assert shipped["id"] not in json.dumps(messages[0]["buttons"])
    assert slots(events)["awaiting"] == "order:action_urge_shipment"
    named, _ = await run(ActionUrgeShipment(), tracker_for(shipped, "这单怎么还不发货", "urge_shipment"))
    assert named[0]["text"].startswith("这笔订单已经发货啦")


@pytest.mark.parametrize("action", [ActionLogistics(), ActionReturnEligibility(),
                                    ActionCancelOrder()], ids=lambda a: a.name())
async def test_a_customer_the_shop_does_not_know_is_told_they_have_no_orders(action):
    """A new account (no orders yet, so unknown to the order system) asks without a number."""
    messages, events = await run(action, make_tracker("我的订单到哪了", "NEWCUSTOMER01"))
    assert messages[0]["text"] == order_lookup.NO_ORDERS and events == []


def test_a_confirmed_write_keeps_its_key_when_a_retry_reaches_another_rasa_replica():
    """A replica killed after the shop write but before its answer: the service retries, Rasa
    gives the message a new id, yet the write must carry the same Idempotency-Key."""
    from actions.pending import idempotency_key

    def key(rasa_message_id: str, channel_message_id: str | None) -> str:
        metadata = {"channel": "app", "customer_id": "C0001"}
        if channel_message_id:
            metadata["message_id"] = channel_message_id
        tracker = make_tracker("是的", metadata=metadata, message_id=rasa_message_id)
        return idempotency_key(tracker, "cancel", "202611110001")

    assert key("rasa-try-1", "m-42") == key("rasa-try-2", "m-42")
    assert key("rasa-try-1", "m-42") != key("rasa-try-1", "m-43")
    assert key("rasa-try-1", None) != key("rasa-try-2", None)  # without it: Rasa's id
