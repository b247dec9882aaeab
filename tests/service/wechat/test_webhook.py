"""The webhook end to end, over a real Redis, with a test-double router (doubles.py) and, where
replies overflow the passive answer, the api.weixin.qq.com stand-in."""
from __future__ import annotations

import pytest
from redis.asyncio import Redis

from channels.wechat.inbound import MENU_UNAVAILABLE, UNSUPPORTED, WELCOME, parse_xml
from channels.wechat.ledger import UndeliveredLog
from service.rate_limit import TOO_MANY_TEXT, Limit
from tests.service.wechat.doubles import RecordingSubmitter
from tests.service.wechat.helpers import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    OLD_AES_KEY,
    TOKEN,
    URL,
    encrypted_callback,
    open_envelope,
    passive_content,
    plain_signature,
    sample_messages,
    signed_query,
    text_xml,
    vectors,
)
from tests.support import free_port

VECTORS = vectors()
BUTTONS = [{"text": "请问是哪一笔订单？", "buttons": [
    {"title": "订单 202611110001", "payload": '/query_order{"order_id": "202611110001"}'},
    {"title": "订单 202611110002", "payload": '/query_order{"order_id": "202611110002"}'}]}]


# --- URL verification -------------------------------------------------------------------------

async def test_url_verification_echoes_echostr(make_webhook, make_settings):
    client, _ = await make_webhook(make_settings())
    response = await client.get(URL, params=signed_query(echostr="1616140317555161061"))
    assert response.status_code == 200 and response.text == "1616140317555161061"


