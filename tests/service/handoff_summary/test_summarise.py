"""The handoff summary of a conversation from our own shop: fields, masking, quotes, speed."""
from __future__ import annotations

import re
import time

import pytest

from handoff.summary import (
    BotAction,
    HandoffFacts,
    Style,
    mask_text,
    summarise,
    summarise_request,
    turns_from_transcript,
)
from handoff.summary.request import warm_up
from handoff.transcripts import TranscriptMessage

ORDER = "2411051234567890"
OTHER_ORDER = "2411031234500001"
PHONE = "13812345678"
ADDRESS = "上海市浦东新区张江路100号2栋301室"

CUSTOMER = [
    "你好",
    f"我的快递怎么还没到？？订单号{ORDER}，都一个星期了！！！",
    "停了三天了，你们到底管不管？",
    f"我电话{PHONE}，地址{ADDRESS}，今天必须给我送到",
    f"还有一单{OTHER_ORDER}也没发货",
    "再不到我就打12315投诉！！😡",
]
TRANSCRIPT = [
    {"speaker": "user", "text": CUSTOMER[0]},
    {"speaker": "bot", "text": "您好，我是小售，请问有什么可以帮您？"},
    {"speaker": "user", "text": CUSTOMER[1]},
    {"speaker": "bot",
     "text": f"订单 {ORDER} 已于 11 月 5 日发出，顺丰 SF1234567890123，11 月 6 日到达上海转运中心。"},
    {"speaker": "user", "text": CUSTOMER[2]},
    {"speaker": "bot", "text": "已为您催促快递尽快派送。"},
    {"speaker": "user", "text": CUSTOMER[3]},
    {"speaker": "user", "text": CUSTOMER[4]},
    {"speaker": "user", "text": CUSTOMER[5]},
    {"speaker": "bot", "text": "非常抱歉给您带来不便，正在为您转接人工客服，请稍候。"},
]
FACTS = {
    "intents": ["greet", "query_logistics", "complain", "inform", "query_order", "complain"],
    "order_ids": [ORDER],
    "actions": [
        {"action": "action_logistics", "result": "顺丰 SF1234567890123：11月6日到达上海转运中心，之后无更新"},
        {"action": "action_urge_shipment", "result": f"已向快递提交催派，联系电话 {PHONE}", "ok": True},
        {"action": "action_request_human", "result": "已排队（物流组）"},
    ],
    "order": {"id": ORDER, "status_label": "已发货", "items": [{"name": "羽绒服"}],
              "total_display": "¥599.00", "receiver_name": "张伟", "receiver_phone": PHONE,
              "address": ADDRESS},
    "reason": "complaint",
}


@pytest.fixture(scope="module")
def summary():
    return summarise(TRANSCRIPT, FACTS)


def test_the_request_reads_like_an_after_sales_summary(summary):
    request = summary.诉求
    assert request.startswith("用户") and request.endswith("。")
    assert "用户询问快递怎么还没到" in request
    assert "你好" not in request and "我" not in request  # no greeting, third person
    assert all(sentence.startswith("用户") for sentence in request.rstrip("。").split("。"))


def test_orders_from_the_facts_and_from_the_text_are_listed_once(summary):
    assert summary.涉及订单 == (ORDER, OTHER_ORDER)


def test_what_the_bot_did_comes_from_the_facts_masked(summary):
    done = summary.机器人已做的事和结果
    assert done[0].startswith("查询物流：顺丰 SF1234567890123")
    assert done[1] == "催促发货/派送：已向快递提交催派，联系电话 138****5678"
    assert done[2] == "转人工：已排队（物流组）"


def test_the_mood_is_angry_and_names_the_threats(summary):
    assert summary.情绪.label == "愤怒"
    assert summary.情绪.score < -0.6
    assert summary.情绪.threats == ("12315", "投诉")
    assert summary.情绪.worst_message == CUSTOMER[5]


def test_quotes_are_verbatim_customer_messages_masked(summary):
    quotes = summary.客户关键原话
    assert 1 <= len(quotes) <= 3
    masked_messages = [mask_text(m, [PHONE, ADDRESS, "张伟"]) for m in CUSTOMER]
    assert all(quote in masked_messages for quote in quotes)
    assert quotes == tuple(sorted(quotes, key=masked_messages.index))  # in conversation order
    assert CUSTOMER[5] in quotes  # the angriest is always there
    assert "你好" not in quotes


def test_phone_address_and_name_never_appear_in_the_summary(summary):
    text = summary.text()
    assert PHONE not in text and "张江路" not in text and "301室" not in text and "张伟" not in text
    assert "138****5678" in text
    assert "上海市浦东新区****" in text
    assert "张*" in text  # the receiver, in the order line


