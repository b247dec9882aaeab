"""Typed async client of the merchant's order system (the backend contract in docs/).

Reads are idempotent, so they are retried a bounded number of times on connection errors and
5xx answers; every call has a timeout. Callers get typed records or one of two errors:
``NotFound`` (the thing does not exist *for this customer*) and ``ShopUnavailable``.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

import aiohttp

from actions.settings import Settings


class ShopError(Exception):
    pass


class NotFound(ShopError):
    pass


class ShopUnavailable(ShopError):
    pass


@dataclass(frozen=True)
class OrderItem:
    sku: str
    name: str
    category: str
    unit_price_fen: int
    quantity: int


@dataclass(frozen=True)
class Order:
    id: str
    status: str
    status_label: str
    items: tuple[OrderItem, ...]
    total_display: str
    shipping_fee_fen: int
    created_at: datetime
    signed_at: Optional[datetime]

    @property
    def summary(self) -> str:
        """"羽绒服 等 2 件" style short description for replies and buttons."""
        if not self.items:
            return "订单"
        count = sum(item.quantity for item in self.items)
        first = self.items[0].name
        return f"{first} 等 {count} 件" if count > 1 else first


@dataclass(frozen=True)
class TraceEvent:
    time: datetime
    location: str
    description: str


@dataclass(frozen=True)
class Shipment:
    courier_name: str
    tracking_number: str
    status: str
    events: tuple[TraceEvent, ...]  # newest first

    @property
    def latest(self) -> Optional[TraceEvent]:
        return self.events[0] if self.events else None


@dataclass(frozen=True)
class Customer:
    id: str
    membership: str


class ShopClient:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session: Optional[aiohttp.ClientSession] = None

    async def customer_order(self, customer_id: str, order_id: str) -> Order:
        return _order(await self._get(f"/customers/{customer_id}/orders/{order_id}"))

    async def recent_orders(self, customer_id: str, limit: int = 5,
                            status: Optional[str] = None) -> list[Order]:
        params = {"limit": str(limit), **({"status": status} if status else {})}
        data = await self._get(f"/customers/{customer_id}/orders", params)
        return [_order(item) for item in data["items"]]

    async def customer(self, customer_id: str) -> Customer:
        data = await self._get(f"/customers/{customer_id}")
        return Customer(id=data["id"], membership=data["membership"])

    async def shipment(self, order_id: str) -> Optional[Shipment]:
        """The order's shipment, or None when it has not shipped."""
        try:
            return _shipment(await self._get(f"/orders/{order_id}/shipment"))
        except NotFound:
            return None

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    async def _get(self, path: str, params: Optional[dict[str, str]] = None) -> Any:
        attempts = 1 + self._settings.shop_read_retries
        for attempt in range(attempts):
            try:
                return await self._get_once(path, params)
            except ShopUnavailable:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _get_once(self, path: str, params: Optional[dict[str, str]]) -> Any:
        session = self._session_for_loop()
        try:
            async with session.get(self._settings.shop_api_url + path, params=params) as response:
                if response.status == 404:
                    raise NotFound(path)
                if response.status >= 500:
                    raise ShopUnavailable(f"{response.status} from {path}")
                if response.status != 200:
                    raise ShopError(f"{response.status} from {path}")
                return await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise ShopUnavailable(f"{type(error).__name__} on {path}") from error

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"X-Api-Key": self._settings.shop_api_key} if self._settings.shop_api_key else {}
            timeout = aiohttp.ClientTimeout(total=self._settings.shop_timeout_seconds)
            self._session = aiohttp.ClientSession(headers=headers, timeout=timeout)
        return self._session


def _order(data: dict[str, Any]) -> Order:
    return Order(
        id=data["id"], status=data["status"], status_label=data["status_label"],
        items=tuple(OrderItem(sku=item["sku"], name=item["name"], category=item["category"],
                              unit_price_fen=item["unit_price_fen"], quantity=item["quantity"])
                    for item in data.get("items", [])),
        total_display=data["total_display"],
        shipping_fee_fen=data.get("shipping_fee_fen", 0),
        created_at=_time(data["created_at"]),
        signed_at=_time(data["signed_at"]) if data.get("signed_at") else None,
    )


def _time(value: str) -> datetime:
    """ISO 8601 from the API; Python 3.10 does not read a trailing "Z"."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _shipment(data: dict[str, Any]) -> Shipment:
    return Shipment(
        courier_name=data["courier_name"], tracking_number=data["tracking_number"],
        status=data["status"],
        events=tuple(TraceEvent(time=_time(event["time"]),
                                location=event.get("location") or "",
                                description=event["description"])
                     for event in data.get("events", [])),
    )
