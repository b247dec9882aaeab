"""The customer's mood: one score per message, a label per conversation, traditional text too."""
from __future__ import annotations

import pytest

from handoff.summary.sentiment import (
    ANGRY,
    CALM,
    CONTENT,
    UNHAPPY,
    conversation_mood,
    lexicon,
    read,
    sentiment,
)

POSITIVE = ["满意", "非常满意", "谢谢，辛苦了", "东西不错，好评", "太好了，已经收到了", "👍 客服很专业",
            "非常滿意，謝謝", "哈哈哈 收到了 很喜欢"]
NEGATIVE = ["不满意", "太差了", "你们是骗子吗", "气死我了", "什么破服务", "我要投诉！！！", "😡😡😡",
            "服務太差勁了", "怎么还没到???", "一点都不满意", "我的快递到底什么时候到，等了好久了"]
NEUTRAL = ["我的快递到哪了", "订单号2411051234567890", "退货运费谁出", "请问怎么开发票", "我要退货",
           "麻烦帮我查一下", "好的"]


@pytest.mark.parametrize("text", POSITIVE)
def test_positive_messages_score_above_zero(text):
    assert sentiment(text) > 0.2


@pytest.mark.parametrize("text", NEGATIVE)
def test_negative_messages_score_below_zero(text):
    assert sentiment(text) < -0.2


@pytest.mark.parametrize("text", NEUTRAL)
def test_plain_questions_are_about_neutral(text):
    assert -0.2 <= sentiment(text) <= 0.2


@pytest.mark.parametrize("positive, negated", [
    ("满意", "不满意"), ("满意", "没有很满意"), ("靠谱", "不靠谱"), ("开心", "不开心"),
    ("喜欢", "不喜欢"), ("满意", "一点都不满意"), ("理解", "不理解")])
def test_negation_turns_a_word_round(positive, negated):
    assert sentiment(positive) > 0 > sentiment(negated)


def test_negating_a_negative_word_is_mildly_positive():
    assert 0 < sentiment("不差") < sentiment("很好")


def test_intensifiers_diminishers_and_punctuation_order_the_scores():
    assert sentiment("非常不满意") < sentiment("不满意") < sentiment("不太满意") < 0
    assert sentiment("非常满意") > sentiment("满意") > sentiment("有点满意") > 0
    assert sentiment("太慢了！！！") < sentiment("太慢了") < sentiment("慢") < 0
    assert sentiment("快点快点快点") < sentiment("快点") < 0
    assert sentiment("到哪了???") < sentiment("到哪了") == 0


def test_traditional_characters_score_like_simplified():
    assert sentiment("你們的服務太差勁了！") == sentiment("你们的服务太差劲了！")
    assert sentiment("非常滿意") == sentiment("非常满意")


def test_insults_and_threats_are_strongly_negative_and_threats_are_named():
    assert read("傻逼客服").profanity and sentiment("傻逼客服") < -0.8
    reading = read("再不处理我就打12315投诉，还要去微博曝光")
    assert reading.score < -0.9
    assert set(reading.threats) == {"12315", "投诉", "微博", "曝光"}


def test_words_inside_other_words_do_not_count():
    assert read("订单2412315000000000到哪了").threats == ()  # 12315 inside an order id
    assert not read("usb接口松了").profanity                   # sb inside usb
    assert sentiment("差不多什么时候到") == 0                     # 差 inside 差不多
    assert read("不会给差评的").threats == ()                    # a negated threat


def test_emoji_become_feelings():
    assert sentiment("😡") < -0.5
    assert sentiment("😭😭") < 0
    assert sentiment("🙂") == 0  # dropped by the normaliser: no feeling word


def test_scores_stay_in_range_and_are_deterministic():
    text = "垃圾！！！骗子！！！投诉！！！" * 50
    assert -1.0 <= sentiment(text) <= -0.99
    assert sentiment("非常非常非常满意" * 40) <= 1.0
    assert [sentiment(t) for t in NEGATIVE] == [sentiment(t) for t in NEGATIVE]


def test_conversation_mood_labels():
    assert conversation_mood([]) == conversation_mood(["", "  "])
    assert conversation_mood([]).label == CALM and conversation_mood([]).worst_message is None
    assert conversation_mood(["你好", "我的快递到哪了", "好的"]).label == CALM
    assert conversation_mood(["收到了，非常满意", "谢谢，辛苦了"]).label == CONTENT
    assert conversation_mood(["我的快递怎么还没到", "都一个星期了"]).label == UNHAPPY
    angry = conversation_mood(["我的快递到哪了", "你们这什么破服务！！！", "气死我了，骗子"])
    assert angry.label == ANGRY and angry.score < -0.6
    assert angry.worst_message == "气死我了，骗子"


def test_a_threat_makes_a_calm_conversation_at_least_unhappy():
    mood = conversation_mood(["你好", "请问退货怎么退", "好的", "不行的话我就投诉"])
    assert mood.label in (UNHAPPY, ANGRY) and mood.threats == ("投诉",)


def test_the_lexicon_file_loads_with_every_section():
    kinds = {term.kind for term in lexicon().terms.values()}
    assert kinds == {"positive", "negative", "profanity", "threat", "negator", "intensifier", "neutral"}
    assert lexicon().terms["不满意"].weight < 0 < lexicon().terms["满意"].weight