async def test_url_verification_with_a_wrong_signature_is_403(make_webhook, make_settings):
    client, _ = await make_webhook(make_settings())
    response = await client.get(URL, params=signed_query(token="another-token", echostr="123"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "bad_signature"


@pytest.mark.parametrize("name", ["wecom_official_sample_verifyurl_2014",
                                  "wecom_official_sample_verifyurl_2016",
                                  "wechatpy_work_check_signature_echostr"])
async def test_encrypted_echostr_is_decrypted(make_webhook, make_settings, name):
    v = VECTORS[name]
    settings = make_settings(token=v["token"], app_id=v["appid"], encoding_aes_key=v["encoding_aes_key"])
    client, _ = await make_webhook(settings, clock=lambda: int(v["timestamp"]))
    response = await client.get(URL, params={"msg_signature": v["msg_signature"], "timestamp": v["timestamp"],
                                             "nonce": v["nonce"], "echostr": v["encrypt"]})
    assert response.status_code == 200 and response.text == v["expected_plaintext"]


# --- messages, plaintext and safe mode --------------------------------------------------------

async def test_text_message_gets_the_bot_reply_as_passive_xml(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(),
                                           RecordingSubmitter([{"text": "您的包裹已到达上海转运中心。"}]))
    response = await client.post(URL, params=signed_query(openid="oCustomer0001"),
                                 content=text_xml("我的快递到哪了"))
    assert passive_content(response) == "您的包裹已到达上海转运中心。"
    fields = parse_xml(response.content)
    assert fields["ToUserName"] == "oCustomer0001" and fields["FromUserName"] == ACCOUNT
    [inbound] = submitter.new
    assert (inbound.channel, inbound.external_id) == ("wechat", "oCustomer0001")
    assert inbound.text == "我的快递到哪了" and inbound.kind == "text"
    assert inbound.message_id == "6054768590064713728"
    assert submitter.waits == [0.2]


async def test_no_reply_in_time_answers_success(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(passive_timeout_seconds=0.1),
                                           RecordingSubmitter(ready=False))
    response = await client.post(URL, params=signed_query(), content=text_xml("在吗"))
    assert response.status_code == 200 and response.text == "success"
    assert len(submitter.new) == 1 and submitter.waits == [0.1]
    assert submitter.to_sender == submitter.new  # the router's consumer delivers them instead


async def test_empty_reply_list_answers_success(make_webhook, make_settings):
    client, _ = await make_webhook(make_settings(), RecordingSubmitter([]))
    response = await client.post(URL, params=signed_query(), content=text_xml("嗯"))
    assert response.text == "success"


async def test_official_account_vector_through_the_webhook(make_webhook, make_settings):
    v = VECTORS["mp_official_sample_decrypt"]
    settings = make_settings(token=v["token"], app_id=v["appid"], encoding_aes_key=v["encoding_aes_key"])
    client, submitter = await make_webhook(settings, RecordingSubmitter([{"text": "收到]]>"}]),
                                           clock=lambda: int(v["timestamp"]))
    query = {"signature": plain_signature(v["token"], v["timestamp"], v["nonce"]),
             "timestamp": v["timestamp"], "nonce": v["nonce"], "encrypt_type": "aes",
             "msg_signature": v["msg_signature"], "openid": "oyORnuP8q7ou2gfYjqLzSIWZf0rs"}
    response = await client.post(URL, params=query, content=v["from_xml"])
    assert response.status_code == 200, response.text
    [inbound] = submitter.new
    assert (inbound.external_id, inbound.text) == ("oyORnuP8q7ou2gfYjqLzSIWZf0rs", "abcdteT")
    assert inbound.message_id == "6054768590064713728"
    reply = open_envelope(response, v["token"], v["encoding_aes_key"], v["appid"])
    assert reply["Content"] == "收到]]>" and reply["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert reply["FromUserName"] == "gh_10f6c3c3ac5a"


async def test_safe_mode_callback_encrypted_by_wechatpy(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(encoding_aes_key=AES_KEY),
                                           RecordingSubmitter([{"text": "好的，马上为您查询。"}]))
    query, body = encrypted_callback(text_xml("查物流"))
    response = await client.post(URL, params=query, content=body)
    assert submitter.new[0].text == "查物流"
    assert open_envelope(response, TOKEN, AES_KEY, APP_ID)["Content"] == "好的，马上为您查询。"


async def test_previous_key_still_works_and_the_reply_uses_it(make_webhook, make_settings):
    settings = make_settings(encoding_aes_key=AES_KEY, previous_encoding_aes_key=OLD_AES_KEY)
    client, submitter = await make_webhook(settings, RecordingSubmitter([{"text": "好的"}]))
    query, body = encrypted_callback(text_xml("旧密钥的消息"), key=OLD_AES_KEY)
    response = await client.post(URL, params=query, content=body)
    assert submitter.new[0].text == "旧密钥的消息"
    assert open_envelope(response, TOKEN, OLD_AES_KEY, APP_ID)["Content"] == "好的"


async def test_unknown_key_is_refused(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(encoding_aes_key=AES_KEY))
    query, body = encrypted_callback(text_xml("x"), key=OLD_AES_KEY)
    response = await client.post(URL, params=query, content=body)
    assert response.status_code == 403 and response.json()["error"]["code"] == "decrypt_failed"
    assert submitter.submitted == []


async def test_another_accounts_message_is_refused(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(encoding_aes_key=AES_KEY))
    query, body = encrypted_callback(text_xml("x"), app_id="wx9999999999999999")
    response = await client.post(URL, params=query, content=body)
    assert response.status_code == 403 and submitter.submitted == []


# --- retries, duplicates, availability --------------------------------------------------------

async def test_same_msgid_three_times_reaches_the_router_once_and_is_answered_once(
        make_webhook, make_settings):
    """WeChat re-sends a callback it got no answer to, with the same query string and body: the
    retries are duplicates, and get the same passive reply (WeChat shows the one it receives)."""
    client, submitter = await make_webhook(make_settings(), RecordingSubmitter([{"text": "已为您查询"}]))
    query, body = signed_query(openid="oCustomer0001"), text_xml("催一下发货", msg_id="777")
    responses = [await client.post(URL, params=query, content=body) for _ in range(3)]
    assert len(submitter.new) == 1 and len(submitter.duplicates) == 2
    assert {inbound.dedupe_key for inbound in submitter.submitted} == {"wechat:oCustomer0001:777"}
    assert [passive_content(response) for response in responses] == ["已为您查询"] * 3
    assert submitter.to_sender == []


async def test_retry_after_the_replies_went_to_the_sender_answers_success(make_webhook, make_settings):
    """The first try gave up waiting: the replies are the Sender's now, a retry must not repeat them."""
    client, submitter = await make_webhook(make_settings(passive_timeout_seconds=0.05),
                                           RecordingSubmitter([{"text": "已为您查询"}], ready=False))
    query, body = signed_query(), text_xml("催一下发货", msg_id="778")
    first = await client.post(URL, params=query, content=body)
    submitter.make_ready()
    retries = [await client.post(URL, params=query, content=body) for _ in range(2)]
    assert [first.text, *(response.text for response in retries)] == ["success"] * 3
    assert len(submitter.new) == 1 and len(submitter.to_sender) == 1


async def test_retry_with_a_fresh_nonce_is_a_duplicate_too(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings())
    body = text_xml("你好", msg_id="888")
    await client.post(URL, params=signed_query(nonce="1"), content=body)
    await client.post(URL, params=signed_query(nonce="2"), content=body)
    assert len(submitter.new) == 1 and len(submitter.duplicates) == 1


async def test_same_signature_with_another_body_is_refused_as_replay(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings())
    query = signed_query(nonce="31337")
    assert (await client.post(URL, params=query, content=text_xml("真的", msg_id="1"))).status_code == 200
    forged = await client.post(URL, params=query, content=text_xml("伪造的", msg_id="2"))
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "replayed"
    assert [inbound.text for inbound in submitter.submitted] == ["真的"]


async def test_router_down_answers_503_and_the_retry_is_accepted(make_webhook, make_settings):
    submitter = RecordingSubmitter()
    submitter.available = False
    client, _ = await make_webhook(make_settings(), submitter)
    query, body = signed_query(), text_xml("在吗", msg_id="999")
    down = await client.post(URL, params=query, content=body)
    assert down.status_code == 503 and down.json()["error"]["code"] == "unavailable"
    submitter.available = True
    again = await client.post(URL, params=query, content=body)  # WeChat's retry
    assert again.status_code == 200 and len(submitter.new) == 1


# --- menus, events, overflow ------------------------------------------------------------------

async def test_numbered_menu_round_trip(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(), RecordingSubmitter(BUTTONS))
    first = await client.post(URL, params=signed_query(), content=text_xml("查订单", msg_id="10"))
    assert passive_content(first) == ("请问是哪一笔订单？\n回复数字选择：\n"
                                      "1. 订单 202611110001\n2. 订单 202611110002")
    await client.post(URL, params=signed_query(), content=text_xml("2", msg_id="11"))
    chosen = submitter.new[-1]
    assert chosen.text == '/query_order{"order_id": "202611110002"}'
    assert chosen.extra["menu_choice"] == "2" and chosen.message_id == "11"
    await client.post(URL, params=signed_query(), content=text_xml("5", msg_id="12"))
    assert submitter.new[-1].text == "5"  # not on the menu: the bot reads it as typed


async def test_menu_of_one_customer_does_not_apply_to_another(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(), RecordingSubmitter(BUTTONS))
    await client.post(URL, params=signed_query(), content=text_xml("查订单", openid="oAlice", msg_id="20"))
    await client.post(URL, params=signed_query(), content=text_xml("1", openid="oBob", msg_id="21"))
    assert submitter.new[-1].text == "1"


async def test_subscribe_gets_the_welcome_at_once_and_is_recorded(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(), RecordingSubmitter(ready=False))
    xml = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[oNewFan]]>"
           "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
           "<Event><![CDATA[subscribe]]></Event></xml>")
    response = await client.post(URL, params=signed_query(), content=xml)
    assert passive_content(response) == WELCOME
    [inbound] = submitter.new
    assert inbound.text == "/greet" and inbound.message_id == "oNewFan:1700000000:subscribe"
    assert submitter.waits == []  # the welcome does not wait for the bot


async def test_unsubscribe_is_acknowledged_and_forgets_the_menu(make_webhook, make_settings, redis, prefix):
    client, submitter = await make_webhook(make_settings(), RecordingSubmitter(BUTTONS))
    await client.post(URL, params=signed_query(), content=text_xml("查订单", openid="oLeaving", msg_id="30"))
    xml = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[oLeaving]]>"
           "</FromUserName><CreateTime>1700000001</CreateTime><MsgType><![CDATA[event]]></MsgType>"
           "<Event><![CDATA[unsubscribe]]></Event></xml>")
    response = await client.post(URL, params=signed_query(), content=xml)
    assert response.text == "success" and len(submitter.submitted) == 1
    assert await redis.get(f"{prefix}menu:oLeaving") is None
    assert await redis.get(f"{prefix}quota:oLeaving") == b"0"


