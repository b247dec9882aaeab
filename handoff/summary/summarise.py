"""The handoff summary: what an agent reads when a conversation comes to them, so the customer
never has to repeat a word.

``summarise(transcript, facts)`` takes the conversation (``{"speaker": "user"|"bot"|"agent",
"text": …}`` oldest first) and what the bot knows for sure (intents, order ids, its actions and
their results, an order snapshot) and returns a ``HandoffSummary``: the request (诉求, extracted
from the customer's words, ``request.py``), the orders, what the bot did, the mood
(``sentiment.py``) and up to three verbatim customer quotes. Phone numbers, addresses, ID numbers
and the receiver's name are masked everywhere in it (``masking.py``); order ids stay.

Plain text, not HTML: whoever shows it on a page escapes it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Optional

from bot.masking import mask_name, mask_phone
from bot.patterns import ORDER_ID_RE

from .cleaning import MAX_CHARS, clip
from .masking import mask_free_address, mask_text
from .request import Style, candidate_sentences, summarise_request
from .sentiment import Mood, conversation_mood, sentiment

SPEAKERS = ("user", "bot", "agent")
MAX_QUOTES = 3
QUOTE_CHARS = 80
ANGRY_QUOTE = -0.25  # a message at or below this score is quoted first

ACTION_NAMES = {
    "action_order_status": "查询订单状态",
    "action_logistics": "查询物流",
    "action_urge_shipment": "催促发货/派送",
    "action_change_address": "修改收货地址",
    "action_cancel_order": "取消订单",
    "action_return_eligibility": "查询能否退货",
    "action_request_exchange": "申请换货",
    "action_refund_status": "查询退款进度",
    "action_report_quality_issue": "登记质量问题",
    "action_confirm_pending": "办理客户确认的操作",
    "action_handle_inform": "核对手机号后四位",
    "action_request_human": "转人工",
    "action_default_fallback": "未能理解，转人工",
}
HANDOFF_REASONS = {"customer_request": "客户要求人工", "not_understood": "机器人两次未能理解",
                   "complaint": "客户投诉", "policy_dispute": "客户对政策结果有异议",
                   "action_failure": "系统操作失败", "bot_unavailable": "机器人暂时不可用",
                   "shop_rule": "店铺规则要求人工处理"}
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class BotAction:
    action: str                # an action name (action_logistics) or what was done, in Chinese
    result: str = ""           # what came of it, in Chinese
    ok: Optional[bool] = None  # False when it failed


@dataclass(frozen=True)
class HandoffFacts:
    """What the bot knows for sure; every field is optional."""
    intents: tuple[Optional[str], ...] = ()  # one per customer message, oldest first
    order_ids: tuple[str, ...] = ()
    actions: tuple[BotAction, ...] = ()
    order: Optional[Mapping[str, Any]] = None  # snapshot: id, status_label, items, total_display,
    #                                            receiver_name, receiver_phone, address
    reason: Optional[str] = None               # why the bot handed over (HANDOFF_REASONS)

    @classmethod
    def from_mapping(cls, data: Optional[Mapping[str, Any]]) -> HandoffFacts:
        """From JSON-like data; what is malformed is left out rather than refused."""
        if not isinstance(data, Mapping):
            return cls()
        actions = []
        for item in _sequence(data.get("actions")):
            if isinstance(item, BotAction):
                actions.append(item)
            elif isinstance(item, Mapping) and isinstance(item.get("action"), str):
                ok = item.get("ok")
                actions.append(BotAction(item["action"], str(item.get("result") or ""),
                                         ok if isinstance(ok, bool) else None))
        order = data.get("order")
        reason = data.get("reason")
        return cls(
            intents=tuple(i if isinstance(i, str) else None for i in _sequence(data.get("intents"))),
            order_ids=tuple(str(i) for i in _sequence(data.get("order_ids")) if isinstance(i, (str, int))),
            actions=tuple(actions), order=order if isinstance(order, Mapping) else None,
            reason=reason if isinstance(reason, str) else None)


@dataclass(frozen=True)
class HandoffSummary:
    诉求: str                          # "用户询问…。用户要求…。", "" when the customer said nothing
    涉及订单: tuple[str, ...]
    机器人已做的事和结果: tuple[str, ...]
    情绪: Mood
    客户关键原话: tuple[str, ...]       # verbatim (masked, long ones cut), oldest first
    订单概况: Optional[str] = None
    转人工原因: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def text(self) -> str:
        """The summary as Chinese lines, for the agent console and the ticket."""
        mood = f"{self.情绪.label}（{self.情绪.score:+.2f}）"
        if self.情绪.threats:
            mood += "，提到" + "、".join(self.情绪.threats)
        lines = [f"诉求：{self.诉求 or '（客户未说明）'}",
                 f"涉及订单：{'、'.join(self.涉及订单) or '无'}",
                 f"机器人已做的事和结果：{'；'.join(self.机器人已做的事和结果) or '无'}"]
        if self.订单概况:
            lines.append(f"订单概况：{self.订单概况}")
        if self.转人工原因:
            lines.append(f"转人工原因：{self.转人工原因}")
        lines.append(f"情绪：{mood}")
        lines.append("客户关键原话：" + ("" if self.客户关键原话 else "无"))
        lines += [f"  「{quote}」" for quote in self.客户关键原话]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return data


Turn = Mapping[str, Any]


def summarise(transcript: Optional[Iterable[Turn]], facts: Optional[HandoffFacts | Mapping[str, Any]] = None,
              *, style: Style = Style()) -> HandoffSummary:
    """The summary an agent gets for ``transcript`` (oldest first). Never raises on odd input:
    turns that are not ``{"speaker", "text"}`` mappings are skipped."""
    facts = facts if isinstance(facts, HandoffFacts) else HandoffFacts.from_mapping(facts)
    turns = _turns(transcript)
    customer = [text for speaker, text in turns if speaker == "user"]
    known = _known_values(facts.order)

    request = mask_text(summarise_request(customer, style, facts.intents or None), known)
    mood = conversation_mood(customer)
    if mood.worst_message is not None:
        mood = replace(mood, worst_message=_quote(mood.worst_message, known))
    return HandoffSummary(
        诉求=request,
        涉及订单=_order_ids(facts, turns),
        机器人已做的事和结果=tuple(mask_text(_action_line(a), known) for a in facts.actions),
        情绪=mood,
        客户关键原话=_quotes(customer, known, facts.intents or None),
        订单概况=_order_line(facts.order),
        转人工原因=HANDOFF_REASONS.get(facts.reason or "", facts.reason),
    )


def turns_from_transcript(messages: Iterable[Any]) -> list[dict[str, str]]:
    """``handoff.transcripts.TranscriptMessage`` rows as turns: inbound is the customer,
    outbound the bot unless its payload names an agent as author (``{"author": {"role":
    "agent"}}``, as ``ConversationRouter.send_to_customer`` records it)."""
    turns = []
    for message in messages:
        payload = getattr(message, "payload", None) or {}
        author = payload.get("author") if isinstance(payload, Mapping) else None
        by_agent = isinstance(author, Mapping) and author.get("role") == "agent"
        speaker = "user" if getattr(message, "direction", None) == "in" else (
            "agent" if by_agent else "bot")
        turns.append({"speaker": speaker, "text": getattr(message, "text", "") or ""})
    return turns


def _sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, (list, tuple)) else ()


def _turns(transcript: Optional[Iterable[Turn]]) -> list[tuple[str, str]]:
    if transcript is None or isinstance(transcript, (str, bytes, Mapping)):
        return []
    out = []
    for turn in transcript:
        if not isinstance(turn, Mapping):
            continue
        speaker, text = turn.get("speaker"), turn.get("text")
        if speaker in SPEAKERS and isinstance(text, str) and text.strip():
            out.append((speaker, text))
    return out


def _known_values(order: Optional[Mapping[str, Any]]) -> list[str]:
    if not order:
        return []
    return [str(order[key]) for key in ("receiver_name", "receiver_phone", "address")
            if isinstance(order.get(key), str) and order[key]]


def _order_ids(facts: HandoffFacts, turns: list[tuple[str, str]]) -> tuple[str, ...]:
    found = list(facts.order_ids)
    if facts.order and facts.order.get("id"):
        found.append(str(facts.order["id"]))
    for _, text in turns:
        found += ORDER_ID_RE.findall(text[:MAX_CHARS].translate(_FULL_WIDTH_DIGITS))
    return tuple(dict.fromkeys(i.strip() for i in found if i.strip()))


def _action_line(action: BotAction) -> str:
    name = ACTION_NAMES.get(action.action, action.action)
    status = "（失败）" if action.ok is False else ""
    return clip(f"{name}{status}：{action.result}" if action.result else f"{name}{status}", 120)


def _order_line(order: Optional[Mapping[str, Any]]) -> Optional[str]:
    if not order:
        return None
    parts = []
    if order.get("id"):
        parts.append(f"订单 {order['id']}")
    if order.get("status_label") or order.get("status"):
        parts.append(str(order.get("status_label") or order.get("status")))
    items = order.get("items")
    if isinstance(items, (list, tuple)) and items:
        names = [str(i.get("name") if isinstance(i, Mapping) else i) for i in items][:3]
        parts.append("、".join(names) + (" 等" if len(items) > 3 else ""))
    if order.get("total_display"):
        parts.append(str(order["total_display"]))
    receiver = " ".join(filter(None, [
        mask_name(str(order["receiver_name"])) if order.get("receiver_name") else "",
        mask_phone(str(order["receiver_phone"])) if order.get("receiver_phone") else "",
        mask_free_address(str(order["address"])) if order.get("address") else ""]))
    if receiver:
        parts.append(f"收货：{receiver}")
    return clip("；".join(parts), 200) if parts else None


def _quote(text: str, known: list[str]) -> str:
    """A customer's message as they wrote it, masked, cut when long."""
    verbatim = _CONTROL.sub("", text[:MAX_CHARS]).strip()
    return clip(mask_text(verbatim, known), QUOTE_CHARS)


def _quotes(customer: list[str], known: list[str],
            intents: Optional[Sequence[Optional[str]]]) -> tuple[str, ...]:
    """Up to MAX_QUOTES customer messages: the angriest first, then the most informative."""
    informative: dict[int, float] = {}
    for sentence in candidate_sentences(customer, intents):
        informative[sentence.message] = max(informative.get(sentence.message, 0.0), sentence.score)
    scores = {i: sentiment(customer[i]) for i in informative}
    angry = sorted((i for i in informative if scores[i] <= ANGRY_QUOTE), key=lambda i: (scores[i], i))[:1]
    rest = sorted((i for i in informative if i not in angry), key=lambda i: (-informative[i], i))
    chosen, seen = [], set()
    for i in angry + rest:
        quote = _quote(customer[i], known)
        if quote and quote not in seen:
            chosen.append(i)
            seen.add(quote)
        if len(chosen) == MAX_QUOTES:
            break
    return tuple(_quote(customer[i], known) for i in sorted(chosen))
