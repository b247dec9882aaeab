"""The web chat page in real headless Chromium: pick a demo customer, ask about an order."""
from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(tmp_path):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 420, "height": 800}, locale="zh-CN")
        yield page
        page.screenshot(path=str(tmp_path / "web_chat.png"))
        browser.close()


def test_customer_asks_about_an_order_in_the_web_chat(page, stack, shop):
    page.goto(f"{stack.service_url}/chat")
    first_hint = page.locator("#demo-order-list button").first
    first_hint.wait_for(timeout=15_000)
    customer_id = page.locator("#demo-customer").input_value()
    order = shop.get(f"/customers/{customer_id}/orders", params={"limit": 6}).json()["items"][0]
    assert first_hint.inner_text().startswith(order["id"])

    first_hint.click()
    assert page.locator("#input").input_value() == f"我的订单 {order['id']} 到哪了"
    page.locator("#input").press("Enter")

    answer = page.locator(".msg--bot", has_text=order["id"])
    answer.wait_for(timeout=30_000)
    assert order["status_label"] in answer.inner_text()
    assert page.locator(".msg--me").last.inner_text() == f"我的订单 {order['id']} 到哪了"
    assert page.locator("#status").inner_text().startswith("在线")
