"""The operator's account command: accounts that can log in, refusals that say why, and a
password that never travels on the command line."""
from __future__ import annotations

import subprocess

import pytest

from handoff.agents import AgentDirectory
from handoff.transcripts import make_engine
from tests.support import ROOT, SERVICE_PYTHON, scratch_database


def run(database_url: str, *args: str, password: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(SERVICE_PYTHON), "-m", "handoff.accounts", *args], cwd=ROOT,
                          input=password + "\n", capture_output=True, text=True, timeout=60,
                          env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_added_agent_can_log_in_and_is_listed(kind, tmp_path):
    with scratch_database(kind, tmp_path) as url:
        added = run(url, "add", "wang", "--name", "客服小王", "--role", "agent",
                    "--groups", "logistics,returns", "--capacity", "4",
                    password="a-long-password-1")
        assert added.returncode == 0, added.stderr
        engine = make_engine(url)
        agent = AgentDirectory(engine).authenticate("wang", "a-long-password-1")
        engine.dispose()
        assert agent is not None
        assert (agent.name, agent.role, agent.groups, agent.capacity) == (
            "客服小王", "agent", ("logistics", "returns"), 4)
        listed = run(url, "list")
        assert "wang\tagent\t客服小王\tlogistics,returns\t4" in listed.stdout
        assert "a-long-password-1" not in listed.stdout


def test_a_taken_username_is_refused_and_the_first_account_kept(tmp_path):
    url = f"sqlite:///{tmp_path}/a.sqlite3"
    assert run(url, "add", "lisa", "--name", "主管", "--role", "supervisor",
               password="first-password-1").returncode == 0
    again = run(url, "add", "lisa", "--name", "冒充", "--role", "agent", password="second-password")
    assert again.returncode == 1 and "taken" in again.stderr
    engine = make_engine(url)
    assert AgentDirectory(engine).authenticate("lisa", "first-password-1").name == "主管"
    engine.dispose()


@pytest.mark.parametrize("args, password, complaint", [
    (["add", "X", "--name", "n", "--role", "agent"], "long-enough-pass", "a-z"),
    (["add", "ok_name", "--name", "n", "--role", "root"], "long-enough-pass", "invalid choice"),
    (["add", "ok_name", "--name", "n", "--role", "agent", "--groups", "vip"], "long-enough-pass",
     "unknown"),
    (["add", "ok_name", "--name", "n", "--role", "agent", "--capacity", "-1"], "long-enough-pass",
     "0-50"),
    (["add", "ok_name", "--name", "n", "--role", "agent", "--capacity", "999"], "long-enough-pass",
     "0-50"),
    (["add", "ok_name", "--name", "\x07", "--role", "agent"], "long-enough-pass", "printable"),
    (["add", "ok_name", "--name", "n", "--role", "agent"], "short", "12 to 256"),
    (["add", "ok_name", "--name", "n", "--role", "agent"], "x" * 10_000, "12 to 256"),
    (["add"], "long-enough-pass", "required"),
    (["drop-all"], "", "invalid choice"),
])
def test_malformed_arguments_are_refused_with_a_reason_and_nothing_written(
        tmp_path, args, password, complaint):
    url = f"sqlite:///{tmp_path}/a.sqlite3"
    refused = run(url, *args, password=password)
    assert refused.returncode == 2
    assert complaint in refused.stderr
    assert run(url, "list").stdout == ""
