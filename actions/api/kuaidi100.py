"""Typed async client of Kuaidi100's (快递100) real-time query: a waybill's trace from the courier.

Protocol (api.kuaidi100.com/document/5f0ffb5ebc8da837cbd8aefc): ``POST`` a form to
``https://poll.kuaidi100.com/poll/query.do`` with ``customer`` (our company code), ``param`` (a JSON
string: ``com``, ``num``, optional ``phone``, ``show``, ``order``) and ``sign``, the upper-case hex
MD5 of ``param + key + customer``. A success is ``{"message": "ok", "status": "200", "state": ...,
"data": [{"time", "context", "location"}, ...]}``; a failure is ``{"result": false, "returnCode":
..., "message": ...}``. Times are Beijing time without a zone.

Queries are idempotent reads, so a bounded number of retries covers a busy or unreachable Kuaidi100;
every other refusal is final. Callers get a ``Shipment`` or a ``CourierError`` carrying the
``returnCode`` and a Chinese text a customer may read. The key never leaves this module except
inside the sign: it is in no exception, log line or repr.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import aiohttp

from actions.action_log import note_call
from actions.api.shop import Shipment, ShopError, ShopUnavailable, TraceEvent

log = logging.getLogger(__name__)

DEFAULT_URL = "https://poll.kuaidi100.com/poll/query.do"
# China has had no daylight saving time since 1991, so a fixed offset is exact for Beijing time.
BEIJING = timezone(timedelta(hours=8), "CST")
BACKOFF_SECONDS = 0.2  # times the attempt number; module level so tests can shorten it

# Our courier code -> (Kuaidi100 `com`, the name customers know, as in demo_shop/status.py).
COURIERS: dict[str, tuple[str, str]] = {
    "SF": ("shunfeng", "顺丰速运"),
    "ZTO": ("zhongtong", "中通快递"),
    "YTO": ("yuantong", "圆通速递"),
    "YD": ("yunda", "韵达快递"),
    "STO": ("shentong", "申通快递"),
    "JD": ("jd", "京东物流"),
    "EMS": ("ems", "中国邮政 EMS"),
}

# Kuaidi100 `state` -> our shipment status. The basic states are 0 在途, 1 揽收, 2 疑难, 3 签收,
# 4 退签, 5 派件, 6 退回, 7 转投, 8 清关 and 10-13 (清关 stages), 14 拒签; the three- and four-digit
# codes are the "advanced" states that resultv2=4 returns, listed so that turning it on later
# cannot produce an unknown state.
#   picked_up:        1 揽收 with 101 已下单 / 102 待揽收 / 103 已揽收 (we have no "awaiting pickup")
#   in_transit:       0 在途, 1001 到达派件城市, 1002 干线, 1003 转递; 7 转投 (handed to another
#                     courier, still moving); 8/10/11/12 customs clearance in progress or done
#   out_for_delivery: 5 派件, 501 投柜或驿站 (waiting in a locker or station for the customer)
#   delivered:        3 签收, 301 本人签收, 302 派件异常后签收, 303 代签, 304 投柜或站签收
#   returned:         6 退回 (on its way back), 4 退签 (back with the sender), 401 已销单
#   problem:          2 疑难 and 201-210 (超时, 拒收, 派件异常, 无法联系, 超区, 滞留, 破损, 销单),
#                     13 清关异常, 14 拒签: a person should look at these
STATUS_BY_STATE: dict[str, str] = {
    **dict.fromkeys(("1", "101", "102", "103"), "picked_up"),
    **dict.fromkeys(("0", "1001", "1002", "1003", "7", "8", "10", "11", "12"), "in_transit"),
    **dict.fromkeys(("5", "501"), "out_for_delivery"),
    **dict.fromkeys(("3", "301", "302", "303", "304"), "delivered"),
    **dict.fromkeys(("4", "401", "6"), "returned"),
    **dict.fromkeys(("2", *(str(code) for code in range(201, 211)), "13", "14"), "problem"),
}

# returnCode values (api.kuaidi100.com, 实时查询 返回码): 400 incomplete or wrong request, unknown
# company, wrong customer or no balance; 408 the phone did not verify (顺丰/中通 need one);
# 500 no trace for this number (yet); 501 server error; 502 server busy; 503 sign check failed;
# 601 key expired or no queries left.
RETRYABLE_CODES = frozenset({"501", "502"})
CONFIGURATION_CODES = frozenset({"400", "503", "601"})  # our account or request: retrying cannot help

TEXT_PHONE = "这家快递需要核对手机号，请告诉我收件人或寄件人手机号的后四位。"
TEXT_NO_TRACE = "暂未查到该运单的物流信息，可能刚揽收，请稍后再查。"
TEXT_UNAVAILABLE = "物流查询暂时不可用，请稍后再试。"
TEXT_BAD_NUMBER = "运单号格式不正确，请核对后再发给我。"
TEXT_UNSUPPORTED = "暂时无法查询这家快递公司的物流，请到快递公司官网查询。"
CUSTOMER_TEXTS = {"408": TEXT_PHONE, "500": TEXT_NO_TRACE}

# Kuaidi100 takes 6 to 32 characters; Chinese waybill numbers are ASCII letters and digits.
TRACKING_NUMBER = re.compile(r"[A-Za-z0-9]{6,32}")
PHONE = re.compile(r"\+?[0-9][0-9 \-]{2,22}")


class CourierError(ShopError):
    """Kuaidi100 refused or could not answer; ``code`` is its returnCode (or our own label)."""

    def __init__(self, code: str, detail: str, customer_text: str = TEXT_UNAVAILABLE) -> None:
        super().__init__(f"Kuaidi100 {code}: {detail}")
        self.code = code
        self.customer_text = customer_text


class CourierUnavailable(CourierError, ShopUnavailable):
    """Timeout, connection error, HTTP 5xx, unreadable body, 501/502: worth another try later.

    Also a ``ShopUnavailable``, so callers that already handle an unavailable backend handle this."""


class InvalidQuery(CourierError):
    """Rejected before any request: unknown courier, implausible tracking number or phone."""


def sign(param: str, key: str, customer: str) -> str:
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


class Kuaidi100Client:
    def __init__(self, url: str, customer: str, key: str, timeout_seconds: float = 3.0,
                 retries: int = 2) -> None:
        self._url = url
        self._customer = customer
        self._key = key
        self._timeout_seconds = timeout_seconds
        self._retries = max(retries, 0)
        self._session: Optional[aiohttp.ClientSession] = None

    def __repr__(self) -> str:  # the default would be harmless, but say so explicitly: no key
        return f"Kuaidi100Client(url={self._url!r}, customer={self._customer!r})"

    async def trace(self, courier_code: str, tracking_number: str,
                    phone: Optional[str] = None) -> Shipment:
        """The waybill's status and events, newest first. ``phone``: the receiver's or sender's
        number, or its last four digits (SF and ZTO verify it); only the last four are sent."""
        started = time.monotonic()
        try:
            com, courier_name = _courier(courier_code)
            number = _tracking_number(tracking_number)
            param = _param(com, number, _phone_tail(phone))
            shipment = _shipment(await self._query(param, number), courier_name, number)
        except ShopError as error:
            note_call("POST", f"kuaidi100 {courier_code}", error.outcome, started)
            raise
        note_call("POST", f"kuaidi100 {courier_code}", "ok", started)
        return shipment

    async def close(self) -> None:
        if self._session:
            await self._session.close()
            self._session = None

    async def _query(self, param: str, number: str) -> dict[str, Any]:
        attempts = 1 + self._retries
        for attempt in range(attempts):
            try:
                return await self._query_once(param)
            except CourierUnavailable as error:
                if attempt == attempts - 1:
                    log.warning("Kuaidi100 unavailable for waybill %s after %d attempts: %s",
                                _masked(number), attempts, error)
                    raise
                await asyncio.sleep(BACKOFF_SECONDS * (attempt + 1))
        raise AssertionError("unreachable")

    async def _query_once(self, param: str) -> dict[str, Any]:
        form = {"customer": self._customer, "param": param,
                "sign": sign(param, self._key, self._customer)}
        session = self._session_for_loop()
        try:
            async with session.post(self._url, data=form) as response:
                if response.status >= 500:
                    raise CourierUnavailable(f"http{response.status}", "HTTP error")
                if response.status != 200:
                    log.error("Kuaidi100 answered HTTP %d: check the configured URL", response.status)
                    raise CourierError(f"http{response.status}", "unexpected HTTP status")
                raw = await response.read()
        except asyncio.TimeoutError as error:
            raise CourierUnavailable("timeout", f"no answer within {self._timeout_seconds} s") from error
        except aiohttp.ClientError as error:
            raise CourierUnavailable("network", type(error).__name__) from error
        return _checked(_json_object(raw))

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self._timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session


def _courier(courier_code: str) -> tuple[str, str]:
    code = courier_code.strip().upper() if isinstance(courier_code, str) else ""
    if code not in COURIERS:
        raise InvalidQuery("courier", f"unsupported courier code {str(courier_code)[:20]!r}",
                           TEXT_UNSUPPORTED)
    return COURIERS[code]


def _tracking_number(value: str) -> str:
    number = value.strip() if isinstance(value, str) else ""
    if not TRACKING_NUMBER.fullmatch(number):
        # The length only: a hostile value does not belong in logs.
        raise InvalidQuery("number", f"implausible tracking number ({len(number)} characters)",
                           TEXT_BAD_NUMBER)
    return number


def _phone_tail(phone: Optional[str]) -> Optional[str]:
    """The last four digits: enough for the courier's check, and no more of a customer's number
    than needed leaves the shop (Kuaidi100 takes the full number or its last four digits)."""
    if phone is None or (isinstance(phone, str) and not phone.strip()):
        return None
    text = phone.strip() if isinstance(phone, str) else ""
    digits = re.sub(r"[^0-9]", "", text)
    if not PHONE.fullmatch(text) or len(digits) < 4:
        raise InvalidQuery("phone", "implausible phone number", TEXT_PHONE)
    return digits[-4:]


def _param(com: str, number: str, phone: Optional[str]) -> str:
    """The exact string that is both signed and sent; compact, keys in a fixed order."""
    fields = {"com": com, "num": number, **({"phone": phone} if phone else {}),
              "show": "0", "order": "desc"}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as error:  # also UnicodeDecodeError
        raise CourierUnavailable("malformed", "body is not JSON") from error
    if not isinstance(body, dict):
        raise CourierUnavailable("malformed", "body is not a JSON object")
    return body


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """The body of a successful query, or the error its returnCode means."""
    if body.get("result") is False or str(body.get("returnCode", "200")) != "200":
        raise _refusal(str(body.get("returnCode", "unknown")), _clip(body.get("message")))
    if str(body.get("status")) != "200" or not isinstance(body.get("data"), list):
        raise CourierUnavailable("malformed", "neither a success nor a failure body")
    return body


def _refusal(code: str, message: str) -> CourierError:
    if code in RETRYABLE_CODES:
        return CourierUnavailable(code, message)
    if code in CONFIGURATION_CODES:
        log.error("Kuaidi100 refused the query (returnCode %s: %s): check the customer code, "
                  "the key and the account's balance", code, message)
    return CourierError(code, message, CUSTOMER_TEXTS.get(code, TEXT_UNAVAILABLE))


def _shipment(body: dict[str, Any], courier_name: str, number: str) -> Shipment:
    events = [event for event in map(_event, body["data"]) if event is not None]
    # Asked for newest first already; sorting again costs nothing and guards the contract.
    # sorted() is stable with reverse=True, so events with the same time keep their order.
    events = sorted(events, key=lambda event: event.time, reverse=True)
    return Shipment(courier_name=courier_name, tracking_number=number,
                    status=_status(str(body.get("state", ""))), events=tuple(events))


def _event(item: Any) -> Optional[TraceEvent]:
    """One trace line, or None (logged) when it lacks a readable time or text."""
    if not isinstance(item, dict) or not isinstance(item.get("context"), str):
        log.warning("Kuaidi100 trace line without text skipped")
        return None
    time = _beijing_time(item.get("time") or item.get("ftime"))
    if time is None:
        log.warning("Kuaidi100 trace line with unreadable time skipped")
        return None
    location = item.get("location") or item.get("areaName") or ""
    return TraceEvent(time=time, location=location if isinstance(location, str) else "",
                      description=item["context"].strip())


def _beijing_time(value: Any) -> Optional[datetime]:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except (TypeError, ValueError):
        return None


def _status(state: str) -> str:
    if state not in STATUS_BY_STATE:
        # A new state must not break the answer; "in transit" claims the least.
        log.warning("unknown Kuaidi100 state %r taken as in transit", state[:10])
        return "in_transit"
    return STATUS_BY_STATE[state]


def _clip(message: Any) -> str:
    """Kuaidi100's message, short and on one line, for exception texts and logs."""
    return " ".join(str(message or "").split())[:100]


def _masked(number: str) -> str:
    return "*" * max(len(number) - 4, 0) + number[-4:]