async def test_text_message_opens_five_sends_for_48_hours(make_webhook, make_settings, redis, prefix):
    client, _ = await make_webhook(make_settings(), RecordingSubmitter(ready=False))
    await client.post(URL, params=signed_query(), content=text_xml("在吗", openid="oQuota", msg_id="40"))
    assert await redis.get(f"{prefix}quota:oQuota") == b"5"
    assert 47 * 3600 < await redis.ttl(f"{prefix}quota:oQuota") <= 48 * 3600


async def test_long_passive_reply_overflows_into_customer_service_messages(
        make_webhook, make_settings, make_sender, wechat_api):
    state, _ = wechat_api
    state.open_window("oLongReply")
    long_reply = [{"text": "\n".join(f"第{i}条物流记录：快件已到达【上海浦东集散中心】" for i in range(120))}]
    sender = make_sender()
    client, _ = await make_webhook(make_settings(), RecordingSubmitter(long_reply), sender=sender)
    response = await client.post(URL, params=signed_query(),
                                 content=text_xml("物流详情", openid="oLongReply", msg_id="50"))
    first = passive_content(response)
    rest = state.texts_to("oLongReply")
    assert len(rest) >= 1
    assert "\n".join([first, *rest]) == long_reply[0]["text"]
    assert all(len(text.encode()) <= 2047 for text in [first, *rest])
    again = await client.post(URL, params=signed_query(),  # WeChat's retry of the same message
                              content=text_xml("物流详情", openid="oLongReply", msg_id="50"))
    assert passive_content(again) == first
    assert state.texts_to("oLongReply") == rest  # the follow-ups are not sent twice


