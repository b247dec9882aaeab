"""Deterministic seed data: the same seed and anchor always give the same shop.

Everything is drawn from one ``random.Random(seed)``; times are offsets back from the anchor, so
with another anchor the shop is the same but for its times (and the date part of ids, which
encode the creation day as real shops' ids do).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate

from sqlalchemy.orm import Session

from demo_shop import catalog
from demo_shop.models import (
    Customer,
    Identity,
    Order,
    OrderItem,
    Refund,
    ReturnRequest,
    Shipment,
    ShipmentEvent,
    Stock,
)
from demo_shop.status import COURIERS, ORDER_STATUS_LABELS

CUSTOMERS = 60
ORDERS = 320
MIN_PER_STATUS = 10
CHINA = timezone(timedelta(hours=8))
MEMBERSHIP_WEIGHTS = {"regular": 52, "silver": 25, "gold": 15, "vip": 8}
ORDER_WEIGHT_BY_MEMBERSHIP = {"regular": 1, "silver": 2, "gold": 4, "vip": 7}
STATUS_WEIGHTS = {"pending_payment": 3, "pending_shipment": 6, "shipped": 5, "in_transit": 8,
                  "out_for_delivery": 4, "delivered": 30, "cancelled": 6, "after_sale": 4,
                  "refunding": 3, "refunded": 4}
SIGNERS = ["本人", "家门口快递柜", "驿站代收", "家人"]
SHIPPED_STATES = {"shipped", "in_transit", "out_for_delivery", "delivered", "after_sale",
                  "refunding", "refunded"}


@dataclass
class _Ids:
    """Hands out unique ids of one kind."""
    rng: random.Random
    used: set[str]

    def make(self, prefix: str, digits: int) -> str:
        while True:
            candidate = prefix + "".join(self.rng.choice("0123456789") for _ in range(digits))
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate


def seed(session: Session, seed_value: int, anchor: datetime) -> None:
    """Fill an empty database. ``anchor`` is naive UTC: "now" for the seeded shop."""
    rng = random.Random(seed_value)
    ids = _Ids(rng, set())
    customers = [_customer(rng, number, anchor) for number in range(1, CUSTOMERS + 1)]
    session.add_all(customers)
    for customer in customers:
        session.add_all(_identities(rng, customer))
    weights = [ORDER_WEIGHT_BY_MEMBERSHIP[c.membership] for c in customers]
    for status in _statuses(rng):
        customer = rng.choices(customers, weights)[0]
        session.add_all(_order_with_history(rng, ids, customer, status, anchor))
    # Stock has its own generator so adding it left the orders above unchanged.
    session.add_all(_stock(random.Random(seed_value + 1)))
    session.commit()


def _stock(rng: random.Random) -> list[Stock]:
    """Sizes of apparel and shoes on hand; about one in five variants is sold out."""
    rows = []
    for sku, _, category, _ in catalog.PRODUCTS:
        for variant in catalog.SIZES.get(category, ()):
            quantity = 0 if rng.random() < 0.2 else rng.randint(1, 30)
            rows.append(Stock(sku=sku, variant=variant, quantity=quantity))
    return rows


def _statuses(rng: random.Random) -> list[str]:
    guaranteed = [status for status in ORDER_STATUS_LABELS for _ in range(MIN_PER_STATUS)]
    rest = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()),
                       k=ORDERS - len(guaranteed))
    statuses = guaranteed + rest
    rng.shuffle(statuses)
    return statuses


def _customer(rng: random.Random, number: int, anchor: datetime) -> Customer:
    name = rng.choice(catalog.SURNAMES) + rng.choice(catalog.GIVEN_NAMES)
    phone = rng.choice(["13", "15", "17", "18", "19"]) + "".join(rng.choices("0123456789", k=9))
    membership = rng.choices(list(MEMBERSHIP_WEIGHTS), list(MEMBERSHIP_WEIGHTS.values()))[0]
    return Customer(id=f"C{number:04d}", name=name, phone=phone, address=_address(rng),
                    membership=membership,
                    joined_at=anchor - timedelta(days=rng.randint(30, 1500)))


def _address(rng: random.Random) -> str:
    province, city, districts = rng.choice(catalog.PLACES)
    prefix = city if province == city else province + city
    return (f"{prefix}{rng.choice(districts)}{rng.choice(catalog.STREETS)}{rng.randint(1, 399)}号"
            f"{rng.randint(1, 20)}栋{rng.randint(1, 4)}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}室")


def _identities(rng: random.Random, customer: Customer) -> list[Identity]:
    identities = [Identity(channel="app", external_id=customer.id, customer_id=customer.id)]
    if rng.random() < 0.85:
        openid = "o" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-_", k=27))
        identities.append(Identity(channel="wechat", external_id=openid, customer_id=customer.id))
    if rng.random() < 0.4:
        identities.append(Identity(channel="telegram", external_id=str(rng.randint(10**8, 7 * 10**9)),
                                   customer_id=customer.id))
    return identities


def _order_with_history(rng: random.Random, ids: _Ids, customer: Customer, status: str,
                        anchor: datetime) -> list:
    timeline = _timeline(rng, status, anchor)
    created = timeline["created"]
    order_id = ids.make((created.replace(tzinfo=timezone.utc).astimezone(CHINA)).strftime("%y%m%d"), 10)
    items = _items(rng, order_id)
    goods = sum(item.unit_price_fen * item.quantity for item in items)
    order = Order(id=order_id, customer_id=customer.id, status=status, receiver_name=customer.name,
                  receiver_phone=customer.phone, address=customer.address,
                  shipping_fee_fen=0 if goods >= 9900 else 800, created_at=created,
                  paid_at=timeline.get("paid"), shipped_at=timeline.get("shipped"),
                  signed_at=timeline.get("signed"))
    records: list = [order, *items]
    if status in SHIPPED_STATES:
        records += _shipment(rng, ids, order, timeline, anchor)
    records += _after_sale(rng, ids, order, goods, anchor)
    return records


def _timeline(rng: random.Random, status: str, anchor: datetime) -> dict:
    """Key moments of an order, consistent with its status; all before the anchor."""
    moments = _moments(rng, status, anchor)
    return {key: _to_second(value) if isinstance(value, datetime) else value
            for key, value in moments.items()}


def _moments(rng: random.Random, status: str, anchor: datetime) -> dict:
    def hours_ago(low: float, high: float) -> datetime:
        return _to_second(anchor - timedelta(hours=rng.uniform(low, high)))

    if status == "pending_payment":
        return {"created": hours_ago(0.2, 20)}
    if status == "cancelled":
        created = hours_ago(24, 720)
        return {"created": created, "paid": created + timedelta(minutes=3) if rng.random() < 0.5 else None}
    if status == "pending_shipment":
        created = hours_ago(1, 40)
        return {"created": created, "paid": created + timedelta(minutes=rng.randint(1, 30))}
    stage_count, last_event = _trace_shape(rng, status, anchor)
    gaps = [0.0, rng.uniform(1, 3), rng.uniform(10, 30), rng.uniform(2, 6), rng.uniform(3, 10),
            rng.uniform(1, 4)]
    offsets = list(accumulate(gaps))[:stage_count]
    shipped = last_event - timedelta(hours=offsets[-1])
    created = shipped - timedelta(hours=rng.uniform(6, 40))
    timeline = {"created": created, "paid": created + timedelta(minutes=rng.randint(1, 30)),
                "shipped": shipped,
                "stages": [_to_second(shipped + timedelta(hours=o)) for o in offsets]}
    if stage_count == 6:
        timeline["signed"] = timeline["stages"][-1]
    return timeline


def _trace_shape(rng: random.Random, status: str, anchor: datetime) -> tuple[int, datetime]:
    """How many trace stages an order in this status has reached, and when the last one was."""
    def hours_ago(low: float, high: float) -> datetime:
        return _to_second(anchor - timedelta(hours=rng.uniform(low, high)))

    if status == "shipped":
        return 2, hours_ago(0.5, 8)
    if status == "in_transit":
        if rng.random() < 0.15:  # stalled: no scan for more than 48 hours
            return 3, hours_ago(50, 90)
        return rng.choice([3, 4]), hours_ago(1, 20)
    if status == "out_for_delivery":
        return 5, hours_ago(0.2, 4)
    signed_days = {"delivered": (1, 25), "after_sale": (2, 10), "refunding": (3, 12),
                   "refunded": (5, 20)}[status]
    return 6, _to_second(anchor - timedelta(days=rng.uniform(*signed_days)))


def _to_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _items(rng: random.Random, order_id: str) -> list[OrderItem]:
    chosen = rng.sample(catalog.PRODUCTS, k=rng.choices([1, 2, 3], [60, 30, 10])[0])
    return [OrderItem(order_id=order_id, sku=sku, name=name, category=category,
                      unit_price_fen=price, quantity=rng.choices([1, 2, 3], [80, 15, 5])[0])
            for sku, name, category, price in chosen]


def _shipment(rng: random.Random, ids: _Ids, order: Order, timeline: dict,
              anchor: datetime) -> list:
    code = rng.choice(list(COURIERS))
    courier_name, prefix, digits = COURIERS[code]
    tracking = ids.make(prefix, digits)
    stages = timeline["stages"]
    returned = order.status == "in_transit" and len(stages) == 3 and rng.random() < 0.15
    descriptions = _trace_texts(rng, courier_name, order.address)
    events = [ShipmentEvent(tracking_number=tracking, time=moment, location=location,
                            description=text)
              for moment, (location, text) in zip(stages, descriptions, strict=False)]
    if returned:
        back = _to_second(stages[-1] + (anchor - stages[-1]) * rng.uniform(0.3, 0.9))
        events.append(ShipmentEvent(tracking_number=tracking, time=back, location=events[-1].location,
                                    description="收件人地址无法派送，快件已退回寄件人"))
    status = "returned" if returned else {2: "picked_up", 3: "in_transit", 4: "in_transit",
                                          5: "out_for_delivery", 6: "delivered"}[len(timeline["stages"])]
    return [Shipment(tracking_number=tracking, order_id=order.id, courier_code=code, status=status),
            *events]


def _trace_texts(rng: random.Random, courier_name: str, address: str) -> list[tuple[str, str]]:
    """(location, description) of the six stages of a parcel's journey."""
    warehouse = rng.choice(catalog.WAREHOUSES)
    depot = warehouse.removesuffix("市") + "仓"
    city = next(c for _, c, _ in catalog.PLACES if c in address)
    hub = catalog.HUBS[city]
    district = next(d for _, c, ds in catalog.PLACES if c == city for d in ds if d in address)
    return [
        (warehouse, f"【{depot}】{courier_name}已揽收，揽收员：{rng.choice(catalog.COURIER_NAMES)}"),
        (warehouse, f"快件已从【{depot}】发出，正发往【{hub}】"),
        (city, f"快件已到达【{hub}】"),
        (city, f"快件已从【{hub}】发出，正发往【{district}营业部】"),
        (city, f"【{district}营业部】快件正在派送中，派送员：{rng.choice(catalog.COURIER_NAMES)}"),
        (city, f"快件已签收，签收人：{rng.choice(SIGNERS)}。感谢使用{courier_name}"),
    ]


def _after_sale(rng: random.Random, ids: _Ids, order: Order, goods: int, anchor: datetime) -> list:
    if order.status not in ("after_sale", "refunding", "refunded"):
        return []
    requested = order.signed_at + (anchor - order.signed_at) * rng.uniform(0.1, 0.5)
    day = requested.replace(tzinfo=timezone.utc).astimezone(CHINA).strftime("%y%m%d")
    kind = "exchange" if order.status == "after_sale" and rng.random() < 0.4 else "return"
    return_status = {"after_sale": rng.choice(["requested", "approved", "received"]),
                     "refunding": "received", "refunded": "completed"}[order.status]
    records: list = [ReturnRequest(id=ids.make("RA" + day, 6), order_id=order.id, kind=kind,
                                   reason=rng.choice(catalog.RETURN_REASONS), status=return_status,
                                   created_at=requested)]
    if order.status in ("refunding", "refunded"):
        completed = (requested + (anchor - requested) * rng.uniform(0.5, 0.9)
                     if order.status == "refunded" else None)
        records.append(Refund(id=ids.make("RF" + day, 6), order_id=order.id, amount_fen=goods,
                              status="completed" if completed else "pending",
                              created_at=requested + timedelta(hours=1), completed_at=completed))
    return records
