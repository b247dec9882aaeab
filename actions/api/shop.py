"""Typed async client of the merchant's order system (the backend contract in docs/).

Every call has a timeout. Reads are retried a bounded number of times on connection errors, 5xx
answers and malformed bodies; writes carry an ``Idempotency-Key`` and are retried the same way,
which is safe because the shop answers a repeated key with the first answer. Callers get typed
records or an error: ``NotFound`` (the thing does not exist *for this customer*), ``Refused``
(the order's state does not allow it; the shop's Chinese message says why), ``TooManyAttempts``
and ``ShopUnavailable``.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional
from urllib.parse import quote

import aiohttp

from actions.action_log import note_call
from actions.settings import Settings


class ShopError(Exception):
    outcome = "failed"  # how the call ended, in the conversation's action log


class NotFound(ShopError):
    outcome = "not_found"


class ShopUnavailable(ShopError):
    outcome = "unavailable"


class Refused(ShopError):
    """409: the order's state does not allow this write."""

    outcome = "refused"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class TooManyAttempts(ShopError):
    outcome = "too_many_attempts"


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
    paid_at: Optional[datetime] = None
    shipped_at: Optional[datetime] = None
    receiver_name: str = ""
    receiver_phone: str = ""
    address: str = ""
    total_fen: int = 0

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
    estimated_delivery_at: Optional[datetime] = None
    courier_code: str = ""

    @property
    def latest(self) -> Optional[TraceEvent]:
        return self.events[0] if self.events else None


@dataclass(frozen=True)
class Customer:
    id: str
    membership: str


@dataclass(frozen=True)
class AfterSale:
    """A return or an exchange."""
    id: str
    kind: str
    status: str
    status_label: str
    created_at: datetime
    skus: tuple[str, ...] = ()
    exchange_variant: Optional[str] = None
    refund_estimate_fen: Optional[int] = None
    return_address: Optional[str] = None
    pickup_from: Optional[datetime] = None
    pickup_to: Optional[datetime] = None


@dataclass(frozen=True)
class Refund:
    id: str
    amount_display: str
    status: str
    status_label: str
    created_at: datetime
    completed_at: Optional[datetime]
    expected_by: Optional[datetime]


@dataclass(frozen=True)
class Urge:
    urges: int
    promised_ship_by: datetime


@dataclass(frozen=True)
class Case:
    id: str
    skill_group: str


