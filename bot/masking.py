"""Mask personal data wherever the full value is not needed (chat pages, summaries, logs)."""
from __future__ import annotations


def mask_name(name: str) -> str:
    """张伟 -> 张*, 欧阳娜娜 -> 欧***: the family name is enough to recognise oneself."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""
