"""Mask personal data wherever the full value is not needed (chat replies, summaries, logs)."""
from __future__ import annotations

from bot.patterns import PHONE_RE


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_name(name: str) -> str:
    """张伟 -> 张*, 欧阳娜娜 -> 欧***: the family name is enough to recognise oneself."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_address(address: str, keep: int = 6) -> str:
    """Keep the province/city part, hide the street and house number."""
    return address[:keep] + "****" if len(address) > keep else address


def mask_phones_in(text: str) -> str:
    return PHONE_RE.sub(lambda match: mask_phone(match.group(0)), text)
