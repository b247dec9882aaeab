"""Delivering replies through PTB's Bot to the Bot API stand-in, and every way it can fail."""
from __future__ import annotations

import json

import pytest

from channels.messages import DeliveryFailed, Inbound
from channels.telegram import build_sender
from channels.telegram.sender import UNDELIVERED_KEY
from tests.service.telegram.conftest import make_settings
from tests.support import free_port

CHAT = 5550001
INBOUND = Inbound("telegram", str(CHAT), "100", "我的订单到哪了", extra={"chat_id": CHAT})
REPLIES = [{"text": "您的包裹已到达上海浦东集散中心。", "buttons": []},
           {"text": "还需要别的帮助吗？", "buttons": [{"title": "转人工", "payload": "/request_human"}]}]


async def undelivered(redis) -> list[dict]:
    return [json.loads(item) for item in await redis.lrange(UNDELIVERED_KEY, 0, -1)]


async def test_replies_are_sent_as_plain_text_messages_in_order(sender, stand_in):
    await sender.deliver(INBOUND, REPLIES)
    sent = stand_in.sent()
    assert [(int(call["chat_id"]), call["text"]) for call in sent] == [
        (CHAT, "您的包裹已到达上海浦东集散中心。"), (CHAT, "还需要别的帮助吗？")]
    assert "parse_mode" not in sent[0]  # "*" or "<" in an answer is shown as typed
    assert "reply_markup" not in sent[0]
    [[button]] = sent[1]["reply_markup"]["inline_keyboard"]
    assert button["text"] == "转人工" and len(button["callback_data"]) == 16


async def test_a_long_reply_goes_out_in_pieces_within_telegrams_limit(sender, stand_in):
    await sender.deliver(INBOUND, [{"text": "物流轨迹" * 2500}])  # 10 000 characters
    assert [len(call["text"]) for call in stand_in.sent()] == [4096, 4096, 1808]


async def test_a_redelivery_after_success_sends_nothing_twice(sender, stand_in):
    await sender.deliver(INBOUND, REPLIES)
    await sender.deliver(INBOUND, REPLIES)
    assert len(stand_in.sent()) == 2
    other = [{"text": "人工客服稍后联系您", "buttons": []}]
    await sender.deliver(INBOUND, other)  # other replies to the same message are new
    assert len(stand_in.sent()) == 3


async def test_flood_control_longer_than_the_wait_limit_goes_back_to_the_router(
        sender, stand_in, redis):
    stand_in.fail(CHAT, "flood", retry_after=30)
    with pytest.raises(DeliveryFailed, match="rate limited for 30s"):
        await sender.deliver(INBOUND, REPLIES)
    assert await undelivered(redis) == []
    await sender.deliver(INBOUND, REPLIES)  # the router's retry
    texts = [call["text"] for call in stand_in.sent()]
    assert texts == ["您的包裹已到达上海浦东集散中心。"] * 2 + ["还需要别的帮助吗？"]  # 1 refused, 2 sent


async def test_a_retry_after_a_failure_half_way_sends_only_what_is_missing(sender, stand_in):
    replies = [{"text": "一"}, {"text": "二"}, {"text": "三"}]
    stand_in.fail(CHAT, "flood", retry_after=60, after=1)  # "一" goes out, "二" must wait
    with pytest.raises(DeliveryFailed):
        await sender.deliver(INBOUND, replies)
    await sender.deliver(INBOUND, replies)  # the router's retry
    assert [call["text"] for call in stand_in.sent()] == ["一", "二", "二", "三"]  # 1 refused
    assert len(stand_in.sent()) - 1 == len(replies)  # the customer saw each one once


async def test_short_flood_control_is_waited_out_in_place(api_url, redis, stand_in):
    sender = build_sender(make_settings(api_url, max_retry_after_wait_seconds=5), redis)
    await sender.start()
    try:
        stand_in.fail(CHAT, "flood", retry_after=1)
        await sender.deliver(INBOUND, REPLIES[:1])
    finally:
        await sender.aclose()
    assert [call["text"] for call in stand_in.sent()] == ["您的包裹已到达上海浦东集散中心。"] * 2


@pytest.mark.parametrize(("kind", "reason", "description"), [
    ("blocked", "forbidden", "Forbidden: bot was blocked by the user"),
    ("chat_not_found", "bad_request", "Chat not found"),
])
async def test_final_refusals_are_recorded_and_not_retried(sender, stand_in, redis, kind, reason,
                                                           description):
    stand_in.fail(CHAT, kind)
    await sender.deliver(INBOUND, REPLIES)  # returns: nothing for the router to retry
    [record] = await undelivered(redis)
    assert record["reason"] == reason
    assert description.lower() in record["description"].lower()
    assert (record["conversation_id"], record["message_id"], record["chat_id"]) == \
        ("telegram:5550001", "100", "5550001")
    assert record["texts"] == ["您的包裹已到达上海浦东集散中心。", "还需要别的帮助吗？"]
    assert len(stand_in.sent()) == 1  # gave up at the first refusal
    await sender.deliver(INBOUND, REPLIES)  # a rerun of the same delivery: settled already
    assert len(stand_in.sent()) == 1 and len(await undelivered(redis)) == 1


async def test_a_bad_gateway_is_worth_a_retry(sender, stand_in, redis):
    stand_in.fail(CHAT, "bad_gateway")
    with pytest.raises(DeliveryFailed):
        await sender.deliver(INBOUND, REPLIES)
    assert await undelivered(redis) == []


async def test_telegram_unreachable_is_worth_a_retry(redis):
    sender = build_sender(make_settings(f"http://127.0.0.1:{free_port()}",
                                        request_timeout_seconds=2), redis)
    await sender.start()
    try:
        with pytest.raises(DeliveryFailed, match="NetworkError|TimedOut"):
            await sender.deliver(INBOUND, REPLIES)
    finally:
        await sender.aclose()


async def test_a_rejected_token_is_worth_a_retry_not_a_silent_drop(api_url, redis):
    sender = build_sender(make_settings(api_url, bot_token="999:WRONG"), redis)
    await sender.start()
    try:
        with pytest.raises(DeliveryFailed, match="InvalidToken"):
            await sender.deliver(INBOUND, REPLIES)
    finally:
        await sender.aclose()


async def test_a_failed_callback_answer_does_not_raise(sender, stand_in):
    await sender.answer_callback("q-1")
    stand_in.token = "000:closed"  # every call is now refused
    await sender.answer_callback("q-2", "提示")
    assert stand_in.sent("answerCallbackQuery") == [{"callback_query_id": "q-1"}]
