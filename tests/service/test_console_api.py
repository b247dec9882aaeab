"""The agent console's API over the real service app: authorisation on every route, then the
whole loop: queue → claim → talk → close → the customer rates the service."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from channels import app_auth
from handoff.console_api import COOKIE
from handoff.records import HandoffRecords
from service.app import create_app
from service.settings import Settings
from tests.support import eventually

SECRET = "c" * 40


@pytest.fixture
def client(fresh_redis_url, tmp_path, rasa):
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{tmp_path}/t.sqlite3",
                        rasa_url=rasa.url, app_token_secret=SECRET, bot_timeout_seconds=5,
                        handoff_hours="00:00-00:00")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def login(client: TestClient, username: str = "agent1", password: str = "agent1-demo-password"):
    client.cookies.clear()
    return client.post("/api/agent/login", json={"username": username, "password": password})


def customer_says(client: TestClient, customer: str, text: str, message_id: str) -> dict:
    token = app_auth.sign(customer, SECRET, 600)
    saved = dict(client.cookies)
    client.cookies.clear()
    try:
        answer = client.post("/api/app/messages", headers={"Authorization": f"Bearer {token}"},
                             json={"client_message_id": message_id, "text": text})
    finally:
        client.cookies.update(saved)
    assert answer.status_code == 200, answer.text
    return answer.json()


def outbox(client: TestClient, customer: str) -> list[str]:
    token = app_auth.sign(customer, SECRET, 600)
    frames = client.get("/api/app/outbox", headers={"Authorization": f"Bearer {token}"}).json()
    return [reply["text"] for frame in frames for reply in frame["replies"]]


def console_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every documented console route but login, with a placeholder id."""
    paths = client.app.openapi()["paths"]
    return [(method.upper(), path.replace("{handoff_id}", "h1")) for path, operations in paths.items()
            if path.startswith("/api/agent") and path != "/api/agent/login" for method in operations]


def test_every_console_route_needs_a_logged_in_agent(client):
    routes = console_routes(client)
    assert len(routes) >= 8
    client.cookies.clear()
    for method, path in routes:
        answer = client.request(method, path, json={"text": "x", "resolution": "resolved"})
        assert answer.status_code == 401, (method, path)
        assert answer.json()["error"]["code"] == "unauthorized"
    assert login(client, "editor1", "editor1-demo-password").status_code == 200
    for method, path in routes:
        answer = client.request(method, path, json={"text": "x", "resolution": "resolved"})
        assert answer.status_code == 403, (method, path)  # editors do not serve customers


def test_the_console_socket_needs_a_session(client):
    from starlette.websockets import WebSocketDisconnect
    client.cookies.clear()
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/api/agent/ws") as ws:
        ws.receive_text()
    assert closed.value.code == 4401


@pytest.mark.parametrize("username, password", [
    ("agent1", "wrong"), ("nobody", "agent1-demo-password"), ("agent1", "agent1-demo-password ")])
def test_a_wrong_login_is_refused_in_chinese(client, username, password):
    answer = login(client, username, password)
    assert answer.status_code == 401 and answer.json()["error"]["message"] == "用户名或密码错误"
    assert COOKIE not in answer.cookies


@pytest.mark.parametrize("body", [{}, {"username": "agent1"}, {"username": "", "password": "x"},
                                  {"username": "a" * 65, "password": "x"}, [1, 2]])
def test_a_malformed_login_is_422(client, body):
    assert client.post("/api/agent/login", json=body).status_code == 422


def test_login_sets_an_http_only_session_that_logout_ends(client):
    answer = login(client)
    assert answer.status_code == 200 and answer.json()["agent"]["name"] == "客服小王"
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    session = client.cookies[COOKIE]
    assert client.get("/api/agent/me").status_code == 200
    assert client.post("/api/agent/logout").status_code == 204
    client.cookies.set(COOKIE, session)  # a copied cookie is dead too
    assert client.get("/api/agent/me").status_code == 401


