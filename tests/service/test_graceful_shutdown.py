"""Graceful shutdown of a real uvicorn process: on SIGTERM /readyz turns 503 at once while the
process keeps serving for SHUTDOWN_DRAIN_SECONDS; a customer message the bot is still answering
gets its reply, nothing stays unprocessed in the streams, and the process exits 0."""
from __future__ import annotations

import os
import secrets
import signal
import threading

import httpx
import pytest
import redis as redis_sync
from fastapi import FastAPI

from channels import app_auth
from channels.partitions import GROUP
from service.health import drain_seconds
from tests.stand_ins.rasa_webhook import RasaStandIn, make_app
from tests.stand_ins.serving import serve
from tests.support import SERVICE_PYTHON, eventually, free_port, http_ok, running, wait_until

PARTITIONS = 8


def slow_bot(state: RasaStandIn) -> FastAPI:
    """The webhook stand-in, plus the two status routes /readyz asks (Rasa's and the action
    server's), so the service is ready before the test stops it."""
    app = make_app(state)
    app.get("/status")(lambda: {"model_file": "stand-in.tar.gz"})
    app.get("/health")(lambda: {"status": "ok"})
    return app


def test_sigterm_turns_unready_at_once_and_finishes_the_message_in_flight(fresh_redis_url,
                                                                         tmp_path):
    state = RasaStandIn(delay_seconds=3.0)
    secret = secrets.token_urlsafe(32)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(slow_bot(state)) as bot_url:
        env = {"XS_ENV": "development", "REDIS_URL": fresh_redis_url, "RASA_URL": bot_url,
               "ACTION_SERVER_URL": f"{bot_url}/webhook", "APP_TOKEN_SECRET": secret,
               "DATABASE_URL": f"sqlite:///{tmp_path}/service.sqlite3",
               "ROUTER_PARTITIONS": str(PARTITIONS), "SHUTDOWN_DRAIN_SECONDS": "1.5"}
        command = [str(SERVICE_PYTHON), "-m", "uvicorn", "--factory", "service.app:create_app",
                   "--port", str(port)]
        log = tmp_path / "service.log"
        with running(command, log, env) as process:
            wait_until(lambda: http_ok(f"{base}/readyz"), 60, "service readiness", process, log)
            answer: dict = {}
            token = app_auth.sign("G0001", secret, 300)

            def customer() -> None:
                answer["response"] = httpx.post(
                    f"{base}/api/app/messages", timeout=30,
                    headers={"Authorization": f"Bearer {token}"},
                    json={"client_message_id": "g1", "text": "我的快递到哪了"})

            waiting = threading.Thread(target=customer)
            waiting.start()
            eventually(lambda: ("app:G0001", "我的快递到哪了") in state.calls)  # at the bot now
            os.kill(process.pid, signal.SIGTERM)

            ready = httpx.get(f"{base}/readyz", timeout=2)
            assert ready.status_code == 503
            assert ready.json()["draining"] is True
            assert httpx.get(f"{base}/healthz", timeout=2).status_code == 200  # still serving

            waiting.join(timeout=30)
            response = answer["response"]
            assert response.status_code == 200, response.text
            assert [reply["text"] for reply in response.json()["replies"]] == ["收到：我的快递到哪了"]
            assert process.wait(timeout=30) == 0, log.read_text()
    assert state.calls == [("app:G0001", "我的快递到哪了")]  # asked once
    with redis_sync.Redis.from_url(fresh_redis_url) as redis:
        for partition in range(PARTITIONS):
            stream = f"xs:in:{partition}"
            if redis.exists(stream):
                assert redis.xpending(stream, GROUP)["pending"] == 0
        assert redis.hget("xs:msg:app:G0001:g1", "delivered") == b"1"
        assert not [key for key in redis.scan_iter("xs:lease:*")]  # partitions released


@pytest.mark.parametrize(("given", "seconds"), [({}, 0.0), ({"SHUTDOWN_DRAIN_SECONDS": "2.5"}, 2.5)])
def test_drain_seconds_come_from_the_environment(given, seconds):
    assert drain_seconds(given) == seconds


@pytest.mark.parametrize("bad", ["soon", "-1", "nan", "inf"])
def test_a_drain_that_is_not_a_number_of_seconds_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="SHUTDOWN_DRAIN_SECONDS"):
        drain_seconds({"SHUTDOWN_DRAIN_SECONDS": bad})
