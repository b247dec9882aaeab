"""The dashboard's routes, for supervisors only: the page's figures as JSON, and as CSV.

Both take ``from``/``to`` (shop days, YYYY-MM-DD; default the last 7) and ``channel``
(app, wechat, telegram or all). No session: 401; agents and editors: 403.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from analytics import export, intents, metrics, products, records
from analytics.period import Filter, parse_filter
from analytics.targets import resolution_targets
from handoff.agents import Agent
from handoff.console_api import current_agent
from service.errors import ApiError

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"],
                   responses={401: {}, 403: {}, 422: {}})
# Long enough for any real value, short enough that nobody ships a megabyte of query string.
MAX_PARAM = 32


async def supervisor(agent: Annotated[Agent, Depends(current_agent)]) -> Agent:
    if agent.role != "supervisor":
        raise ApiError(403, "forbidden", "只有主管可以查看数据看板")
    return agent


def period(first: Annotated[Optional[str], Query(alias="from", max_length=MAX_PARAM)] = None,
           last: Annotated[Optional[str], Query(alias="to", max_length=MAX_PARAM)] = None,
           channel: Annotated[Optional[str], Query(max_length=MAX_PARAM)] = None) -> Filter:
    return parse_filter(first, last, channel)


Supervisor = Annotated[Agent, Depends(supervisor)]
Period = Annotated[Filter, Depends(period)]


async def board(request: Request, where: Filter) -> dict[str, Any]:
    state = request.app.state
    engine = state.transcripts.engine
    found = await to_thread.run_sync(records.load, engine, where)
    asked = await to_thread.run_sync(intents.load, engine, where)
    result = metrics.build(found, asked, where, state.desk.hours,
                           resolution_targets(state.settings.dashboard_resolution_minutes),
                           datetime.now(timezone.utc))
    result["products"] = await products.after_sales(
        state.http, state.settings.shop_api_url, state.settings.shop_api_key, where)
    return result


@router.get("/summary", summary="Every figure of the dashboard for a date range and channel")
async def summary(request: Request, _: Supervisor, where: Period) -> dict[str, Any]:
    return await board(request, where)


@router.get("/export.csv", summary="The same figures as CSV, one per row",
            response_class=Response)
async def export_csv(request: Request, _: Supervisor, where: Period) -> Response:
    body = export.to_csv(await board(request, where))
    name = f"xiaoshou-dashboard-{where.first}_{where.last}-{where.channel or 'all'}.csv"
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
