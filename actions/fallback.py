"""First stage of the two-stage fallback: offer the likeliest readings as buttons, in Chinese.

Rasa's ``action_two_stage_fallback`` calls this when NLU is unsure. The customer clicks what
they meant (or "都不是" and is asked to rephrase); a second misunderstanding ends in
``action_default_fallback`` (``actions/handoff.py``): a human takes over.
"""
from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from knowledge_base.compiler import KnowledgeBaseError, current_entries

# What a customer would call each business intent; others (greet, affirm...) are never offered.
INTENT_LABELS = {
    "query_order": "查询订单状态",
    "query_logistics": "查询物流进度",
    "urge_shipment": "催促发货",
    "change_address": "修改收货地址",
    "cancel_order": "取消订单",
    "request_return": "申请退货",
    "request_exchange": "申请换货",
    "query_refund": "查询退款进度",
    "report_quality_issue": "反馈商品质量问题",
    "complain": "投诉",
    "request_human": "转人工客服",
}
MAX_CHOICES = 3
MIN_CONFIDENCE = 0.05
NONE_OF_THESE = {"title": "都不是", "payload": "/out_of_scope"}


class ActionAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        choices = likely_choices(tracker.latest_message or {})
        if not choices:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(text="抱歉，我不太确定您的意思 🤔 您是想：",
                                 buttons=[*choices, NONE_OF_THESE])
        return []


def likely_choices(message: dict[str, Any]) -> list[dict[str, str]]:
    """Buttons for the likeliest business intents (and FAQ entry), best first."""
    choices = []
    for prediction in message.get("intent_ranking") or []:
        name, confidence = prediction.get("name"), prediction.get("confidence") or 0.0
        if confidence < MIN_CONFIDENCE or len(choices) == MAX_CHOICES:
            break
        if name in INTENT_LABELS:
            choices.append({"title": INTENT_LABELS[name], "payload": f"/{name}"})
        elif name == "faq" and (faq := faq_choice(message)):
            choices.append(faq)
    return choices


def faq_choice(message: dict[str, Any]) -> Optional[dict[str, str]]:
    """The FAQ entry the response selector leans to; its first question asks it again."""
    selector = (message.get("response_selector") or {}).get("faq") or {}
    key = ((selector.get("response") or {}).get("intent_response_key") or "").removeprefix("faq/")
    try:
        entry = next((e for e in current_entries() if e.id == key), None)
    except KnowledgeBaseError:
        return None
    return {"title": f"了解「{entry.title}」", "payload": entry.questions[0]} if entry else None
