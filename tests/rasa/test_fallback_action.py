"""The first stage of the two-stage fallback: Chinese choices from the NLU ranking."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import NONE_OF_THESE, ActionAskAffirmation, likely_choices
from knowledge_base.compiler import load_entries


def ranking(*pairs):
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


def test_business_intents_become_chinese_choices_best_first():
    message = {"intent_ranking": ranking(("nlu_fallback", 0.45), ("query_refund", 0.3),
                                         ("greet", 0.2), ("request_return", 0.1),
                                         ("cancel_order", 0.06), ("urge_shipment", 0.05))}
    assert likely_choices(message) == [
        {"title": "查询退款进度", "payload": "/query_refund"},
        {"title": "申请退货", "payload": "/request_return"},
        {"title": "取消订单", "payload": "/cancel_order"}]


def test_unlikely_intents_are_not_offered():
    assert likely_choices({"intent_ranking": ranking(("query_order", 0.01))}) == []
    assert likely_choices({}) == []


def test_faq_choice_names_the_entry_and_asks_its_question_again():
    entry = next(e for e in load_entries() if e.id == "refund_time")
    message = {"intent_ranking": ranking(("faq", 0.4)),
               "response_selector": {"faq": {"response": {
                   "intent_response_key": "faq/refund_time"}}}}
    assert likely_choices(message) == [{"title": f"了解「{entry.title}」",
                                        "payload": entry.questions[0]}]


async def test_action_offers_choices_plus_none_of_these_or_asks_to_rephrase():
    def tracker(message):
        return Tracker("app:t", {}, message, [], False, None, {}, "action_listen")

    dispatcher = CollectingDispatcher()
    await ActionAskAffirmation().run(
        dispatcher, tracker({"intent_ranking": ranking(("query_logistics", 0.4))}), {})
    assert dispatcher.messages[0]["buttons"][-1] == NONE_OF_THESE
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/query_logistics"

    dispatcher = CollectingDispatcher()
    await ActionAskAffirmation().run(dispatcher, tracker({"intent_ranking": []}), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"
