"""Replies → WeChat text: numbered menus, merging, splitting at the byte limit, safe XML."""
from __future__ import annotations

import pytest

from channels.wechat.inbound import parse_xml
from channels.wechat.render import (
    MENU_HEADER,
    TEXT_LIMIT_BYTES,
    MenuMemory,
    cdata,
    passive_text_xml,
    render_replies,
    split_text,
)

ORDER_BUTTONS = {"text": "请问是哪一笔订单？", "buttons": [
    {"title": "订单 202611110001（连衣裙）", "payload": '/query_order{"order_id": "202611110001"}'},
    {"title": "订单 202611110002（运动鞋）", "payload": '/query_order{"order_id": "202611110002"}'},
]}


def test_buttons_become_numbered_lines_and_a_menu():
    rendered = render_replies([ORDER_BUTTONS])
    assert rendered.pieces == [
        "请问是哪一笔订单？\n回复数字选择：\n1. 订单 202611110001（连衣裙）\n2. 订单 202611110002（运动鞋）"]
    assert rendered.menu == {"1": '/query_order{"order_id": "202611110001"}',
                             "2": '/query_order{"order_id": "202611110002"}'}


def test_consecutive_replies_merge_into_one_message_and_numbering_continues():
    replies = [{"text": "您的包裹已到达上海。"}, ORDER_BUTTONS,
               {"text": "还有其他问题吗？", "buttons": [{"title": "转人工", "payload": "/request_human"}]}]
    rendered = render_replies(replies)
    assert len(rendered.pieces) == 1
    assert rendered.pieces[0].startswith("您的包裹已到达上海。\n\n请问是哪一笔订单？")
    assert "3. 转人工" in rendered.pieces[0] and rendered.menu["3"] == "/request_human"
    assert rendered.pieces[0].count(MENU_HEADER) == 2


def test_images_and_url_buttons_are_text_lines_not_menu_entries():
    rendered = render_replies([{"text": "退货流程见下图", "image": "https://shop.example/return.png",
                                "buttons": [{"title": "退货说明", "payload": "https://shop.example/returns"}]}])
    assert rendered.pieces == ["退货流程见下图\n图片：https://shop.example/return.png\n"
                               "退货说明：https://shop.example/returns"]
    assert rendered.menu == {}


def test_odd_replies_are_skipped_not_fatal():
    odd = [{"text": None}, "not a dict", {"buttons": [{"title": ""}, "x"]}, {"text": " 好 "}]
    rendered = render_replies(odd)
    assert rendered.pieces == ["好"] and rendered.menu == {}


def test_no_replies_no_pieces():
    assert render_replies([]).pieces == []


def test_long_text_splits_at_the_byte_limit_without_breaking_a_character():
    text = "退" * 2000  # 6000 bytes, no line break, no punctuation
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert all(len(piece.encode("utf-8")) <= TEXT_LIMIT_BYTES for piece in pieces)
    assert len(pieces[0].encode("utf-8")) == 2046  # 682 whole characters: 2047 would cut one in two
    assert len(pieces) == 3


def test_mixed_width_text_uses_every_byte_it_can():
    text = "a" + "好" * 1000
    first = split_text(text)[0]
    assert len(first.encode("utf-8")) == 2047 and first == "a" + "好" * 682


def test_split_prefers_a_line_break_then_a_sentence_end():
    lines = [f"第{i}行：" + "物流信息更新" * 20 for i in range(40)]
    pieces = split_text("\n".join(lines))
    assert all(len(piece.encode("utf-8")) <= TEXT_LIMIT_BYTES for piece in pieces)
    assert "\n".join(pieces) == "\n".join(lines)  # every cut fell on a line break
    sentences = "您好，包裹已发出。" + "请耐心等待" * 20
    assert split_text(sentences, limit=100)[0] == "您好，包裹已发出。"


def test_emoji_and_four_byte_characters_are_never_cut():
    text = "📦" * 1000
    pieces = split_text(text, limit=2047)
    assert "".join(pieces) == text and all(len(p.encode()) <= 2047 for p in pieces)


def test_long_replies_merge_into_as_few_messages_as_fit():
    replies = [{"text": "好" * 300} for _ in range(6)]  # 900 bytes each, 5400 in all
    pieces = render_replies(replies).pieces
    assert len(pieces) == 3
    assert all(len(piece.encode("utf-8")) <= TEXT_LIMIT_BYTES for piece in pieces)


@pytest.mark.parametrize("content", [
    "正常文本", "包含 ]]> 的回复", "]]>]]>", "<xml>&amp;</xml>", "结尾是]]", "]]]>", "控制字符\x00\x0b删掉",
])
def test_passive_reply_xml_survives_any_content(content):
    xml = passive_text_xml("oCustomer0001", "gh_0123456789ab", content, now=1700000000)
    fields = parse_xml(xml.encode("utf-8"))
    expected = content.replace("\x00", "").replace("\x0b", "")
    assert fields["Content"] == expected
    assert fields["ToUserName"] == "oCustomer0001" and fields["FromUserName"] == "gh_0123456789ab"
    assert fields["MsgType"] == "text" and fields["CreateTime"] == "1700000000"


def test_cdata_splits_the_terminator():
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"


async def test_menu_memory_round_trip(redis, prefix):
    menu = MenuMemory(redis, prefix)
    pieces = await menu.render("oCustomer0001", [ORDER_BUTTONS])
    assert "1. 订单 202611110001（连衣裙）" in pieces[0]
    assert await menu.resolve("oCustomer0001", "2") == '/query_order{"order_id": "202611110002"}'
    assert await menu.resolve("oCustomer0001", " １ ") == '/query_order{"order_id": "202611110001"}'
    assert await menu.resolve("oCustomer0001", "3") is None
    assert await menu.resolve("oCustomer0001", "1件") is None
    assert await menu.resolve("oSomeoneElse", "1") is None
    assert 0 < await redis.ttl(f"{prefix}menu:oCustomer0001") <= 1800


async def test_replies_without_buttons_clear_the_menu(redis, prefix):
    menu = MenuMemory(redis, prefix)
    await menu.render("oCustomer0001", [ORDER_BUTTONS])
    await menu.render("oCustomer0001", [{"text": "请问您要退几件？"}])
    assert await menu.resolve("oCustomer0001", "2") is None


@pytest.mark.parametrize("typed", ["1", "3", "5"])
def test_a_score_typed_under_the_satisfaction_menu_is_the_score_meant(typed):
    """Found by `make soak`: with the buttons 5 分 … 1 分 numbered 1–5, a WeChat customer who
    typed "5" (as the question asks) picked the fifth line and was recorded as 1 分."""
    from handoff.desk import SATISFACTION_QUESTION

    rendered = render_replies([SATISFACTION_QUESTION])
    assert rendered.menu[typed] == typed
    assert f"\n{typed}. {typed} 分" in rendered.pieces[0]
