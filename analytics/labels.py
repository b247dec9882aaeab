"""Chinese names for what the records store as codes, and a guard for the odd free value.

Codes we know get their Chinese name. Anything else (an intent a customer typed as ``/whatever``,
a reason from a newer bot) is shown as itself, shortened and with long digit runs hidden, since
such text may carry a phone or an order number; the page always renders it as text.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from knowledge_base.compiler import KnowledgeBaseError, current_entries

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = {"app": "App/网页", "wechat": "微信公众号", "telegram": "Telegram"}
TIERS = {"vip": "VIP", "potential": "潜力客户", "regular": "普通客户"}
REASONS = {"customer_request": "客户要求转人工", "not_understood": "机器人未听懂",
           "complaint": "投诉/情绪激动", "policy_dispute": "对政策有异议",
           "action_failure": "系统出错", "bot_unavailable": "机器人不可用",
           "shop_rule": "店铺规则转人工"}
INTENTS = {"greet": "问候", "goodbye": "告别", "thank": "感谢", "affirm": "肯定", "deny": "否定",
           "bot_challenge": "问是不是机器人", "query_order": "查订单", "query_logistics": "查物流",
           "urge_shipment": "催发货", "change_address": "改地址", "cancel_order": "取消订单",
           "request_return": "退货", "request_exchange": "换货", "query_refund": "查退款",
           "report_quality_issue": "质量问题", "complain": "投诉", "request_human": "转人工",
           "inform": "提供信息", "out_of_scope": "超出范围", "faq": "常见问题",
           "nlu_fallback": "未听懂（兜底）"}
MAX_CHARS = 32
_DIGITS = re.compile(r"\d{5,}")


def free_text(value: object) -> str:
    text = _DIGITS.sub("****", str(value if value is not None else ""))
    return text[:MAX_CHARS] + ("…" if len(text) > MAX_CHARS else "")


def of(table: dict[str, str], code: object) -> str:
    return table.get(str(code), free_text(code))


def faq_title(entry_id: str) -> str:
    return _faq_titles().get(entry_id, free_text(entry_id))


@lru_cache(maxsize=1)
def _faq_titles() -> dict[str, str]:
    try:
        return {entry.id: entry.title for entry in current_entries()}
    except (KnowledgeBaseError, OSError):  # a broken FAQ file must not take the dashboard down
        return {}
