"""Shapes of the identifiers customers type, shared by the NLU data, the actions and the service.

Order ids of the shop are 16 digits (yymmdd + 10 digits); an 11-digit run is a phone number and
courier numbers have their own shapes, so the lookarounds keep a longer digit run from matching.
"""
from __future__ import annotations

import re
from typing import Optional

ORDER_ID_RE = re.compile(r"(?<!\d)\d{16}(?!\d)")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Courier waybill formats (upper case), by courier code of the shop's contract.
TRACKING_NUMBER_RES = {
    "SF": re.compile(r"SF\d{12,13}"),
    "YTO": re.compile(r"YT\d{13}"),
    "JD": re.compile(r"JD[0-9A-Z]{13}"),
    "ZTO": re.compile(r"7\d{13}"),
    "YD": re.compile(r"43\d{11}"),
    "STO": re.compile(r"77\d{11}"),
    "EMS": re.compile(r"1\d{12}|E[A-Z]\d{9}CN"),
}

# Customers paste order ids with full-width digits (１２３) from some input methods.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def find_order_id(text: str) -> Optional[str]:
    """The first order id in free text, or None."""
    match = ORDER_ID_RE.search(text.translate(_FULL_WIDTH_DIGITS))
    return match.group(0) if match else None


def is_order_id(value: str) -> bool:
    return bool(ORDER_ID_RE.fullmatch(value.translate(_FULL_WIDTH_DIGITS)))


def is_phone(value: str) -> bool:
    return bool(PHONE_RE.fullmatch(value.translate(_FULL_WIDTH_DIGITS)))


def courier_of_tracking_number(value: str) -> Optional[str]:
    """The courier whose waybill format the number has, or None."""
    number = value.strip().upper()
    return next((code for code, pattern in TRACKING_NUMBER_RES.items()
                 if pattern.fullmatch(number)), None)
