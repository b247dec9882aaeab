"""The service's Rasa client against a webhook stand-in: one retry when the balancer says the
replica holding the message died (502/504), none for Rasa's own errors."""
from __future__ import annotations

import asyncio

import pytest

from channels.rasa_client import BotUnavailable, RasaClient


def send(url: str, text: str = "你好"):
    async def scenario():
        client = RasaClient(url, timeout_seconds=5)
        try:
            return await client.send("app:C0001", text, {"channel": "app"})
        finally:
            await client.aclose()
    return asyncio.run(scenario())


@pytest.mark.parametrize("status", [502, 504])
def test_a_lost_replica_is_retried_once_and_the_customer_answered(rasa, status):
    rasa.failures = [status]
    [reply] = send(rasa.url, "你好")
    assert reply.text == "收到：你好"
    assert [message for _, message in rasa.calls] == ["你好", "你好"]


def test_a_second_loss_is_reported_not_retried_forever(rasa):
    rasa.failures = [502, 502, 502]
    with pytest.raises(BotUnavailable, match="502"):
        send(rasa.url)
    assert len(rasa.calls) == 2


def test_rasas_own_error_is_not_retried(rasa):
    rasa.failures = [500]
    with pytest.raises(BotUnavailable, match="500"):
        send(rasa.url)
    assert len(rasa.calls) == 1
