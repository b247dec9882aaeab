"""The dashboard as CSV: one figure per row (板块, 日期, 渠道, 项目, 数值), so a spreadsheet can
pivot it any way. UTF-8 with a byte-order mark, which Excel needs to read Chinese."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

HEADER = ("板块", "日期", "渠道", "项目", "数值")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def to_csv(board: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([_cell(value) for value in row] for row in rows(board))
    return "\ufeff" + out.getvalue()


def _cell(value: Any) -> Any:
    """Text from the records must never run as a spreadsheet formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def rows(board: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    span = f"{board['range']['from']}~{board['range']['to']}"
    channel = board["range"]["channel_label"]
    for key, value in board["totals"].items():
        yield "总览", span, channel, key, value
    for day in board["daily"]:
        for key in ("conversations", "contained", "containment_rate", "handoffs", "user_messages",
                    "fallbacks", "fallback_rate", "satisfaction_average", "ratings"):
            yield "每日", day["day"], channel, key, day[key]
    for row in board["channels"]:
        for key in ("conversations", "contained", "containment_rate", "handoffs", "handoff_rate",
                    "satisfaction_average", "ratings"):
            yield "分渠道", span, row["label"], key, row[key]
    for row in board["handoff_reasons"]:
        yield "转人工原因", span, channel, f"{row['label']}（{row['reason']}）", row["count"]
        yield "转人工原因占比", span, channel, f"{row['label']}（{row['reason']}）", row["rate"]
    yield from _intent_rows(board["intents"], span, channel)
    yield from _timed_rows(board, span, channel)
    for row in board["satisfaction"]["distribution"]:
        yield "满意度分布", span, channel, f"{row['score']} 分", row["count"]
    yield from _product_rows(board.get("products", {}), span)


def _intent_rows(intents: dict[str, Any], span: str, channel: str) -> Iterator[tuple[Any, ...]]:
    for row in intents["top"]:
        yield "意图", span, channel, f"{row['label']}（{row['intent']}）", row["count"]
    for row in intents["faq"]:
        yield "FAQ", span, channel, f"{row['title']}（{row['entry']}）", row["count"]
    for key in ("messages", "fallbacks", "rate", "gave_up"):
        yield "兜底", span, channel, key, intents["fallback"][key]


def _timed_rows(board: dict[str, Any], span: str, channel: str) -> Iterator[tuple[Any, ...]]:
    sections = [("排队等待", board["waits"]["tiers"]),
                ("首次响应（在线）", board["first_response"]["live"]),
                ("首次响应（工单）", board["first_response"]["tickets"]),
                ("解决时长", board["resolution"])]
    for title, tiers in sections:
        for row in tiers:
            for key in ("count", "p50_seconds", "p90_seconds", "target_seconds", "breaches"):
                yield title, span, channel, f"{row['label']} {key}", row[key]


def _product_rows(products: dict[str, Any], span: str) -> Iterator[tuple[Any, ...]]:
    for row in products.get("skus", []):
        for key in ("returns", "exchanges", "quality_cases"):
            yield "商品售后", span, "全部渠道", f"{row['sku']} {row['name']} {key}", row[key]
    for row in products.get("reasons", []):
        yield "退货原因", span, "全部渠道", row["reason"], row["count"]
