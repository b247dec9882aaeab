"""action_answer_faq: the live answer from the knowledge base files, without retraining."""
import json
import logging
import subprocess
import textwrap
import threading
from datetime import datetime
from typing import Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import faq
from actions.policy import SHOP_TZ
from knowledge_base import compiler, seed
from knowledge_base.audit import AuditLog
from knowledge_base.editor import KnowledgeBase
from tests.support import python_with_kb_dir, save_answer

ENTRY = """
entries:
  - id: return_policy
    title: 退货政策
    skill_group: returns
    tags: [退货]
    owner: 售后组
    updated_at: 2026-11-20
    questions: [怎么退货, 退货规则, 几天能退, 无理由退货, 退货条件]
    answer: |
      签收后 {returns.no_reason_days} 天内可无理由退货。
    answers_by_channel:
      wechat: 微信版：{returns.no_reason_days} 天无理由。
  - id: double12_rules
    title: 双十二活动规则
    skill_group: general
    tags: [双十二]
    owner: 运营组
    updated_at: 2026-11-20
    valid_from: 2026-12-01
    valid_to: 2026-12-14
    questions: [双十二有什么活动, 双12满减, 双十二什么时候开始, 双十二保价吗, 双十二发货快吗]
    answer: 全场每满 200 减 20。
"""
POLICY = "returns:\n  no_reason_days: {days}\n"
IN_WINDOW = datetime(2026, 12, 5, 12, 0, tzinfo=SHOP_TZ)


@pytest.fixture
def kb(tmp_path, monkeypatch):
    """A private knowledge base and policy file the action reads, and a fixed clock."""
    entries = tmp_path / "entries"
    entries.mkdir()
    (entries / "shop.yml").write_text(textwrap.dedent(ENTRY), encoding="utf-8")
    policy = tmp_path / "shop_policy.yml"
    policy.write_text(POLICY.format(days=7), encoding="utf-8")
    monkeypatch.setattr(faq, "ENTRIES_DIR", entries)
    monkeypatch.setattr(faq, "POLICY_PATH", policy)
    monkeypatch.setattr(faq, "now", lambda: IN_WINDOW)
    return entries / "shop.yml", policy


def tracker(entry_id="return_policy", channel="app"):
    selector = {"faq": {"response": {"intent_response_key": f"faq/{entry_id}",
                                     "utter_action": f"utter_faq/{entry_id}",
                                     "responses": [{"text": "compiled"}], "confidence": 0.9},
                        "ranking": []}} if entry_id else {}
    latest = {"text": "怎么退货", "intent": {"name": "faq", "confidence": 0.95},
              "entities": [], "metadata": {"channel": channel}, "response_selector": selector}
    return Tracker("app:test", {}, latest, [], False, None, {}, "action_listen")


async def answer(tracker_):
    dispatcher = CollectingDispatcher()
    events = await faq.ActionAnswerFaq().run(dispatcher, tracker_, {})
    assert events == []
    [message] = dispatcher.messages
    return message


async def test_serves_the_entry_with_policy_numbers_and_names_it_for_the_dashboard(kb):
    message = await answer(tracker())
    assert message["text"] == "签收后 7 天内可无理由退货。"
    assert message["utter_action"] == "utter_faq/return_policy"


async def test_edited_answer_is_served_at_the_next_question_without_retraining(kb):
    entries_file, _ = kb
    assert (await answer(tracker()))["text"] == "签收后 7 天内可无理由退货。"
    entries_file.write_text(entries_file.read_text(encoding="utf-8").replace(
        "可无理由退货。", "可无理由退货，商品需完好。"), encoding="utf-8")
    assert (await answer(tracker()))["text"] == "签收后 7 天内可无理由退货，商品需完好。"


async def test_a_policy_change_reaches_the_answer(kb):
    _, policy = kb
    await answer(tracker())
    policy.write_text(POLICY.format(days=10), encoding="utf-8")
    assert (await answer(tracker()))["text"] == "签收后 10 天内可无理由退货。"


@pytest.mark.parametrize("channel, text", [
    ("wechat", "微信版：7 天无理由。"),
    ("telegram", "签收后 7 天内可无理由退货。"),
    ("somewhere", "签收后 7 天内可无理由退货。"),
])
async def test_channel_variant(kb, channel, text):
    assert (await answer(tracker(channel=channel)))["text"] == text


