"""The service's /metrics: what happened to messages, replies, the bot, handoffs and HTTP
requests (counted in this process), and what Redis holds now (read at scrape time), with a real
Redis, SQLite and the Rasa webhook stand-in. Counters are per process, so tests compare a scrape
before with one after."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from channels import app_auth
from service.app import create_app
from service.settings import Settings
from tests.support import free_port

SECRET = "metrics-secret-" + "x" * 32


def make_client(redis_url: str, tmp_path, rasa_url: str) -> TestClient:
    settings = Settings(redis_url=redis_url, database_url=f"sqlite:///{tmp_path}/t.sqlite3",
                        rasa_url=rasa_url, app_token_secret=SECRET, bot_timeout_seconds=5,
                        handoff_hours="00:00-00:00")
    return TestClient(create_app(settings))


@pytest.fixture
def client(fresh_redis_url, tmp_path, rasa):
    with make_client(fresh_redis_url, tmp_path, rasa.url) as test_client:
        yield test_client


def scrape(client: TestClient) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def send(client: TestClient, customer: str, message_id: str, text: str):
    token = app_auth.sign(customer, SECRET, 300)
    return client.post("/api/app/messages", headers={"Authorization": f"Bearer {token}"},
                       json={"client_message_id": message_id, "text": text})


def test_messages_replies_bot_latency_and_http_requests_are_counted(client):
    before = scrape(client)
    assert send(client, "M0001", "m1", "你好").json()["replies"][0]["text"] == "收到：你好"
    assert send(client, "M0001", "m1", "你好").json()["duplicate"] is True
    client.get("/api/agent/handoffs/0123456789abcdef")  # a route with a parameter (401)
    client.get("/no/such/page/M0001")
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("xs_messages_received_total", channel="app") == 1
    assert grew("xs_messages_duplicate_total", channel="app") == 1
    assert grew("xs_replies_sent_total", channel="app", author="bot") == 1
    assert grew("xs_bot_latency_seconds_count", outcome="ok") == 1
    assert grew("xs_http_requests_total", method="POST", route="/api/app/messages",
                status="2xx") == 2
    assert grew("xs_http_request_duration_seconds_count", method="POST",
                route="/api/app/messages") == 2
    assert grew("xs_http_requests_total", method="GET", route="/api/agent/handoffs/{handoff_id}",
                status="4xx") == 1
    assert grew("xs_http_requests_total", method="GET", route="unmatched", status="4xx") == 1
    # The series exist from the start, and nothing names a customer or a path as it was typed.
    assert ("xs_messages_received_total", frozenset({("channel", "wechat")})) in after
    text = client.get("/metrics").text
    assert "M0001" not in text and "0123456789abcdef" not in text and "/no/such" not in text


def test_methods_outside_the_standard_set_are_labelled_other(client):
    def others(samples: dict) -> float:
        return sum(v for (name, labels), v in samples.items()
                   if name == "xs_http_requests_total" and ("method", "other") in labels)

    before = scrape(client)
    client.request("FOOBAR1", "/api/app/messages")
    client.request("FOOBAR2", "/no/such/page")
    after = scrape(client)
    assert others(after) - others(before) == 2
    exposition = client.get("/metrics").text
    assert 'method="other"' in exposition and "FOOBAR" not in exposition


def test_metrics_is_not_in_the_api_schema(client):
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_handoffs_by_reason_group_and_outcome_and_queue_depth_from_redis(client, fresh_redis_url):
    before = scrape(client)
    # Nobody online in "returns": the stand-in's handoff becomes a ticket.
    assert "工单" in send(client, "M0002", "h1", "转人工").json()["replies"][-1]["text"]
    with Redis.from_url(fresh_redis_url) as redis:
        redis.zadd("xs:online:returns", {"agent-x": time.time()})
        assert "转接人工" in send(client, "M0003", "h2", "转人工").json()["replies"][-1]["text"]
        after = scrape(client)
        assert value(after, "xs_handoffs_total", reason="customer_request", group="returns",
                     outcome="ticket") - value(before, "xs_handoffs_total",
                                               reason="customer_request", group="returns",
                                               outcome="ticket") == 1
        assert value(after, "xs_handoffs_total", reason="customer_request", group="returns",
                     outcome="queued") - value(before, "xs_handoffs_total",
                                               reason="customer_request", group="returns",
                                               outcome="queued") == 1
        assert value(after, "xs_handoff_queue_depth", group="returns") == 1
        assert value(after, "xs_handoff_queue_depth", group="general") == 0
        assert value(after, "xs_dead_letters") == 0
        assert value(after, "xs_redis_up") == 1
        # Read at scrape time: what changes in Redis (another instance, an operator) shows at once.
        redis.delete("xs:queue:returns")
        redis.xadd("xs:dead", {"inbound": "{}", "stream": "xs:in:0", "reason": "test"})
        later = scrape(client)
    assert value(later, "xs_handoff_queue_depth", group="returns") == 0
    assert value(later, "xs_dead_letters") == 1
    assert value(later, "xs_router_entries_in_flight") == 0


def test_bot_down_counts_an_error_a_latency_and_a_handoff(fresh_redis_url, tmp_path):
    with make_client(fresh_redis_url, tmp_path, f"http://127.0.0.1:{free_port()}") as client:
        before = scrape(client)
        send(client, "M0004", "d1", "我的订单到哪了")
        after = scrape(client)
    assert value(after, "xs_errors_total", kind="bot_unavailable") - value(
        before, "xs_errors_total", kind="bot_unavailable") == 1
    assert value(after, "xs_bot_latency_seconds_count", outcome="unavailable") - value(
        before, "xs_bot_latency_seconds_count", outcome="unavailable") == 1
    assert sum(v for (name, labels), v in after.items() if name == "xs_handoffs_total"
               and ("reason", "bot_unavailable") in labels) - sum(
        v for (name, labels), v in before.items() if name == "xs_handoffs_total"
        and ("reason", "bot_unavailable") in labels) == 1


def test_redis_down_still_scrapes_and_counts_the_503_as_an_error(tmp_path, rasa):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with make_client(dead_redis, tmp_path, rasa.url) as client:
        before = scrape(client)
        assert send(client, "M0005", "r1", "你好").status_code == 503
        after = scrape(client)
    assert value(after, "xs_redis_up") == 0
    assert ("xs_handoff_queue_depth", frozenset({("group", "returns")})) not in after
    assert value(after, "xs_errors_total", kind="http_5xx") - value(
        before, "xs_errors_total", kind="http_5xx") == 1
    assert value(after, "xs_http_requests_total", method="POST", route="/api/app/messages",
                 status="5xx") - value(before, "xs_http_requests_total", method="POST",
                                       route="/api/app/messages", status="5xx") == 1
