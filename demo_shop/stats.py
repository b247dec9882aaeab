"""After-sales aggregates for the supervisors' dashboard (``GET /api/v1/after-sales/summary``).

Counts only: which products (SKU) draw the most returns, exchanges and quality cases in a time
window, and why customers return things. No customer, order or free-text description leaves
here, so the dashboard never holds personal data from the shop.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from demo_shop import models, schemas
from demo_shop.api import DB
from demo_shop.errors import Invalid

router = APIRouter(prefix="/api/v1", responses={401: {"model": schemas.Error},
                                                422: {"model": schemas.Error}})
MAX_SPAN = timedelta(days=400)
# The reason codes the bot files returns with (schemas.ReturnCreate), in the shop's words.
REASON_LABELS = {"no_reason": "七天无理由退货", "quality": "质量问题", "wrong_item": "发错货",
                 "damaged": "收到商品破损", "size": "尺码不合适"}
REASON_CHARS = 20  # seeded and merchant-typed reasons are short labels; cut anything longer


@router.get("/after-sales/summary", response_model=schemas.AfterSalesSummary,
            tags=["after-sales"], summary="Returns, exchanges and quality cases per SKU and reason",
            description="Counts in `[since, until)`. A return counts once for each SKU it names "
                        "(or each SKU of its order when it names none); a quality case counts "
                        "for each SKU of its order. SKUs come most-affected first.")
def after_sales_summary(session: DB, since: Annotated[AwareDatetime, Query()],
                        until: Annotated[AwareDatetime, Query()],
                        limit: Annotated[int, Query(ge=1, le=50)] = 10) -> dict:
    if until <= since:
        raise Invalid("invalid_range", "结束时间必须晚于开始时间")
    if until - since > MAX_SPAN:
        raise Invalid("range_too_long", "时间范围不能超过 400 天")
    start, end = (_naive_utc(moment) for moment in (since, until))
    per_sku: dict[str, Counter] = {}
    names: dict[str, str] = {}
    returns = _returns(session, start, end)
    for row, items in returns:
        skus = row.skus.split(",") if row.skus else [item.sku for item in items]
        _count(per_sku, skus, "returns" if row.kind == "return" else "exchanges")
    cases = _cases(session, start, end)
    for _, items in cases:
        _count(per_sku, [item.sku for item in items], "quality_cases")
    for _, items in [*returns, *cases]:
        names.update((item.sku, item.name) for item in items)
    ranked = sorted(per_sku.items(), key=lambda pair: (-sum(pair[1].values()), pair[0]))
    reasons = Counter(_reason(row) for row, _ in returns)
    return {
        "since": since, "until": until,
        "returns": sum(1 for row, _ in returns if row.kind == "return"),
        "exchanges": sum(1 for row, _ in returns if row.kind == "exchange"),
        "quality_cases": len(cases),
        "by_sku": [{"sku": sku, "name": names.get(sku, ""), "returns": counts["returns"],
                    "exchanges": counts["exchanges"], "quality_cases": counts["quality_cases"]}
                   for sku, counts in ranked[:limit]],
        "reasons": [{"reason_code": code, "reason": label, "count": count}
                    for (code, label), count in sorted(reasons.items(),
                                                       key=lambda pair: (-pair[1], pair[0][1]))],
    }


def _naive_utc(moment: datetime) -> datetime:
    """The shop stores naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _returns(session, start, end) -> list:  # type: ignore[no-untyped-def]
    rows = session.scalars(select(models.ReturnRequest).where(
        models.ReturnRequest.created_at >= start, models.ReturnRequest.created_at < end))
    return [(row, _items(session, row.order_id)) for row in rows]


def _cases(session, start, end) -> list:  # type: ignore[no-untyped-def]
    rows = session.scalars(select(models.AfterSalesCase).where(
        models.AfterSalesCase.kind == "quality",
        models.AfterSalesCase.created_at >= start, models.AfterSalesCase.created_at < end))
    return [(row, _items(session, row.order_id)) for row in rows]


def _items(session, order_id: str) -> list:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(models.OrderItem).where(models.OrderItem.order_id == order_id)))


def _count(per_sku: dict[str, Counter], skus: list[str], what: str) -> None:
    for sku in dict.fromkeys(skus):  # a SKU named twice in one return still counts once
        per_sku.setdefault(sku, Counter())[what] += 1


def _reason(row: models.ReturnRequest) -> tuple[str | None, str]:
    if row.reason_code:
        return row.reason_code, REASON_LABELS.get(row.reason_code, row.reason_code)
    return None, (row.reason or "未填写")[:REASON_CHARS]
