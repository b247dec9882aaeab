"""Development without a public HTTPS address: fetch updates with getUpdates and post each to
the service's own webhook (with the secret), so they take exactly the path Telegram's would.

An update is confirmed to Telegram (the next getUpdates' offset) only once the webhook took it:
a 2xx, or a 4xx that no retry can fix (logged). A 5xx or an unreachable service stops the batch
and the same update is posted again after a pause; the webhook deduplicates by update_id.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Optional

import httpx

from channels.telegram.routes import SECRET_HEADER, WEBHOOK_PATH
from channels.telegram.settings import TelegramSettings

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 25
RETRY_PAUSE_SECONDS = 3.0
FATAL_ERROR_CODES = frozenset({401, 404, 409})


class PollError(Exception):
    """Polling cannot go on (or, with ``once``, did not finish)."""


def poll(settings: TelegramSettings, service_url: str, once: bool = False) -> int:
    """Forward updates until interrupted; with ``once``, only the pending ones. Returns how many
    updates the webhook accepted."""
    api = settings.api_base_url + settings.bot_token.get_secret_value()
    webhook = service_url.rstrip("/") + WEBHOOK_PATH
    secret = settings.webhook_secret.get_secret_value()
    offset: Optional[int] = None
    forwarded = 0
    with httpx.Client(timeout=LONG_POLL_SECONDS + settings.request_timeout_seconds) as client:
        while True:
            updates = _get_updates(client, api, offset, 0 if once else LONG_POLL_SECONDS, once)
            for update in updates:
                if not _forward(client, webhook, secret, update):
                    if once:
                        raise PollError(f"the service did not take update {update['update_id']}")
                    time.sleep(RETRY_PAUSE_SECONDS)
                    break
                offset, forwarded = update["update_id"] + 1, forwarded + 1
            if once:
                if offset is not None:  # confirm what was forwarded, or the next run sees it again
                    _get_updates(client, api, offset, 0, once)
                return forwarded


def _get_updates(client: httpx.Client, api: str, offset: Optional[int], timeout: int,
                 once: bool) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"timeout": timeout, **({"offset": offset} if offset is not None else {})}
    try:
        answer = client.post(f"{api}/getUpdates", json=params).json()
    except (httpx.HTTPError, ValueError) as error:
        if once:
            raise PollError(f"getUpdates failed: {error}") from error
        log.warning("getUpdates failed (%s); retrying", error)
        time.sleep(RETRY_PAUSE_SECONDS)
        return []
    if not answer.get("ok"):
        refusal = f"getUpdates refused: {answer.get('error_code')} {answer.get('description')}"
        # 401/404: a wrong token; 409: a webhook is set (Telegram serves one or the other,
        # deleteWebhook first). Waiting does not fix those.
        if once or answer.get("error_code") in FATAL_ERROR_CODES:
            raise PollError(refusal)
        log.warning("%s; retrying", refusal)
        time.sleep(RETRY_PAUSE_SECONDS)
        return []
    return [update for update in answer["result"]
            if isinstance(update, dict) and isinstance(update.get("update_id"), int)]


def _forward(client: httpx.Client, webhook: str, secret: str, update: dict[str, Any]) -> bool:
    """True when the webhook took the update (or refused it for good)."""
    try:
        response = client.post(webhook, content=json.dumps(update, ensure_ascii=False).encode(),
                               headers={SECRET_HEADER: secret, "Content-Type": "application/json"})
    except httpx.HTTPError as error:
        log.warning("service unreachable at %s: %s", webhook, error)
        return False
    if response.status_code >= 500:
        log.warning("service answered %s to update %s", response.status_code, update["update_id"])
        return False
    if response.status_code >= 400:
        log.error("service refused update %s: %s %s", update["update_id"], response.status_code,
                  response.text[:300])
    return True
