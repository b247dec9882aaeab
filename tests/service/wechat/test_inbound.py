"""Parsing WeChat's XML safely, and what each kind of callback becomes (the mp samples of
tests/fixtures/wechat/sample_messages.jsonl, taken from wechatpy's tests)."""
from __future__ import annotations

import pytest

from channels.wechat.inbound import (
    EVENT_ALLOWANCE,
    MENU_UNAVAILABLE,
    MESSAGE_ALLOWANCE,
    UNSUPPORTED,
    WELCOME,
    XmlRejected,
    map_callback,
    parse_xml,
)
from tests.service.wechat.helpers import BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, sample_messages

SAMPLES = sample_messages()
HOSTILE_XML = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "parameter entity": PARAMETER_ENTITY,
    "bare doctype": b"<!DOCTYPE xml><xml><MsgType>text</MsgType></xml>",
    "undefined entity": b"<xml><Content>&nope;</Content></xml>",
    "binary junk": bytes(range(256)) * 4,
    "empty": b"",
    "not xml": b'{"MsgType": "text"}',
    "other root": b"<message><MsgType>text</MsgType></message>",
    "two roots": b"<xml></xml><xml></xml>",
    "unclosed": b"<xml><Content>hi</xml>",
    "duplicate field": b"<xml><MsgType>text</MsgType><MsgType>event</MsgType></xml>",
    "too deep": b"<xml>" + b"<a>" * 20 + b"</a>" * 20 + b"</xml>",
    "too many elements": b"<xml>" + b"<a/>" * 600 + b"</xml>",
    "too large": b"<xml><Content>" + b"a" * 70_000 + b"</Content></xml>",
    "unknown encoding": b"<?xml version='1.0' encoding='bogus'?><xml/>",
    "invalid utf-8": b"<xml><Content>\xff\xfe</Content></xml>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
def test_hostile_or_malformed_xml_is_refused(name):
    with pytest.raises(XmlRejected):
        parse_xml(HOSTILE_XML[name])


def test_cdata_entities_and_nested_fields_are_read():
    fields = parse_xml(b"<xml><Content><![CDATA[a]]]]><![CDATA[>b &amp; c]]></Content>"
                       b"<Title>x &lt; y &#20320;</Title><ScanCodeInfo><ScanType>qrcode</ScanType>"
                       b"</ScanCodeInfo></xml>")
    assert fields["Content"] == "a]]>b &amp; c"
    assert fields["Title"] == "x < y 你"
    assert fields["ScanCodeInfo/ScanType"] == "qrcode"


def sample(test: str, idx: int = 0) -> dict[str, str]:
    for item in SAMPLES:
        if item["test"] == test and item["idx"] == idx:
            return parse_xml(item["xml"].encode())
    raise KeyError(test)


def test_text():
    mapped = map_callback(sample("test_parse_text_message"))
    assert mapped.inbound.channel == "wechat" and mapped.inbound.external_id == "fromUser"
    assert mapped.inbound.message_id == "1234567890123456"
    assert (mapped.inbound.text, mapped.inbound.kind) == ("this is a test", "text")
    assert mapped.reply is None and mapped.allowance == MESSAGE_ALLOWANCE
    assert mapped.account == "toUser"


def test_image_keeps_url_and_media_id():
    inbound = map_callback(sample("test_parse_image_message")).inbound
    assert (inbound.text, inbound.kind) == ("[图片]", "image")
    assert inbound.extra["pic_url"] == "this is a url" and inbound.extra["media_id"] == "media_id"


def test_voice_without_recognition():
    inbound = map_callback(sample("test_parse_voice_message")).inbound
    assert (inbound.text, inbound.kind) == ("[语音]", "voice")
    assert inbound.extra["media_id"] == "media_id"


def test_voice_with_recognition_reads_the_recognised_text():
    fields = sample("test_parse_voice_message")
    inbound = map_callback({**fields, "Recognition": "我的快递到哪了"}).inbound
    assert inbound.text == "我的快递到哪了" and inbound.kind == "voice"


