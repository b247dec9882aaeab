"""Who the customer of this conversation is, and which orders they may see.

The service puts identity in every message's metadata, never the customer: the app's signed
``customer_id``, or a channel account (``channel`` + ``external_id``: a WeChat openid, a Telegram
user id) that the shop may have bound to a customer. An unbound account proves, order by order,
that it knows the order's phone (last four digits); those orders are remembered in the
``verified_orders`` slot (order id -> customer id), which only actions set.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from rasa_sdk import Tracker

from actions.api.shop import ShopClient

_CUSTOMER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_@.:-]{1,128}$")
BINDABLE_CHANNELS = ("wechat", "telegram")


@dataclass(frozen=True)
class Who:
    customer_id: Optional[str]      # bound or logged in
    has_account: bool               # a channel account that could verify orders

    @property
    def anonymous(self) -> bool:
        return self.customer_id is None and not self.has_account


def _metadata(tracker: Tracker) -> dict:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def customer_id_of(tracker: Tracker) -> Optional[str]:
    """The logged-in customer the service vouches for (app), else None."""
    customer_id = _metadata(tracker).get("customer_id")
    if isinstance(customer_id, str) and _CUSTOMER_ID_RE.match(customer_id):
        return customer_id
    return None


def channel_account_of(tracker: Tracker) -> Optional[tuple[str, str]]:
    metadata = _metadata(tracker)
    channel, external_id = metadata.get("channel"), metadata.get("external_id")
    if channel in BINDABLE_CHANNELS and isinstance(external_id, str) \
            and _EXTERNAL_ID_RE.match(external_id):
        return channel, external_id
    return None


async def who_is(tracker: Tracker, shop: ShopClient) -> Who:
    customer_id = customer_id_of(tracker)
    if customer_id:
        return Who(customer_id, True)
    account = channel_account_of(tracker)
    if account is None:
        return Who(None, False)
    return Who(await shop.customer_by_identity(*account), True)


def verified_customer(tracker: Tracker, order_id: str) -> Optional[str]:
    verified = tracker.get_slot("verified_orders") or {}
    customer_id = verified.get(order_id) if isinstance(verified, dict) else None
    return customer_id if isinstance(customer_id, str) else None
