"""The backend contract's JSON shapes. Money in fen (integers) plus a display string in yuan."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Generic, Literal, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_serializer

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


class Shipment(_Times):
    order_id: str
    courier_code: str = Field(examples=["SF"])
    courier_name: str = Field(examples=["顺丰速运"])
    tracking_number: str = Field(examples=["SF1234567890123"])
    status: str = Field(examples=["in_transit"])
    status_label: str
    estimated_delivery_at: Optional[datetime] = Field(
        description="the courier's usual transit time after shipping; null once delivered or returned")
    events: list[TraceEvent] = Field(description="newest first")


class ReturnRequest(_Times):
    id: str
    order_id: str
    kind: str = Field(description="return or exchange")
    reason: str
    status: str
    status_label: str
    created_at: datetime
    reason_code: Optional[str] = Field(description="set on returns opened through the API")
    skus: list[str]
    exchange_variant: Optional[str]
    refund_estimate_fen: Optional[int]
    return_address: Optional[str] = Field(description="where the customer posts the parcel")
    pickup_from: Optional[datetime] = Field(description="courier pickup window, when arranged")
    pickup_to: Optional[datetime]


class Refund(_Times):
    id: str
    order_id: str
    amount_fen: int
    amount_display: str
    status: str
    status_label: str
    created_at: datetime
    completed_at: Optional[datetime]
    expected_by: Optional[datetime] = Field(description="when a pending refund should arrive")


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


# --- Writes the bot makes on a customer's behalf -------------------------------------------

Sku = Annotated[str, Field(pattern=r"^[A-Z]{2}-\d{4}$", examples=["AP-1001"])]


class ReturnCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["return", "exchange"]
    reason_code: Literal["no_reason", "quality", "wrong_item", "damaged", "size"]
    reason: str = Field(default="", max_length=100)
    skus: list[Sku] = Field(min_length=1, max_length=20, description="items of the order")
    exchange_variant: Optional[str] = Field(default=None, max_length=32,
                                            description="size to exchange to (exchanges only)")
    refund_estimate_fen: int = Field(default=0, ge=0, description="from the shop's policy engine")
    pickup: bool = Field(default=False, description="courier collects from the customer")


class AddressChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=5, max_length=200)
    receiver_name: Optional[str] = Field(default=None, min_length=1, max_length=32)
    receiver_phone: Optional[str] = Field(default=None, pattern=r"^1[3-9]\d{9}$")


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=100)


class Cancelled(BaseModel):
    order: Order
    refund: Optional[Refund]


class UrgeRecorded(_Times):
    order_id: str
    urges: int = Field(description="how many times this order has been urged")
    promised_ship_by: datetime


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["quality"]
    description: str = Field(min_length=1, max_length=500)
    photo_urls: list[HttpUrl] = Field(default_factory=list, max_length=9)


class Case(_Times):
    id: str
    order_id: str
    kind: str
    skill_group: str = Field(examples=["quality"])
    description: str
    photo_urls: list[str]
    status: str
    created_at: datetime


class Variant(BaseModel):
    variant: str = Field(examples=["XL"])
    in_stock: int


class PhoneCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    last4: str = Field(pattern=r"^\d{4}$")


class PhoneCheckPassed(BaseModel):
    order_id: str
    customer_id: str


# --- Aggregates for the supervisors' dashboard (counts only, no personal data) -------------

class SkuAfterSales(BaseModel):
    sku: str = Field(examples=["AP-1001"])
    name: str
    returns: int
    exchanges: int
    quality_cases: int


class ReturnReasonCount(BaseModel):
    reason_code: Optional[str] = Field(description="the code the bot filed it with; null for "
                                                   "returns filed elsewhere")
    reason: str = Field(examples=["尺码不合适"])
    count: int


class AfterSalesSummary(BaseModel):
    since: datetime
    until: datetime
    returns: int
    exchanges: int
    quality_cases: int
    by_sku: list[SkuAfterSales]
    reasons: list[ReturnReasonCount]
