"""The handoff the bot sends the service: reason, group, tier and the facts an agent needs (the
order and its logistics as the shop reports them now, and the bot's action log).

Fetching the snapshot is best effort: a shop that cannot answer leaves it out, and the handoff
goes ahead (it matters most exactly when the shop is in trouble).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Optional

from rasa_sdk import Tracker

from actions import escalation
from actions.api.shop import Order, ShopClient, ShopError
from actions.customer import verified_customer, who_is
from actions.tiers import customer_tier
from bot.patterns import is_order_id

log = logging.getLogger(__name__)


async def handoff(shop: ShopClient, tracker: Tracker, reason: str, *, group: Optional[str] = None,
                  order: Optional[Order] = None, order_id: Optional[str] = None,
                  customer_id: Optional[str] = None, tier: Optional[str] = None,
                  fetch: bool = True, also: Sequence[dict[str, Any]] = (),
                  extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The ``custom`` of the handoff message. ``order``: the order at hand, if any (else
    ``order_id``'s or the one discussed is looked up); ``fetch=False`` when the shop is known to
    be down; ``tier``: when the caller knows it already; ``also``: action log entries of this
    turn."""
    shipment = None
    if fetch:
        try:
            who = await who_is(tracker, shop)
            tier = tier or await customer_tier(shop, who.customer_id)
            order = order or await _discussed_order(shop, tracker, customer_id or who.customer_id,
                                                    order_id)
            shipment = await shop.shipment(order.id) if order else None
        except (ShopError, KeyError, TypeError, ValueError) as error:
            log.warning("handoff snapshot incomplete: %s", error)
    facts = escalation.facts(tracker, order, shipment, also)
    facts.update(extra or {})
    return escalation.handoff_custom(reason, group or escalation.skill_group(tracker),
                                     tier or "regular", facts)


async def _discussed_order(shop: ShopClient, tracker: Tracker, customer_id: Optional[str],
                           order_id: Optional[str]) -> Optional[Order]:
    order_id = order_id or tracker.get_slot("order_id")
    if not isinstance(order_id, str) or not is_order_id(order_id):
        return None
    owner = customer_id or verified_customer(tracker, order_id)
    return await shop.customer_order(owner, order_id) if owner else None

