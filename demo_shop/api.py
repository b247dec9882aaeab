"""Read routes of the backend contract (``/api/v1``); writes are in ``demo_shop.writes``."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from demo_shop import models, schemas
from demo_shop.errors import NotFound
from demo_shop.status import (
    COURIERS,
    MEMBERSHIP_LABELS,
    ORDER_STATUS_LABELS,
    REFUND_DAYS,
    REFUND_STATUS_LABELS,
    RETURN_STATUS_LABELS,
    SHIPMENT_STATUS_LABELS,
    TRANSIT_DAYS,
)

router = APIRouter(prefix="/api/v1", responses={401: {"model": schemas.Error},
                                                 422: {"model": schemas.Error}})

OrderId = Annotated[str, Path(pattern=r"^\d{16}$", description="16 digits", examples=["2611201234567890"])]
CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["C0001"])]
RecordId = Annotated[str, Path(pattern=r"^[A-Z0-9]{4,32}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=100_000)]
OrderStatus = Literal[tuple(ORDER_STATUS_LABELS)]  # type: ignore[valid-type]
NOT_FOUND = {404: {"model": schemas.Error}}


def db(request: Request):  # type: ignore[no-untyped-def]
    with Session(request.app.state.engine) as session:
        yield session


DB = Annotated[Session, Depends(db)]


@router.get("/customers", response_model=schemas.Page[schemas.Customer], tags=["customers"],
            summary="List customers")
def list_customers(session: DB, limit: Limit = 20, offset: Offset = 0) -> dict:
    query = select(models.Customer).order_by(models.Customer.id)
    return _page(session, query, limit, offset, _customer)


@router.get("/customers/{customer_id}", response_model=schemas.Customer, tags=["customers"],
            responses=NOT_FOUND, summary="One customer")
def get_customer(customer_id: CustomerId, session: DB) -> dict:
    return _customer(_get(session, models.Customer, customer_id, "customer_not_found", "客户不存在"))


@router.get("/identities/{channel}/{external_id}", response_model=schemas.Identity,
            tags=["customers"], responses=NOT_FOUND,
            summary="The customer behind a channel account (WeChat openid, Telegram id, app user)")
def get_identity(channel: Literal["wechat", "telegram", "app"],
                 external_id: Annotated[str, Path(max_length=128)], session: DB) -> models.Identity:
    identity = session.scalar(select(models.Identity).where(
        models.Identity.channel == channel, models.Identity.external_id == external_id))
    if identity is None:
        raise NotFound("identity_not_found", "没有找到该渠道账号对应的客户")
    return identity


@router.get("/customers/{customer_id}/orders", response_model=schemas.Page[schemas.Order],
            tags=["orders"], responses=NOT_FOUND, summary="A customer's orders, newest first")
def customer_orders(customer_id: CustomerId, session: DB, limit: Limit = 20, offset: Offset = 0,
                    status: Optional[OrderStatus] = None) -> dict:
    _get(session, models.Customer, customer_id, "customer_not_found", "客户不存在")
    query = _orders_query(status).where(models.Order.customer_id == customer_id)
    return _page(session, query, limit, offset, _order)


@router.get("/customers/{customer_id}/orders/{order_id}", response_model=schemas.Order,
            tags=["orders"], responses=NOT_FOUND,
            summary="One order, only if it belongs to this customer",
            description="Someone else's order and a missing one get the same 404, so the "
                        "answer never reveals that an order number exists.")
def customer_order(customer_id: CustomerId, order_id: OrderId, session: DB) -> dict:
    order = session.get(models.Order, order_id)
    if order is None or order.customer_id != customer_id:
        raise NotFound("order_not_found", "订单不存在")
    return _order(order)


@router.get("/orders", response_model=schemas.Page[schemas.Order], tags=["orders"],
            summary="All orders (merchant side), newest first")
def list_orders(session: DB, limit: Limit = 20, offset: Offset = 0,
                status: Optional[OrderStatus] = None) -> dict:
    return _page(session, _orders_query(status), limit, offset, _order)


@router.get("/orders/{order_id}", response_model=schemas.Order, tags=["orders"],
            responses=NOT_FOUND, summary="One order (merchant side, not scoped to a customer)")
def get_order(order_id: OrderId, session: DB) -> dict:
    return _order(_get(session, models.Order, order_id, "order_not_found", "订单不存在"))


@router.get("/orders/{order_id}/shipment", response_model=schemas.Shipment, tags=["logistics"],
            responses=NOT_FOUND, summary="The order's shipment with its courier trace")
def order_shipment(order_id: OrderId, session: DB) -> dict:
    order = _get(session, models.Order, order_id, "order_not_found", "订单不存在")
    if order.shipment is None:
        raise NotFound("shipment_not_found", "该订单还没有发货")
    return _shipment(order.shipment)


@router.get("/shipments/{tracking_number}", response_model=schemas.Shipment, tags=["logistics"],
            responses=NOT_FOUND, summary="A shipment by courier tracking number")
def get_shipment(tracking_number: RecordId, session: DB) -> dict:
    return _shipment(_get(session, models.Shipment, tracking_number, "shipment_not_found",
                          "没有找到该运单"))


@router.get("/orders/{order_id}/returns", response_model=list[schemas.ReturnRequest],
            tags=["after-sales"], responses=NOT_FOUND, summary="Returns and exchanges of an order")
def order_returns(order_id: OrderId, session: DB) -> list[dict]:
    return _of_order(session, models.ReturnRequest, order_id, _return)


@router.get("/returns/{return_id}", response_model=schemas.ReturnRequest, tags=["after-sales"],
            responses=NOT_FOUND, summary="One return or exchange")
def get_return(return_id: RecordId, session: DB) -> dict:
    return _return(_get(session, models.ReturnRequest, return_id, "return_not_found", "售后单不存在"))


@router.get("/orders/{order_id}/refunds", response_model=list[schemas.Refund],
            tags=["after-sales"], responses=NOT_FOUND, summary="Refunds of an order")
def order_refunds(order_id: OrderId, session: DB) -> list[dict]:
    return _of_order(session, models.Refund, order_id, _refund)


@router.get("/refunds/{refund_id}", response_model=schemas.Refund, tags=["after-sales"],
            responses=NOT_FOUND, summary="One refund")
def get_refund(refund_id: RecordId, session: DB) -> dict:
    return _refund(_get(session, models.Refund, refund_id, "refund_not_found", "退款单不存在"))


def _get(session: Session, model: type, key: str, code: str, message: str):  # type: ignore[no-untyped-def]
    row = session.get(model, key)
    if row is None:
        raise NotFound(code, message)
    return row


def _of_order(session: Session, model, order_id: str, convert) -> list[dict]:  # type: ignore[no-untyped-def]
    """An order's returns or refunds, oldest first (404 when the order does not exist)."""
    _get(session, models.Order, order_id, "order_not_found", "订单不存在")
    rows = session.scalars(select(model).where(model.order_id == order_id).order_by(model.created_at))
    return [convert(row) for row in rows]


