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


def test_the_chat_reconnects_by_itself_and_shows_what_it_missed(page, stack, shop):
    page.goto(f"{stack.service_url}/chat")
    page.locator("#demo-order-list button").first.wait_for(timeout=15_000)
    # Another customer than the other test's (whose conversation remembers an order), chosen
    # before the page starts so only one socket is ever opened for it.
    page.evaluate("localStorage.setItem('xs_demo_customer',"
                  " document.querySelectorAll('#demo-customer option')[2].value)")
    page.reload()
    page.locator("#demo-order-list button").first.wait_for(timeout=15_000)
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('在线')")
    # The connection drops (a phone going through a tunnel) …
    page.evaluate("state.socket.close()")
    page.wait_for_function("document.querySelector('#status').textContent.includes('重连')")
    # … and comes back without the customer doing anything.
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('在线')",
                           timeout=15_000)
    page.locator("#input").fill("我的订单")
    page.locator("#input").press("Enter")
    page.locator(".typing").wait_for(timeout=5_000)  # the typing indicator while the bot thinks
    buttons = page.locator(".msg--bot .msg__buttons button")
    buttons.first.wait_for(timeout=30_000)
    assert page.locator(".typing").count() == 0
    assert buttons.count() >= 1
