"""Rate limits, counted in a real Redis: per client address on the customers' endpoints, per
customer on messages of every channel; clear 429s, and a refused request changes nothing."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from channels import app_auth
from channels.router import seen_key
from service.app import create_app
from service.errors import ApiError
from service.rate_limit import TOO_MANY_TEXT, Limit, RateLimiter
from service.settings import Settings
from tests.support import free_port

SECRET = "rate-secret-" + "x" * 32
pytestmark = pytest.mark.usefixtures("one_rate_window")


def make_client(redis_url: str, tmp_path, address: str = "203.0.113.7",
                **overrides: Any) -> TestClient:
    values = {"redis_url": redis_url, "database_url": f"sqlite:///{tmp_path}/t.sqlite3",
              "rasa_url": f"http://127.0.0.1:{free_port()}", "app_token_secret": SECRET,
              "bot_timeout_seconds": 1, "xs_env": "development", "handoff_hours": "00:00-00:00",
              **overrides}
    return TestClient(create_app(Settings(**values)), client=(address, 50000))


def auth(customer_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {app_auth.sign(customer_id, SECRET, 300)}"}


def test_an_address_over_its_limit_gets_429_in_chinese_with_retry_after(fresh_redis_url, tmp_path):
    with make_client(fresh_redis_url, tmp_path, rate_limit_per_ip="3/60") as client:
        answers = [client.get("/api/app/messages", headers=auth("C0001")) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    refused = answers[3]
    assert refused.status_code == 429
    assert refused.json() == {"error": {"code": "too_many_requests", "message": TOO_MANY_TEXT}}
    assert refused.headers["Retry-After"] == "30"  # the clock stands at 30 s into a minute


def test_each_address_has_its_own_allowance(fresh_redis_url, tmp_path):
    with make_client(fresh_redis_url, tmp_path, rate_limit_per_ip="2/60") as first:
        assert [first.get("/api/app/messages", headers=auth("C0001")).status_code
                for _ in range(3)] == [200, 200, 429]
    with make_client(fresh_redis_url, tmp_path, address="198.51.100.9",
                     rate_limit_per_ip="2/60") as second:
        assert second.get("/api/app/messages", headers=auth("C0001")).status_code == 200


def test_agents_pages_and_probes_are_not_limited_per_address(fresh_redis_url, tmp_path):
    with make_client(fresh_redis_url, tmp_path, rate_limit_per_ip="1/60") as client:
        assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
        assert client.get("/console").status_code == 200
        assert client.get("/console").status_code == 200


def test_a_refused_request_never_reaches_the_conversation(fresh_redis_url, tmp_path):
    """The per-address refusal comes before the message is read: nothing is queued or kept."""
    with make_client(fresh_redis_url, tmp_path, rate_limit_per_ip="1/60") as client:
        client.get("/api/app/messages", headers=auth("C0002"))
        before = snapshot(fresh_redis_url)
        refused = client.post("/api/app/messages", headers=auth("C0001"),
                              json={"client_message_id": "m1", "text": "我的订单到哪了"})
        assert refused.status_code == 429
        assert snapshot(fresh_redis_url) == before
        assert client.get("/api/app/messages", headers=auth("C0001")).status_code == 429


def snapshot(redis_url: str) -> dict[str, tuple[str, int]]:
    """Every key but the rate counters, with its type and size (stream and list lengths)."""
    with Redis.from_url(redis_url) as redis:
        sizes = {}
        for key in redis.scan_iter():
            name, kind = key.decode(), redis.type(key).decode()
            if name.startswith("xs:rate:") or name.startswith("xs:online"):
                continue
            size = {"stream": redis.xlen, "list": redis.llen, "hash": redis.hlen,
                    "set": redis.scard, "zset": redis.zcard}.get(kind, lambda k: 0)(key)
            sizes[name] = (kind, size)
        return sizes


@pytest.mark.parametrize("value", ["", "20", "0/60", "20/0", "-1/60", "a/b", "20/60/1", "1e3/60"])
def test_malformed_limits_are_refused_with_the_expected_shape(value):
    with pytest.raises(ValueError, match="20/60"):
        Limit.parse(value)
    with pytest.raises(ValidationError):
        Settings(rate_limit_per_ip=value if value else "x")


def test_a_dead_redis_lets_requests_through_rather_than_refusing_everyone():
    async def scenario() -> None:
        dead = AsyncRedis(port=free_port(), socket_connect_timeout=0.5)
        limiter = RateLimiter(dead, Limit(1, 60), Limit(1, 60))
        assert await limiter.retry_after("ip", "203.0.113.7", Limit(1, 60)) is None
        await dead.aclose()
    asyncio.run(scenario())


def test_windows_are_counted_once_across_instances(fresh_redis_url):
    """Two limiters (two service instances) share one count."""
    async def scenario() -> list:
        clients = [AsyncRedis.from_url(fresh_redis_url) for _ in range(2)]
        limiters = [RateLimiter(c, Limit(3, 60), Limit(3, 60)) for c in clients]
        results = [await limiters[n % 2].retry_after("customer", "app:C0001", Limit(3, 60))
                   for n in range(5)]
        for client in clients:
            await client.aclose()
        return results
    results = asyncio.run(scenario())
    assert results[:3] == [None, None, None]
    assert all(isinstance(wait, int) and wait >= 1 for wait in results[3:])


def test_an_app_customer_over_the_message_limit_gets_429_over_http_and_websocket(
        fresh_redis_url, tmp_path):
    with make_client(fresh_redis_url, tmp_path, rate_limit_per_customer="2/60") as client:
        answers = [client.post("/api/app/messages", headers=auth("C0007"),
                               json={"client_message_id": f"r{n}", "text": "在吗"})
                   for n in range(3)]
        token = app_auth.sign("C0007", SECRET, 300)
        with client.websocket_connect(f"/api/app/ws?token={token}") as socket:
            socket.send_json({"type": "message", "client_message_id": "w1", "text": "在吗"})
            frame = socket.receive_json()
        other = client.post("/api/app/messages", headers=auth("C0008"),
                            json={"client_message_id": "o1", "text": "在吗"})
    assert all(a.status_code in (200, 202) for a in answers[:2])
    assert answers[2].status_code == 429
    assert answers[2].json()["error"]["message"] == TOO_MANY_TEXT
    assert frame == {"type": "error", "client_message_id": "w1",
                     "error": {"code": "too_many_requests", "message": TOO_MANY_TEXT}}
    assert other.status_code in (200, 202)
    with Redis.from_url(fresh_redis_url) as redis:
        stream_entries = sum(redis.xlen(key) for key in redis.scan_iter("xs:in:*"))
    assert stream_entries == 3  # r0, r1 and the other customer's; r2 and w1 were refused


def test_a_message_already_accepted_is_not_counted_again(fresh_redis_url):
    async def scenario() -> None:
        redis = AsyncRedis.from_url(fresh_redis_url)
        limiter = RateLimiter(redis, Limit(1, 60), Limit(2, 60))
        await redis.set(seen_key("app:C0001:m1"), "1-0")  # as the router records an accepted one
        for _ in range(5):
            await limiter.check_customer("app:C0001", seen_key("app:C0001:m1"))
        await limiter.check_customer("app:C0001", seen_key("app:C0001:m2"))
        await limiter.check_customer("app:C0001", seen_key("app:C0001:m3"))
        with pytest.raises(ApiError) as refused:
            await limiter.check_customer("app:C0001", seen_key("app:C0001:m4"))
        assert refused.value.status == 429
        await redis.aclose()
    asyncio.run(scenario())


def test_an_app_message_retried_is_not_counted_again_over_http_and_websocket(
        fresh_redis_url, tmp_path, rasa):
    """Two messages a minute: one sent and retried five times (three times over HTTP, twice over
    the WebSocket) uses one of them; one more new message goes through, the next is refused."""
    def post(message_id: str):
        return client.post("/api/app/messages", headers=auth("C0010"),
                           json={"client_message_id": message_id, "text": "在吗"})

    token = app_auth.sign("C0010", SECRET, 300)
    with make_client(fresh_redis_url, tmp_path, rate_limit_per_customer="2/60",
                     rasa_url=rasa.url, bot_timeout_seconds=5) as client:
        first, *retries = [post("m1") for _ in range(4)]
        with client.websocket_connect(f"/api/app/ws?token={token}") as socket:
            frames = []
            for _ in range(2):
                socket.send_json({"type": "message", "client_message_id": "m1", "text": "在吗"})
                frames.append(socket.receive_json())
        second, third = post("m2"), post("m3")
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert [(r.status_code, r.json()["duplicate"]) for r in retries] == [(200, True)] * 3
    assert [(f["type"], f.get("duplicate")) for f in frames] == [("replies", True)] * 2
    assert second.status_code == 200 and second.json()["duplicate"] is False
    assert third.status_code == 429 and third.json()["error"]["message"] == TOO_MANY_TEXT


def test_a_dead_redis_is_a_503_in_chinese_not_a_500(tmp_path):
    """Redis restarting mid-request (seen in `make soak`): the console and the channels answer
    503 with Retry-After, which a client or load balancer retries, instead of crashing."""
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0",
                        database_url=f"sqlite:///{tmp_path}/t.sqlite3",
                        rasa_url=f"http://127.0.0.1:{free_port()}", app_token_secret=SECRET,
                        router_consumers=False, xs_env="development")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.cookies.set("xs_agent", "some-session")
        console = client.get("/api/agent/queue")
        app = client.post("/api/app/messages", headers=auth("C0001"),
                          json={"client_message_id": "d1", "text": "在吗"})
    assert console.status_code == 503, console.text
    assert console.json()["error"]["message"] == "服务暂时不可用，请稍后重试"
    assert console.headers["Retry-After"] == "2"
    assert app.status_code == 503, app.text
