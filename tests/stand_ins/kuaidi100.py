"""A stand-in for Kuaidi100's (快递100) real-time query, ``POST /poll/query.do``, for tests and demos.

It speaks the documented protocol and checks a request the way the real service does: form fields
``customer``, ``param`` (JSON: ``com``, ``num``, ``phone``, ``order``) and ``sign``, the upper-case
MD5 of ``param + key + customer``. Refusals are HTTP 200 with ``{"result": false, "returnCode":
..., "message": ...}``; a success carries ``state`` and ``data`` newest first. It computes the sign
itself (it imports nothing from ``actions``), so a test against it checks the client's sign.

A waybill, keyed by tracking number::

    {"com": "zhongtong", "state": "0", "phone": "13900005678",
     "events": [{"time": "2026-11-20 10:00:00", "context": "...", "location": "杭州"}]}

``phone`` is checked (last four digits) for the couriers in ``PHONE_CHECKED``. Faults to inject:
``{"fail": "502"}`` (any returnCode), ``{"fail": "http500"}``, ``{"fail": "malformed"}``,
``{"fail": "slow", "delay": 5}`` (then answers normally), ``{"body": {...}}`` (sent verbatim).
``app[REQUESTS][number]`` counts the requests per tracking number; ``app[FORMS]`` keeps each form.

Manual use: ``python -m tests.stand_ins.kuaidi100 --port 8190`` serves ``DEMO_WAYBILLS``.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from collections import Counter
from typing import Any, Optional

from aiohttp import web

PATH = "/poll/query.do"
MESSAGES = {
    "400": "找不到对应公司",
    "408": "快递公司参数异常：验证码错误",
    "500": "查询无结果，请隔段时间再查",
    "501": "服务器错误",
    "502": "服务器繁忙",
    "503": "验证签名失败",
    "601": "key已过期",
}
# Kuaidi100's docs require the receiver's or sender's phone for these couriers.
PHONE_CHECKED = frozenset({"shunfeng", "shunfengkuaiyun", "zhongtong"})
KNOWN_COMS = frozenset({"shunfeng", "shunfengkuaiyun", "zhongtong", "yuantong", "yunda", "shentong",
                        "jd", "ems", "youzhengguonei", "jtexpress", "debangwuliu"})

CUSTOMER = web.AppKey("customer", str)
KEY = web.AppKey("key", str)
WAYBILLS = web.AppKey("waybills", dict)
REQUESTS = web.AppKey("requests", Counter)
FORMS = web.AppKey("forms", list)


def make_app(customer: str, key: str, waybills: dict[str, dict[str, Any]]) -> web.Application:
    app = web.Application()
    app[CUSTOMER], app[KEY], app[WAYBILLS] = customer, key, waybills
    app[REQUESTS], app[FORMS] = Counter(), []
    app.router.add_post(PATH, query)
    return app


async def query(request: web.Request) -> web.Response:
    app = request.app
    form = await request.post()
    fields = {name: form.get(name) for name in ("customer", "param", "sign")}
    app[FORMS].append(fields)
    param = _json_object(fields["param"])
    number = str(param.get("num", "")) if param else ""
    app[REQUESTS][number] += 1
    waybill = app[WAYBILLS].get(number, {})
    fault = await _injected_fault(waybill)
    if fault is not None:
        return fault
    refusal = _refusal(app, fields, param, waybill)
    # Not `refusal or ...`: a response is a mapping, empty and so false.
    return refusal if refusal is not None else _success(number, param, waybill)


async def _injected_fault(waybill: dict[str, Any]) -> Optional[web.Response]:
    fail = waybill.get("fail")
    if "body" in waybill:
        return _json_response(waybill["body"])
    if fail is None:
        return None
    if fail == "slow":
        await asyncio.sleep(waybill.get("delay", 5))
        return None
    if fail == "http500":
        return web.Response(status=500, text="Internal Server Error")
    if fail == "malformed":
        return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
    if fail in MESSAGES:
        return _failure(fail)
    raise ValueError(f"unknown injected fault {fail!r}")


def _refusal(app: web.Application, fields: dict[str, Any], param: Optional[dict[str, Any]],
             waybill: dict[str, Any]) -> Optional[web.Response]:
    """The real service's checks, in its order: form, account, sign, parameters, waybill, phone."""
    if not all(isinstance(value, str) and value for value in fields.values()) or param is None:
        return _failure("400")
    if fields["customer"] != app[CUSTOMER]:
        return _failure("400")
    if fields["sign"] != _sign(fields["param"], app[KEY], fields["customer"]):
        return _failure("503")
    com = param.get("com")
    if not param.get("num") or com not in KNOWN_COMS:
        return _failure("400", "不支持此快递公司" if param.get("num") else None)
    if waybill.get("com") != com:  # unknown number, or a number of another courier
        return _failure("500")
    if com in PHONE_CHECKED and not _phone_matches(param.get("phone"), waybill.get("phone", "")):
        return _failure("408")
    return None


