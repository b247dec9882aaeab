"""The shop's after-sales counts per SKU and return reason (``GET /after-sales/summary`` of the
order-system contract, docs/shop-api.openapi.json). The shop does not know our channels, so
these figures ignore the channel filter; the page says so."""
from __future__ import annotations

import logging
from typing import Any

import httpx

from analytics.labels import free_text
from analytics.period import Filter

log = logging.getLogger(__name__)
TOP_SKUS = 10


async def after_sales(http: httpx.AsyncClient, base_url: str, api_key: str,
                      where: Filter) -> dict[str, Any]:
    params = {"since": where.since.isoformat(), "until": where.until.isoformat(),
              "limit": TOP_SKUS}
    headers = {"X-Api-Key": api_key} if api_key else {}
    try:
        answer = await http.get(f"{base_url.rstrip('/')}/after-sales/summary", params=params,
                                headers=headers)
        answer.raise_for_status()
        body = answer.json()
        return {"available": True, "returns": int(body["returns"]),
                "exchanges": int(body["exchanges"]), "quality_cases": int(body["quality_cases"]),
                "skus": [_sku(item) for item in body["by_sku"]],
                "reasons": [{"reason": free_text(item["reason"]), "count": int(item["count"])}
                            for item in body["reasons"]]}
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        log.warning("shop after-sales summary: %s", error)
        return {"available": False, "message": "店铺系统暂时无法访问，商品与退货数据稍后再看",
                "skus": [], "reasons": []}


def _sku(item: dict[str, Any]) -> dict[str, Any]:
    return {"sku": free_text(item["sku"]), "name": free_text(item["name"]),
            "returns": int(item["returns"]), "exchanges": int(item["exchanges"]),
            "quality_cases": int(item["quality_cases"])}
