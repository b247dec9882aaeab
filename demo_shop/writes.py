"""Write routes of the backend contract: what the bot does on a customer's behalf.

Every write is scoped to the customer (someone else's order is a 404, as for reads), carries an
``Idempotency-Key`` and is refused with 409 when the order's state does not allow it.
"""
from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from demo_shop import api, models, schemas
from demo_shop.catalog import SIZES
from demo_shop.errors import Conflict, Invalid, NotFound, TooManyRequests
from demo_shop.idempotency import IdempotencyKey, fingerprint, run_once
from demo_shop.status import NOT_SHIPPED

CHINA = timezone(timedelta(hours=8))
ORDER = "/customers/{customer_id}/orders/{order_id}"
WRITE_ERRORS = {404: {"model": schemas.Error}, 409: {"model": schemas.Error}}
OPEN_RETURN_STATES = ("requested", "approved", "received")
router = APIRouter(prefix="/api/v1", responses={401: {"model": schemas.Error},
                                                 422: {"model": schemas.Error}})


def settings_of(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.settings


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def own_order(session: Session, customer_id: str, order_id: str) -> models.Order:
    order = session.get(models.Order, order_id)
    if order is None or order.customer_id != customer_id:
        raise NotFound("order_not_found", "订单不存在")
    return order


@router.post(ORDER + "/returns", status_code=201, response_model=schemas.ReturnRequest,
             tags=["after-sales"], responses=WRITE_ERRORS, summary="Open a return or an exchange")
def create_return(customer_id: api.CustomerId, order_id: api.OrderId, body: schemas.ReturnCreate,
                  key: IdempotencyKey, session: api.DB, request: Request):  # type: ignore[no-untyped-def]
    def write() -> tuple[int, schemas.ReturnRequest]:
        order = own_order(session, customer_id, order_id)
        _check_returnable(session, order, body)
        row = models.ReturnRequest(
            id=_new_id(session, models.ReturnRequest, "RA"), order_id=order.id, kind=body.kind,
            reason=body.reason or body.reason_code, status="requested", created_at=now(),
            reason_code=body.reason_code, skus=",".join(body.skus),
            exchange_variant=body.exchange_variant, refund_estimate_fen=body.refund_estimate_fen)
        if body.pickup:
            row.pickup_from, row.pickup_to = _next_morning()
        else:
            row.return_address = settings_of(request).return_address
        if body.kind == "exchange":
            _take_from_stock(session, body.skus[0], body.exchange_variant or "")
        order.status = "after_sale"
        session.add(row)
        session.flush()
        return 201, schemas.ReturnRequest.model_validate(api._return(row))
    return run_once(session, customer_id, key, fingerprint("return " + order_id, body), write)


def _check_returnable(session: Session, order: models.Order, body: schemas.ReturnCreate) -> None:
    if order.status not in ("delivered", "after_sale"):
        raise Conflict("order_not_returnable", "订单还没有签收，不能申请退换货")
    in_order = {item.sku: item for item in order.items}
    if not set(body.skus) <= set(in_order):
        raise Invalid("sku_not_in_order", "申请的商品不在这笔订单里")
    open_skus = {sku for row in session.scalars(select(models.ReturnRequest).where(
        models.ReturnRequest.order_id == order.id,
        models.ReturnRequest.status.in_(OPEN_RETURN_STATES))) for sku in (row.skus or "").split(",")}
    if open_skus & set(body.skus):
        raise Conflict("return_in_progress", "这件商品已有进行中的售后申请")
    if body.kind == "exchange" and (len(body.skus) != 1 or not body.exchange_variant):
        raise Invalid("exchange_needs_one_item_and_size", "换货请选择一件商品和要换的尺码")
    goods = sum(in_order[sku].unit_price_fen * in_order[sku].quantity for sku in body.skus)
    if body.refund_estimate_fen > goods + order.shipping_fee_fen:
        raise Invalid("refund_too_high", "退款金额不能超过商品金额与运费之和")


def _take_from_stock(session: Session, sku: str, variant: str) -> None:
    stock = session.get(models.Stock, (sku, variant))
    if stock is None or stock.quantity <= 0:
        raise Conflict("out_of_stock", f"{variant} 码暂时缺货")
    stock.quantity -= 1


def _next_morning() -> tuple[datetime, datetime]:
    """Tomorrow 9:00–12:00 shop time, as naive UTC."""
    tomorrow = datetime.now(CHINA).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(9), CHINA).astimezone(timezone.utc).replace(tzinfo=None)
    return start, start + timedelta(hours=3)


@router.get("/products/{sku}/variants", response_model=list[schemas.Variant], tags=["products"],
            summary="Sizes of a product and the units in stock")
def product_variants(sku: Annotated[str, Path(pattern=r"^[A-Z]{2}-\d{4}$")],
                     session: api.DB) -> list[dict]:
    rows = session.scalars(select(models.Stock).where(models.Stock.sku == sku))
    sizes = [size for sizes in SIZES.values() for size in sizes]
    ordered = sorted(rows, key=lambda row: sizes.index(row.variant) if row.variant in sizes else 99)
    return [{"variant": row.variant, "in_stock": row.quantity} for row in ordered]


@router.post(ORDER + "/address", response_model=schemas.Order, tags=["orders"],
             responses=WRITE_ERRORS, summary="Change the delivery address before shipment")
