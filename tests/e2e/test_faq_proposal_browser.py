"""Learning from agents, and the confusion check, against the whole stack (real Rasa with the
trained model, action server, demo shop, service).

* In real headless Chromium: an agent answers a customer, closes the conversation, proposes it
  as an FAQ entry from the console ("提议为 FAQ": the dialog is prefilled, the agent edits and
  submits); an editor finds it in the /kb page's review queue, opens it as a new entry (the form
  is prefilled, nothing is saved: the stack works on the real entry files) and rejects it.
* ``GET /api/kb/confusion`` on the trained model: the report's shape, and a pair that must be
  flagged (an entry whose questions are another's, word for word) is flagged.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from knowledge_base import compiler, regression
from knowledge_base.audit import AuditLog
from knowledge_base.editor import KnowledgeBase
from service.app import create_app
from service.settings import Settings
from tests.e2e.test_agent_console_tools import AGENT, api_get, open_page, sign_in  # noqa: F401
from tests.e2e.test_chat import chat, reply_text
from tests.support import log_in_demo

pytestmark = pytest.mark.e2e

# C0037 has no orders, so no test that picks its customer by their orders talks as them.
CUSTOMER = "C0037"
EDITOR = ("editor1", "editor1-demo-password")
QUESTION = "你们能开增值税专用发票吗？公司报销要用"
REPLY = "可以的，您在订单详情里点“申请发票”，选专票并填写公司抬头和税号就行。"
FAQ_ANSWER = ("可以开增值税专用发票：订单完成后在订单详情点“申请发票”，选择专票，"
              "填写公司名称和税号，3 个工作日内开出。")
# The constructed confusion: an entry whose questions are all of ``invoice``'s.
ORIGINAL, DUPLICATE = "invoice", "invoice_again"


# --- the proposal, in the browser ---------------------------------------------------------------

def answer_in_the_console(agent, conversation_id: str) -> str:
    """The agent claims the waiting conversation and answers; the handoff's id."""
    item = agent.locator(f'.queue-item[data-conversation="{conversation_id}"]')
    item.wait_for(timeout=15_000)
    handoff_id = item.get_attribute("data-handoff")
    item.get_by_role("button", name="接入").click()
    agent.locator(".bubble--customer .bubble__text", has_text=QUESTION).wait_for(timeout=10_000)
    agent.locator("#reply-input").fill(REPLY)
    agent.locator("#reply-input").press("Enter")
    agent.locator(".bubble--agent", has_text=REPLY).wait_for(timeout=5_000)
    agent.wait_for_function(
        "!document.querySelector('.bubble--agent.is-pending, .bubble--agent.is-failed')", timeout=10_000)
    return handoff_id


def close_as_resolved(agent) -> None:
    agent.locator("#close-conversation").click()
    agent.locator("#close-dialog").get_by_label("已解决").check()
    agent.locator("#close-confirm").click()
    agent.locator("#conversation-empty").wait_for(timeout=10_000)


