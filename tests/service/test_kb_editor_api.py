"""The FAQ editor's API over the real service app, on a scratch copy of the real entries, with
a Rasa ``/model/parse`` stand-in "trained" on the entries as they were at the start."""
from __future__ import annotations

import json
import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from handoff.records import HandoffRow
from handoff.transcripts import MessageRow
from knowledge_base import compiler
from knowledge_base.audit import AuditLog
from knowledge_base.editor import KnowledgeBase
from service.app import create_app
from service.settings import Settings
from tests.stand_ins.rasa_parse import parse_stand_in
from tests.support import log_in_demo

TOKEN = "rasa-shared-token"
HOSTILE = "<img src=x onerror=alert(1)>"


def new_entry(entry_id: str = "gift_message", **changes) -> dict:
    entry = {"id": entry_id, "title": "礼品留言卡", "skill_group": "general", "tags": ["礼品", "留言"],
             "owner": "运营组", "answer": "下单时在「订单备注」写下留言，我们会手写在卡片上随包裹寄出。",
             "questions": ["可以帮我写张贺卡吗", "能附一张留言卡吗", "包裹里能放祝福卡片吗",
                           "送礼能写祝福语吗", "贺卡留言怎么填写"]}
    return {**entry, **changes}


@pytest.fixture
def kb_dir(tmp_path) -> Path:
    shutil.copytree(compiler.ENTRIES_DIR, tmp_path / "entries")
    return tmp_path


@pytest.fixture
def rasa_parse():
    questions = KnowledgeBase().active_questions()
    with parse_stand_in(questions, TOKEN) as stand_in:
        yield stand_in


@pytest.fixture
def client(fresh_redis_url, kb_dir, rasa_parse):
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{kb_dir}/t.sqlite3",
                        rasa_url=rasa_parse.url, rasa_auth_token=TOKEN, app_token_secret="k" * 40,
                        router_consumers=False)
    app = create_app(settings)
    app.state.kb = KnowledgeBase(kb_dir / "entries", kb_dir / "retired",
                                 AuditLog(kb_dir / "audit.jsonl"))
    with TestClient(app) as test_client:
        yield test_client




def kb_routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.app.openapi()["paths"]
    return [(method.upper(), path.replace("{entry_id}", "return_policy").replace("{proposal_id}", "P1"))
            for path, operations in paths.items() if path.startswith("/api/kb") for method in operations]


