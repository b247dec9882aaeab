"""Rasa input channel for the service: Rasa's REST channel plus a shared-secret check.

The service tells Rasa who the customer is through message metadata (``customer_id``), and the
actions show that customer's orders. Anyone able to post to the webhook could claim any customer,
so when ``RASA_AUTH_TOKEN`` is set the webhook only accepts requests carrying it in the
``X-Xiaoshou-Token`` header. Runs inside Rasa (``.venv-rasa``) only.
"""
from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.contract import TOKEN_HEADER


class ServiceInput(RestInput):
    """``POST /webhooks/xiaoshou/webhook`` with ``sender``, ``message`` and ``metadata``."""

    @classmethod
    def name(cls) -> str:
        return "xiaoshou"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        token = os.environ.get("RASA_AUTH_TOKEN", "")
        if token:

            @blueprint.middleware("request")
            async def require_token(request: Request) -> Any:
                sent = request.headers.get(TOKEN_HEADER, "")
                if request.path.endswith("/webhook") and not hmac.compare_digest(
                    sent.encode(), token.encode()
                ):
                    return response.json({"error": "unauthorized"}, status=401)
                return None

        return blueprint