def test_location():
    inbound = map_callback(sample("test_parse_location_message")).inbound
    assert inbound.text == "[位置] 位置信息（纬度 23.134521，经度 113.358803）"
    assert inbound.extra["latitude"] == "23.134521" and inbound.extra["longitude"] == "113.358803"


def test_link():
    inbound = map_callback(sample("test_parse_link_message")).inbound
    assert inbound.text == "[链接] 公众平台官网链接 url" and inbound.kind == "link"


def test_subscribe_is_welcomed_and_recorded_as_greet():
    mapped = map_callback(sample("test_parse_subscribe_event"))
    assert mapped.reply == WELCOME
    assert mapped.inbound.text == "/greet" and mapped.inbound.kind == "event"
    assert mapped.inbound.message_id == "FromUser:123456789:subscribe"
    assert mapped.inbound.extra["answered_by_channel"] is True
    assert mapped.allowance == EVENT_ALLOWANCE


def test_subscribe_by_qr_code_is_a_subscribe_too():
    mapped = map_callback(sample("test_parse_subscribe_scan_event"))
    assert mapped.reply == WELCOME and mapped.inbound.extra["event_key"] == "qrscene_123123"


def test_unsubscribe_is_not_submitted_and_forgets():
    mapped = map_callback(sample("test_unsubscribe_event"))
    assert mapped.inbound is None and mapped.reply is None and mapped.forget


def test_menu_click_with_a_known_key_becomes_the_intent():
    fields = {**sample("test_parse_click_event"), "EventKey": "ORDER_QUERY"}
    mapped = map_callback(fields)
    assert mapped.inbound.text == "/query_order" and mapped.inbound.kind == "event"
    assert mapped.inbound.message_id == "FromUser:123456789:CLICK"
    assert mapped.allowance == EVENT_ALLOWANCE


def test_menu_click_with_an_unknown_key_gets_a_polite_answer():
    mapped = map_callback(sample("test_parse_click_event"))  # EventKey "EVENTKEY"
    assert mapped.inbound is None and mapped.reply == MENU_UNAVAILABLE


@pytest.mark.parametrize("test", ["test_parse_video_message", "test_parse_unknown_message"])
def test_unsupported_user_messages_get_a_polite_answer(test):
    mapped = map_callback(sample(test))
    assert mapped.inbound is None and mapped.reply == UNSUPPORTED


def test_every_sample_maps_to_something_sensible():
    """No sample crashes; only customer messages and known interactions reach the router."""
    submitted_types = {"text", "image", "voice", "location", "link"}
    for item in SAMPLES:
        mapped = map_callback(parse_xml(item["xml"].encode()))
        event = (item["event"] or "").lower()
        if item["msg_type"] in submitted_types:
            assert mapped.inbound is not None, item["test"]
        elif event == "subscribe":
            assert mapped.inbound.text == "/greet" and mapped.reply == WELCOME, item["test"]
        elif event == "click":
            assert mapped.reply == MENU_UNAVAILABLE, item["test"]
        elif item["msg_type"] in ("video", "notsure"):
            assert mapped.reply == UNSUPPORTED, item["test"]
        else:  # other events and device traffic: acknowledged, not answered, not submitted
            assert mapped.inbound is None and mapped.reply is None, item["test"]


@pytest.mark.parametrize("fields", [
    {"ToUserName": "gh", "MsgType": "text", "Content": "hi"},
    {"FromUserName": "o1", "MsgType": "text", "Content": "hi"},
    {"FromUserName": "o1", "ToUserName": "gh", "Content": "hi"},
    {"FromUserName": "bad openid with spaces", "ToUserName": "gh", "MsgType": "text"},
    {"FromUserName": "o" * 65, "ToUserName": "gh", "MsgType": "text"},
])
def test_callbacks_without_their_addressing_are_refused(fields):
    with pytest.raises(XmlRejected):
        map_callback(fields)


def test_control_characters_are_dropped_and_blank_text_is_not_submitted():
    base = {"FromUserName": "o1", "ToUserName": "gh", "MsgType": "text", "MsgId": "1"}
    assert map_callback({**base, "Content": "你好\x00\x07"}).inbound.text == "你好"
    blank = map_callback({**base, "Content": " \x01 "})
    assert blank.inbound is None and blank.reply is None