def entry(client: TestClient, entry_id: str) -> dict:
    answer = client.get(f"/api/kb/entries/{entry_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def file_entries(kb_dir: Path, name: str) -> dict[str, dict]:
    data = yaml.safe_load((kb_dir / "entries" / name).read_text(encoding="utf-8"))
    return {item["id"]: item for item in data["entries"]}


# --- who may do what ----------------------------------------------------------------------------

def test_every_route_needs_a_session_and_agents_may_only_propose(client):
    routes = kb_routes(client)
    assert len(routes) >= 14
    client.cookies.clear()
    for method, path in routes:
        answer = client.request(method, path, json={})
        assert answer.status_code == 401, (method, path)
        assert answer.json()["error"]["message"] == "请先登录"
    for username in ("agent1", "supervisor1"):
        log_in_demo(client, username)
        for method, path in routes:
            if path in ("/api/kb/me", "/api/kb/logout", "/api/kb/proposals") and method != "GET" \
                    or path == "/api/kb/me":
                continue
            answer = client.request(method, path, json={})
            assert answer.status_code == 403, (username, method, path)
            assert answer.json()["error"]["message"] == "只有内容编辑可以管理知识库"


def test_editors_cannot_claim_or_propose(client):
    log_in_demo(client, "editor1")
    assert client.post("/api/agent/claim-next").status_code == 403
    assert client.get("/api/agent/queue").status_code == 403
    answer = client.post("/api/kb/proposals", json={"handoff_id": "h1", "question": "q", "answer": "a"})
    assert answer.status_code == 403
    assert client.get("/api/kb/me").json()["agent"]["role"] == "editor"


# --- list, search, create, edit, retire -----------------------------------------------------------

def test_list_and_search_fold_traditional_characters(client):
    log_in_demo(client, "editor1")
    listed = client.get("/api/kb/entries").json()
    assert len(listed["entries"]) == len(KnowledgeBase().active_questions())
    assert "returns" in listed["files"]
    found = [e["id"] for e in client.get("/api/kb/entries", params={"q": "退貨 運費"}).json()["entries"]]
    assert "return_shipping_fee" in found and "invoice" not in found


def test_create_edit_retire_and_restore_write_tidy_yaml_and_the_audit_log(client, kb_dir):
    log_in_demo(client, "editor1")
    untouched = (kb_dir / "entries" / "returns.yml").read_text(encoding="utf-8")
    created = client.post("/api/kb/entries", json={"file": "service", "entry": new_entry()})
    assert created.status_code == 201, created.text
    assert file_entries(kb_dir, "service.yml")["gift_message"]["questions"][0] == "可以帮我写张贺卡吗"
    assert (kb_dir / "entries" / "returns.yml").read_text(encoding="utf-8") == untouched

    current = entry(client, "gift_message")
    edited = new_entry(answer="改了：留言请写在备注里。")
    saved = client.put("/api/kb/entries/gift_message",
                       json={"version": current["version"], "entry": edited})
    assert saved.status_code == 200, saved.text
    assert file_entries(kb_dir, "service.yml")["gift_message"]["answer"].strip() == "改了：留言请写在备注里。"
    # Nothing else in the file moved: only the entry's own lines changed.
    assert compiler.load_entries(kb_dir / "entries")

    retired = client.post("/api/kb/entries/gift_message/retire",
                          json={"version": saved.json()["version"]})
    assert retired.status_code == 200 and retired.json()["retired"] is True
    assert "gift_message" not in file_entries(kb_dir, "service.yml")
    retired_file = yaml.safe_load((kb_dir / "retired" / "service.yml").read_text(encoding="utf-8"))
    assert [item["id"] for item in retired_file["entries"]] == ["gift_message"]
    assert "gift_message" not in {e.id for e in compiler.load_entries(kb_dir / "entries")}

    restored = client.post("/api/kb/entries/gift_message/restore",
                           json={"version": retired.json()["version"]})
    assert restored.status_code == 200 and restored.json()["retired"] is False
    assert not (kb_dir / "retired" / "service.yml").exists()

    lines = [json.loads(line) for line in (kb_dir / "audit.jsonl").read_text().splitlines()]
    assert [line["action"] for line in lines] == ["create", "edit", "retire", "restore"]
    assert lines[1]["who"]["username"] == "editor1"
    assert lines[1]["changes"]["answer"]["after"] == "改了：留言请写在备注里。"
    assert [r["action"] for r in client.get("/api/kb/audit", params={"entry_id": "gift_message"}).json()] \
        == ["restore", "retire", "edit", "create"]


def test_required_entries_cannot_be_retired(client):
    log_in_demo(client, "editor1")
    version = entry(client, "return_policy")["version"]
    answer = client.post("/api/kb/entries/return_policy/retire", json={"version": version})
    assert answer.status_code == 409
    assert "不能下线" in answer.json()["error"]["message"]


def test_the_second_of_two_saves_from_one_version_gets_a_conflict(client, kb_dir):
    log_in_demo(client, "editor1")
    start = entry(client, "refund_time")
    first = {**start["entry"], "answer": "第一位编辑的答案"}
    second = {**start["entry"], "answer": "第二位编辑的答案"}
    first.pop("updated_at"), second.pop("updated_at")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def save(body: dict) -> None:
        barrier.wait()
        results.append(client.put("/api/kb/entries/refund_time",
                                  json={"version": start["version"], "entry": body}).status_code)
    threads = [threading.Thread(target=save, args=(body,)) for body in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    kept = file_entries(kb_dir, "returns.yml")["refund_time"]["answer"].strip()
    assert kept in ("第一位编辑的答案", "第二位编辑的答案")
    late = client.put("/api/kb/entries/refund_time", json={"version": start["version"], "entry": first})
    assert late.json()["error"]["code"] == "conflict"
    assert "刷新后" in late.json()["error"]["message"]


# --- hostile input ---------------------------------------------------------------------------------

def test_html_in_questions_and_answers_is_kept_as_text(client, kb_dir):
    log_in_demo(client, "editor1")
    body = new_entry("html_entry", title=HOSTILE[:40], answer=f"{HOSTILE}\n<script>alert(2)</script>",
                     questions=[f"{HOSTILE}吗", "<b>粗体</b>是什么", "a: b 这是什么", "- 开头的问法",
                                "'引号' 和 \"双引号\""])
    answer = client.post("/api/kb/entries", json={"file": "service", "entry": body})
    assert answer.status_code == 201, answer.text
    stored = file_entries(kb_dir, "service.yml")["html_entry"]
    assert stored["questions"] == body["questions"]
    assert stored["answer"].strip() == body["answer"]


@pytest.mark.parametrize("changes, field, words", [
    ({"questions": ["a"] * 10_000}, "questions", "问法太多"),
    ({"answer": "长" * 3000}, "answer", "过长"),
    ({"answer": "含\x00二进制\x07"}, "answer", "控制字符"),
    ({"questions": ["可以帮我写张贺卡吗"]}, "questions", "至少需要 5 项"),
    ({"questions": new_entry()["questions"][:4] + ["退货运费谁出"]}, "questions", "同一句话只能属于一条 FAQ"),
    ({"answer": "{returns.nonsense} 天"}, "answer", "returns.nonsense"),
    ({"id": "Bad-Id"}, "id", "snake_case"),
    ({"tags": []}, "tags", "至少需要 1 个标签"),
])
def test_bad_entries_get_a_chinese_message_naming_the_field_and_nothing_is_written(
        client, kb_dir, changes, field, words):
    log_in_demo(client, "editor1")
    before = {path.name: path.read_bytes() for path in (kb_dir / "entries").glob("*.yml")}
    answer = client.post("/api/kb/entries", json={"file": "service", "entry": new_entry(**changes)})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["message"].startswith("未保存：")
    assert any(p["field"] == field and words in p["message"] for p in error["problems"]), error
    assert {path.name: path.read_bytes() for path in (kb_dir / "entries").glob("*.yml")} == before
    assert not (kb_dir / "audit.jsonl").exists()


def test_a_megabyte_answer_and_binary_bodies_are_refused_whole(client, kb_dir):
    log_in_demo(client, "editor1")
    before = (kb_dir / "entries" / "service.yml").read_bytes()
    huge = client.post("/api/kb/entries",
                       json={"file": "service", "entry": new_entry(answer="长" * 1_000_000)})
    assert huge.status_code == 413
    binary = client.post("/api/kb/entries", content=b"\x89PNG\x00\xff\xfe",
                         headers={"Content-Type": "application/json"})
    # service/errors.py answers an unparsable body with 400 (its message is FastAPI's English).
    assert binary.status_code == 400 and binary.json()["error"]["code"] == "http_400"
    assert (kb_dir / "entries" / "service.yml").read_bytes() == before


def test_the_id_cannot_change_and_unknown_entries_are_404(client):
    log_in_demo(client, "editor1")
    current = entry(client, "invoice")
    body = {**current["entry"], "id": "invoice2"}
    answer = client.put("/api/kb/entries/invoice", json={"version": current["version"], "entry": body})
    assert answer.status_code == 422 and answer.json()["error"]["problems"][0]["field"] == "id"
    assert client.get("/api/kb/entries/nope").status_code == 404


# --- preview and regression -----------------------------------------------------------------------

def test_preview_shows_the_models_answer_runner_up_and_the_estimate_with_a_draft(client, rasa_parse):
    log_in_demo(client, "editor1")
    answer = client.post("/api/kb/preview", json={"text": "退货运费谁来出", "entry": new_entry()}).json()
    assert answer["model"]["entry_id"] == "return_shipping_fee"
    assert answer["model"]["runner_up"] and answer["model"]["runner_up"] != "return_shipping_fee"
    assert 0 < answer["model"]["confidence"] <= 1
    new = client.post("/api/kb/preview", json={"text": "能帮我写张贺卡吗", "entry": new_entry()}).json()
    assert new["estimate_with_draft"][0]["entry_id"] == "gift_message"
    assert new["model"]["entry_id"] != "gift_message"  # the model is not retrained yet
    assert "能帮我写张贺卡吗" in rasa_parse.parsed


def test_regression_lists_held_out_and_customer_questions_that_would_change(client, rasa_parse):
    with Session(client.app.state.transcripts.engine) as session, session.begin():
        session.add(MessageRow(conversation_id="app:C1", channel="app", direction="in",
                               text="我的贺卡留言写错了 13812345678", created_at=datetime.now(timezone.utc)))
    log_in_demo(client, "editor1")
    # Stealing a held-out question of return_shipping_fee into another entry.
    current = entry(client, "invoice")
    body = {**current["entry"], "questions": current["entry"]["questions"] + ["退货邮费要我出吗"]}
    body.pop("updated_at")
    result = client.post("/api/kb/regression",
                         json={"action": "edit", "entry_id": "invoice", "entry": body}).json()
    assert result["model_available"] and result["questions_changed"]
    assert result["replayed"]["heldout"] > 30 and result["replayed"]["customer"] == 1
    row = next(r for r in result["changes"] if r["text"] == "退货邮费要我出吗")
    assert (row["expected"], row["now"], row["after"], row["verdict"]) == \
        ("return_shipping_fee", "return_shipping_fee", "invoice", "broken")
    assert 0 < result["heldout_model_top1"] <= 1

    created = client.post("/api/kb/regression",
                          json={"action": "create", "entry_id": "gift_message", "entry": new_entry()}).json()
    customer = next(r for r in created["changes"] if r["source"] == "customer")
    assert customer["after"] == "gift_message" and "13812345678" not in customer["text"]


def test_an_answer_edit_lists_the_questions_answered_with_the_entry(client):
    log_in_demo(client, "editor1")
    current = entry(client, "refund_time")
    body = {**current["entry"], "answer": "新答案"}
    body.pop("updated_at")
    result = client.post("/api/kb/regression",
                         json={"action": "edit", "entry_id": "refund_time", "entry": body}).json()
    assert not result["questions_changed"]
    assert result["changes"] and {r["now"] for r in result["changes"]} == {"refund_time"}
    assert {r["verdict"] for r in result["changes"]} == {"new_text"}


def test_without_the_model_the_check_still_gives_the_estimate(client, rasa_parse):
    rasa_parse.down = True
    log_in_demo(client, "editor1")
    result = client.post("/api/kb/regression",
                         json={"action": "create", "entry_id": "gift_message", "entry": new_entry()}).json()
    assert result["model_available"] is False and "模型暂时无法访问" in result["model_error"]
    preview = client.post("/api/kb/preview", json={"text": "退货运费谁来出"}).json()
    assert preview["model"] is None and preview["estimate"][0]["entry_id"] == "return_shipping_fee"


def test_the_confusion_check_reports_pairs_over_ten_percent(client, rasa_parse):
    log_in_demo(client, "editor1")
    result = client.get("/api/kb/confusion").json()
    assert result["limit"] == 0.1 and result["replayed"] > 400
    assert all(pair["rate"] > 0.1 for pair in result["pairs"])


# --- learning from agents ----------------------------------------------------------------------

def seed_not_understood(engine) -> None:
    now = datetime.now(timezone.utc)
    texts = ["能开增值税专票吗", "可以开增值税专用发票吗", "增值税专票能开不", "你们卖不卖猫粮"]
    with Session(engine) as session, session.begin():
        for number, text in enumerate(texts):
            conversation = f"app:N{number}"
            session.add(MessageRow(conversation_id=conversation, channel="app", direction="in",
                                   text=text, created_at=now - timedelta(minutes=10)))
            session.add(HandoffRow(id=f"H{number}", conversation_id=conversation, channel="app",
                                   customer_id=None, reason="not_understood", skill_group="general",
                                   tier="regular", status="closed", summary="", packet="",
                                   resolution="resolved", created_at=now - timedelta(minutes=9)))


def test_an_agent_proposes_and_an_editor_decides(client):
    seed_not_understood(client.app.state.transcripts.engine)
    log_in_demo(client, "agent1")
    missing = client.post("/api/kb/proposals", json={"handoff_id": "nope", "question": "q", "answer": "a"})
    assert missing.status_code == 404
    made = client.post("/api/kb/proposals", json={"handoff_id": "H0", "question": HOSTILE,
                                                   "answer": "可以，在订单页申请专票。"})
    assert made.status_code == 201, made.text
    assert client.get("/api/kb/proposals").status_code == 403
    log_in_demo(client, "editor1")
    [pending] = client.get("/api/kb/proposals").json()["proposals"]
    assert pending["question"] == HOSTILE and pending["proposed_by"] == "客服小王"
    decided = client.post(f"/api/kb/proposals/{pending['id']}/decision",
                          json={"status": "accepted", "entry_id": "invoice"})
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    again = client.post(f"/api/kb/proposals/{pending['id']}/decision", json={"status": "rejected"})
    assert again.status_code == 409
    assert client.get("/api/kb/proposals").json()["proposals"] == []


def test_the_backlog_groups_similar_not_understood_questions_by_volume(client):
    seed_not_understood(client.app.state.transcripts.engine)
    log_in_demo(client, "editor1")
    groups = client.get("/api/kb/backlog").json()["groups"]
    assert [group["count"] for group in groups] == [3, 1]
    assert "增值税" in groups[0]["question"] and groups[0]["closest_entry"] == "invoice"
    assert groups[1]["examples"] == ["你们卖不卖猫粮"]