def test_the_whole_loop_from_queue_to_satisfaction(client, rasa):
    assert login(client).status_code == 200  # an agent is on duty
    customer_says(client, "C0101", "转人工", "m1")
    waiting = client.get("/api/agent/queue").json()["waiting"]
    assert [(h["conversation_id"], h["group"], h["tier"], h["reason"]) for h in waiting] == [
        ("app:C0101", "returns", "vip", "customer_request")]
    handoff_id = waiting[0]["handoff_id"]
    summary = client.get(f"/api/agent/handoffs/{handoff_id}")
    assert summary.status_code == 403  # not the agent's until claimed
    assert client.post(f"/api/agent/handoffs/{handoff_id}/claim").status_code == 200
    assert client.post(f"/api/agent/handoffs/{handoff_id}/claim").status_code == 409
    assert "诉求" in client.get(f"/api/agent/handoffs/{handoff_id}").json()["summary"]

    hostile = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    quiet = customer_says(client, "C0101", hostile, "m2")
    assert quiet["replies"] == []  # the bot stays silent while a human owns the conversation
    assert rasa.calls == [("app:C0101", "转人工")]
    detail = client.get(f"/api/agent/handoffs/{handoff_id}").json()
    assert detail["transcript"][-1] == {**detail["transcript"][-1], "author": "customer",
                                        "text": hostile}

    assert client.post(f"/api/agent/handoffs/{handoff_id}/messages",
                       json={"text": "您好，我是客服小王"}).status_code == 200
    eventually(lambda: "您好，我是客服小王" in outbox(client, "C0101"))
    authors = [line["author"] for line in client.get(f"/api/agent/handoffs/{handoff_id}").json()
               ["transcript"]]
    assert authors[-1] == "agent"

    assert client.post(f"/api/agent/handoffs/{handoff_id}/close",
                       json={"resolution": "resolved"}).status_code == 200
    eventually(lambda: any("满意" in text for text in outbox(client, "C0101")))
    thanks = customer_says(client, "C0101", "5", "m3")
    assert thanks["replies"][0]["text"].startswith("感谢您的评价")
    records = HandoffRecords(client.app.state.transcripts.engine)
    assert records.rating(handoff_id) == 5
    [row] = records.of_conversation("app:C0101")
    assert (row.status, row.resolution) == ("closed", "resolved")
    after = customer_says(client, "C0101", "还有个问题", "m4")
    assert after["replies"][0]["text"] == "收到：还有个问题"  # the bot is back


