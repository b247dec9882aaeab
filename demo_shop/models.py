"""The demo shop's tables (SQLAlchemy 2). Times are stored as naive UTC; money in fen."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(200))
    membership: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    identities: Mapped[list[Identity]] = relationship(back_populates="customer")


class Identity(Base):
    """A customer's account on a channel (WeChat openid, Telegram user id, app user id)."""
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    customer: Mapped[Customer] = relationship(back_populates="identities")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    receiver_name: Mapped[str] = mapped_column(String(32))
    receiver_phone: Mapped[str] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(200))
    shipping_fee_fen: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    paid_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    shipped_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    signed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    items: Mapped[list[OrderItem]] = relationship(order_by="OrderItem.id")
    shipment: Mapped[Optional[Shipment]] = relationship(back_populates="order")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)


class Shipment(Base):
    __tablename__ = "shipments"

    tracking_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    courier_code: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    order: Mapped[Order] = relationship(back_populates="shipment")
    events: Mapped[list[ShipmentEvent]] = relationship(
        order_by="desc(ShipmentEvent.time), desc(ShipmentEvent.id)")


class ShipmentEvent(Base):
    __tablename__ = "shipment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_number: Mapped[str] = mapped_column(ForeignKey("shipments.tracking_number"), index=True)
    time: Mapped[datetime] = mapped_column(DateTime)
    location: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(200))


class ReturnRequest(Base):
    """A return or an exchange the customer asked for."""
    __tablename__ = "returns"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # return | exchange
    reason: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Set on returns the bot creates; seeded history leaves them empty.
    reason_code: Mapped[Optional[str]] = mapped_column(String(16))
    skus: Mapped[Optional[str]] = mapped_column(String(400))  # comma-separated
    exchange_variant: Mapped[Optional[str]] = mapped_column(String(32))
    refund_estimate_fen: Mapped[Optional[int]] = mapped_column(Integer)
    return_address: Mapped[Optional[str]] = mapped_column(String(200))
    pickup_from: Mapped[Optional[datetime]] = mapped_column(DateTime)
    pickup_to: Mapped[Optional[datetime]] = mapped_column(DateTime)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class Stock(Base):
    """Units on hand per product variant (size / colour), for exchanges."""
    __tablename__ = "stock"

    sku: Mapped[str] = mapped_column(String(32), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class Urge(Base):
    """A customer asked the shop to ship a paid order sooner."""
    __tablename__ = "urges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AfterSalesCase(Base):
    """A case for the shop's staff, e.g. a quality problem waiting for photos and a decision."""
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    skill_group: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    photo_urls: Mapped[str] = mapped_column(String(2000), default="")  # newline-separated
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class IdempotentResponse(Base):
    """The first answer to a write, replayed when the same key comes again (client retries)."""
    __tablename__ = "idempotency"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # customer + client key
    fingerprint: Mapped[str] = mapped_column(String(64))  # what was asked, to refuse reuse
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PhoneCheck(Base):
    """One attempt to prove knowledge of an order's phone; failures are rate-limited."""
    __tablename__ = "phone_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(16), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)
