"""The agent console's tools in real headless Chromium against the whole stack: canned replies,
internal notes, transferring to another group while a supervisor watches the queues, and tickets
(answered from the 工单 tab; WeChat's 48-hour window). Customer and agent text is always rendered as
text, and no browser dialog ever opens."""
from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.e2e.test_agent_console_browser import CHROMIUM, CHROMIUM_ARGS, outbox_reply, wait_for
from tests.e2e.test_chat import chat, reply_text, token

pytestmark = pytest.mark.e2e

AGENT = ("agent1", "agent1-demo-password")
SUPERVISOR = ("supervisor1", "supervisor1-demo-password")
# Customers no other end-to-end test talks as: tests that pick a customer by their orders take the
# first few of a status (C0048, for one, owns the first cancelled order); C0053 has no orders at all
# and C0060 only the 24th shipped one.
CUSTOMER = "C0053"         # queued, claimed, transferred
TICKET_CUSTOMER = "C0060"  # asks for a human while nobody is on duty
NOTE = "客户情绪激动，已安抚，注意语气"
HOSTILE_NOTE = '<img src=x onerror=alert("note")>客户说<b>别</b>打电话'
TRANSFER_NOTE = "其实是做工问题，请质量组跟进"
HOSTILE_SEARCH = '<img src=x onerror=alert("canned")>'
BARRIER = "稍等，我请质量组的同事继续跟进"
TICKET_ANSWER = "您好，关于您登记的问题：已为您处理，请留意短信通知。"
WINDOW_CLOSED = "微信 48 小时窗口已关闭，无法发送"
# What the API says (409 window_closed) when the window shut between listing and sending.
API_WINDOW_CLOSED = "客户超过 48 小时没有发消息，微信不允许再主动发送，请改用电话或短信联系"


@pytest.fixture
def open_page(tmp_path, request) -> Iterator[Callable[[str], Any]]:
    """``open_page(name)``: a page of its own browser context (its own session cookie) whose
    dialogs are recorded in ``page.dialogs``; every page is screenshotted at the end."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages: dict[str, Any] = {}

        def new_page(name: str) -> Any:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            page = context.new_page()
            page.dialogs = []
            page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
            pages[name] = page
            return page

        yield new_page
        for name, page in pages.items():
            page.screenshot(path=str(tmp_path / f"{request.node.name}-{name}-end.png"))
        browser.close()


def sign_in(page, stack, account: tuple[str, str], role: str) -> None:
    page.goto(f"{stack.service_url}/console")
    page.locator("#login-username").wait_for(timeout=10_000)
    page.locator("#login-username").fill(account[0])
    page.locator("#login-password").fill(account[1])
    page.locator("#login-password").press("Enter")
    page.locator("#app-view").wait_for(timeout=10_000)
    assert page.locator("#agent-role").inner_text() == role
    page.wait_for_function("document.querySelector('#conn-status').textContent === '在线'",
                           timeout=10_000)


def api_get(page, path: str) -> Any:
    """What the API says right now, with the page's own session."""
    return page.evaluate("path => fetch(path, {credentials: 'same-origin'}).then(r => r.json())", path)


def outbox_texts(service: httpx.Client, stack, customer_id: str) -> list[str]:
    response = service.get("/api/app/outbox", params={"since": "0-0"},
                           headers={"Authorization": f"Bearer {token(stack, customer_id)}"})
    assert response.status_code == 200, response.text
    return [reply["text"] for frame in response.json() for reply in frame["replies"]]


