"""Whatever a customer (or a caller) sends, the summary and the mood come back: no exception,
no unmasked phone number, no minutes of work."""
from __future__ import annotations

import pytest

from handoff.summary import conversation_mood, mask_text, sentiment, summarise, summarise_request

LONG = ("我的快递怎么还没到，" * 300 + "电话13812345678" + "啊" * 1800)[:5000]
MESSAGES = [
    "",
    "   \n\t ",
    LONG,
    "1" * 5000,
    "？" * 5000,
    "😡😡😡",
    "🙂🎉🙂",
    "<script>alert('x')</script>我的订单呢",
    "<img src=x onerror=alert(1)>",
    "'; DROP TABLE messages; --",
    "1' OR '1'='1",
    "我的訂單怎麼還沒到？請盡快處理！！",
    "\x00\x01\x1b[31m控制字符\u202e反向\ufeff",
    "\ud800 孤立代理",
    "ＡＢＣ１２３４５６７８９０１２３４５６",
    "我" * 5000,
    "的的的的的" * 1000,
    "http://" + "a" * 4000,
    "{{7*7}} ${jndi:ldap://x} %s%n",
]


@pytest.mark.parametrize("message", MESSAGES, ids=range(len(MESSAGES)))
def test_no_message_breaks_the_summary(message):
    summary = summarise([{"speaker": "user", "text": message}, {"speaker": "bot", "text": message}])
    text = summary.text()
    assert isinstance(text, str) and text.startswith("诉求：")
    assert -1.0 <= summary.情绪.score <= 1.0
    assert len(summary.客户关键原话) <= 3 and all(len(q) <= 80 for q in summary.客户关键原话)
    assert len(summary.诉求) <= 4 * 85
    assert "13812345678" not in text


@pytest.mark.parametrize("message", MESSAGES, ids=range(len(MESSAGES)))
def test_no_message_breaks_the_score_or_the_masking(message):
    assert -1.0 <= sentiment(message) <= 1.0
    assert isinstance(mask_text(message), str)
    assert isinstance(summarise_request([message]), str)


@pytest.mark.parametrize("transcript", [
    None, [], "我的快递呢", b"bytes", {"speaker": "user", "text": "x"}, [None, 1, "text", ["a"]],
    [{"speaker": "hacker", "text": "我要投诉"}, {"speaker": "user", "text": None},
     {"speaker": "user", "text": 123}, {"speaker": "user"}, {"text": "no speaker"}],
    iter([{"speaker": "user", "text": "生成器也行"}]),
])
def test_malformed_transcripts_give_an_empty_but_valid_summary(transcript):
    summary = summarise(transcript)
    assert summary.情绪.label in ("平静", "满意", "不满", "愤怒")
    assert summary.text().splitlines()[0].startswith("诉求：")


@pytest.mark.parametrize("facts", [
    None, {}, "facts", 42, {"actions": "x", "order": [1], "intents": 5, "order_ids": "2411051234567890"},
    {"actions": [None, {"action": 1}, {"action": "action_logistics", "result": None, "ok": "yes"}],
     "order": {"id": None, "items": "羽绒服", "receiver_phone": 13812345678}, "reason": ["complaint"]},
])
def test_malformed_facts_are_ignored_rather_than_refused(facts):
    summary = summarise([{"speaker": "user", "text": "我的快递到哪了"}], facts)
    assert summary.诉求 == "用户询问快递到哪了。"
    assert "13812345678" not in summary.text()


def test_emoji_only_messages_have_a_mood_but_no_request():
    summary = summarise([{"speaker": "user", "text": "😡😡😡"}])
    assert summary.诉求 == "" and "诉求：（客户未说明）" in summary.text()
    assert summary.情绪.label == "愤怒"


def test_html_is_kept_as_text_for_the_console_to_escape():
    summary = summarise([{"speaker": "user", "text": "<b>我的订单呢</b>"}])
    assert "<b>" not in summary.诉求  # the request line is plain text
    assert summary.客户关键原话 == ("<b>我的订单呢</b>",)  # quotes are verbatim: escape when showing


def test_traditional_characters_are_summarised_in_simplified():
    summary = summarise([{"speaker": "user", "text": "我的訂單怎麼還沒到？請盡快處理！！"}])
    assert summary.诉求.startswith("用户询问订单怎么还没到")
    assert summary.情绪.score < 0


def test_a_long_conversation_gives_a_bounded_summary():
    """Speed is ``make bench``'s to measure (bench.summary); here: a long conversation of long
    messages still gives a summary of bounded size."""
    summary = summarise([{"speaker": "user", "text": LONG}] * 50)
    assert len(summary.text()) < 2000
    assert len(summary.客户关键原话) <= 3
    assert conversation_mood([LONG] * 50).score <= 1
