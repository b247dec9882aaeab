"""Small, exact statistics: the page and the tests must agree to the second."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional


def percentile(values: Sequence[float], p: float) -> Optional[float]:
    """Nearest rank: the smallest value with at least ``p`` percent of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def rate(part: int, whole: int) -> Optional[float]:
    """A share rounded to 4 places (0.1234 = 12.34 %); None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def mean(values: Sequence[float]) -> Optional[float]:
    return round(sum(values) / len(values), 2) if values else None