def test_an_agent_proposes_a_closed_conversation_and_an_editor_reviews_it(
        open_page, stack, service, agent_on_duty, tmp_path):  # noqa: F811 (fixture)
    queued = chat(service, stack, CUSTOMER, "转人工")
    assert "转接人工客服" in reply_text(queued), reply_text(queued)
    conversation_id = queued["conversation_id"]
    assert reply_text(chat(service, stack, CUSTOMER, QUESTION)).startswith("收到")

    agent = open_page("agent")
    sign_in(agent, stack, AGENT, "客服")
    handoff_id = answer_in_the_console(agent, conversation_id)
    dialog = agent.locator("#propose-dialog")
    question, answer = agent.locator("#propose-question"), agent.locator("#propose-answer")

    # On the open conversation the dialog holds the customer's question and the agent's answer;
    # cancelling sends nothing.
    agent.get_by_role("button", name="提议为 FAQ").click()
    dialog.wait_for(state="visible", timeout=5_000)
    assert (question.input_value(), answer.input_value()) == (QUESTION, REPLY)
    agent.locator("#propose-cancel").click()
    dialog.wait_for(state="hidden", timeout=5_000)

    # Closed: the page offers the conversation just closed, prefilled the same way.
    close_as_resolved(agent)
    offer = agent.locator("#propose-last")
    offer.wait_for(state="visible", timeout=5_000)
    offer.click()
    dialog.wait_for(state="visible", timeout=5_000)
    assert (question.input_value(), answer.input_value()) == (QUESTION, REPLY)
    answer.fill("   ")  # passes the browser's `required`, not the page's own check
    agent.locator("#propose-confirm").click()
    assert agent.locator("#propose-error").inner_text() == "请填写客户的问题和您的回答"
    answer.fill(FAQ_ANSWER)  # the agent words it for every customer
    agent.locator("#propose-confirm").click()
    dialog.wait_for(state="hidden", timeout=10_000)
    agent.locator("#toast", has_text="已提交给内容编辑审核").wait_for(timeout=5_000)
    assert offer.is_hidden()
    agent.screenshot(path=str(tmp_path / "console_proposed.png"))

    # The editor sees it in the review queue, as plain text, with who proposed it.
    editor = open_page("editor")
    editor.goto(f"{stack.service_url}/kb")
    editor.locator("#login-user").fill(EDITOR[0])
    editor.locator("#login-password").fill(EDITOR[1])
    editor.locator("#login button[type=submit]").click()
    editor.locator("body[data-ready]").wait_for(timeout=15_000)
    assert editor.locator("#login").is_hidden() and editor.locator("#entry-form").is_hidden()
    pending = api_get(editor, "/api/kb/proposals")["proposals"]
    assert editor.locator("#proposal-count").inner_text() == f"({len(pending)})"
    ours = [p for p in pending if p["handoff_id"] == handoff_id]
    assert [(p["question"], p["answer"], p["proposed_by"]) for p in ours] == \
        [(QUESTION, FAQ_ANSWER, "客服小王")]  # once: the cancelled dialog sent nothing
    editor.get_by_role("tab", name="待审提议").click()
    card = editor.locator("#proposal-list li", has_text=QUESTION)
    card.wait_for(timeout=10_000)
    assert card.locator("p").all_inner_texts() == [f"客户问：{QUESTION}", f"客服答：{FAQ_ANSWER}"]
    assert card.locator("small").inner_text().startswith("客服小王 · ")
    editor.screenshot(path=str(tmp_path / "kb_proposals.png"))

    # "采纳为新条目" opens the new-entry form with the proposal in it (not saved here: the
    # stack's service writes the real entry files).
    card.get_by_role("button", name="采纳为新条目").click()
    form = editor.locator("#entry-form")
    form.wait_for(state="visible", timeout=5_000)
    assert editor.locator("#form-title").inner_text() == "新建条目"
    assert form.locator("[name=questions]").input_value() == QUESTION
    assert form.locator("[name=answer]").input_value() == FAQ_ANSWER

    # Rejected, it leaves the queue and is kept as decided by the editor.
    editor.get_by_role("tab", name="待审提议").click()
    card.get_by_role("button", name="驳回").click()
    editor.locator("#status", has_text="已驳回").wait_for(timeout=10_000)
    card.wait_for(state="detached", timeout=10_000)
    rejected = api_get(editor, "/api/kb/proposals?status=rejected")["proposals"]
    decided = next(p for p in rejected if p["handoff_id"] == handoff_id)
    assert decided["decided_by"] == api_get(editor, "/api/kb/me")["agent"]["name"]
    assert agent.dialogs == [] and editor.dialogs == []


# --- the confusion check, on the trained model --------------------------------------------------

@pytest.fixture
def kb_with_a_duplicate(tmp_path) -> Iterator[KnowledgeBase]:
    """A copy of the real entries plus one whose questions are ``invoice``'s, word for word: the
    model answers them all with ``invoice``, so the pair must be flagged."""
    shutil.copytree(compiler.ENTRIES_DIR, tmp_path / "entries")
    original = KnowledgeBase(tmp_path / "entries").find(ORIGINAL).data
    duplicate = {**original, "id": DUPLICATE, "title": "发票（重复）"}
    (tmp_path / "entries" / "constructed.yml").write_text(
        yaml.safe_dump({"entries": [duplicate]}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    yield KnowledgeBase(tmp_path / "entries", tmp_path / "retired", AuditLog(tmp_path / "audit.jsonl"))


@pytest.fixture
def editor_client(stack, fresh_redis_url, kb_with_a_duplicate, tmp_path) -> Iterator[TestClient]:
    """The service app in-process on that copy, asking the stack's real Rasa; an editor logged in."""
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{tmp_path}/kb.sqlite3",
                        rasa_url=stack.rasa_url, rasa_auth_token=stack.rasa_token,
                        app_token_secret="c" * 40, router_consumers=False)
    app = create_app(settings)
    app.state.kb = kb_with_a_duplicate
    with TestClient(app) as client:
        log_in_demo(client, EDITOR[0])
        yield client


def test_the_confusion_check_on_the_trained_model_flags_pairs_over_ten_percent(
        editor_client, kb_with_a_duplicate):
    answer = editor_client.get("/api/kb/confusion")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["model_error"] == "" and report["limit"] == regression.CONFUSION_LIMIT == 0.1
    questions = kb_with_a_duplicate.active_questions()
    assert report["replayed"] == sum(map(len, questions.values())) + len(regression.heldout_samples())

    pairs = report["pairs"]
    for pair in pairs:
        assert set(pair) == {"a", "b", "rate"}
        assert pair["a"] < pair["b"] and {pair["a"], pair["b"]} <= set(questions)
        assert regression.CONFUSION_LIMIT < pair["rate"] <= 1
    assert [p["rate"] for p in pairs] == sorted((p["rate"] for p in pairs), reverse=True)
    # The model never learnt the duplicate: its questions are answered with the original, at
    # least (its questions) / (both entries' questions and the original's held-out ones).
    flagged = next((p for p in pairs if (p["a"], p["b"]) == (ORIGINAL, DUPLICATE)), None)
    assert flagged is not None, pairs
    heldout = sum(1 for s in regression.heldout_samples() if s.expected == ORIGINAL)
    asked = len(questions[ORIGINAL])
    assert flagged["rate"] >= round(0.9 * asked / (2 * asked + heldout), 3), flagged
