"""The return and refund policy engine: examples from the written policy, then properties."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actions.policy import POLICY_PATH, SHOP_TZ, Item, PolicyError, deadline_for, decide, load_policy

POLICY = load_policy()
SIGNED = datetime(2026, 11, 1, 15, 30, tzinfo=SHOP_TZ)
COAT = Item("AP-1001", "羽绒服", "apparel", 39900, 1)
MASK = Item("BT-5001", "面膜", "beauty", 9900, 2)
CRAB = Item("FR-6001", "大闸蟹", "fresh", 59900, 1)
CUP = Item("CU-7001", "定制保温杯", "custom", 12900, 1)
CARD = Item("VG-8001", "购物卡", "virtual", 10000, 1)


def days_after_signing(days: float) -> datetime:
    return SIGNED + timedelta(days=days)


def test_policy_file_holds_the_written_numbers():
    assert (POLICY.no_reason_days, POLICY.quality_days) == (7, 15)
    assert {"custom", "fresh", "virtual"} <= POLICY.no_reason_excluded
    assert "vip" in POLICY.free_return_tiers


def test_deadline_counts_from_the_day_after_signing():
    assert deadline_for(SIGNED, 7) == datetime(2026, 11, 8, 23, 59, 59, tzinfo=SHOP_TZ)
    late_utc = datetime(2026, 11, 1, 17, 0, tzinfo=timezone.utc)  # already the 2nd in Shanghai
    assert deadline_for(late_utc, 7).day == 9


def test_no_reason_return_within_seven_days():
    decision = decide(POLICY, [COAT], "no_reason", SIGNED, days_after_signing(6), "regular")
    assert decision.eligible and decision.refund_fen == 39900
    assert not decision.shop_pays_return_shipping
    assert decision.customer_shipping_estimate_fen == POLICY.return_shipping_estimate_fen


def test_no_reason_return_after_the_deadline_is_refused_with_the_reason():
    decision = decide(POLICY, [COAT], "no_reason", SIGNED, days_after_signing(8), "regular")
    assert not decision.eligible and decision.refund_fen == 0
    assert "7 天" in decision.explanation[0]


def test_vip_returns_ship_free():
    decision = decide(POLICY, [COAT], "no_reason", SIGNED, days_after_signing(2), "vip")
    assert decision.shop_pays_return_shipping and decision.customer_shipping_estimate_fen == 0


@pytest.mark.parametrize("item", [CRAB, CUP, CARD])
def test_excluded_goods_have_no_no_reason_return(item):
    decision = decide(POLICY, [item], "no_reason", SIGNED, days_after_signing(1), "regular")
    assert not decision.eligible and decision.explanation


def test_opened_hygiene_goods_only_unopened_return():
    unopened = decide(POLICY, [MASK], "no_reason", SIGNED, days_after_signing(1), "regular")
    opened = decide(POLICY, [replace(MASK, opened=True)], "no_reason", SIGNED,
                    days_after_signing(1), "regular")
    assert unopened.eligible and not opened.eligible
    assert "拆封" in opened.explanation[0]


def test_quality_problem_within_fifteen_days_shop_pays_and_refunds_shipping():
    decision = decide(POLICY, [COAT], "quality", SIGNED, days_after_signing(14), "regular",
                      shipping_fee_fen=800)
    assert decision.eligible and decision.shop_pays_return_shipping
    assert decision.refund_fen == 39900 + 800
    late = decide(POLICY, [COAT], "quality", SIGNED, days_after_signing(16), "regular")
    assert not late.eligible


def test_fresh_quality_problems_have_hours_not_days():
    soon = decide(POLICY, [CRAB], "damaged", SIGNED, SIGNED + timedelta(hours=47), "regular")
    late = decide(POLICY, [CRAB], "damaged", SIGNED, SIGNED + timedelta(hours=49), "regular")
    assert soon.eligible and not late.eligible


def test_partial_return_refunds_only_returnable_items_and_no_shipping_fee():
    decision = decide(POLICY, [COAT, CUP], "quality", SIGNED, days_after_signing(3), "regular",
                      shipping_fee_fen=800)
    assert decision.eligible and decision.refund_fen == 39900 + 12900 + 800
    mixed = decide(POLICY, [COAT, CARD], "quality", SIGNED, days_after_signing(3), "regular",
                   shipping_fee_fen=800)
    assert mixed.refund_fen == 39900 and len(mixed.explanation) == 1


def test_unsigned_orders_cannot_be_returned():
    decision = decide(POLICY, [COAT], "no_reason", None, days_after_signing(1), "vip")
    assert not decision.eligible and "签收" in decision.explanation[0]


def test_broken_policy_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "policy.yml"
    broken.write_text("returns: {no_reason_days: 7}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="policy.yml"):
        load_policy(broken)
    negative = tmp_path / "negative.yml"
    negative.write_text(POLICY_PATH.read_text(encoding="utf-8")
                        .replace("no_reason_days: 7", "no_reason_days: -1"), encoding="utf-8")
    with pytest.raises(PolicyError, match="negative"):
        load_policy(negative)


categories = st.sampled_from(["apparel", "shoes", "electronics", "home", "beauty", "fresh",
                              "custom", "virtual"])
items = st.builds(Item, sku=st.just("SKU"), name=st.just("商品"), category=categories,
                  unit_price_fen=st.integers(0, 10_000_000), quantity=st.integers(1, 20),
                  opened=st.booleans())
reasons = st.sampled_from(["no_reason", "quality", "wrong_item", "damaged"])
tiers = st.sampled_from(["vip", "potential", "regular"])
elapsed = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))


@settings(max_examples=300, deadline=None)
@given(st.lists(items, min_size=1, max_size=5), reasons, tiers, elapsed,
       st.integers(0, 5_000))
def test_properties(order_items, reason, tier, waited, shipping_fee):
    decision = decide(POLICY, order_items, reason, SIGNED, SIGNED + waited, tier, shipping_fee)
    goods = sum(i.unit_price_fen * i.quantity for i in order_items)
    assert 0 <= decision.refund_fen <= goods + shipping_fee
    assert decision.eligible == any(d.eligible for d in decision.items)
    assert len(decision.explanation) == sum(not d.eligible for d in decision.items)
    if tier == "vip" or reason != "no_reason":
        assert decision.shop_pays_return_shipping
    if SIGNED + waited > decision.deadline:
        assert not any(d.eligible for d in decision.items if d.item.category != "fresh")
    for d in decision.items:
        if d.item.category == "virtual":
            assert not d.eligible
        if reason == "no_reason" and d.item.category in ("custom", "fresh"):
            assert not d.eligible
    later = decide(POLICY, order_items, reason, SIGNED, SIGNED + waited + timedelta(days=1),
                   tier, shipping_fee)
    assert later.refund_fen <= decision.refund_fen  # waiting never earns more