@pytest.mark.parametrize("moment, fragment", [
    (datetime(2026, 11, 30, 23, 59, tzinfo=SHOP_TZ), "该活动尚未开始"),
    (datetime(2026, 12, 1, 0, 0, tzinfo=SHOP_TZ), "全场每满 200 减 20"),
    (datetime(2026, 12, 14, 23, 59, tzinfo=SHOP_TZ), "全场每满 200 减 20"),
    (datetime(2026, 12, 15, 0, 0, tzinfo=SHOP_TZ), "该活动已结束"),
])
async def test_time_bounded_entry_outside_its_window(kb, monkeypatch, moment, fragment):
    monkeypatch.setattr(faq, "now", lambda: moment)
    assert fragment in (await answer(tracker("double12_rules")))["text"]


async def test_inactive_answer_replaces_the_default_sentence(kb, monkeypatch):
    entries_file, _ = kb
    entries_file.write_text(entries_file.read_text(encoding="utf-8").replace(
        "    valid_to: 2026-12-14\n",
        "    valid_to: 2026-12-14\n    inactive_answer: 双十二已结束，下次见。\n"), encoding="utf-8")
    monkeypatch.setattr(faq, "now", lambda: datetime(2027, 1, 1, tzinfo=SHOP_TZ))
    assert (await answer(tracker("double12_rules")))["text"] == "双十二已结束，下次见。"


async def test_broken_knowledge_base_falls_back_to_the_compiled_answer_and_says_why(kb, caplog):
    entries_file, _ = kb
    entries_file.write_text("entries:\n\t- id: broken\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="actions.faq"):
        message = await answer(tracker())
    assert message["response"] == "utter_faq/return_policy" and message["text"] is None
    assert "制表符" in caplog.text and "return_policy" in caplog.text


async def test_entry_removed_since_training_falls_back_to_the_compiled_answer(kb):
    message = await answer(tracker("coupon"))
    assert message["response"] == "utter_faq/coupon"


async def test_without_a_selection_asks_to_rephrase(kb):
    message = await answer(tracker(entry_id=None))
    assert message["response"] == "utter_ask_rephrase"


def test_selected_entry_reads_rasa_36_response_selector_output():
    message = tracker("refund_time").latest_message
    assert faq.selected_entry(message) == "refund_time"
    assert faq.selected_entry({"response_selector": {"faq": {"response": {
        "intent_response_key": None}}}}) is None


def test_every_shop_entry_renders_for_every_channel_within_its_limit():
    values = faq.current_policy_values()
    for entry in compiler.load_entries():
        for channel, (limit, unit) in compiler.CHANNEL_LIMITS.items():
            text = compiler.answer_text(entry, channel, IN_WINDOW, values)
            assert "{" not in text and text
            assert compiler._size(text, unit) <= limit


# An action server of its own (a process, as deployed): answers return_policy once per line read.
ACTION_SERVER = """
import asyncio, json, sys
from rasa_sdk.executor import CollectingDispatcher
from actions import faq
from tests.rasa.test_faq_action import tracker

async def answer():
    dispatcher = CollectingDispatcher()
    await faq.ActionAnswerFaq().run(dispatcher, tracker(), {})
    return dispatcher.messages[0]["text"]

for _ in sys.stdin:
    print(json.dumps(asyncio.run(answer()), ensure_ascii=False), flush=True)
"""


def ask(server: subprocess.Popen) -> Optional[str]:
    server.stdin.write("return_policy\n")
    server.stdin.flush()
    return json.loads(server.stdout.readline() or "null")


def test_a_running_action_server_serves_an_edit_saved_in_knowledge_base_dir(tmp_path):
    """Deployed, the editor (a service replica) and the action server are separate containers
    that share only KNOWLEDGE_BASE_DIR's volume."""
    kb_dir = tmp_path / "kb"
    seed.seed(kb_dir)
    edited = "共享卷上的新答案：签收后七天内可无理由退货。"
    server = python_with_kb_dir(["-c", ACTION_SERVER], kb_dir, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
    watchdog = threading.Timer(120, server.kill)
    watchdog.start()
    try:
        before = ask(server)
        save_answer(KnowledgeBase(kb_dir / "entries", kb_dir / "retired",
                                  AuditLog(kb_dir / "audit.jsonl")), "return_policy", edited)
        after = ask(server)
    finally:
        watchdog.cancel()
        server.stdin.close()
        server.wait(timeout=30)
    assert before.startswith("1. 七天无理由退货：符合条件的商品，签收后 7 天内")  # seeded, live
    assert after == edited
