"""The customer's tier for the handoff queue, from their orders as the shop reports them
(recency, frequency, monetary value): ``vip`` customers wait least, ``potential`` ones next."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Optional

from actions.api.shop import Order, ShopClient, ShopError

log = logging.getLogger(__name__)

VIP_SPEND_FEN = 300_000          # ¥3000 in the last 180 days …
VIP_ORDERS = 4                   # … over at least this many orders
POTENTIAL_RECENT_DAYS = 30


def tier_of(membership: str, orders: list[Order], now: datetime) -> str:
    recent = [o for o in orders if now - o.created_at <= timedelta(days=180)
              and o.status not in ("cancelled", "pending_payment")]
    spend = sum(o.total_fen for o in recent)
    if membership == "vip" or (spend >= VIP_SPEND_FEN and len(recent) >= VIP_ORDERS):
        return "vip"
    if recent and now - max(o.created_at for o in recent) <= timedelta(days=POTENTIAL_RECENT_DAYS):
        return "potential" if len(recent) >= 2 else "regular"
    return "regular"


async def customer_tier(shop: ShopClient, customer_id: Optional[str]) -> str:
    """The tier, or ``regular`` when the customer is unknown or the shop cannot say."""
    if customer_id is None:
        return "regular"
    try:
        customer = await shop.customer(customer_id)
        orders = await shop.recent_orders(customer_id, 50)
        return tier_of(customer.membership, orders, datetime.now(timezone.utc))
    except (ShopError, KeyError, TypeError, ValueError) as error:
        log.warning("tier unknown: %s", error)
        return "regular"