@dataclass(frozen=True)
class Variant:
    variant: str
    in_stock: int


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

    async def customer_by_identity(self, channel: str, external_id: str) -> Optional[str]:
        """The customer bound to a WeChat / Telegram account, or None when it is not bound."""
        try:
            data = await self._get(f"/identities/{channel}/{quote(external_id, safe='')}")
        except NotFound:
            return None
        return data["customer_id"]

    async def phone_check(self, order_id: str, last4: str) -> str:
        """The order's customer when ``last4`` are its phone's last digits, else ``NotFound``."""
        data = await self._send("POST", f"/orders/{order_id}/phone-check", {"last4": last4})
        return data["customer_id"]

    async def after_sales(self, order_id: str) -> list[AfterSale]:
        return [_after_sale(item) for item in await self._get(f"/orders/{order_id}/returns")]

    async def refunds(self, order_id: str) -> list[Refund]:
        return [_refund(item) for item in await self._get(f"/orders/{order_id}/refunds")]

    async def variants(self, sku: str) -> list[Variant]:
        data = await self._get(f"/products/{quote(sku, safe='')}/variants")
        return [Variant(variant=item["variant"], in_stock=item["in_stock"]) for item in data]

    async def create_after_sale(self, customer_id: str, order_id: str, request: dict[str, Any],
                                key: str) -> AfterSale:
        """Open a return or exchange (``request`` as in the contract's ReturnCreate)."""
        return _after_sale(await self._send(
            "POST", f"/customers/{customer_id}/orders/{order_id}/returns", request, key))

    async def change_address(self, customer_id: str, order_id: str, address: str,
                             key: str) -> Order:
        return _order(await self._send(
            "POST", f"/customers/{customer_id}/orders/{order_id}/address", {"address": address}, key))

    async def cancel(self, customer_id: str, order_id: str, key: str) -> Optional[Refund]:
        """Cancel; the refund of what was paid, if anything was."""
        data = await self._send("POST", f"/customers/{customer_id}/orders/{order_id}/cancel",
                                {"reason": "顾客通过客服取消"}, key)
        if _order(data["order"]).status != "cancelled":
            raise ShopError(f"cancel of {order_id} answered without cancelling")
        return _refund(data["refund"]) if data.get("refund") else None

    async def urge(self, customer_id: str, order_id: str, key: str) -> Urge:
        data = await self._send("POST", f"/customers/{customer_id}/orders/{order_id}/urges", None, key)
        return Urge(urges=data["urges"], promised_ship_by=_time(data["promised_ship_by"]))

    async def open_quality_case(self, customer_id: str, order_id: str, description: str,
                                key: str) -> Case:
        data = await self._send("POST", f"/customers/{customer_id}/orders/{order_id}/cases",
                                {"kind": "quality", "description": description[:500]}, key)
        return Case(id=data["id"], skill_group=data["skill_group"])

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    async def _get(self, path: str, params: Optional[dict[str, str]] = None) -> Any:
        return await self._call("GET", path, params=params)

    async def _send(self, method: str, path: str, body: Any, key: Optional[str] = None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        return await self._call(method, path, json=body, headers=headers)

    async def _call(self, method: str, path: str, **request: Any) -> Any:
        """One call as the action log notes it (``actions.action_log``), retries included."""
        started = time.monotonic()
        try:
            result = await self._retrying(method, path, **request)
        except ShopError as error:
            note_call(method, path, error.outcome, started)
            raise
        note_call(method, path, "ok", started)
        return result

    async def _retrying(self, method: str, path: str, **request: Any) -> Any:
        """Reads and keyed writes are safe to repeat; a phone check is not retried."""
        attempts = 1 + self._settings.shop_read_retries
        if method != "GET" and not request.get("headers"):
            attempts = 1
        for attempt in range(attempts):
            try:
                return await self._once(method, path, **request)
            except ShopUnavailable:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _once(self, method: str, path: str, **request: Any) -> Any:
        session = self._session_for_loop()
        try:
            async with session.request(method, self._settings.shop_api_url + path,
                                       **request) as response:
                if response.status == 404:
                    raise NotFound(path)
                if response.status == 409:
                    error = (await _json(response, path)).get("error") or {}
                    raise Refused(str(error.get("code", "refused")), str(error.get("message", "")))
                if response.status == 429:
                    raise TooManyAttempts(path)
                if response.status >= 500:
                    raise ShopUnavailable(f"{response.status} from {path}")
                if response.status not in (200, 201):
                    raise ShopError(f"{response.status} from {path}")
                return await _json(response, path)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise ShopUnavailable(f"{type(error).__name__} on {path}") from error

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"X-Api-Key": self._settings.shop_api_key} if self._settings.shop_api_key else {}
            timeout = aiohttp.ClientTimeout(total=self._settings.shop_timeout_seconds)
            self._session = aiohttp.ClientSession(headers=headers, timeout=timeout)
        return self._session


async def _json(response: aiohttp.ClientResponse, path: str) -> Any:
    """The body as JSON; a body that is not JSON means the shop is broken, not the request."""
    try:
        return await response.json(content_type=None)
    except ValueError as error:
        raise ShopUnavailable(f"malformed JSON from {path}") from error


def _optional_time(value: Optional[str]) -> Optional[datetime]:
    return _time(value) if value else None


def _after_sale(data: dict[str, Any]) -> AfterSale:
    return AfterSale(
        id=data["id"], kind=data["kind"], status=data["status"], status_label=data["status_label"],
        created_at=_time(data["created_at"]), skus=tuple(data.get("skus") or ()),
        exchange_variant=data.get("exchange_variant"),
        refund_estimate_fen=data.get("refund_estimate_fen"),
        return_address=data.get("return_address"),
        pickup_from=_optional_time(data.get("pickup_from")),
        pickup_to=_optional_time(data.get("pickup_to")))


def _refund(data: dict[str, Any]) -> Refund:
    return Refund(id=data["id"], amount_display=data["amount_display"], status=data["status"],
                  status_label=data["status_label"], created_at=_time(data["created_at"]),
                  completed_at=_optional_time(data.get("completed_at")),
                  expected_by=_optional_time(data.get("expected_by")))


def _order(data: dict[str, Any]) -> Order:
    return Order(
        id=data["id"], status=data["status"], status_label=data["status_label"],
        items=tuple(OrderItem(sku=item["sku"], name=item["name"], category=item["category"],
                              unit_price_fen=item["unit_price_fen"], quantity=item["quantity"])
                    for item in data.get("items", [])),
        total_display=data["total_display"],
        shipping_fee_fen=data.get("shipping_fee_fen", 0),
        created_at=_time(data["created_at"]),
        signed_at=_optional_time(data.get("signed_at")),
        paid_at=_optional_time(data.get("paid_at")),
        shipped_at=_optional_time(data.get("shipped_at")),
        receiver_name=data.get("receiver_name") or "",
        receiver_phone=data.get("receiver_phone") or "",
        address=data.get("address") or "",
        total_fen=data.get("total_fen") or 0,
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
        estimated_delivery_at=_optional_time(data.get("estimated_delivery_at")),
        courier_code=data.get("courier_code") or "",
    )