def _success(number: str, param: dict[str, Any], waybill: dict[str, Any]) -> web.Response:
    newest_first = param.get("order", "desc") != "asc"
    # "YYYY-MM-DD HH:MM:SS" sorts as text in time order.
    events = sorted(waybill.get("events", []), key=lambda event: event["time"], reverse=newest_first)
    state = str(waybill.get("state", "0"))
    return _json_response({
        "message": "ok", "nu": number, "ischeck": "1" if state == "3" else "0", "condition": "F00",
        "com": param["com"], "status": "200", "state": state,
        "data": [{"time": event["time"], "ftime": event["time"], "context": event["context"],
                  "location": event.get("location", "")} for event in events],
    })


def _phone_matches(given: Any, stored: str) -> bool:
    """Kuaidi100 takes the full number or its last four digits."""
    digits = "".join(char for char in str(given or "") if char.isascii() and char.isdigit())
    return len(digits) >= 4 and len(stored) >= 4 and digits[-4:] == stored[-4:]


def _sign(param: str, key: str, customer: str) -> str:
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


def _json_object(text: Any) -> Optional[dict[str, Any]]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _failure(code: str, message: Optional[str] = None) -> web.Response:
    return _json_response({"result": False, "returnCode": code, "message": message or MESSAGES[code]})


def _json_response(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def _events(*lines: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"time": time, "context": context, "location": location} for time, context, location in lines]


DEMO_WAYBILLS: dict[str, dict[str, Any]] = {
    "SF1234567890123": {"com": "shunfeng", "state": "5", "phone": "13800001234", "events": _events(
        ("2026-11-18 20:12:00", "顺丰速运 已收取快件", "深圳"),
        ("2026-11-19 06:40:00", "快件到达 【上海浦东集散中心】", "上海"),
        ("2026-11-20 09:05:00", "快件交给王师傅，正在派送途中", "上海"))},
    "73100000000001": {"com": "zhongtong", "state": "3", "phone": "13900005678", "events": _events(
        ("2026-11-17 18:00:00", "【杭州市】中通快递 已揽收", "杭州"),
        ("2026-11-19 14:30:00", "【北京市】快件已在 朝阳营业部 签收，签收人：本人", "北京"))},
    "YT1000000000001": {"com": "yuantong", "state": "2", "events": _events(
        ("2026-11-16 10:00:00", "【广州市】圆通速递 已揽收", "广州"),
        ("2026-11-19 11:00:00", "【成都市】快件派送异常：收件地址不详", "成都"))},
    "4310000000001": {"com": "yunda", "state": "0", "events": _events(
        ("2026-11-19 22:10:00", "【义乌市】韵达快递 已揽收", "义乌"),
        ("2026-11-20 03:20:00", "【金华转运中心】已发出，下一站【南京转运中心】", "金华"))},
    "1000000000099": {"com": "ems", "fail": "502"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Kuaidi100 real-time query stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--customer", default="DEMOCUSTOMER")
    parser.add_argument("--key", default="demo-key")
    args = parser.parse_args()
    print(f"Kuaidi100 stand-in: POST http://{args.host}:{args.port}{PATH} "
          f"(customer {args.customer}, waybills {', '.join(DEMO_WAYBILLS)})")
    web.run_app(make_app(args.customer, args.key, DEMO_WAYBILLS), host=args.host, port=args.port,
                print=None)


if __name__ == "__main__":
    main()