def test_canned_reply_internal_notes_and_transfer_while_the_supervisor_watches(
        open_page, stack, service, tmp_path, agent_on_duty):
    # With an agent on duty (else the request becomes a ticket) the customer asks for a human.
    queued = chat(service, stack, CUSTOMER, "转人工")
    assert "转接人工客服" in reply_text(queued), reply_text(queued)
    conversation_id = queued["conversation_id"]

    agent = open_page("agent")
    sign_in(agent, stack, AGENT, "客服")
    assert agent.locator("#tab-btn-supervisor").is_hidden()  # agents have no supervisor view
    item = agent.locator(f'.queue-item[data-conversation="{conversation_id}"]')
    item.wait_for(timeout=15_000)
    item.get_by_role("button", name="接入").click()
    agent.locator(f'#mine .list__item[data-conversation="{conversation_id}"]').wait_for(timeout=10_000)
    agent.locator("#notes-panel").wait_for(timeout=10_000)

    # "/" in the empty reply box opens the canned replies; a hostile search is shown as text.
    reply = agent.locator("#reply-input")
    reply.click()
    reply.press("/")
    agent.locator("#canned").wait_for(timeout=5_000)
    assert reply.input_value() == ""
    assert agent.evaluate("document.activeElement.id") == "canned-search"
    search = agent.locator("#canned-search")
    search.fill(HOSTILE_SEARCH)
    empty = agent.locator("#canned-empty")
    empty.filter(has_text="alert").wait_for(timeout=5_000)
    assert empty.inner_text() == f"没有找到与“{HOSTILE_SEARCH}”匹配的快捷回复"
    assert agent.locator("#canned img, #canned-list li").count() == 0
    search.press("Escape")
    agent.locator("#canned").wait_for(state="hidden", timeout=5_000)
    assert agent.evaluate("document.activeElement.id") == "reply-input"

    # Alt+K opens it again; "签收" finds one reply; Enter puts its text in the box, unsent.
    [expected] = api_get(agent, "/api/agent/canned-replies?q=%E7%AD%BE%E6%94%B6")  # 签收
    agent.keyboard.press("Alt+KeyK")
    agent.locator("#canned").wait_for(timeout=5_000)
    search.fill("签收")
    agent.wait_for_function(
        "title => [...document.querySelectorAll('#canned-list .canned__title')].map(n => n.textContent)"
        ".join('|') === title", arg=expected["title"], timeout=5_000)
    assert agent.locator("#canned-list .canned__text").inner_text() == expected["text"]
    agent.screenshot(path=str(tmp_path / "console_canned.png"))
    search.press("Enter")
    agent.locator("#canned").wait_for(state="hidden", timeout=5_000)
    assert reply.input_value() == expected["text"]
    assert agent.locator(".bubble--agent").count() == 0  # inserted, not sent
    reply.press("Enter")
    agent.locator(".bubble--agent", has_text=expected["text"]).wait_for(timeout=5_000)
    agent.wait_for_function("!document.querySelector('.bubble--agent.is-pending, .bubble--agent.is-failed')",
                            timeout=10_000)
    wait_for(outbox_reply(service, stack, CUSTOMER, lambda r: r["text"] == expected["text"]), 20,
             "the canned reply in the customer's outbox")

    # A click inserts too (the button opens the picker).
    agent.get_by_role("button", name="快捷回复").click()
    search.fill("结束")
    option = agent.locator("#canned-list .canned__item", has_text="结束语")
    option.wait_for(timeout=5_000)
    ending = option.locator(".canned__text").inner_text()
    option.click()
    assert reply.input_value() == ending
    reply.fill("")

    # Internal notes, one hostile: shown in the panel as text, marked as hidden from the customer.
    assert agent.locator("#notes-title").inner_text() == "内部备注（客户看不到）"
    agent.locator("#note-input").fill(NOTE)
    agent.locator("#note-input").press("Enter")
    agent.locator("#notes .note__text", has_text=NOTE).wait_for(timeout=10_000)
    agent.locator("#note-input").fill(HOSTILE_NOTE)
    agent.get_by_role("button", name="添加备注").click()
    hostile = agent.locator("#notes .note__text", has_text="打电话")
    hostile.wait_for(timeout=10_000)
    assert hostile.inner_text() == HOSTILE_NOTE
    assert agent.locator("#notes img, #notes b").count() == 0
    assert agent.locator("#notes .note__author").first.inner_text() == "客服小王（我）"
    assert agent.locator("#note-input").input_value() == ""
    # A reply sent after the notes reaches the customer; the notes never do.
    reply.fill(BARRIER)
    reply.press("Enter")
    wait_for(outbox_reply(service, stack, CUSTOMER, lambda r: r["text"] == BARRIER), 20,
             "the reply sent after the notes")
    assert not [text for text in outbox_texts(service, stack, CUSTOMER)
                if "安抚" in text or "打电话" in text]
    agent.screenshot(path=str(tmp_path / "console_notes.png"))

    # The supervisor opens the 主管视图: the quality group's waiting count is the API's.
    boss = open_page("supervisor")
    sign_in(boss, stack, SUPERVISOR, "主管")
    boss.get_by_role("tab", name="主管视图").click()
    quality = boss.locator('#sv-groups tr[data-group="quality"]')
    quality.wait_for(timeout=10_000)
    assert quality.locator("th").inner_text() == "质量"
    before = api_get(boss, "/api/agent/supervisor")["groups"]["quality"]["waiting"]
    boss.wait_for_function(
        "n => document.querySelector('#sv-groups tr[data-group=quality] .sv-waiting').textContent === n",
        arg=str(before), timeout=10_000)

    # The agent transfers the customer to 质量, with a note for the next agent.
    agent.get_by_role("button", name="转接").click()
    dialog = agent.locator("#transfer-dialog")
    dialog.wait_for(timeout=5_000)
    dialog.get_by_label("质量").check()
    agent.locator("#transfer-note").fill(TRANSFER_NOTE)
    agent.screenshot(path=str(tmp_path / "console_transfer.png"))
    agent.locator("#transfer-confirm").click()
    agent.locator("#conversation-empty").wait_for(timeout=10_000)
    assert dialog.is_hidden()
    agent.locator(f'#mine .list__item[data-conversation="{conversation_id}"]').wait_for(
        state="detached", timeout=10_000)
    agent.locator(f'#queue .group[data-group="quality"] .queue-item[data-conversation="{conversation_id}"]'
                  ).wait_for(timeout=10_000)
    assert [h["handoff_id"] for h in api_get(agent, "/api/agent/queue")["mine"]] == []

    # Within one refresh (5 s) and without a reload, the supervisor sees one more waiting for 质量.
    boss.wait_for_function(
        "n => document.querySelector('#sv-groups tr[data-group=quality] .sv-waiting').textContent === n",
        arg=str(before + 1), timeout=8_000)
    assert api_get(boss, "/api/agent/supervisor")["groups"]["quality"]["waiting"] == before + 1
    assert re.fullmatch(r"\d+", boss.locator('#sv-groups tr[data-group="quality"] .sv-online').inner_text())
    assert boss.locator("#sv-tickets dt").all_inner_texts() == ["未处理工单", "已超时"]
    boss.screenshot(path=str(tmp_path / "console_supervisor.png"))

    assert not [text for text in outbox_texts(service, stack, CUSTOMER) if "做工问题" in text]  # internal too
    # The customer gives up waiting, so the 质量 queue is left as it was.
    assert "已取消转人工" in reply_text(chat(service, stack, CUSTOMER, "不用了"))
    assert agent.dialogs == [] and boss.dialogs == []


