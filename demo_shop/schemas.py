"""The backend contract's JSON shapes. Money in fen (integers) plus a display string in yuan."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Generic, Optional, TypeVar

from pydantic import BaseModel, Field, field_serializer

T = TypeVar("T")


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


class _Times(BaseModel):
    """Stored times are naive UTC; they leave as ISO 8601 with an explicit +00:00."""

    @field_serializer("*", when_used="json")
    def _utc(self, value):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime):
            return value.replace(tzinfo=timezone.utc).isoformat()
        return value


class Customer(_Times):
    id: str = Field(examples=["C0001"])
    name: str
    phone: str
    address: str
    membership: str = Field(examples=["gold"])
    membership_label: str = Field(examples=["金卡会员"])
    joined_at: datetime


class Identity(BaseModel):
    channel: str
    external_id: str
    customer_id: str


class OrderItem(BaseModel):
    sku: str
    name: str
    category: str = Field(description="apparel, shoes, electronics, home, beauty, fresh, custom, virtual")
    unit_price_fen: int
    quantity: int


class Order(_Times):
    id: str = Field(examples=["2611201234567890"], description="16 digits: yymmdd + 10 digits")
    customer_id: str
    status: str = Field(examples=["in_transit"])
    status_label: str = Field(examples=["运输中"])
    items: list[OrderItem]
    goods_fen: int
    shipping_fee_fen: int
    total_fen: int
    total_display: str = Field(examples=["¥399.00"])
    receiver_name: str
    receiver_phone: str
    address: str
    created_at: datetime
    paid_at: Optional[datetime]
    shipped_at: Optional[datetime]
    signed_at: Optional[datetime]


class TraceEvent(_Times):
    time: datetime
    location: str
    description: str


class Shipment(BaseModel):
    order_id: str
    courier_code: str = Field(examples=["SF"])
    courier_name: str = Field(examples=["顺丰速运"])
    tracking_number: str = Field(examples=["SF1234567890123"])
    status: str = Field(examples=["in_transit"])
    status_label: str
    events: list[TraceEvent] = Field(description="newest first")


class ReturnRequest(_Times):
    id: str
    order_id: str
    kind: str = Field(description="return or exchange")
    reason: str
    status: str
    status_label: str
    created_at: datetime


class Refund(_Times):
    id: str
    order_id: str
    amount_fen: int
    amount_display: str
    status: str
    status_label: str
    created_at: datetime
    completed_at: Optional[datetime]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorDetail
