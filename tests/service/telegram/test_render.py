"""Replies rendered for Telegram: text splitting at Telegram's limit, keyboards with short keys."""
from __future__ import annotations

import pytest

from channels.telegram.buttons import ButtonStore, StoredButton
from channels.telegram.render import CHOOSE_TEXT, render_reply, split_text, utf16_len

LIMIT = 4096


def assert_pieces(text: str, pieces: list[str], limit: int = LIMIT) -> None:
    assert all(0 < utf16_len(piece) <= limit for piece in pieces)
    assert "".join(pieces) == text  # nothing lost, nothing added (no blank lines at the cuts)


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_text_gives_no_message(text):
    assert split_text(text) == []


def test_text_at_the_limit_is_one_message():
    assert split_text("好" * LIMIT) == ["好" * LIMIT]


def test_long_chinese_text_is_split_within_the_limit():
    text = "您的订单已发货" * 2000  # 14 000 characters, no sentence end
    pieces = split_text(text)
    assert len(pieces) == 4
    assert_pieces(text, pieces)


def test_split_prefers_a_line_end_then_a_sentence_end():
    first = "物流信息：" + "快" * 3000 + "\n"
    text = first + "件" * 2000
    assert split_text(text) == [first.rstrip("\n"), "件" * 2000]
    sentence = "退款已受理。" * 500  # 3000 characters
    text = sentence + "款" * 2000
    pieces = split_text(text)
    assert pieces[0].endswith("。") and len(pieces[0]) <= LIMIT
    assert_pieces(text, pieces)


def test_astral_emoji_count_two_units_and_are_never_halved():
    text = "a" * 4095 + "😀" + "b" * 10
    pieces = split_text(text)
    assert pieces == ["a" * 4095, "😀" + "b" * 10]


@pytest.mark.parametrize("cluster", [
    "👨\u200d👩\u200d👧",        # a family: emoji joined by ZWJ
    "👍🏽",                       # skin-tone modifier
    "❤️",                         # variation selector
    "e\u0301",                   # e + combining acute accent
    "🇨🇳",                        # a flag: two regional indicators
])
def test_a_cut_never_falls_inside_a_character_as_a_reader_sees_it(cluster):
    for pad in range(1, 8):
        start = LIMIT - pad
        text = "x" * start + cluster * 3 + "y" * 5
        pieces = split_text(text)
        assert_pieces(text, pieces)
        inside_a_cluster = {start + k * len(cluster) + offset
                            for k in range(3) for offset in range(1, len(cluster))}
        assert len(pieces[0]) not in inside_a_cluster


def test_one_huge_cluster_is_still_cut_rather_than_looping():
    text = "a" + "\u0301" * 9000  # one base letter with 9000 combining marks
    pieces = split_text(text)
    assert_pieces(text, pieces)


@pytest.fixture
def store(redis):
    return ButtonStore(redis, ttl_seconds=60)


async def test_buttons_become_an_inline_keyboard_with_short_keys_on_the_last_piece(store):
    payload = '/query_order{"order_id": "2611201234567890", "extra": "' + "长" * 40 + '"}'
    reply = {"text": "您最近的订单：\n" + "单" * 5000,
             "buttons": [{"title": "订单 2611201234567890", "payload": payload},
                         {"title": "都不是", "payload": "/deny"}]}
    messages = await render_reply(reply, 42, store)
    assert [message.keyboard is None for message in messages] == [True, False]
    rows = messages[-1].keyboard.inline_keyboard
    assert [[button.text for button in row] for row in rows] == [["订单 2611201234567890"],
                                                                ["都不是"]]
    keys = [row[0].callback_data for row in rows]
    assert all(len(key.encode()) <= 64 for key in keys)
    resolved = [await store.resolve(42, key) for key in keys]
    assert [button.payload for button in resolved] == [payload, "/deny"]
    assert await store.resolve(43, keys[0]) is None  # only in the chat it was sent to


async def test_button_keys_expire_with_their_ttl(redis):
    store = ButtonStore(redis, ttl_seconds=60)
    [key] = await store.save(42, [StoredButton("人工", "/request_human")])
    assert 0 < await redis.ttl("xs:telegram:button:" + key) <= 60


async def test_buttons_without_text_get_a_prompt_and_bad_buttons_are_dropped(store):
    reply = {"text": "", "buttons": [{"title": "好的", "payload": "/affirm"}, {"title": "无载荷"},
                                     {"payload": "/deny"}, "not a button",
                                     {"title": "  ", "payload": "/x"}]}
    [message] = await render_reply(reply, 42, store)
    assert message.text == CHOOSE_TEXT
    assert [row[0].text for row in message.keyboard.inline_keyboard] == ["好的"]


async def test_an_image_becomes_a_link_line_and_empty_replies_send_nothing(store):
    [message] = await render_reply({"text": "这是您的退货单", "image": "https://shop.example/ra.png"},
                                   42, store)
    assert message.text == "这是您的退货单\n图片：https://shop.example/ra.png"
    assert await render_reply({"text": "", "buttons": []}, 42, store) == []
    assert await render_reply({"image": "javascript:alert(1)"}, 42, store) == []
    assert await render_reply({"custom": {"anything": 1}}, 42, store) == []
