"""The app channel's HTTP edge with a real Redis (streams and consumers) and SQLite, and no
Rasa behind it: the customer gets a Chinese apology, the conversation is escalated with reason
``bot_unavailable``, and a retry of the same message is answered from what was recorded."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from channels import app_auth
from channels.router import BOT_UNAVAILABLE_TEXT
from handoff.records import HandoffRecords
from service.app import create_app
from service.settings import Settings
from tests.support import free_port

SECRET = "test-secret-" + "x" * 32


@pytest.fixture
def client(fresh_redis_url, tmp_path):
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{tmp_path}/t.sqlite3",
                        rasa_url=f"http://127.0.0.1:{free_port()}", app_token_secret=SECRET,
                        bot_timeout_seconds=2, xs_env="production", handoff_hours="00:00-00:00")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def auth(customer_id: str = "C0001") -> dict[str, str]:
    return {"Authorization": f"Bearer {app_auth.sign(customer_id, SECRET, 300)}"}


def test_message_without_token_is_refused_in_chinese(client):
    response = client.post("/api/app/messages", json={"client_message_id": "a1", "text": "你好"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "登录" in response.json()["error"]["message"]


def test_forged_token_is_refused(client):
    token = app_auth.sign("C0001", "another-secret" * 3, 300)
    response = client.post("/api/app/messages", headers={"Authorization": f"Bearer {token}"},
                           json={"client_message_id": "a1", "text": "你好"})
    assert response.status_code == 401


@pytest.mark.parametrize("body", [
    {"client_message_id": "a1"},
    {"client_message_id": "a1", "text": ""},
    {"client_message_id": "a1", "text": "   \x00\x07  "},
    {"client_message_id": "a1", "text": "好" * 2001},
    {"client_message_id": "含中文", "text": "你好"},
    {"client_message_id": "x" * 65, "text": "你好"},
    {"client_message_id": "a1", "text": ["list"]},
    [],
])
def test_malformed_messages_get_422_with_a_json_error(client, body):
    response = client.post("/api/app/messages", headers=auth(), json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_not_json_is_422(client):
    response = client.post("/api/app/messages", headers={**auth(), "Content-Type": "application/json"},
                           content=b"{not json")
    assert response.status_code == 422


def test_oversized_body_is_413_before_parsing(client):
    response = client.post("/api/app/messages", headers=auth(),
                           content=b'{"text": "' + b"a" * 70_000 + b'"}')
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "消息内容太长了"


def test_bot_down_apologises_escalates_and_answers_a_retry_once(client):
    body = {"client_message_id": "retry-1", "text": "我的订单到哪了"}
    first = client.post("/api/app/messages", headers=auth("C0009"), json=body)
    assert first.status_code == 200, first.text
    texts = [r["text"] for r in first.json()["replies"]]
    assert texts[0] == BOT_UNAVAILABLE_TEXT
    assert texts[1].startswith("人工客服暂时不在线")  # nobody on duty: a ticket
    second = client.post("/api/app/messages", headers=auth("C0009"), json=body)
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert second.json()["replies"] == first.json()["replies"]
    recorded = client.app.state.transcripts.conversation("app:C0009")
    assert [(m.direction, m.text, m.error) for m in recorded] == [
        ("in", "我的订单到哪了", "bot_unavailable"), ("out", texts[0], None), ("out", texts[1], None)]
    [ticket] = HandoffRecords(client.app.state.transcripts.engine).tickets(["general"])
    assert (ticket.conversation_id, ticket.reason, ticket.status) == (
        "app:C0009", "bot_unavailable", "open")
    assert ticket.id in texts[1] and "我的订单到哪了" in ticket.summary


def test_while_waiting_the_customer_is_told_their_place_and_may_cancel(client):
    redis = Redis.from_url(client.app.state.settings.redis_url)
    redis.zadd("xs:online:general", {"A-on-duty": time.time()})  # an agent's console is open
    client.post("/api/app/messages", headers=auth("C0013"),
                json={"client_message_id": "w-1", "text": "在吗"})
    waiting = client.post("/api/app/messages", headers=auth("C0013"),
                          json={"client_message_id": "w-2", "text": "还要等多久"}).json()
    assert waiting["replies"][0]["text"].startswith("收到，客服接入后会看到您的消息。您是下一位")
    cancelled = client.post("/api/app/messages", headers=auth("C0013"),
                            json={"client_message_id": "w-3", "text": "不用了"}).json()
    assert cancelled["replies"][0]["text"].startswith("好的，已取消转人工")
    assert redis.get("xs:mode:app:C0013") is None and redis.zcard("xs:queue:general") == 0


def test_history_is_per_customer(client):
    client.post("/api/app/messages", headers=auth("C0010"),
                json={"client_message_id": "h1", "text": "只属于C0010"})
    own = client.get("/api/app/messages", headers=auth("C0010")).json()
    assert [m["text"] for m in own][:2] == ["只属于C0010", BOT_UNAVAILABLE_TEXT]
    assert client.get("/api/app/messages", headers=auth("C0011")).json() == []


def test_websocket_refuses_bad_token(client):
    from starlette.websockets import WebSocketDisconnect
    with pytest.raises(WebSocketDisconnect) as closed, \
            client.websocket_connect("/api/app/ws?token=nope") as socket:
        socket.receive_text()
    assert closed.value.code == 4401


def test_websocket_answers_malformed_frames_and_stays_open(client):
    token = app_auth.sign("C0012", SECRET, 300)
    with client.websocket_connect(f"/api/app/ws?token={token}") as socket:
        socket.send_text("not json")
        assert socket.receive_json()["error"]["code"] == "invalid_request"
        socket.send_bytes(b"\x00\xff binary junk")
        assert socket.receive_json()["error"]["code"] == "invalid_request"
        socket.send_text("x" * 20_000)
        assert socket.receive_json()["error"]["code"] == "payload_too_large"
        socket.send_json({"type": "message", "client_message_id": "w1", "text": "你好"})
        frame = socket.receive_json()
        assert frame["type"] == "replies" and frame["client_message_id"] == "w1"
        assert frame["replies"][0]["text"] == BOT_UNAVAILABLE_TEXT


def test_demo_login_does_not_exist_in_production(client):
    assert client.get("/api/app/demo/customers").status_code == 404


def test_health_is_alive_but_not_ready_without_rasa(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["redis"]["ok"] is True
    assert checks["rasa"]["ok"] is False


def test_a_slow_bot_is_waited_for_not_mistaken_for_a_dead_redis(fresh_redis_url, tmp_path, rasa):
    """The caller blocks on Redis for the reply (up to BOT_TIMEOUT_SECONDS): a reply after 6 s,
    longer than redis-py's default 5 s socket timeout, still comes back in the answer."""
    rasa.delay_seconds = 6
    settings = Settings(redis_url=fresh_redis_url, database_url=f"sqlite:///{tmp_path}/t.sqlite3",
                        rasa_url=rasa.url, app_token_secret=SECRET, bot_timeout_seconds=12,
                        handoff_hours="00:00-00:00")
    with TestClient(create_app(settings)) as client:
        answer = client.post("/api/app/messages", headers=auth("C0009"),
                             json={"client_message_id": "slow-1", "text": "在吗"})
    assert answer.status_code == 200, answer.text
    assert [reply["text"] for reply in answer.json()["replies"]] == ["收到：在吗"]


def test_the_balancers_probe_can_leave_other_deployments_out(client):
    """Rasa is down: the full check says not ready, the load balancer's (Kubernetes' readiness
    probe excludes Rasa and the action server) keeps the replica serving customers and agents."""
    assert client.get("/readyz").status_code == 503
    ready = client.get("/readyz", params=[("exclude", "rasa"), ("exclude", "action_server")])
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"ready": True, "checks": {"redis": {"ok": True}}}
    only_rasa_out = client.get("/readyz", params={"exclude": "rasa"}).json()
    assert set(only_rasa_out["checks"]) == {"redis", "action_server"}


@pytest.mark.parametrize("params, status", [
    ([("exclude", "postgres")], 400), ([("exclude", "x" * 5000)], 400),
    ([("exclude", "rasa")] * 4, 422)])  # more exclusions than there are checks
def test_a_probe_with_an_unknown_or_repeated_exclusion_is_refused(client, params, status):
    answer = client.get("/readyz", params=params)
    assert answer.status_code == status
    assert len(answer.text) < 1000  # the 5,000 characters are not echoed back
    assert answer.json()["error"]["message"]
