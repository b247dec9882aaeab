"""The shop's return and refund policy as code: decisions, deadlines and amounts, never guesses.

Plain Python + PyYAML (it runs in both environments). The numbers come from ``shop_policy.yml``;
callers pass the order's facts and the moment of the request, and get a ``Decision`` with the
reasons in Chinese.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Literal, Optional

import yaml

POLICY_PATH = Path(__file__).resolve().parent.parent / "shop_policy.yml"
SHOP_TZ = timezone(timedelta(hours=8))
Reason = Literal["no_reason", "quality", "wrong_item", "damaged"]
SHOP_FAULTS: tuple[Reason, ...] = ("quality", "wrong_item", "damaged")


class PolicyError(ValueError):
    """shop_policy.yml is missing a value or has a nonsensical one."""


@dataclass(frozen=True)
class Policy:
    no_reason_days: int
    quality_days: int
    fresh_quality_hours: int
    perishable_categories: frozenset[str]
    no_reason_excluded: frozenset[str]
    hygiene_categories: frozenset[str]
    never_returnable: frozenset[str]
    shop_pays_for_reasons: frozenset[str]
    free_return_tiers: frozenset[str]
    return_shipping_estimate_fen: int
    refund_working_days: tuple[int, int]
    bank_card_working_days_max: int


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    category: str
    unit_price_fen: int
    quantity: int
    opened: bool = False


@dataclass(frozen=True)
class ItemDecision:
    item: Item
    eligible: bool
    why_not: str = ""


@dataclass(frozen=True)
class Decision:
    eligible: bool                      # at least one item may be returned
    items: tuple[ItemDecision, ...]
    deadline: Optional[datetime]        # last moment to ask, shop time
    refund_fen: int                     # goods (and shipping fee, for shop faults on whole orders)
    shop_pays_return_shipping: bool
    customer_shipping_estimate_fen: int
    explanation: list[str] = field(default_factory=list)


def load_policy(path: Path = POLICY_PATH) -> Policy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        returns, shipping, refunds = data["returns"], data["shipping"], data["refunds"]
        policy = Policy(
            no_reason_days=int(returns["no_reason_days"]),
            quality_days=int(returns["quality_days"]),
            fresh_quality_hours=int(returns["fresh_quality_hours"]),
            perishable_categories=frozenset(returns["perishable_categories"]),
            no_reason_excluded=frozenset(returns["no_reason_excluded"]),
            hygiene_categories=frozenset(returns["hygiene_categories"]),
            never_returnable=frozenset(returns["never_returnable"]),
            shop_pays_for_reasons=frozenset(shipping["shop_pays_for_reasons"]),
            free_return_tiers=frozenset(shipping["free_return_tiers"]),
            return_shipping_estimate_fen=int(shipping["return_shipping_estimate_fen"]),
            refund_working_days=(int(refunds["working_days_min"]), int(refunds["working_days_max"])),
            bank_card_working_days_max=int(refunds["bank_card_working_days_max"]),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise PolicyError(f"{path.name}: {type(error).__name__}: {error}") from error
    _check(policy)
    return policy


def _check(policy: Policy) -> None:
    numbers = [policy.no_reason_days, policy.quality_days, policy.fresh_quality_hours,
               policy.return_shipping_estimate_fen, *policy.refund_working_days,
               policy.bank_card_working_days_max]
    if min(numbers) < 0:
        raise PolicyError("shop_policy.yml: numbers cannot be negative")
    if policy.refund_working_days[0] > policy.refund_working_days[1]:
        raise PolicyError("shop_policy.yml: refunds.working_days_min > working_days_max")


def deadline_for(signed_at: datetime, days: int) -> datetime:
    """Day counting starts the day after signing: signed on the 1st, 7 days → the 8th, 23:59:59."""
    signed_day = signed_at.astimezone(SHOP_TZ).date()
    return datetime.combine(signed_day + timedelta(days=days), time(23, 59, 59), SHOP_TZ)


def decide(policy: Policy, items: list[Item], reason: Reason, signed_at: Optional[datetime],
           now: datetime, tier: str, shipping_fee_fen: int = 0) -> Decision:
    """May these items be returned for this reason now, and what does the customer get back?"""
    if signed_at is None:
        return _refused(items, "订单还没有签收：未发货的订单可以直接取消，运输中的订单请签收后再申请。")
    shop_fault = reason in SHOP_FAULTS
    deadline = deadline_for(signed_at, policy.quality_days if shop_fault else policy.no_reason_days)
    item_decisions = tuple(_item(policy, item, reason, signed_at, now, deadline) for item in items)
    returnable = [d.item for d in item_decisions if d.eligible]
    whole_order = len(returnable) == len(items) and bool(items)
    refund = sum(item.unit_price_fen * item.quantity for item in returnable)
    if shop_fault and whole_order:
        refund += shipping_fee_fen
    shop_pays = (reason in policy.shop_pays_for_reasons) or (tier in policy.free_return_tiers)
    explanation = [f"{d.item.name}：{d.why_not}" for d in item_decisions if not d.eligible]
    return Decision(eligible=bool(returnable), items=item_decisions, deadline=deadline,
                    refund_fen=refund, shop_pays_return_shipping=shop_pays,
                    customer_shipping_estimate_fen=0 if shop_pays
                    else policy.return_shipping_estimate_fen,
                    explanation=explanation)


def _item(policy: Policy, item: Item, reason: Reason, signed_at: datetime, now: datetime,
          deadline: datetime) -> ItemDecision:
    if item.category in policy.never_returnable:
        return ItemDecision(item, False, "虚拟商品不支持退货，如有问题请联系人工客服")
    if reason in SHOP_FAULTS:
        if item.category in policy.perishable_categories:
            limit = signed_at + timedelta(hours=policy.fresh_quality_hours)
            if now > limit:
                return ItemDecision(item, False,
                                    f"生鲜商品的质量问题需在签收后 {policy.fresh_quality_hours} 小时内反馈")
            return ItemDecision(item, True)
        if now > deadline:
            return ItemDecision(item, False, f"已超过签收后 {policy.quality_days} 天的质量问题售后期")
        return ItemDecision(item, True)
    if item.category in policy.no_reason_excluded:
        return ItemDecision(item, False, "定制、生鲜和虚拟商品不支持七天无理由退货")
    if item.category in policy.hygiene_categories and item.opened:
        return ItemDecision(item, False, "已拆封的化妆品和个人护理用品不支持无理由退货")
    if now > deadline:
        return ItemDecision(item, False, f"已超过签收后 {policy.no_reason_days} 天的无理由退货期")
    return ItemDecision(item, True)


def _refused(items: list[Item], why: str) -> Decision:
    return Decision(eligible=False, items=tuple(ItemDecision(i, False, why) for i in items),
                    deadline=None, refund_fen=0, shop_pays_return_shipping=False,
                    customer_shipping_estimate_fen=0, explanation=[why])