def change_address(customer_id: api.CustomerId, order_id: api.OrderId, body: schemas.AddressChange,
                   key: IdempotencyKey, session: api.DB):  # type: ignore[no-untyped-def]
    def write() -> tuple[int, schemas.Order]:
        order = own_order(session, customer_id, order_id)
        if order.status not in NOT_SHIPPED:
            raise Conflict("order_already_shipped", "订单已发货或已关闭，不能修改地址")
        order.address = body.address
        order.receiver_name = body.receiver_name or order.receiver_name
        order.receiver_phone = body.receiver_phone or order.receiver_phone
        session.flush()
        return 200, schemas.Order.model_validate(api._order(order))
    return run_once(session, customer_id, key, fingerprint("address " + order_id, body), write)


@router.post(ORDER + "/cancel", response_model=schemas.Cancelled, tags=["orders"],
             responses=WRITE_ERRORS, summary="Cancel an order that has not shipped")
def cancel_order(customer_id: api.CustomerId, order_id: api.OrderId, body: schemas.Cancellation,
                 key: IdempotencyKey, session: api.DB):  # type: ignore[no-untyped-def]
    def write() -> tuple[int, schemas.Cancelled]:
        order = own_order(session, customer_id, order_id)
        if order.status not in NOT_SHIPPED:
            raise Conflict("order_not_cancellable", "订单已发货或已关闭，不能取消")
        refund = None
        if order.paid_at is not None:
            goods = sum(item.unit_price_fen * item.quantity for item in order.items)
            refund = models.Refund(id=_new_id(session, models.Refund, "RF"), order_id=order.id,
                                   amount_fen=goods + order.shipping_fee_fen, status="pending",
                                   created_at=now())
            session.add(refund)
        order.status = "cancelled"
        session.flush()
        return 200, schemas.Cancelled(order=api._order(order),
                                      refund=api._refund(refund) if refund else None)
    return run_once(session, customer_id, key, fingerprint("cancel " + order_id, body), write)


@router.post(ORDER + "/urges", status_code=201, response_model=schemas.UrgeRecorded,
             tags=["orders"], responses=WRITE_ERRORS, summary="Ask the warehouse to ship sooner")
def urge_shipment(customer_id: api.CustomerId, order_id: api.OrderId, key: IdempotencyKey,
                  session: api.DB, request: Request):  # type: ignore[no-untyped-def]
    def write() -> tuple[int, schemas.UrgeRecorded]:
        order = own_order(session, customer_id, order_id)
        if order.status != "pending_shipment" or order.paid_at is None:
            raise Conflict("order_not_awaiting_shipment", "这笔订单不在待发货状态")
        session.add(models.Urge(order_id=order.id, created_at=now()))
        session.flush()
        urges = session.scalar(select(func.count()).where(models.Urge.order_id == order.id))
        promised = order.paid_at + timedelta(hours=settings_of(request).ship_within_hours)
        return 201, schemas.UrgeRecorded(order_id=order.id, urges=urges, promised_ship_by=promised)
    return run_once(session, customer_id, key, fingerprint("urge " + order_id, {}), write)


@router.post(ORDER + "/cases", status_code=201, response_model=schemas.Case, tags=["after-sales"],
             responses=WRITE_ERRORS, summary="Open a case for the shop's staff (quality problems)")
def open_case(customer_id: api.CustomerId, order_id: api.OrderId, body: schemas.CaseCreate,
              key: IdempotencyKey, session: api.DB):  # type: ignore[no-untyped-def]
    def write() -> tuple[int, schemas.Case]:
        order = own_order(session, customer_id, order_id)
        if order.shipped_at is None:
            raise Conflict("order_not_shipped", "订单还没有发货")
        case = models.AfterSalesCase(
            id=_new_id(session, models.AfterSalesCase, "QC"), order_id=order.id, kind=body.kind,
            skill_group="quality", description=body.description,
            photo_urls="\n".join(str(url) for url in body.photo_urls), status="open",
            created_at=now())
        session.add(case)
        session.flush()
        return 201, schemas.Case.model_validate(_case(case))
    return run_once(session, customer_id, key, fingerprint("case " + order_id, body), write)


def _case(row: models.AfterSalesCase) -> dict:
    return {**api._columns(row), "photo_urls": row.photo_urls.split("\n") if row.photo_urls else []}


@router.post("/orders/{order_id}/phone-check", response_model=schemas.PhoneCheckPassed,
             tags=["customers"], responses={404: {"model": schemas.Error},
                                            429: {"model": schemas.Error}},
             summary="Prove knowledge of an order's phone (last four digits)",
             description="For channel accounts not yet bound to a customer. A wrong guess is the "
                         "same 404 as an unknown order; after too many wrong guesses for an order "
                         "within an hour every check of it gets 429.")
def phone_check(order_id: api.OrderId, body: schemas.PhoneCheck, session: api.DB,
                request: Request) -> dict:
    hour_ago = now() - timedelta(hours=1)
    failures = session.scalar(select(func.count()).where(
        models.PhoneCheck.order_id == order_id, models.PhoneCheck.succeeded.is_(False),
        models.PhoneCheck.created_at > hour_ago))
    if failures >= settings_of(request).phone_check_failures_per_hour:
        raise TooManyRequests("too_many_attempts", "尝试次数过多，请一小时后再试")
    order = session.get(models.Order, order_id)
    passed = order is not None and order.receiver_phone[-4:] == body.last4
    session.add(models.PhoneCheck(order_id=order_id, succeeded=passed, created_at=now()))
    session.commit()
    if not passed:
        raise NotFound("order_not_found", "订单不存在")
    return {"order_id": order.id, "customer_id": order.customer_id}


def _new_id(session: Session, model: type, prefix: str) -> str:
    """Prefix + shop-time date + 6 random digits, like the seeded records."""
    day = datetime.now(CHINA).strftime("%y%m%d")
    while True:
        candidate = f"{prefix}{day}{secrets.randbelow(10**6):06d}"
        if session.get(model, candidate) is None:
            return candidate