@pytest.mark.parametrize("item", sample_messages(), ids=lambda item: f"{item['test']}-{item['idx']}")
async def test_every_sample_callback_through_the_webhook(make_webhook, make_settings, item):
    client, submitter = await make_webhook(make_settings(), RecordingSubmitter([{"text": "好的"}]))
    response = await client.post(URL, params=signed_query(), content=item["xml"].encode())
    assert response.status_code == 200, response.text
    event = (item["event"] or "").lower()
    if item["msg_type"] in ("text", "image", "voice", "location", "link"):
        assert passive_content(response) == "好的" and len(submitter.new) == 1
    elif event == "subscribe":
        assert passive_content(response) == WELCOME and submitter.new[0].text == "/greet"
    elif event == "click":
        assert passive_content(response) == MENU_UNAVAILABLE and submitter.submitted == []
    elif item["msg_type"] in ("video", "notsure"):
        assert passive_content(response) == UNSUPPORTED and submitter.submitted == []
    else:
        assert response.text == "success" and submitter.submitted == []


async def test_safe_mode_account_url_check_with_plain_echostr(make_webhook, make_settings):
    """Official accounts verify the URL with a plain echostr even in safe mode."""
    client, _ = await make_webhook(make_settings(encoding_aes_key=AES_KEY))
    response = await client.get(URL, params=signed_query(echostr="5927782489442352469"))
    assert response.status_code == 200 and response.text == "5927782489442352469"


async def test_redis_down_answers_503_so_wechat_retries(make_webhook, make_settings):
    unreachable = Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    client, submitter = await make_webhook(make_settings(), redis_client=unreachable)
    try:
        response = await client.post(URL, params=signed_query(), content=text_xml("在吗"))
    finally:
        await unreachable.aclose()
    assert response.status_code == 503 and submitter.submitted == []


async def test_overflow_without_a_sender_is_recorded_not_lost(make_webhook, make_settings, redis, prefix):
    long_reply = [{"text": "好" * 1500}]  # 4500 bytes: three messages
    client, _ = await make_webhook(make_settings(), RecordingSubmitter(long_reply), sender=None)
    response = await client.post(URL, params=signed_query(),
                                 content=text_xml("详情", openid="oNoSender", msg_id="60"))
    assert passive_content(response) == "好" * 682
    [entry] = await UndeliveredLog(redis, prefix).entries()
    assert entry["openid"] == "oNoSender" and entry["reason"] == "send_failed"
    assert entry["text"].replace("\n", "") == "好" * (1500 - 682)


async def test_a_customer_over_the_message_limit_is_told_so_and_nothing_is_submitted(
        make_webhook, make_settings, one_rate_window):
    client, submitter = await make_webhook(make_settings(), RecordingSubmitter([{"text": "好的"}]),
                                           per_customer=Limit(1, 60))
    first = await client.post(URL, params=signed_query(openid="oFast"),
                              content=text_xml("第一条", openid="oFast", msg_id="777001"))
    second = await client.post(URL, params=signed_query(openid="oFast"),
                               content=text_xml("第二条", openid="oFast", msg_id="777002"))
    assert passive_content(first) == "好的"
    assert passive_content(second) == TOO_MANY_TEXT  # WeChat shows text, not status codes
    assert [inbound.text for inbound in submitter.new] == ["第一条"]