def test_phone_and_address_are_masked_even_when_the_bot_knows_nothing():
    summary = summarise([{"speaker": "user", "text": CUSTOMER[3]}])
    text = summary.text()
    assert PHONE not in text and "张江路" not in text
    assert summary.客户关键原话 == ("我电话138****5678，地址上海市浦东新区****，今天必须给我送到",)


def test_text_renders_every_field_as_a_chinese_line(summary):
    lines = summary.text().splitlines()
    heads = [line.split("：", 1)[0] for line in lines if not line.startswith("  ")]
    assert heads == ["诉求", "涉及订单", "机器人已做的事和结果", "订单概况", "转人工原因", "情绪",
                     "客户关键原话"]
    assert lines[1] == f"涉及订单：{ORDER}、{OTHER_ORDER}"
    assert lines[4] == "转人工原因：客户投诉"
    assert lines[5] == "情绪：愤怒（" + f"{summary.情绪.score:+.2f}" + "），提到12315、投诉"
    assert [line.strip()[1:-1] for line in lines[7:]] == list(summary.客户关键原话)


def test_a_summary_without_facts_still_has_every_line():
    summary = summarise([{"speaker": "user", "text": "请问退货运费谁出？"}])
    assert summary.诉求 == "用户询问退货运费谁出。"
    assert summary.涉及订单 == () and summary.机器人已做的事和结果 == ()
    assert "涉及订单：无" in summary.text() and "机器人已做的事和结果：无" in summary.text()
    assert summary.情绪.label == "平静"


def test_facts_may_be_a_dataclass():
    facts = HandoffFacts(order_ids=(ORDER,), actions=(BotAction("查询退款进度", "退款已到账", ok=True),))
    summary = summarise([{"speaker": "user", "text": "退款怎么还没到账"}], facts)
    assert summary.涉及订单 == (ORDER,)
    assert summary.机器人已做的事和结果 == ("查询退款进度：退款已到账",)


def test_small_talk_intents_and_fillers_are_left_out():
    turns = [{"speaker": "user", "text": t} for t in ["在吗", "嗯嗯", "好的谢谢", "能不能给我换个颜色"]]
    assert summarise(turns).诉求 == "用户询问是否能换个颜色。"
    assert summarise(turns, {"intents": ["greet", "affirm", "thank", "request_exchange"]}).诉求 \
        == "用户询问是否能换个颜色。"


@pytest.mark.parametrize("message, expected", [
    ("你好，请问本地仓库在哪？自提可以吗？", "用户询问本地仓库在哪，自提是否可以。"),
    ("補發？", "用户询问是否补发。"),
    ("我要退货", "用户要求退货。"),
    ("我想修改地址", "用户希望修改地址。"),
    ("我已经等了四个礼拜了", "用户表示已经等了四个礼拜了。"),
    ("http://shop.example.com/item/1", "用户表示发送了链接。"),
])
def test_request_sentences(message, expected):
    assert summarise_request([message]) == expected


def test_the_verbatim_style_keeps_the_customers_words():
    assert summarise_request(["我要退货"], Style(rewrite=False)) == "我要退货。"


def test_repeated_complaints_are_said_once():
    request = summarise_request(["怎么还没到", "怎么还没到！", "怎么还没到？？"])
    assert request == "用户询问怎么还没到。"


def test_transcript_store_rows_become_turns():
    rows = [TranscriptMessage("c1", "app", "in", "我的快递到哪了"),
            TranscriptMessage("c1", "app", "out", "在路上了"),
            TranscriptMessage("c1", "app", "out", "我是客服小王", payload={"author": {"role": "agent"}})]
    assert turns_from_transcript(rows) == [{"speaker": "user", "text": "我的快递到哪了"},
                                           {"speaker": "bot", "text": "在路上了"},
                                           {"speaker": "agent", "text": "我是客服小王"}]


def test_a_summary_takes_well_under_50_ms():
    warm_up()
    long_conversation = TRANSCRIPT * 10
    started = time.perf_counter()
    for _ in range(20):
        summarise(long_conversation, FACTS)
    assert (time.perf_counter() - started) / 20 < 0.05


def test_as_dict_has_the_chinese_field_names(summary):
    data = summary.as_dict()
    assert list(data)[:5] == ["诉求", "涉及订单", "机器人已做的事和结果", "情绪", "客户关键原话"]
    assert not re.search(PHONE, str(data))


@pytest.mark.parametrize("message, expected", [
    ("亲戚的快递到了吗", "用户询问亲戚的快递是否到了。"),   # 亲 is a greeting only before a break
    ("亲，快递到了吗", "用户询问快递是否到了。"),
    ("还有货吗", "用户询问是否还有货。"),                   # 还有 is not an opener here
    ("Hi，我的订单呢", "用户询问订单的情况。"),
])
def test_greetings_and_openers_only_where_they_are_ones(message, expected):
    assert summarise_request([message]) == expected
