"""Operations of the bot's processes, started as ``python -m bot actions`` / ``python -m bot rasa``
(through ``bot.ops``): Prometheus metrics on their own port (requests by route template and
status class, each action by name and outcome) and JSON log lines that name the conversation and
carry no phone number, address or message text."""
from __future__ import annotations

import json
import re
import secrets
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import ops
from bot.contract import TOKEN_HEADER, WEBHOOK_PATH
from tests.support import RASA_PYTHON, ROOT, free_port, http_ok, running, wait_until

PHONE = "13812345678"
ADDRESS = "上海市浦东新区张江路100号5栋1201室"
TEXT = f"我的手机号是{PHONE}，收货地址改成{ADDRESS}吧"
MODEL = ROOT / "models" / "xiaoshou.tar.gz"
# A text line of Python's logging as Rasa's coloredlogs writes it: "2026-11-26 05:18:56 INFO …".
PYTHON_TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s",
                              re.MULTILINE)


def post(url: str, body: dict, headers: dict | None = None, deflate: bool = False) -> int:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    if deflate:  # as Rasa sends action calls when compression is on
        data, headers["Content-Encoding"] = zlib.compress(data), "deflate"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def action_call(action: str, sender: str) -> dict:
    latest = {"text": TEXT, "intent": {"name": "change_address", "confidence": 0.99},
              "entities": [], "metadata": {"channel": "app", "customer_id": "C0001"},
              "message_id": "m1"}
    tracker = {"sender_id": sender, "slots": {}, "latest_message": latest, "events": [],
               "paused": False, "followup_action": None, "active_loop": {},
               "latest_action_name": "action_listen"}
    return {"next_action": action, "version": "3.6.2", "tracker": tracker, "domain": {}}


def assert_no_personal_data(log: str) -> None:
    assert PHONE not in log and "5678" not in log
    assert "张江路" not in log and "1201" not in log and "收货地址" not in log


def test_action_server_metrics_by_action_and_json_logs_without_personal_data(tmp_path: Path):
    port, metrics_port = free_port(), free_port()
    env = {"ACTIONS_PORT": str(port), "ACTIONS_METRICS_PORT": str(metrics_port),
           "LOG_FORMAT": "json",
           # An order system that does not answer: the action apologises and logs why.
           "SHOP_API_URL": f"http://127.0.0.1:{free_port()}/api/v1", "SHOP_READ_RETRIES": "0"}
    log = tmp_path / "actions.log"
    unknown = f"action_{secrets.token_hex(6)}"
    with running([str(RASA_PYTHON), "-m", "bot", "actions"], log, env) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(f"{base}/health"), 60, "action server", process, log)
        assert post(f"{base}/webhook", action_call("action_order_status", "app:T0001")) == 200
        assert post(f"{base}/webhook", action_call("action_order_status", "app:T0001"),
                    deflate=True) == 200
        assert post(f"{base}/webhook", action_call(unknown, "app:T0001")) == 404
        samples = scrape(metrics_port)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as response:
            assert unknown not in response.read().decode()  # the caller's text is no series
    assert value(samples, "xs_actions_total", action="action_order_status", outcome="ok") == 2
    assert value(samples, "xs_action_duration_seconds_count", action="action_order_status") == 2
    assert value(samples, "xs_actions_total", action="unknown", outcome="not_found") == 1
    assert value(samples, "xs_http_requests_total", method="POST", route="/webhook",
                 status="2xx") == 2
    assert value(samples, "xs_http_requests_total", method="POST", route="/webhook",
                 status="4xx") == 1
    assert value(samples, "xs_http_requests_total", method="GET", route="/health",
                 status="2xx") >= 1
    assert value(samples, "xs_errors_total", kind="http_5xx") == 0
    assert value(samples, "process_resident_memory_bytes") > 0

    text = log.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    about = [entry for entry in entries if entry.get("conversation_id") == "app:T0001"]
    assert {entry["channel"] for entry in about} == {"app"}
    assert any(entry["logger"] == "actions.order_lookup" and entry["level"] == "WARNING"
               for entry in about)  # the shop was unreachable, said with the conversation
    assert any(entry["message"].startswith("action action_order_status: ok") for entry in about)
    assert any(entry["logger"] == "rasa_sdk.executor" for entry in entries)  # its own lines too
    assert_no_personal_data(text)


def test_the_wrapper_names_its_commands():
    with pytest.raises(SystemExit, match="rasa,actions"):
        ops.main(["nonsense"])


def test_a_taken_metrics_port_does_not_stop_the_server(monkeypatch):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("ACTIONS_METRICS_PORT", str(taken.getsockname()[1]))
        assert ops.serve_metrics("actions") is None
    monkeypatch.setenv("ACTIONS_METRICS_PORT", "0")
    assert ops.serve_metrics("actions") is None


def test_rasa_server_metrics_and_json_logs(tmp_path: Path, fresh_redis_url: str):
    if not MODEL.exists():
        raise RuntimeError("no trained model at models/xiaoshou.tar.gz: run `make train` first")
    rasa_port, metrics_port, actions_port = free_port(), free_port(), free_port()
    token = secrets.token_urlsafe(16)
    env = {"REDIS_URL": fresh_redis_url, "RASA_PORT": str(rasa_port),
           "RASA_METRICS_PORT": str(metrics_port), "RASA_AUTH_TOKEN": token,
           "ACTIONS_PORT": str(actions_port), "ACTIONS_METRICS_PORT": "0",
           "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
           "DATABASE_URL": f"sqlite:///{tmp_path}/events.sqlite3", "LOG_FORMAT": "json",
           "SHOP_API_URL": f"http://127.0.0.1:{free_port()}/api/v1", "SHOP_READ_RETRIES": "0"}
    log = tmp_path / "rasa.log"
    base = f"http://127.0.0.1:{rasa_port}"
    with running([str(RASA_PYTHON), "-m", "bot", "actions"], tmp_path / "actions.log", env), \
            running([str(RASA_PYTHON), "-m", "bot", "rasa"], log, env) as rasa:
        wait_until(lambda: http_ok(f"{base}/status?token={token}"), 240, "Rasa", rasa, log)
        # The token guards the API, yet is not on the command line every local user can read.
        assert not http_ok(f"{base}/status") and not http_ok(f"{base}/status?token=wrong")
        assert token.encode() not in Path(f"/proc/{rasa.pid}/cmdline").read_bytes()
        body = {"sender": "app:R0001", "message": TEXT,
                "metadata": {"channel": "app", "customer_id": "C0001"}}
        assert post(f"{base}{WEBHOOK_PATH}", body, {TOKEN_HEADER: token}) == 200
        samples = scrape(metrics_port)
    assert value(samples, "xs_http_requests_total", method="POST", route=WEBHOOK_PATH,
                 status="2xx") == 1
    assert value(samples, "xs_http_request_duration_seconds_count", method="POST",
                 route=WEBHOOK_PATH) == 1
    assert value(samples, "xs_http_requests_total", method="GET", route="/status",
                 status="2xx") >= 1
    text = log.read_text(encoding="utf-8")
    # Python's lines are all JSON; TensorFlow's C++ side writes its errors (only those, with
    # TF_CPP_MIN_LOG_LEVEL=2) past Python's logging, as "2026-11-26 05:18:56.603837: E …".
    assert not PYTHON_TEXT_LINE.search(text), PYTHON_TEXT_LINE.search(text).group(0)
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(entry["logger"].startswith("rasa") for entry in entries)
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert_no_personal_data(text + (tmp_path / "actions.log").read_text(encoding="utf-8"))
