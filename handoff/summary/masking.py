"""Mask personal data inside free text: phone numbers, addresses, ID numbers, known names.

``bot.masking`` masks a value when we know what it is (the receiver's phone of an order); here we
find such values in what customers typed. What is found is masked the same way (138****5678,
上海市浦东新区****); when in doubt we mask more, never less. Order ids (16 digits) and courier
numbers stay: the agent needs them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from bot.masking import mask_address, mask_name, mask_phone

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")

_MOBILE = re.compile(r"(?<![\d*])(?:\+?86[-\s]?)?(1[3-9]\d(?:[-\s]?\d){8})(?![\d*])")
_LANDLINE = re.compile(r"(?<![\d*])(0\d{2,3})-?(\d{7,8})(?![\d*])")
_ID_CARD = re.compile(r"(?<![\d*])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\d*])")
_NAME_CUE = re.compile(r"(?:收货人|收件人|联系人|我叫|姓名|名字)(?:是|叫|为)?[:：\s]*([\u4e00-\u9fa5]{2,3})")

_CJK_BODY = r"[\u4e00-\u9fa5A-Za-z0-9#\-－()（）·]"
_ADDRESS_START = re.compile(
    r"(?:(?:收货|送货|收件|寄件|详细)?地址|住址|住在|送到|寄到|发到|改到|改成|改为)(?:是|为)?[:：\s]*"
    r"(?=" + _CJK_BODY + ")"
    r"|(?:" + "|".join(PROVINCES) + r")")
_ADDRESS_BODY = re.compile(_CJK_BODY + r"{2,60}")
# The street-level part: an address span ends after its last such marker.
_STREET = re.compile(
    r"(?:\d+|[一二三四五六七八九十百零两]+)[-－]?(?:号楼|号院|号|栋|幢|座|楼|层|室|单元|户|弄|组)"
    r"|(?:大道|路|街|巷|弄|胡同|小区|村|镇|乡|大厦|公寓|花园|家园|苑|广场|园区)")
_ROOM = re.compile(r"[0-9A-Za-z#\-－]*")
_REGION_END = ("省", "市", "区", "县", "旗", "自治区", "州", "盟")


def mask_text(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with phone numbers, ID numbers, addresses and the ``known`` values (a receiver's
    name, phone or address from the order) masked."""
    if not text:
        return ""
    text = _mask_known(text, known)
    text = _ID_CARD.sub("******", text)
    text = _MOBILE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group(1))), text)
    text = _LANDLINE.sub(lambda m: m.group(1) + "-****" + m.group(2)[-4:], text)
    text = _NAME_CUE.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + mask_name(m.group(1)), text)
    return _mask_addresses(text)


def mask_free_address(address: str) -> str:
    """mask_address for a span found in text: nothing of it stays when it shows no region."""
    masked = mask_address(address)
    shown = masked[:-4]
    return masked if shown and shown.endswith(_REGION_END) else "****"


def _mask_known(text: str, known: Iterable[str]) -> str:
    values = sorted({v.strip() for v in known if isinstance(v, str) and len(v.strip()) >= 2},
                    key=len, reverse=True)
    for value in values:
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7 and len(digits) == len(value):
            replacement = mask_phone(value)
        elif len(value) <= 4:
            replacement = mask_name(value)
        else:
            replacement = mask_free_address(value)
        text = text.replace(value, replacement)
    return text


def _mask_addresses(text: str) -> str:
    out, position = [], 0
    for start in _ADDRESS_START.finditer(text):
        if start.start() < position:
            continue
        body_start = start.end() if start.group(0) not in PROVINCES else start.start()
        body = _ADDRESS_BODY.match(text, body_start)
        if body is None:
            continue
        streets = list(_STREET.finditer(body.group(0)))
        if not streets:
            continue
        end = body_start + streets[-1].end()
        end += len(_ROOM.match(text, end).group(0))  # "1单元302": the room number too
        out += [text[position:body_start], mask_free_address(text[body_start:end])]
        position = end
    return "".join(out) + text[position:]