def nobody_on_duty(stack) -> None:
    """Logging out takes an agent off duty at once (login and heartbeats put them on it for 30 s),
    so with both demo agents logged in and out here, the next request for a human is a ticket:
    no waiting for presence to expire. (Their other sessions stay valid.)"""
    for username, password in (AGENT, SUPERVISOR):
        with httpx.Client(base_url=stack.service_url, timeout=10) as client:
            assert client.post("/api/agent/login",
                               json={"username": username, "password": password}).status_code == 200
            assert client.post("/api/agent/logout").status_code == 204


def test_a_ticket_is_answered_from_the_tickets_tab_and_a_closed_wechat_window_blocks_sending(
        open_page, stack, service, tmp_path):
    nobody_on_duty(stack)
    told = reply_text(chat(service, stack, TICKET_CUSTOMER, "转人工"))
    found = re.search(r"工单 (T[0-9A-F]+)", told)
    assert found, told
    ticket_id = found.group(1)

    page = open_page("agent")
    sign_in(page, stack, AGENT, "客服")
    [listed] = [t for t in api_get(page, "/api/agent/tickets") if t["ticket_id"] == ticket_id]
    badge = page.locator("#tickets-badge")
    badge.wait_for(timeout=10_000)
    assert int(badge.inner_text()) >= 1
    page.get_by_role("tab", name="工单").click()
    card = page.locator(f'.ticket[data-ticket="{ticket_id}"]')
    card.wait_for(timeout=10_000)
    assert card.get_attribute("data-conversation") == f"app:{TICKET_CUSTOMER}"
    assert card.locator(".list__id").inner_text() == TICKET_CUSTOMER
    assert card.locator(".ticket__status").inner_text() == "待回复"
    due = card.locator(".due")
    assert re.fullmatch(r"剩余 \d+(秒|分\d\d秒|时\d\d分)", due.inner_text()), due.inner_text()
    assert "is-late" not in (due.get_attribute("class") or "")
    due_ms = datetime.fromisoformat(listed["due_at"]).timestamp() * 1000
    assert abs(float(due.get_attribute("data-due")) - due_ms) < 1000
    assert card.locator(".ticket__window").is_hidden()
    card.locator(".ticket__summary summary").click()  # what the customer wanted, before answering
    assert card.locator(".ticket__summary-text").inner_text() == listed["summary"].strip()
    assert listed["summary"].startswith("诉求：")
    page.screenshot(path=str(tmp_path / "console_tickets.png"))

    # Answer and close: the customer gets it, the ticket leaves the list.
    card.locator("textarea").fill(TICKET_ANSWER)
    card.get_by_label("回复后关闭工单").check()
    card.get_by_role("button", name="发送").click()
    wait_for(outbox_reply(service, stack, TICKET_CUSTOMER, lambda r: r["text"] == TICKET_ANSWER), 20,
             "the ticket's answer in the customer's outbox")
    card.wait_for(state="detached", timeout=10_000)
    assert ticket_id not in {t["ticket_id"] for t in api_get(page, "/api/agent/tickets")}

    # WeChat tickets: the e2e stack runs no WeChat channel, so two are added to the API's real
    # answer: one past its 48-hour window (and its deadline), one whose window closes between
    # listing and sending (the reply is then refused with the API's 409).
    now = datetime.now(timezone.utc)
    fakes = [
        {"ticket_id": "TWXCLOSED01", "conversation_id": 'wechat:o<img src=x onerror=alert("t")>',
         "channel": "wechat", "group": "general", "tier": "regular", "reason": "customer_request",
         "status": "open", "due_at": (now - timedelta(hours=1)).isoformat(), "overdue": True,
         "window_open": False},
        {"ticket_id": "TWXRACE0001", "conversation_id": "wechat:oRace", "channel": "wechat",
         "group": "general", "tier": "vip", "reason": "complaint", "status": "open",
         "due_at": (now + timedelta(hours=2)).isoformat(), "overdue": False, "window_open": True},
    ]

    def tickets_with_wechat(route) -> None:
        real = route.fetch()
        route.fulfill(response=real, json=real.json() + fakes)

    page.route("**/api/agent/tickets", tickets_with_wechat)
    page.route("**/api/agent/tickets/TWXRACE0001/reply", lambda route: route.fulfill(
        status=409, json={"error": {"code": "window_closed", "message": API_WINDOW_CLOSED}}))
    page.get_by_role("button", name="刷新").click()

    closed = page.locator('.ticket[data-ticket="TWXCLOSED01"]')
    closed.wait_for(timeout=10_000)
    assert closed.locator(".ticket__window").inner_text() == WINDOW_CLOSED
    assert closed.locator("textarea").is_disabled()
    assert closed.get_by_role("button", name="发送").is_disabled()
    assert re.fullmatch(r"已超时 .+", closed.locator(".due").inner_text())
    assert "is-late" in closed.locator(".due").get_attribute("class")
    assert "is-overdue" in closed.get_attribute("class")
    assert closed.locator(".list__id").inner_text() == 'o<img src=x onerror=alert("t")>'
    assert page.locator("#tickets img").count() == 0
    assert "is-late" in badge.get_attribute("class")

    race = page.locator('.ticket[data-ticket="TWXRACE0001"]')
    race.locator("textarea").fill("您好")
    race.get_by_role("button", name="发送").click()
    error = race.locator(".ticket__error")
    error.wait_for(timeout=10_000)
    assert error.inner_text() == API_WINDOW_CLOSED
    page.screenshot(path=str(tmp_path / "console_tickets_wechat.png"))
    assert page.dialogs == []


