"""Development only: let the web chat act as one of the demo shop's customers.

A real shop's app signs the customer token itself (channels.app_auth); here the page picks a demo
customer and gets a token for it, with that customer's recent orders as hints of what to ask.
"""
from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from bot.masking import mask_name
from channels import app_auth
from service.errors import ApiError

router = APIRouter(prefix="/api/app/demo", tags=["app channel (development)"])


class DemoCustomer(BaseModel):
    id: str
    display_name: str
    tier_label: str


class DemoSessionIn(BaseModel):
    customer_id: str = Field(pattern=app_auth.CUSTOMER_ID_RE.pattern)


class DemoOrder(BaseModel):
    id: str
    status_label: str
    summary: str


class DemoSessionOut(BaseModel):
    token: str
    orders: list[DemoOrder]


@router.get("/customers", response_model=list[DemoCustomer], summary="Demo customers to chat as")
async def demo_customers(request: Request) -> list[dict[str, Any]]:
    data = await _shop_get(request, "/customers", {"limit": 20})
    return [{"id": customer["id"], "display_name": mask_name(customer["name"]),
             "tier_label": customer["membership_label"]} for customer in data["items"]]


@router.post("/session", response_model=DemoSessionOut, summary="A token for a demo customer")
async def demo_session(body: DemoSessionIn, request: Request) -> dict[str, Any]:
    data = await _shop_get(request, f"/customers/{body.customer_id}/orders", {"limit": 6})
    settings = request.app.state.settings
    orders = [{"id": order["id"], "status_label": order["status_label"],
               "summary": "、".join(item["name"] for item in order.get("items", []))}
              for order in data["items"]]
    return {"token": app_auth.sign(body.customer_id, settings.app_token_secret,
                                   settings.app_token_ttl_seconds),
            "orders": orders}


async def _shop_get(request: Request, path: str, params: dict[str, Any]) -> Any:
    settings = request.app.state.settings
    headers = {"X-Api-Key": settings.shop_api_key} if settings.shop_api_key else {}
    try:
        response = await request.app.state.http.get(settings.shop_api_url + path, params=params,
                                                    headers=headers)
    except httpx.HTTPError:
        raise ApiError(503, "shop_unavailable", "演示商城暂时无法访问") from None
    if response.status_code == 404:
        raise ApiError(404, "customer_not_found", "没有这个演示客户")
    if response.status_code != 200:
        raise ApiError(503, "shop_unavailable", "演示商城暂时无法访问")
    return response.json()
