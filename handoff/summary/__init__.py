"""The Chinese handoff summary an agent reads when the bot hands a conversation over, and the
customer's mood. Plain Python (jieba, OpenCC, PyYAML), deterministic, milliseconds per conversation.

    from handoff.summary import summarise
    summary = summarise([{"speaker": "user", "text": "我的快递怎么还没到？"}, ...], facts)
    summary.text()   # 诉求 / 涉及订单 / 机器人已做的事和结果 / 情绪 / 客户关键原话, masked
"""
from .masking import mask_text
from .request import Style, summarise_request
from .sentiment import Mood, conversation_mood, sentiment
from .summarise import BotAction, HandoffFacts, HandoffSummary, summarise, turns_from_transcript

__all__ = ["BotAction", "HandoffFacts", "HandoffSummary", "Mood", "Style", "conversation_mood",
           "mask_text", "sentiment", "summarise", "summarise_request", "turns_from_transcript"]