def test_another_agent_cannot_read_answer_or_close(client):
    login(client)
    customer_says(client, "C0102", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    login(client, "supervisor1", "supervisor1-demo-password")
    assert client.get(f"/api/agent/handoffs/{handoff_id}").status_code == 403
    assert client.post(f"/api/agent/handoffs/{handoff_id}/messages",
                       json={"text": "越权"}).status_code == 403
    assert client.post(f"/api/agent/handoffs/{handoff_id}/close",
                       json={"resolution": "resolved"}).status_code == 403
    assert client.post("/api/agent/claim-next").json()["error"]["code"] == "empty"
    redis = Redis.from_url(client.app.state.settings.redis_url)
    assert redis.get("xs:mode:app:C0102") == b"human"


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "长" * 2001}, {}, {"resolution": "maybe"}])
def test_malformed_agent_requests_are_422(client, body):
    login(client)
    customer_says(client, "C0103", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    path = "close" if "resolution" in body else "messages"
    assert client.post(f"/api/agent/handoffs/{handoff_id}/{path}", json=body).status_code == 422


def test_with_nobody_on_duty_a_ticket_is_answered_later(client):
    told = customer_says(client, "C0104", "转人工", "m1")["replies"][-1]["text"]
    assert told.startswith("人工客服暂时不在线") and "前回复您" in told
    login(client)
    [ticket] = client.get("/api/agent/tickets").json()
    assert (ticket["conversation_id"], ticket["tier"], ticket["status"], ticket["overdue"],
            ticket["window_open"]) == ("app:C0104", "vip", "open", False, True)
    assert ticket["ticket_id"] in told
    assert ticket["summary"].startswith("诉求：") and "转人工原因：客户要求人工" in ticket["summary"]
    answer = client.post(f"/api/agent/tickets/{ticket['ticket_id']}/reply",
                         json={"text": "您好，关于您的问题……", "close": True})
    assert answer.status_code == 200
    eventually(lambda: "您好，关于您的问题……" in outbox(client, "C0104"))
    assert client.get("/api/agent/tickets").json() == []


def test_a_wechat_ticket_cannot_be_answered_after_48_hours(client):
    from datetime import datetime, timedelta, timezone

    from handoff.records import TicketRow
    records = HandoffRecords(client.app.state.transcripts.engine)
    now = datetime.now(timezone.utc)
    records.open_ticket(TicketRow(id="TOLD1", conversation_id="wechat:oOld", channel="wechat",
                                  customer_id=None, skill_group="general", tier="regular",
                                  reason="customer_request", status="open",
                                  due_at=now - timedelta(hours=1), created_at=now - timedelta(days=3)))
    Redis.from_url(client.app.state.settings.redis_url).set("xs:last-at:wechat:oOld",
                                                            time.time() - 49 * 3600)
    login(client)
    [ticket] = client.get("/api/agent/tickets").json()
    assert ticket["window_open"] is False and ticket["overdue"] is True
    refused = client.post("/api/agent/tickets/TOLD1/reply", json={"text": "您好"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "window_closed"
    assert client.post("/api/agent/tickets/NOPE/reply", json={"text": "您好"}).status_code == 404


def test_notes_stay_internal_and_a_transfer_puts_the_customer_first_in_the_other_group(client):
    login(client)
    customer_says(client, "C0105", "转人工", "m1")   # the stand-in bot asks for `returns`
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    assert client.post(f"/api/agent/handoffs/{handoff_id}/notes",
                       json={"text": "客户情绪激动，注意安抚"}).status_code == 200
    moved = client.post(f"/api/agent/handoffs/{handoff_id}/transfer",
                        json={"group": "quality", "note": "其实是质量问题，请质检跟进"})
    assert moved.status_code == 200
    waiting = client.get("/api/agent/queue").json()
    assert [(h["handoff_id"], h["group"]) for h in waiting["waiting"]] == [(handoff_id, "quality")]
    assert waiting["mine"] == []
    client.post(f"/api/agent/handoffs/{handoff_id}/claim")
    notes = client.get(f"/api/agent/handoffs/{handoff_id}").json()["notes"]
    assert [n["text"] for n in notes] == ["客户情绪激动，注意安抚", "其实是质量问题，请质检跟进"]
    assert not any("注意安抚" in text for text in outbox(client, "C0105"))  # never to the customer
    assert client.post(f"/api/agent/handoffs/{handoff_id}/transfer",
                       json={"group": "sales"}).status_code == 422


def test_canned_replies_are_searchable(client):
    login(client)
    every = client.get("/api/agent/canned-replies").json()
    assert len(every) >= 8 and all(entry["text"] for entry in every)
    found = client.get("/api/agent/canned-replies", params={"q": "物流 签收"}).json()
    assert [entry["title"] for entry in found] == ["签收未收到"]
    assert client.get("/api/agent/canned-replies", params={"q": "<script>"}).json() == []


def test_the_supervisor_sees_queues_load_and_overdue_tickets(client):
    customer_says(client, "C0106", "转人工", "m1")    # nobody on duty yet: a ticket
    login(client)
    customer_says(client, "C0107", "转人工", "m1")    # now queued
    client.post("/api/agent/claim-next")
    customer_says(client, "C0108", "转人工", "m1")
    assert client.get("/api/agent/supervisor").status_code == 403  # agents do not
    login(client, "supervisor1", "supervisor1-demo-password")
    view = client.get("/api/agent/supervisor").json()
    assert view["groups"]["returns"]["waiting"] == 1
    assert view["groups"]["returns"]["longest_wait_seconds"] >= 0
    assert sum(view["agents"].values()) == 1
    assert view["tickets"] == {"open": 1, "overdue": 0}


def test_password_guessing_is_stopped(client):
    for _ in range(5):
        assert login(client, "agent1", "guess").status_code == 401
    locked = login(client)  # even the right password waits now
    assert locked.status_code == 429 and "15 分钟" in locked.json()["error"]["message"]
    Redis.from_url(client.app.state.settings.redis_url).delete(
        "xs:login-failures:user:agent1", "xs:login-failures:ip:testclient")
    assert login(client).status_code == 200


FACTS = {  # as actions/escalation.py sends them: the receiver in full, the service masks
    "order": {"id": "2611201234567890", "status": "in_transit", "status_label": "运输中",
              "items": [{"name": "男士轻薄羽绒服", "sku": "AP-1", "quantity": 1}],
              "total_display": "¥399.00", "receiver_name": "张伟", "receiver_phone": "13812345678",
              "address": "上海市浦东新区张江路 100 号 2 栋 301", "created_at": "2026-11-20T08:00:00+00:00"},
    "logistics": {"courier": "顺丰速运", "tracking_number": "SF1234567890123", "status": "in_transit",
                  "events": [{"time": "2026-11-25T10:00:00+00:00", "location": "上海",
                              "description": "派送中，派送员电话 13987654321"}]},
    "action_log": [{"action": "action_logistics", "at": "2026-11-25T10:05:00+00:00",
                    "outcome": "unavailable", "order_id": "2611201234567890",
                    "detail": "<img src=x onerror=alert(1)>", "calls": [
                        {"call": "GET /orders/2611201234567890/shipment", "outcome": "unavailable",
                         "ms": 3001}]}, "junk", {"no": "action"}],
}


def test_the_agent_sees_the_order_logistics_and_what_the_bot_did_masked(client, rasa):
    rasa.facts = FACTS
    login(client)
    customer_says(client, "C0110", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    answer = client.get(f"/api/agent/handoffs/{handoff_id}")
    detail = answer.json()
    packet = detail["packet"]
    assert packet["order"] == {**packet["order"], "id": "2611201234567890", "status_label": "运输中",
                               "receiver": "张* 138****5678", "address": "上海市浦东新区****"}
    assert packet["order"]["items"] == [{"name": "男士轻薄羽绒服", "quantity": 1}]
    assert packet["logistics"]["tracking_number"] == "SF1234567890123"
    assert "13987654321" not in packet["logistics"]["events"][0]["description"]
    [entry] = packet["action_log"]  # the malformed entries are left out
    assert (entry["label"], entry["outcome_label"], entry["calls"][0]["ms"]) == (
        "查询物流", "系统无响应", 3001)
    assert "订单概况：订单 2611201234567890" in detail["summary"]
    assert "查询物流（失败）" in detail["summary"]
    for secret in ("13812345678", "13987654321", "张江路", "张伟"):
        assert secret not in answer.text
    [row] = HandoffRecords(client.app.state.transcripts.engine).of_conversation("app:C0110")
    assert "138****5678" in row.packet and "13812345678" not in row.packet


def test_a_handoff_without_facts_has_an_empty_panel(client):
    login(client)
    customer_says(client, "C0111", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    packet = client.get(f"/api/agent/handoffs/{handoff_id}").json()["packet"]
    assert packet == {"order": None, "logistics": None, "action_log": [], "rule": None}


def test_closing_into_a_chosen_flow_lets_the_bot_carry_on_then_asks_for_a_rating(client, rasa):
    login(client)
    customer_says(client, "C0112", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    assert client.post(f"/api/agent/handoffs/{handoff_id}/close", json={
        "resolution": "resolved",
        "resume": {"intent": "query_logistics", "order_id": "2611201234567890"}}).status_code == 200
    resumed = '/query_logistics{"order_id": "2611201234567890"}'
    eventually(lambda: any("满意" in text for text in outbox(client, "C0112")))
    texts = outbox(client, "C0112")
    assert texts.index(f"收到：{resumed}") < next(i for i, t in enumerate(texts) if "满意" in t)
    assert rasa.calls[-1] == ("app:C0112", resumed)
    assert customer_says(client, "C0112", "4", "m2")["replies"][0]["text"].startswith("感谢您的评价")
    assert HandoffRecords(client.app.state.transcripts.engine).rating(handoff_id) == 4
    client.post(f"/api/agent/handoffs/{handoff_id}/close", json={"resolution": "resolved"})
    typed = [line.text for line in client.app.state.transcripts.conversation("app:C0112")
             if line.direction == "in"]
    assert typed == ["转人工", "4"]  # the resume is not something the customer wrote


@pytest.mark.parametrize("resume", [{"intent": "delete_everything"}, {"intent": "query_order",
                                    "order_id": "123"}, {"order_id": "2611201234567890"}, "x"])
def test_a_malformed_resume_is_422_and_the_conversation_stays_open(client, resume):
    login(client)
    customer_says(client, "C0113", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    assert client.post(f"/api/agent/handoffs/{handoff_id}/close",
                       json={"resolution": "resolved", "resume": resume}).status_code == 422
    assert client.get("/api/agent/queue").json()["mine"][0]["handoff_id"] == handoff_id


def test_the_supervisor_sees_each_wait_against_its_tiers_target(fresh_redis_url, tmp_path, rasa):
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{tmp_path}/t.sqlite3",
                        rasa_url=rasa.url, app_token_secret=SECRET, bot_timeout_seconds=5,
                        handoff_hours="00:00-00:00", handoff_wait_seconds="vip=0.001,regular=900")
    with TestClient(create_app(settings)) as client:
        login(client)
        customer_says(client, "C0114", "转人工", "m1")  # the stand-in says: a VIP
        login(client, "supervisor1", "supervisor1-demo-password")
        eventually(lambda: client.get("/api/agent/supervisor").json()["groups"]["returns"]["breached"])
        view = client.get("/api/agent/supervisor").json()
        [wait] = view["groups"]["returns"]["waits"]
        assert (wait["tier"], wait["target_seconds"], wait["breached"]) == ("vip", 0.001, True)
        assert view["wait_targets"] == {"vip": 0.001, "potential": 120.0, "regular": 900.0}
        assert view["groups"]["logistics"] == {**view["groups"]["logistics"], "waiting": 0,
                                               "breached": 0, "waits": []}


@pytest.mark.parametrize("text", ["vip=0", "gold=2", "vip", "vip=x"])
def test_service_level_targets_that_make_no_sense_are_refused(text):
    from handoff.desk import ServiceHours
    with pytest.raises(ValueError):
        ServiceHours.parse("09:00-22:00", text)


def test_consoles_are_told_at_once_when_the_queue_changes(client):
    """Queue changes go on the stream the console sockets follow (not only the 5 s poll)."""
    redis = Redis.from_url(client.app.state.settings.redis_url)
    login(client)
    customer_says(client, "C0115", "转人工", "m1")
    client.post("/api/agent/claim-next")
    customer_says(client, "C0116", "转人工", "m1")
    customer_says(client, "C0116", "不用了", "m2")
    events = [(fields.get(b"event"), fields.get(b"group"))
              for _, fields in redis.xrange("xs:to-agents") if b"event" in fields]
    assert events == [(b"queued", b"returns"), (b"claimed", None), (b"queued", b"returns"),
                      (b"cancelled", None)]


def agent_id(client: TestClient, username: str, password: str) -> str:
    return client.app.state.agents.authenticate(username, password).id


def test_a_conversation_goes_straight_to_a_colleague_with_a_note(client):
    login(client, "supervisor1", "supervisor1-demo-password")  # on duty (seen at login)
    supervisor = agent_id(client, "supervisor1", "supervisor1-demo-password")
    login(client)
    customer_says(client, "C0117", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    colleagues = client.get("/api/agent/colleagues").json()
    assert [(c["id"], c["name"], c["load"]) for c in colleagues] == [(supervisor, "主管小李", 0)]
    moved = client.post(f"/api/agent/handoffs/{handoff_id}/transfer",
                        json={"agent_id": supervisor, "note": "VIP 客户，请主管亲自跟进"})
    assert moved.status_code == 200, moved.text
    assert client.get("/api/agent/queue").json()["mine"] == []
    assert client.get(f"/api/agent/handoffs/{handoff_id}").status_code == 403
    login(client, "supervisor1", "supervisor1-demo-password")
    assert [h["handoff_id"] for h in client.get("/api/agent/queue").json()["mine"]] == [handoff_id]
    detail = client.get(f"/api/agent/handoffs/{handoff_id}").json()
    assert [n["text"] for n in detail["notes"]] == ["VIP 客户，请主管亲自跟进"]
    assert client.post(f"/api/agent/handoffs/{handoff_id}/messages",
                       json={"text": "您好，我是主管小李"}).status_code == 200
    eventually(lambda: "您好，我是主管小李" in outbox(client, "C0117"))


EVERY_GROUP = ["logistics", "returns", "quality", "general"]


@pytest.mark.parametrize("colleague, status, code", [
    ("agent1", 404, "no_colleague"), ("editor1", 404, "no_colleague"), (None, 404, "no_colleague"),
    ("offline1", 409, "offline"), ("busy1", 409, "full")])
def test_a_transfer_to_a_colleague_who_cannot_take_it_keeps_the_conversation(client, colleague,
                                                                            status, code):
    agents = client.app.state.agents
    ids = {"agent1": agent_id(client, "agent1", "agent1-demo-password"),
           "editor1": agent_id(client, "editor1", "editor1-demo-password"),
           "offline1": agents.add("offline1", "客服小赵", "agent", EVERY_GROUP, 3, "pw-offline1").id,
           "busy1": agents.add("busy1", "客服小钱", "agent", EVERY_GROUP, 1, "pw-busy1").id,
           None: "A000000000000"}
    login(client, "busy1", "pw-busy1")  # on duty, and busy with one customer: full
    customer_says(client, "C0118", "转人工", "m1")
    assert client.post("/api/agent/claim-next").status_code == 200
    login(client)
    customer_says(client, "C0119", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    answer = client.post(f"/api/agent/handoffs/{handoff_id}/transfer",
                         json={"agent_id": ids[colleague]})
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert [h["handoff_id"] for h in client.get("/api/agent/queue").json()["mine"]] == [handoff_id]


@pytest.mark.parametrize("body", [{"group": "quality", "agent_id": "A1"}, {"note": "x"},
                                  {"agent_id": ""}, {"agent_id": "a" * 65}])
def test_a_transfer_names_exactly_one_target(client, body):
    login(client)
    customer_says(client, "C0120", "转人工", "m1")
    handoff_id = client.post("/api/agent/claim-next").json()["handoff"]["handoff_id"]
    assert client.post(f"/api/agent/handoffs/{handoff_id}/transfer", json=body).status_code == 422
