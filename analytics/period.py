"""The dashboard's filter: a range of shop days (UTC+8, both ends included) and a channel.

Query parameters arrive as plain strings and are checked here, so every malformed or hostile
value gets one clear Chinese 422 instead of a stack trace or a full-table scan.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional

from service.errors import ApiError

SHOP_TZ = timezone(timedelta(hours=8))
CHANNELS = ("app", "wechat", "telegram")
DEFAULT_DAYS = 7
MAX_DAYS = 366
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Filter:
    first: date               # shop days, both included
    last: date
    channel: Optional[str]    # None: every channel

    @property
    def since(self) -> datetime:
        """The first day's start, in UTC."""
        return datetime.combine(self.first, time(), SHOP_TZ).astimezone(timezone.utc)

    @property
    def until(self) -> datetime:
        """The moment after the last day, in UTC (exclusive end)."""
        return datetime.combine(self.last + timedelta(days=1), time(),
                                SHOP_TZ).astimezone(timezone.utc)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def shop_today(now: Optional[datetime] = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(SHOP_TZ).date()


def shop_day(moment: datetime) -> date:
    """The shop day of a stored moment (naive values are UTC: SQLite drops the zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(SHOP_TZ).date()


def parse_filter(first: Optional[str], last: Optional[str], channel: Optional[str],
                 now: Optional[datetime] = None) -> Filter:
    """``from``/``to`` as YYYY-MM-DD (default: the last 7 shop days up to today)."""
    start = _date(first, "from") if first else None
    end = _date(last, "to") if last else shop_today(now)
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise _invalid("开始日期不能晚于结束日期")
    if (end - start).days + 1 > MAX_DAYS:
        raise _invalid(f"日期范围最长 {MAX_DAYS} 天，请缩小范围")
    if channel not in (None, "", "all") and channel not in CHANNELS:
        raise _invalid("渠道只能是 app、wechat、telegram 或 all")
    return Filter(start, end, channel if channel in CHANNELS else None)


def _date(text: str, name: str) -> date:
    label = "开始日期" if name == "from" else "结束日期"
    if len(text) > 10 or not _DATE.match(text):
        raise _invalid(f"{label}格式应为 YYYY-MM-DD")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{label}不是有效的日期") from None
    if value.year < 2000 or value.year > 2100:
        raise _invalid(f"{label}超出可查询的范围")
    return value


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_filter", message)