def _orders_query(status: Optional[str]):  # type: ignore[no-untyped-def]
    query = select(models.Order).order_by(models.Order.created_at.desc(), models.Order.id)
    return query.where(models.Order.status == status) if status else query


def _page(session: Session, query, limit: int, offset: int, convert) -> dict:  # type: ignore[no-untyped-def]
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(limit).offset(offset))
    return {"items": [convert(row) for row in rows], "total": total, "limit": limit,
            "offset": offset}


def _customer(row: models.Customer) -> dict:
    return {**_columns(row), "membership_label": MEMBERSHIP_LABELS[row.membership]}


def _order(row: models.Order) -> dict:
    goods = sum(item.unit_price_fen * item.quantity for item in row.items)
    total = goods + row.shipping_fee_fen
    return {**_columns(row), "status_label": ORDER_STATUS_LABELS[row.status],
            "items": [_columns(item) for item in row.items], "goods_fen": goods,
            "total_fen": total, "total_display": schemas.yuan(total)}


def _shipment(row: models.Shipment) -> dict:
    shipped_at = row.order.shipped_at
    arriving = row.status not in ("delivered", "returned") and shipped_at is not None
    return {**_columns(row), "courier_name": COURIERS[row.courier_code][0],
            "status_label": SHIPMENT_STATUS_LABELS[row.status],
            "estimated_delivery_at": shipped_at + timedelta(days=TRANSIT_DAYS[row.courier_code])
            if arriving else None,
            "events": [_columns(event) for event in row.events]}


def _return(row: models.ReturnRequest) -> dict:
    return {**_columns(row), "status_label": RETURN_STATUS_LABELS[row.status],
            "skus": row.skus.split(",") if row.skus else []}


def _refund(row: models.Refund) -> dict:
    return {**_columns(row), "amount_display": schemas.yuan(row.amount_fen),
            "status_label": REFUND_STATUS_LABELS[row.status],
            "expected_by": row.created_at + timedelta(days=REFUND_DAYS)
            if row.status == "pending" else None}


def _columns(row: models.Base) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}
