"""The local cluster (``make run-cluster``): 2 Rasa, 2 action servers, 2 service instances behind
a real nginx, PostgreSQL and a Redis with an append-only file. Customers talk to nginx; members
are killed with SIGKILL and the conversation carries on, each message answered once."""
from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import httpx
import pytest

from channels import app_auth
from cluster.local import ClusterConfig, LocalCluster
from tests.support import eventually, scratch_database

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None,
                                reason="nginx is not installed (apt-get install nginx)")


def test_the_generated_nginx_config_is_valid_nginx(tmp_path):
    cluster = LocalCluster(ClusterConfig(tmp_path, "sqlite:///unused"))
    (tmp_path / "nginx-tmp").mkdir()
    (tmp_path / "nginx.conf").write_text(cluster.nginx_conf())
    checked = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    for port in ("service1", "service2", "rasa1", "rasa2", "actions1", "actions2"):
        assert f"127.0.0.1:{cluster.ports[port]}" in cluster.nginx_conf()


def test_a_broken_template_is_caught_by_nginx(tmp_path):
    """The check above can fail: nginx refuses a config with an unclosed block."""
    cluster = LocalCluster(ClusterConfig(tmp_path, "sqlite:///unused"))
    (tmp_path / "nginx-tmp").mkdir()
    (tmp_path / "nginx.conf").write_text(cluster.nginx_conf().rstrip().rstrip("}"))
    checked = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode != 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    with scratch_database("postgresql", tmp) as database_url:
        running = LocalCluster(ClusterConfig(tmp / "var", database_url))
        try:
            running.start()
            yield running
        finally:
            running.stop()


class Customer:
    def __init__(self, cluster: LocalCluster, customer_id: str) -> None:
        token = app_auth.sign(customer_id, cluster.env["APP_TOKEN_SECRET"], 600)
        self.client = httpx.Client(base_url=cluster.url, timeout=60,
                                   headers={"Authorization": f"Bearer {token}"})

    def say(self, text: str, message_id: str | None = None, tries: int = 30) -> dict:
        """Send until accepted, the same message id each time (as the app does)."""
        message_id = message_id or uuid.uuid4().hex
        for _ in range(tries):
            try:
                answer = self.client.post("/api/app/messages",
                                          json={"client_message_id": message_id, "text": text})
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code in (200, 202):
                return answer.json()
            time.sleep(0.5)  # a client's back-off between retries, not a wait for luck
        raise AssertionError(f"{text!r} never accepted")

    def history(self) -> list[dict]:
        return self.client.get("/api/app/messages").json()


def test_both_service_instances_answer_behind_nginx(cluster):
    customer = Customer(cluster, "C0001")
    answer = customer.say("我的订单到哪了")
    assert answer["replies"], answer
    health = [httpx.get(f"http://127.0.0.1:{cluster.ports[name]}/readyz", timeout=10)
              for name in ("service1", "service2")]
    assert [h.status_code for h in health] == [200, 200]


def test_a_killed_service_instance_loses_nothing(cluster):
    customer = Customer(cluster, "C0002")
    cluster.kill("service1")
    try:
        answers = [customer.say(line) for line in ("退货运费谁出", "怎么开发票", "谢谢")]
    finally:
        cluster.restart("service1")
    assert all(a["replies"] or a["pending"] for a in answers)

    def inbound() -> list[str]:
        return [item["text"] for item in customer.history() if item["direction"] == "in"]
    eventually(lambda: len(inbound()) == 3, timeout=60)  # a pending answer is recorded later
    assert inbound() == ["退货运费谁出", "怎么开发票", "谢谢"]


def test_a_retry_after_a_lost_answer_is_answered_once(cluster):
    customer = Customer(cluster, "C0003")
    first = customer.say("七天无理由退货怎么弄", message_id="retry-1")
    again = customer.say("七天无理由退货怎么弄", message_id="retry-1")
    assert again["duplicate"] is True
    assert again["replies"] == first["replies"]
    assert [i["text"] for i in customer.history() if i["direction"] == "in"] == ["七天无理由退货怎么弄"]


def test_a_killed_rasa_server_is_covered_by_the_other(cluster):
    customer = Customer(cluster, "C0004")
    cluster.kill("rasa1")
    try:
        answers = [customer.say(line) for line in ("你好", "支持花呗吗")]
        assert all(a["replies"] for a in answers), answers
    finally:
        cluster.restart("rasa1")


def test_redis_killed_and_restarted_remembers_from_its_append_only_file(cluster):
    customer = Customer(cluster, "C0005")
    first = customer.say("退货运费谁出", message_id="aof-1")
    before = customer.history()
    cluster.kill("redis")
    cluster.restart("redis")
    again = customer.say("退货运费谁出", message_id="aof-1")
    assert again["duplicate"] is True  # the dedupe key came back from the AOF
    assert again["replies"] == first["replies"]  # and so did the recorded replies
    customer.say("怎么开发票")  # accepted (else say() fails) and recorded below
    eventually(lambda: len(customer.history()) > len(before))
    assert customer.history()[:len(before)] == before


@pytest.mark.parametrize("config", ["cluster", "compose"])
def test_the_edge_passes_the_clients_own_address_and_keeps_metrics_inside(config, tmp_path):
    """The service trusts X-Forwarded-For from its balancer for the per-address limit and the
    login lockout: the edge must send the address it saw, not append to one the client made up."""
    from cluster.local import ROOT

    text = (LocalCluster(ClusterConfig(tmp_path, "sqlite:///unused")).nginx_conf()
            if config == "cluster" else (ROOT / "deploy" / "nginx" / "compose.conf").read_text())
    forwarded = [line.split()[-1] for line in text.splitlines()
                 if "X-Forwarded-For" in line and not line.strip().startswith("#")]
    assert forwarded and set(forwarded) == {"$remote_addr;"}
    assert "location = /metrics" in text


@pytest.mark.parametrize("command, env, complaint", [
    (["-m", "cluster"], {"CLUSTER_PORT": "abc"}, "CLUSTER_PORT must be a port number"),
    (["-m", "cluster"], {"CLUSTER_PORT": "70000"}, "CLUSTER_PORT must be a port number"),
    (["-m", "bench.soak", "--minutes", "0"], {}, "--minutes"),
    (["-m", "bench.soak", "--customers", "-5"], {}, "--customers"),
    (["-m", "bench.soak", "--customers", "many"], {}, "invalid int value"),
])
def test_bad_command_line_input_is_refused_before_anything_starts(command, env, complaint):
    from tests.support import ROOT, SERVICE_PYTHON

    refused = subprocess.run([str(SERVICE_PYTHON), *command], cwd=ROOT, capture_output=True,
                             text=True, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env})
    assert refused.returncode == 2
    assert complaint in refused.stderr
