import sys

import pytest

from bot import training
from bot.cli import event_broker_env, redis_env


def test_redis_url_is_split_for_rasa_endpoints():
    assert redis_env("redis://:p%40ss@10.0.0.5:6380/2") == {
        "RASA_REDIS_HOST": "10.0.0.5", "RASA_REDIS_PORT": "6380",
        "RASA_REDIS_DB": "2", "RASA_REDIS_PASSWORD": "p@ss"}
    assert redis_env("redis://localhost") == {
        "RASA_REDIS_HOST": "localhost", "RASA_REDIS_PORT": "6379",
        "RASA_REDIS_DB": "0", "RASA_REDIS_PASSWORD": ""}


@pytest.mark.parametrize("url", ["http://x:1", "localhost:6379", ""])
def test_bad_redis_url_is_a_clear_error(url):
    with pytest.raises(SystemExit, match="REDIS_URL"):
        redis_env(url)


def test_fingerprint_changes_with_content_and_name(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "ROOT", tmp_path)
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    first.write_text("x")
    second.write_text("y")
    base = training.fingerprint([first, second])
    assert training.fingerprint([first, second]) == base
    second.write_text("z")
    assert training.fingerprint([first, second]) != base
    second.write_text("y")
    renamed = tmp_path / "c.yml"
    second.rename(renamed)
    assert training.fingerprint([first, renamed]) != base


def test_model_inputs_cover_config_domain_data_and_components():
    names = {str(path.relative_to(training.ROOT)) for path in training.model_inputs()}
    assert {"config.yml", "domain.yml", "bot/normalization.py", "bot/nlu_components.py"} <= names
    assert any(name.startswith("nlu_data/rules/") for name in names)
    assert any(name.startswith("bot/data/jieba/") for name in names)


def test_only_model_relevant_pins_count(tmp_path):
    lock = tmp_path / "rasa.lock"
    lock.write_text("# header\nrasa==3.6.21\npytest==8.4.2\nTensorFlow==2.12.0\n", encoding="utf-8")
    assert training.model_pins(lock) == b"rasa==3.6.21\nTensorFlow==2.12.0"
    before = training.fingerprint([], training.model_pins(lock))
    lock.write_text("rasa==3.6.21\npytest==9.0.0\nTensorFlow==2.12.0\n", encoding="utf-8")
    assert training.fingerprint([], training.model_pins(lock)) == before
    lock.write_text("rasa==3.6.22\npytest==9.0.0\nTensorFlow==2.12.0\n", encoding="utf-8")
    assert training.fingerprint([], training.model_pins(lock)) != before


def test_rasa_gets_its_token_from_the_environment_not_the_command_line(monkeypatch, tmp_path):
    from bot import cli

    seen = {}
    monkeypatch.setattr(cli, "_exec", lambda command, env: seen.update(command=command, env=env))
    monkeypatch.setattr(training, "MODEL_PATH", tmp_path / "model.tar.gz")
    (tmp_path / "model.tar.gz").write_bytes(b"")
    monkeypatch.setenv("RASA_AUTH_TOKEN", "-starts-with-dash")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/1")
    cli.run_rasa(None)
    assert not any("starts-with-dash" in part for part in seen["command"])
    assert seen["env"]["RASA_REDIS_PORT"] == "6390"


@pytest.mark.parametrize("server, arguments, added", [
    ("rasa", ["run"], ["--auth-token=-starts-with-dash"]),  # "=": not taken for an option
    ("rasa", ["run", "--auth-token=explicit"], []),         # an operator's own choice wins
    ("rasa", ["run", "--auth-token", "explicit"], []),
    ("actions", ["--port", "5055"], []),                    # the action server has no token
])
def test_the_token_reaches_rasa_inside_the_process(monkeypatch, server, arguments, added):
    from bot import ops

    seen = {}
    monkeypatch.setattr(ops, "serve_metrics", lambda server: None)
    monkeypatch.setitem(ops.COMMANDS, server, (lambda json_logs: None,
                                               lambda: seen.update(argv=list(sys.argv))))
    monkeypatch.setattr(sys, "argv", ["ops"])
    monkeypatch.setenv("RASA_AUTH_TOKEN", "-starts-with-dash")
    monkeypatch.setenv("LOG_FORMAT", "text")
    ops.main([server, *arguments])
    assert seen["argv"] == [server, *arguments, *added]


@pytest.mark.parametrize("given, expected", [(None, "15"), ("40", "40")])
def test_a_dead_replicas_conversation_lock_lapses_within_the_services_wait(
        monkeypatch, tmp_path, given, expected):
    """Rasa's lock store keeps a killed replica's lock for TICKET_LOCK_LIFETIME (default 60 s):
    shorter than the service's 20 s wait, another replica can answer the retry."""
    from bot import cli

    seen = {}
    monkeypatch.setattr(cli, "_exec", lambda command, env: seen.update(command=command, env=env))
    monkeypatch.setattr(training, "MODEL_PATH", tmp_path / "model.tar.gz")
    (tmp_path / "model.tar.gz").write_bytes(b"")
    if given is None:
        monkeypatch.delenv("TICKET_LOCK_LIFETIME", raising=False)
    else:
        monkeypatch.setenv("TICKET_LOCK_LIFETIME", given)
    cli.run_rasa(None)
    assert seen["env"]["TICKET_LOCK_LIFETIME"] == expected


def test_action_server_listens_on_loopback_unless_told(monkeypatch):
    from bot import cli

    seen = {}
    monkeypatch.setattr(cli, "_exec", lambda command, env: seen.update(command=command, env=env))
    monkeypatch.delenv("ACTIONS_HOST", raising=False)
    cli.run_actions(None)
    assert seen["env"]["SANIC_HOST"] == "127.0.0.1"
    monkeypatch.setenv("ACTIONS_HOST", "10.1.2.3")
    cli.run_actions(None)
    assert seen["env"]["SANIC_HOST"] == "10.1.2.3"


@pytest.mark.parametrize("url, expected", [
    ("postgresql+psycopg://xs:pw@db:5432/xiaoshou", "postgresql+psycopg2://xs:pw@db:5432/xiaoshou"),
    ("postgres://xs@db/xiaoshou", "postgresql://xs@db/xiaoshou"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
])
def test_rasas_event_broker_writes_to_the_services_database(url, expected):
    """Rasa's SQLAlchemy 1.4 has psycopg2, not psycopg 3: same database, Rasa's driver."""
    assert event_broker_env(url) == {"RASA_EVENT_BROKER_URL": expected}


@pytest.mark.parametrize("url", ["mysql://db/x", "not a url", ""])
def test_a_database_the_event_broker_cannot_use_is_a_clear_error(url):
    with pytest.raises(SystemExit, match="DATABASE_URL must be"):
        event_broker_env(url)
