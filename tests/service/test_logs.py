"""JSON logs: one object per line with time, level, logger, message and the conversation a line
is about; no phone numbers, addresses or message texts. The formatter on its own, then a real
uvicorn process of the service handling a message full of personal data."""
from __future__ import annotations

import json
import logging
import secrets
import sys

import httpx
import pytest

from bot.json_logs import JsonFormatter, log_context, log_format
from channels import app_auth
from tests.service.test_graceful_shutdown import slow_bot
from tests.stand_ins.rasa_webhook import RasaStandIn
from tests.stand_ins.serving import serve
from tests.support import SERVICE_PYTHON, free_port, http_ok, running, wait_until

PHONE = "13812345678"
ADDRESS = "上海市浦东新区张江路100号5栋1201室"
TEXT = f"我的手机号是{PHONE}，收货地址改成{ADDRESS}吧"


def record(message: str, *args, name: str = "channels.router", level: int = logging.INFO,
           exc_info=None) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, exc_info)


def test_a_line_is_one_json_object_with_the_conversation_from_the_context():
    with log_context("wechat:oAbc123"):
        line = JsonFormatter().format(record("message handled: %d replies", 2))
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "channels.router"
    assert entry["message"] == "message handled: 2 replies"
    assert entry["conversation_id"] == "wechat:oAbc123" and entry["channel"] == "wechat"
    assert entry["time"].endswith("Z")
    assert "\n" not in line
    outside = json.loads(JsonFormatter().format(record("no conversation here")))
    assert "conversation_id" not in outside and "channel" not in outside


def test_phones_and_addresses_are_masked_in_messages_and_tracebacks():
    try:
        raise ValueError(f"bad input {TEXT}")
    except ValueError:
        line = JsonFormatter().format(record("failed for %s", TEXT, level=logging.ERROR,
                                             exc_info=sys.exc_info()))
    assert PHONE not in line and "张江路" not in line and "1201" not in line
    assert "138****5678" in line and "ValueError" in line


def test_access_lines_drop_the_query_string_and_the_client_address():
    access = record('%s - "%s %s HTTP/%s" %d', "10.1.2.3:5555", "GET",
                    "/wechat?signature=abc&openid=oSecret", "1.1", 200, name="uvicorn.access")
    entry = json.loads(JsonFormatter().format(access))
    assert entry["message"] == "GET /wechat 200"


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "text"), ({"XS_ENV": "development"}, "text"), ({"XS_ENV": "production"}, "json"),
    ({"XS_ENV": "production", "LOG_FORMAT": "text"}, "text"), ({"LOG_FORMAT": "JSON"}, "json"),
])
def test_json_is_the_default_in_production_only(environ, expected):
    assert log_format(environ) == expected


def test_an_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        log_format({"LOG_FORMAT": "xml"})


def test_the_service_logs_json_lines_without_personal_data(fresh_redis_url, tmp_path):
    state = RasaStandIn()
    secret = secrets.token_urlsafe(32)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "service.log"
    with serve(slow_bot(state)) as bot_url:
        env = {"XS_ENV": "development", "LOG_FORMAT": "json", "REDIS_URL": fresh_redis_url,
               "RASA_URL": bot_url, "ACTION_SERVER_URL": f"{bot_url}/webhook",
               "APP_TOKEN_SECRET": secret, "DATABASE_URL": f"sqlite:///{tmp_path}/s.sqlite3",
               "BOT_TIMEOUT_SECONDS": "1", "HANDOFF_HOURS": "00:00-00:00"}
        command = [str(SERVICE_PYTHON), "-m", "uvicorn", "--factory", "service.app:create_app",
                   "--port", str(port)]  # with uvicorn's access log
        with running(command, log, env) as process:
            wait_until(lambda: http_ok(f"{base}/readyz"), 60, "service readiness", process, log)
            headers = {"Authorization": f"Bearer {app_auth.sign('L0001', secret, 300)}"}
            answered = httpx.post(f"{base}/api/app/messages?trace={PHONE}", headers=headers,
                                  json={"client_message_id": "l1", "text": TEXT}, timeout=10)
            assert answered.json()["replies"][0]["text"] == f"收到：{TEXT}"
            state.delay_seconds = 2  # longer than BOT_TIMEOUT_SECONDS: the bot is unavailable
            httpx.post(f"{base}/api/app/messages", headers=headers, timeout=10,
                       json={"client_message_id": "l2", "text": TEXT})  # 202: answer comes later
            wait_until(lambda: "暂时无法回复" in httpx.get(f"{base}/api/app/outbox",
                                                       headers=headers).text,
                       30, "the apology in the outbox", process, log, every=0.5)
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    about = [e for e in entries if e.get("conversation_id") == "app:L0001"]
    assert {e["channel"] for e in about} == {"app"}
    assert any(e["logger"] == "channels.router" and e["message"].startswith("message handled")
               for e in about)
    assert any(e["level"] == "WARNING" and "bot unavailable" in e["message"] for e in about)
    assert any(e["logger"] == "uvicorn.error" and "Started server process" in e["message"]
               for e in entries)
    assert any(e["message"] == "POST /api/app/messages 200" for e in entries)
    whole = "\n".join(lines)
    assert PHONE not in whole and "5678" not in whole
    assert "张江路" not in whole and "1201" not in whole and "收货地址" not in whole
