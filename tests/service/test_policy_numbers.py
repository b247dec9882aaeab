"""One source of truth: FAQ answers quote shop_policy.yml, and so does the service's default for
when agents work."""
from __future__ import annotations

from datetime import datetime, timezone

from knowledge_base import compiler, placeholders
from service.settings import Settings

NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def answer(entry_id: str) -> str:
    entry = next(e for e in compiler.load_entries() if e.id == entry_id)
    return compiler.answer_text(entry, "app", NOW, placeholders.load_values())


def test_the_agents_hours_in_the_faq_are_the_hours_agents_work():
    values = placeholders.load_values()
    assert Settings(app_token_secret="x" * 32).handoff_hours == values["service.agent_hours"]
    assert values["service.agent_hours"] in answer("contact_hours")


def test_shipping_numbers_come_from_the_policy():
    values = placeholders.load_values()
    text = answer("shipping_fee")
    assert f"满 {values['shipping.free_over_fen'] // 100} 元包邮" in text
    assert f"运费 {values['shipping.standard_fee_fen'] // 100} 元" in text
    assert f"{values['shipping.dispatch_within_hours']} 小时内发货" in answer("delivery_time")
    assert f"{values['price_protection.days']} 天价格保护" in answer("price_protection")