def test_an_agent_hands_a_customer_straight_to_the_supervisor(open_page, stack, service):
    customer = "T0001DIRECT"  # an app account with no orders; no other test talks as it
    boss = open_page("supervisor")
    sign_in(boss, stack, SUPERVISOR, "主管")  # online: the console's socket keeps them on duty
    agent = open_page("agent")
    sign_in(agent, stack, AGENT, "客服")
    queued = chat(service, stack, customer, "转人工")
    conversation_id = queued["conversation_id"]
    item = agent.locator(f'.queue-item[data-conversation="{conversation_id}"]')
    item.wait_for(timeout=15_000)
    item.get_by_role("button", name="接入").click()
    agent.locator(f'#mine .list__item[data-conversation="{conversation_id}"]').wait_for(timeout=10_000)

    agent.get_by_role("button", name="转接").click()
    choice = agent.locator("#transfer-agent option", has_text="主管小李")
    choice.wait_for(state="attached", timeout=10_000)
    assert "接待 0/5" in choice.inner_text()
    agent.locator("#transfer-agent").select_option(label=choice.inner_text())
    agent.locator("#transfer-note").fill("客户要求主管处理")
    agent.locator("#transfer-confirm").click()
    agent.locator("#conversation-empty").wait_for(timeout=10_000)

    # No queue in between: it is the supervisor's at once, with the note.
    mine = boss.locator(f'#mine .list__item[data-conversation="{conversation_id}"]')
    mine.wait_for(timeout=10_000)
    mine.click()
    boss.locator("#notes .note__text", has_text="客户要求主管处理").wait_for(timeout=10_000)
    assert api_get(agent, "/api/agent/queue")["mine"] == []
    assert "已取消转人工" not in reply_text(chat(service, stack, customer, "你好，还在吗"))
    boss.locator(".bubble--customer .bubble__text", has_text="你好，还在吗").wait_for(timeout=15_000)
    assert agent.dialogs == [] and boss.dialogs == []
