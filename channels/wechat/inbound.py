"""WeChat's callback XML → what the router reads.

Parsing is done with expat directly: WeChat never sends a DOCTYPE, so any DOCTYPE or entity
declaration is refused outright (no billion laughs, no external entities), and size, depth and
element count are bounded.

What each kind of callback becomes (``Mapped``):

| callback | submitted as | answered with |
|---|---|---|
| text | its Content | the bot's replies |
| image | "[图片]" (+ PicUrl, MediaId in extra) | the bot's replies |
| voice | WeChat's speech recognition, else "[语音]" | the bot's replies |
| location | "[位置] label（纬度 …，经度 …）" | the bot's replies |
| link | "[链接] title url" | the bot's replies |
| subscribe | "/greet", ``extra["answered_by_channel"]`` | the fixed ``WELCOME`` text at once |
| menu CLICK with a key in ``MENU_COMMANDS`` | the mapped intent, e.g. "/query_order" | the bot's replies |
| menu CLICK with another key | nothing | ``MENU_UNAVAILABLE`` |
| unsubscribe | nothing (``forget``: the customer can no longer be messaged) | "success" |
| other user messages (video, shortvideo, unknown types) | nothing | ``UNSUPPORTED`` |
| other events (VIEW, SCAN, LOCATION, template/mass-send results, kf_*, device_*…) | nothing | "success" |

Unsubscribes are not submitted: the router's contract has no record-only message and anything
submitted goes to the bot, which must not answer someone who just left.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional
from xml.parsers import expat

from channels.messages import Inbound, strip_control_chars

CHANNEL = "wechat"
MAX_XML_BYTES = 64 * 1024
MAX_DEPTH = 8
MAX_ELEMENTS = 500

WELCOME = ("您好，欢迎关注！我是智能客服小售。\n"
           "您可以直接发送订单号查询物流，或者告诉我遇到的问题，例如“我的订单到哪了”“我要退货”。\n"
           "需要人工客服时，回复“转人工”即可。")
UNSUPPORTED = "抱歉，小售暂时还看不懂这类消息，请用文字描述您的问题，我马上为您处理。"
MENU_UNAVAILABLE = "这个菜单暂时无法使用，请直接发送文字告诉小售您的问题。"

# Keys of the account's custom menu (公众平台 → 自定义菜单, "click" buttons) → what the bot reads.
MENU_COMMANDS = {
    "ORDER_QUERY": "/query_order",
    "LOGISTICS_QUERY": "/query_logistics",
    "URGE_SHIPMENT": "/urge_shipment",
    "RETURN_REQUEST": "/request_return",
    "REFUND_QUERY": "/query_refund",
    "HUMAN_AGENT": "/request_human",
}

# Customer-service sends WeChat allows after each kind of interaction (发送客服消息 rules):
# (messages, seconds). A new interaction replaces the allowance; it does not add to it.
MESSAGE_ALLOWANCE = (5, 48 * 3600)
EVENT_ALLOWANCE = (3, 60)

_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_USER_MESSAGE_TYPES = {"text", "image", "voice", "video", "shortvideo", "location", "link", "file"}


class XmlRejected(ValueError):
    """Malformed, oversized or hostile XML, or a callback without what every callback has."""


@dataclass(frozen=True)
class Mapped:
    openid: str
    account: str                              # ToUserName, the official account (gh_…)
    inbound: Optional[Inbound] = None         # submit this to the router
    reply: Optional[str] = None               # answer with this text now (no waiting for the bot)
    allowance: Optional[tuple[int, int]] = None  # customer-service sends this interaction opens
    forget: bool = False                      # the customer left: drop what we keep about them


def parse_xml(data: bytes) -> dict[str, str]:
    """The leaves of a WeChat ``<xml>`` document: ``{"MsgType": "text", "ScanCodeInfo/ScanType": …}``."""
    if len(data) > MAX_XML_BYTES:
        raise XmlRejected("document too large")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args: object) -> None:
        raise XmlRejected("DOCTYPE and entity declarations are not accepted")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    collector = _Collector()
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.text
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, LookupError, UnicodeError) as error:  # LookupError: unknown encoding
        raise XmlRejected(f"not well-formed XML: {error}") from None
    if not collector.closed_root:
        raise XmlRejected("no <xml> document")
    return collector.fields


class _Collector:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.closed_root = False
        self._stack: list[tuple[str, list[str]]] = []
        self._count = 0

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        self._count += 1
        if self._count > MAX_ELEMENTS or len(self._stack) >= MAX_DEPTH:
            raise XmlRejected("document too deep or too large")
        if not self._stack and (name != "xml" or self.closed_root):
            raise XmlRejected("the document element must be a single <xml>")
        self._stack.append((name, []))

    def text(self, data: str) -> None:
        if self._stack:
            self._stack[-1][1].append(data)

    def end(self, _name: str) -> None:
        name, parts = self._stack.pop()
        if not self._stack:
            self.closed_root = True
            return
        path = "/".join([entry[0] for entry in self._stack[1:]] + [name])
        if len(self._stack) == 1 and path in self.fields:
            # Two MsgType (or two Content) fields: which one would the bot read? Neither.
            raise XmlRejected(f"duplicate field {name}")
        self.fields.setdefault(path, "".join(parts))


def map_callback(fields: dict[str, str]) -> Mapped:
    openid = fields.get("FromUserName", "").strip()
    account = fields.get("ToUserName", "").strip()
    msg_type = fields.get("MsgType", "").strip().lower()
    if not _OPENID.match(openid) or not account or not msg_type:
        raise XmlRejected("FromUserName, ToUserName and MsgType are required")
    if msg_type == "event":
        return _map_event(fields, openid, account)
    if msg_type not in _USER_MESSAGE_TYPES:
        # device_text, device_event…: hardware-platform traffic, not a customer talking.
        return Mapped(openid, account) if msg_type.startswith("device_") else \
            Mapped(openid, account, reply=UNSUPPORTED)
    text, extra = _message_text(msg_type, fields)
    if text is None:
        return Mapped(openid, account, reply=UNSUPPORTED)
    if not text:  # only whitespace or control characters: nothing to read, nothing to answer
        return Mapped(openid, account)
    message_id = fields.get("MsgId", "").strip() or \
        f"{openid}:{fields.get('CreateTime', '').strip()}:{msg_type}"
    extra = {"msg_type": msg_type, "account": account, **extra}
    inbound = Inbound(CHANNEL, openid, message_id, text, kind=msg_type, extra=extra)
    return Mapped(openid, account, inbound=inbound, allowance=MESSAGE_ALLOWANCE)


def _message_text(msg_type: str, fields: dict[str, str]) -> tuple[Optional[str], dict[str, str]]:
    """The text the bot reads and the details kept beside it; None text: not supported."""
    def get(name: str) -> str:
        return _clean(fields.get(name, ""))

    if msg_type == "text":
        return get("Content"), {}
    if msg_type == "image":
        return "[图片]", {"pic_url": get("PicUrl"), "media_id": get("MediaId")}
    if msg_type == "voice":
        return get("Recognition") or "[语音]", {"media_id": get("MediaId"), "format": get("Format")}
    if msg_type == "location":
        latitude, longitude, label = get("Location_X"), get("Location_Y"), get("Label")
        named = f" {label}" if label else ""
        return f"[位置]{named}（纬度 {latitude}，经度 {longitude}）", {
            "latitude": latitude, "longitude": longitude, "label": label, "scale": get("Scale")}
    if msg_type == "link":
        title, url = get("Title"), get("Url")
        return f"[链接] {title} {url}".strip(), {"title": title, "url": url,
                                                 "description": get("Description")}
    return None, {}


def _map_event(fields: dict[str, str], openid: str, account: str) -> Mapped:
    event = fields.get("Event", "").strip()
    event_key = _clean(fields.get("EventKey", ""))
    # Events carry no MsgId; WeChat recommends FromUserName + CreateTime to deduplicate them.
    message_id = f"{openid}:{fields.get('CreateTime', '').strip()}:{event}"
    extra = {"msg_type": "event", "account": account, "event": event, "event_key": event_key}
    lowered = event.lower()
    if lowered == "subscribe":
        inbound = Inbound(CHANNEL, openid, message_id, "/greet", kind="event",
                          extra={**extra, "answered_by_channel": True})
        return Mapped(openid, account, inbound=inbound, reply=WELCOME, allowance=EVENT_ALLOWANCE)
    if lowered == "unsubscribe":
        return Mapped(openid, account, forget=True)
    if lowered == "click":
        command = MENU_COMMANDS.get(event_key)
        if command is None:
            return Mapped(openid, account, reply=MENU_UNAVAILABLE)
        inbound = Inbound(CHANNEL, openid, message_id, command, kind="event", extra=extra)
        return Mapped(openid, account, inbound=inbound, allowance=EVENT_ALLOWANCE)
    return Mapped(openid, account)


def _clean(text: str) -> str:
    return strip_control_chars(text).strip()
