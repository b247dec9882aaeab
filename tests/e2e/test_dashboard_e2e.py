"""The dashboard over the whole stack: what customers say reaches it through Rasa's own event
broker (the intents) and the service's records (conversations), with no test data seeded."""
from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_agent_console_browser import wait_for
from tests.e2e.test_chat import chat

pytestmark = pytest.mark.e2e
CUSTOMER = "C0059"  # no other end-to-end test talks as this customer


def test_a_conversation_shows_up_on_the_dashboard_with_its_intent(stack, service):
    with httpx.Client(base_url=stack.service_url, timeout=10) as supervisor:
        answer = supervisor.post("/api/agent/login", json={
            "username": "supervisor1", "password": "supervisor1-demo-password"})
        assert answer.status_code == 200, answer.text

        def board() -> dict:
            response = supervisor.get("/api/dashboard/summary")
            assert response.status_code == 200, response.text
            return response.json()

        greeted = {i["intent"]: i["count"] for i in board()["intents"]["top"]}.get("greet", 0)
        conversations = board()["totals"]["conversations"]
        chat(service, stack, CUSTOMER, "你好呀")
        after = wait_for(lambda: (lambda b: b if {i["intent"]: i["count"] for i in
                                                 b["intents"]["top"]}.get("greet", 0) > greeted
                                  else None)(board()), 20, "the greeting on the dashboard")
        assert after["intents"]["available"] is True
        assert after["totals"]["conversations"] >= conversations + 1
