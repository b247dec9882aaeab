"""The agent console in real headless Chromium against the whole stack: a customer asks for a
human, an agent logs in, claims the conversation, reads the customer's (hostile) message as plain
text, answers, and closes it; the customer gets the answer, the satisfaction question and thanks."""
from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.test_chat import chat, reply_text, token

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AGENT = {"username": "agent1", "password": "agent1-demo-password"}
CUSTOMER = "C0047"  # used by no other end-to-end test
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"
GREETING = "您好，我是客服小王"
LIVE = "我的快递三天没动了<img src=x onerror=alert(2)>"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def page(tmp_path, request):
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        yield page
        page.screenshot(path=str(tmp_path / f"{request.node.name}.png"))
        browser.close()


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


def outbox_reply(service: httpx.Client, stack, customer_id: str,
                 matches: Callable[[dict[str, Any]], bool]) -> Callable[[], dict[str, Any] | None]:
    """A check for ``wait_for``: the first reply in the customer's app outbox that ``matches``."""
    def check() -> dict[str, Any] | None:
        response = service.get("/api/app/outbox", params={"since": "0-0"},
                               headers={"Authorization": f"Bearer {token(stack, customer_id)}"})
        assert response.status_code == 200, response.text
        return next((reply for frame in response.json() for reply in frame["replies"]
                     if matches(reply)), None)
    return check


def log_in(page, stack, password: str = AGENT["password"]) -> None:
    page.goto(f"{stack.service_url}/console")
    page.locator("#login-username").wait_for(timeout=10_000)
    page.locator("#login-username").fill(AGENT["username"])
    page.locator("#login-password").fill(password)
    page.locator("#login-password").press("Enter")


def test_agent_claims_a_waiting_customer_answers_and_closes(page, stack, service, tmp_path,
                                                           agent_on_duty):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # With an agent on duty (else the request becomes a ticket), the customer asks for a human
    # and, while waiting, sends something hostile.
    queued = chat(service, stack, CUSTOMER, "转人工")
    assert "转接人工客服" in reply_text(queued), reply_text(queued)
    conversation_id = queued["conversation_id"]
    waiting = reply_text(chat(service, stack, CUSTOMER, HOSTILE))
    assert waiting.startswith("收到，客服接入后会看到您的消息。"), waiting

    # The agent logs in and finds the conversation in the live queue.
    log_in(page, stack)
    page.locator("#app-view").wait_for(timeout=10_000)
    assert page.locator("#agent-name").inner_text() == "客服小王"
    assert page.locator("#agent-role").inner_text() == "客服"
    page.wait_for_function("document.querySelector('#conn-status').textContent === '在线'",
                           timeout=10_000)
    item = page.locator(f'.queue-item[data-conversation="{conversation_id}"]')
    item.wait_for(timeout=15_000)
    assert item.locator(".reason").inner_text() == "客户要求"
    assert item.locator(".tier").inner_text() in {"VIP", "潜力", "普通"}
    assert re.search(r"等待 \d+", item.locator(".wait").inner_text())
    page.screenshot(path=str(tmp_path / "console_queue.png"))
    item.get_by_role("button", name="接入").click()

    # The conversation opens with the transcript; the hostile message is literal text.
    page.locator(f'#mine .list__item[data-conversation="{conversation_id}"]').wait_for(timeout=10_000)
    assert page.locator(f'.queue-item[data-conversation="{conversation_id}"]').count() == 0
    hostile = page.locator(".bubble--customer .bubble__text", has_text="<script>")
    hostile.wait_for(timeout=10_000)
    assert HOSTILE in hostile.inner_text()
    assert page.locator(".bubble--customer .bubble__text", has_text="转人工").count() >= 1
    assert page.locator("#transcript img, #transcript script").count() == 0
    assert page.locator("#conv-meta").inner_text().endswith("客户要求")

    # The agent answers with Enter; the customer's channel receives it.
    page.locator("#reply-input").fill(GREETING)
    page.locator("#reply-input").press("Enter")
    sent = page.locator(".bubble--agent", has_text=GREETING)
    sent.wait_for(timeout=5_000)
    page.wait_for_function("!document.querySelector('.bubble--agent.is-pending, .bubble--agent.is-failed')",
                           timeout=10_000)
    assert page.locator("#reply-input").input_value() == ""
    wait_for(outbox_reply(service, stack, CUSTOMER, lambda reply: reply["text"] == GREETING), 20,
             "the agent's reply in the customer's outbox")

    # The console's socket drops and comes back by itself; the customer's next message (hostile
    # again) shows up live, as text.
    page.evaluate("state.socket.close()")
    page.wait_for_function("document.querySelector('#conn-status').textContent.includes('重连')")
    page.wait_for_function("document.querySelector('#conn-status').textContent === '在线'",
                           timeout=15_000)
    assert chat(service, stack, CUSTOMER, LIVE)["replies"] == []
    live = page.locator(".bubble--customer .bubble__text", has_text="我的快递三天没动了")
    live.wait_for(timeout=15_000)
    assert live.inner_text() == LIVE
    assert page.locator("#transcript img, #transcript script").count() == 0
    page.screenshot(path=str(tmp_path / "console_conversation.png"))

    # The agent closes it as resolved; the customer is asked to rate, rates 5 and is thanked.
    page.locator("#close-conversation").click()
    page.locator("#close-dialog").get_by_label("已解决").check()
    page.locator("#close-confirm").click()
    page.locator("#conversation-empty").wait_for(timeout=10_000)
    assert page.locator(f'#mine .list__item[data-conversation="{conversation_id}"]').count() == 0
    question = wait_for(outbox_reply(service, stack, CUSTOMER, lambda reply: "满意" in reply["text"]),
                        20, "the satisfaction question in the customer's outbox")
    five = {button["payload"]: button for button in question["buttons"]}
    assert sorted(five) == ["1", "2", "3", "4", "5"]
    thanks = reply_text(chat(service, stack, CUSTOMER, five["5"]["payload"]))
    assert "感谢" in thanks, thanks
    assert dialogs == []


def test_a_session_survives_a_reload_and_logging_out_ends_it(page, stack):
    log_in(page, stack)
    page.locator("#app-view").wait_for(timeout=10_000)
    page.reload()  # the session cookie is enough: no login form
    page.locator("#app-view").wait_for(timeout=10_000)
    assert page.locator("#login-view").is_hidden()
    assert page.locator("#agent-name").inner_text() == "客服小王"
    page.get_by_role("button", name="退出").click()
    page.locator("#login-view").wait_for(timeout=10_000)
    assert page.evaluate("fetch('/api/agent/queue', {credentials: 'same-origin'}).then(r => r.status)") == 401
    page.reload()
    page.locator("#login-username").wait_for(timeout=10_000)
    assert page.locator("#app-view").is_hidden()


def test_wrong_password_shows_a_chinese_error_and_the_api_needs_a_session(page, stack, service):
    unauthenticated = service.get("/api/agent/queue")
    assert unauthenticated.status_code == 401
    assert CHINESE.search(unauthenticated.json()["error"]["message"])

    log_in(page, stack, password="not-the-password")
    error = page.locator("#login-error")
    error.wait_for(timeout=10_000)
    assert CHINESE.search(error.inner_text()), error.inner_text()
    assert page.locator("#app-view").is_hidden()
    # No session was opened: a reload asks for the login again, and the form still says why.
    page.reload()
    page.locator("#login-username").wait_for(timeout=10_000)
    assert page.locator("#app-view").is_hidden()
    log_in(page, stack, password="still-not-the-password")
    error.wait_for(timeout=10_000)
    assert error.inner_text() == "用户名或密码错误"
