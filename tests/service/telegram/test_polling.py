"""``python -m channels.telegram poll``: updates from the stand-in's getUpdates reach the webhook
(as a real HTTP service) exactly once, and are confirmed only when the webhook took them."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.service.telegram.conftest import webhook_app
from tests.service.telegram.updates import SECRET, TOKEN, message
from tests.stand_ins.serving import serve
from tests.support import ROOT


@pytest.fixture
def service_url(settings, telegram_redis_url, submitter) -> Iterator[str]:
    with serve(webhook_app(settings, telegram_redis_url, submitter)) as url:
        yield url


def run_poll(api_url: str, service_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE_URL": f"{api_url}/bot"}
    return subprocess.run([sys.executable, "-m", "channels.telegram", "poll", "--once",
                           "--service-url", service_url], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_poll_posts_each_update_to_the_webhook_once(api_url, service_url, stand_in, submitter):
    edited = {"update_id": 502, "edited_message": message(0, text="改了")["message"]}
    stand_in.updates = [message(501, text="我的订单到哪了"), edited, message(503, text="谢谢")]
    first = run_poll(api_url, service_url)
    assert first.returncode == 0, first.stderr
    assert "forwarded 3 update(s)" in first.stdout
    assert [inbound.text for inbound in submitter.inbounds] == ["我的订单到哪了", "谢谢"]
    assert stand_in.updates == []  # confirmed with offset 504
    assert [call.get("offset") for name, call in stand_in.calls if name == "getUpdates"] == \
        [None, 504]

    again = run_poll(api_url, service_url)
    assert again.returncode == 0 and "forwarded 0 update(s)" in again.stdout
    assert len(submitter.inbounds) == 2
    assert TOKEN not in first.stderr + first.stdout  # the token is in every Bot API URL


def test_an_update_the_service_could_not_take_is_not_confirmed(api_url, service_url, stand_in,
                                                               submitter):
    stand_in.updates = [message(601, text="退货")]
    submitter.unavailable = True  # the webhook answers 503
    failed = run_poll(api_url, service_url)
    assert failed.returncode == 1
    assert "did not take update 601" in failed.stderr
    assert [update["update_id"] for update in stand_in.updates] == [601]

    submitter.unavailable = False
    assert run_poll(api_url, service_url).returncode == 0
    assert [inbound.text for inbound in submitter.inbounds] == ["退货"]
    assert stand_in.updates == []


def test_poll_refuses_to_start_without_a_token(api_url):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    result = subprocess.run([sys.executable, "-m", "channels.telegram", "poll", "--once"],
                            env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
