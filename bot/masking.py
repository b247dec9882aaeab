"""Mask personal data wherever the full value is not needed (chat pages, summaries, logs)."""
from __future__ import annotations

import re


def mask_name(name: str) -> str:
    """张伟 -> 张*, 欧阳娜娜 -> 欧***: the family name is enough to recognise oneself."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678; anything shorter than 7 characters is hidden entirely."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


# Province (or autonomous region), city, district: the part of an address that is safe to show.
_REGION = re.compile(r"^(?:[^省市区]{2,8}(?:省|自治区))?(?:[^市]{2,8}市)?(?:[^区县旗]{1,8}(?:区|县|旗))?")


def mask_address(address: str) -> str:
    """上海市浦东新区张江路 100 号 -> 上海市浦东新区****: enough to recognise, not to find."""
    shown = _REGION.match(address).group(0) or address[:min(len(address) // 3, 6)]
    return shown + "****"
