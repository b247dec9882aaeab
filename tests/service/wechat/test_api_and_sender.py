"""The customer-service API client and WeChatSender against the api.weixin.qq.com stand-in
(tests/stand_ins/wechat_api.py), over a real Redis."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from channels.messages import DeliveryFailed, Inbound
from channels.wechat import build_sender
from channels.wechat.api import SendFailed, SendRefused
from channels.wechat.inbound import MESSAGE_ALLOWANCE
from tests.support import free_port

OPENID = "oCustomer0001"


def inbound(message_id: str = "m1", openid: str = OPENID, **extra) -> Inbound:
    return Inbound("wechat", openid, message_id, "我的快递到哪了", extra=extra)


def stable_token_requests(state) -> list[dict]:
    return [request for request in state.token_requests if request["endpoint"] == "stable_token"]


# --- access tokens ----------------------------------------------------------------------------

async def test_token_is_fetched_once_and_cached_in_redis(make_sender, wechat_api, redis, prefix):
    state, _ = wechat_api
    state.open_window(OPENID)
    sender = make_sender()
    for number in range(3):
        await sender._api.send_text(OPENID, f"第{number}条")
    assert state.texts_to(OPENID) == ["第0条", "第1条", "第2条"]
    [request] = stable_token_requests(state)
    assert request["appid"] == "wx0123456789abcdef" and request["force_refresh"] is False
    assert request["grant_type"] == "client_credential"
    cached = await redis.get(f"{prefix}token:wx0123456789abcdef")
    assert cached.decode() == state.current
    assert 7200 - 300 - 5 < await redis.ttl(f"{prefix}token:wx0123456789abcdef") <= 7200 - 300


async def test_a_second_instance_uses_the_cached_token(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    await make_sender()._api.send_text(OPENID, "一")
    await make_sender()._api.send_text(OPENID, "二")
    assert len(stable_token_requests(state)) == 1


@pytest.mark.parametrize("trouble", ["expired", "invalidated"])
async def test_rejected_token_is_refreshed_once_and_the_send_retried(make_sender, wechat_api, trouble):
    state, _ = wechat_api
    state.open_window(OPENID)
    api = make_sender()._api
    await api.send_text(OPENID, "一")
    old = state.current
    state.expire_token() if trouble == "expired" else state.invalidate_token()  # 42001 / 40001
    await api.send_text(OPENID, "二")
    assert state.texts_to(OPENID) == ["一", "二"]
    assert state.current != old and len(stable_token_requests(state)) == 2


async def test_token_handed_out_again_after_rejection_is_force_refreshed(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    api = make_sender()._api
    await api.send_text(OPENID, "一")
    state.invalidate_token(keep_handing_out=True)
    await api.send_text(OPENID, "二")
    assert [request["force_refresh"] for request in stable_token_requests(state)] == [False, False, True]
    assert state.texts_to(OPENID) == ["一", "二"]


async def test_concurrent_refreshes_fetch_one_token(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID, allowance=20)
    senders = [make_sender() for _ in range(8)]  # as many instances, one Redis
    await asyncio.gather(*(sender._api.send_text(OPENID, str(n)) for n, sender in enumerate(senders)))
    assert len(stable_token_requests(state)) == 1
    assert sorted(state.texts_to(OPENID)) == [str(n) for n in range(8)]


async def test_wrong_secret_is_a_temporary_failure_not_a_crash(make_sender, wechat_api):
    state, _ = wechat_api
    with pytest.raises(SendFailed):
        await make_sender(app_secret="wrong-secret")._api.send_text(OPENID, "x")
    assert state.sent == []


# --- bounded retries --------------------------------------------------------------------------

async def test_system_busy_is_retried_a_bounded_number_of_times(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    api = make_sender()._api
    await api.access_token()
    state.fail_next(-1, -1)
    await api.send_text(OPENID, "第三次成功")
    assert state.send_requests == 3 and state.texts_to(OPENID) == ["第三次成功"]
    state.fail_next(-1, -1, -1, -1)
    with pytest.raises(SendFailed):
        await api.send_text(OPENID, "放弃")
    assert state.send_requests == 6  # 1 + 2 retries, no storm
    assert state.faults  # the fourth fault was never asked for


async def test_http_500_is_temporary_and_not_retried_here(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    api = make_sender()._api
    await api.access_token()
    state.fail_next("http500")
    with pytest.raises(SendFailed):
        await api.send_text(OPENID, "x")
    assert state.send_requests == 1


async def test_unreachable_api_raises_delivery_failed(redis, make_settings):
    settings = make_settings(api_base_url=f"http://127.0.0.1:{free_port()}")
    async with httpx.AsyncClient() as http:
        sender = build_sender(settings, redis, http)
        await sender.quota.grant(OPENID, MESSAGE_ALLOWANCE)
        with pytest.raises(DeliveryFailed):
            await sender.deliver(inbound(), [{"text": "您好"}])
        assert await sender.undelivered.entries() == []  # temporary: the router retries, nothing recorded
        assert await sender.quota.remaining(OPENID) == 5  # the failed send was given back


# --- delivery, quota, undelivered -------------------------------------------------------------

async def test_deliver_merges_replies_into_one_message(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    sender = make_sender()
    await sender.quota.grant(OPENID, MESSAGE_ALLOWANCE)
    await sender.deliver(inbound(), [{"text": "您的包裹已发出。"}, {"text": "预计明天送达。", "buttons": [
        {"title": "查看物流", "payload": "/query_logistics"}]}])
    assert state.texts_to(OPENID) == ["您的包裹已发出。\n\n预计明天送达。\n回复数字选择：\n1. 查看物流"]
    assert await sender.quota.remaining(OPENID) == 4
    assert await sender.menu.resolve(OPENID, "1") == "/query_logistics"


async def test_window_closed_45015_is_recorded_as_undelivered(make_sender, wechat_api):
    state, _ = wechat_api  # no open_window: WeChat answers 45015
    sender = make_sender()
    await sender.deliver(inbound("m-closed"), [{"text": "您的退款已到账。"}])
    [entry] = await sender.undelivered.entries()
    assert entry["openid"] == OPENID and entry["reason"] == "window_closed" and entry["errcode"] == 45015
    assert entry["text"] == "您的退款已到账。" and entry["message_id"] == "m-closed" and entry["time"] > 0
    assert await sender.quota.remaining(OPENID) == 0


async def test_quota_45047_from_wechat_is_recorded_and_stops_the_rest(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID, allowance=1)  # WeChat counts one more send than we know of
    sender = make_sender()
    await sender.quota.grant(OPENID, MESSAGE_ALLOWANCE)
    pieces = ["第一条", "第二条", "第三条"]
    await sender.send_pieces(inbound("m-quota"), pieces)
    assert state.texts_to(OPENID) == ["第一条"]
    [entry] = await sender.undelivered.entries()
    assert entry["reason"] == "quota_exhausted" and entry["errcode"] == 45047
    assert entry["text"] == "第二条\n\n第三条"
    assert await sender.quota.remaining(OPENID) == 0


async def test_local_quota_stops_before_wechat_refuses(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID, allowance=100)  # WeChat would allow more; we keep to the documented 5
    sender = make_sender()
    await sender.quota.grant(OPENID, MESSAGE_ALLOWANCE)
    for number in range(6):
        await sender.deliver(inbound(f"m{number}"), [{"text": f"回复{number}"}])
    assert state.texts_to(OPENID) == [f"回复{n}" for n in range(5)]
    [entry] = await sender.undelivered.entries()
    assert entry["reason"] == "quota_exhausted" and entry["errcode"] is None and entry["text"] == "回复5"


async def test_a_new_customer_message_renews_the_allowance_without_adding(make_sender, redis, prefix):
    sender = make_sender()
    await sender.quota.grant(OPENID, MESSAGE_ALLOWANCE)
    for _ in range(3):
        assert await sender.quota.take(OPENID)
    await sender.quota.grant(OPENID, (3, 60))  # a menu click: 3 for a minute, less than what is left
    assert await sender.quota.remaining(OPENID) == 3
    assert await redis.ttl(f"{prefix}quota:{OPENID}") > 47 * 3600
    await sender.quota.grant(OPENID, MESSAGE_ALLOWANCE)
    assert await sender.quota.remaining(OPENID) == 5


async def test_retry_after_a_temporary_failure_does_not_resend_what_went_out(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    sender = make_sender()
    await sender.quota.grant(OPENID, MESSAGE_ALLOWANCE)
    long_text = "\n".join(["好" * 600] * 3)  # three pieces of 1800 bytes
    message = inbound("m-long")
    await sender._api.access_token()
    state.fail_next(None, "http500")  # the first piece goes out, the second fails
    with pytest.raises(DeliveryFailed):
        await sender.deliver(message, [{"text": long_text}])
    assert state.texts_to(OPENID) == ["好" * 600]
    await sender.deliver(message, [{"text": long_text}])  # the router's retry
    assert state.texts_to(OPENID) == ["好" * 600] * 3
    assert await sender.quota.remaining(OPENID) == 2


async def test_bot_replies_to_a_welcomed_follow_are_not_sent(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    sender = make_sender()
    await sender.deliver(inbound("sub", answered_by_channel=True), [{"text": "您好，欢迎！"}])
    assert state.sent == []


async def test_refused_content_is_recorded_not_retried(make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window(OPENID)
    sender = make_sender()
    await sender._api.access_token()
    state.fail_next(40003)  # invalid openid
    await sender.deliver(inbound("m-bad"), [{"text": "x"}])
    [entry] = await sender.undelivered.entries()
    assert entry["reason"] == "invalid_openid" and entry["errcode"] == 40003
    with pytest.raises(SendRefused):
        state.fail_next(45015)
        await sender._api.send_text(OPENID, "y")
