"""Talk to the Rasa server: the service's webhook channel and the status API."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import httpx

from bot.contract import TOKEN_HEADER, WEBHOOK_PATH


class BotUnavailable(Exception):
    """Rasa did not answer in time or answered with something unusable."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotReply:
    text: str = ""
    buttons: tuple[Button, ...] = ()
    image: Optional[str] = None
    custom: Optional[dict[str, Any]] = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text,
                                "buttons": [vars(button) for button in self.buttons]}
        if self.image:
            data["image"] = self.image
        if self.custom:
            data["custom"] = self.custom
        return data


@dataclass
class RasaClient:
    base_url: str
    token: str = ""
    timeout_seconds: float = 20.0
    _http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self._http = httpx.AsyncClient(base_url=self.base_url.rstrip("/"),
                                       timeout=self.timeout_seconds)

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any]) -> list[BotReply]:
        """One customer message in, the bot's replies out. Raises BotUnavailable."""
        headers = {TOKEN_HEADER: self.token} if self.token else {}
        body = {"sender": sender_id, "message": text, "metadata": metadata}
        try:
            response = await self._http.post(WEBHOOK_PATH, json=body, headers=headers)
            if _replica_lost(response):  # once: the balancer sends the retry to another replica
                response = await self._http.post(WEBHOOK_PATH, json=body, headers=headers)
            response.raise_for_status()
            messages = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise BotUnavailable(f"{type(error).__name__}: {error}") from error
        if not isinstance(messages, list):
            raise BotUnavailable("webhook answer is not a list")
        return [_reply(message) for message in messages if isinstance(message, dict)]

    async def status(self, timeout: float) -> dict[str, Any]:
        """Rasa's /status (raises httpx errors); carries the loaded model's file name."""
        params = {"token": self.token} if self.token else {}
        response = await self._http.get("/status", params=params, timeout=timeout)
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        await self._http.aclose()


def _replica_lost(response: httpx.Response) -> bool:
    """A balancer's 502/504: the Rasa replica holding the request died or stopped answering (seen
    in `make soak` when one is killed). Another replica can answer; the conversation's lock in the
    lock store lapses after TICKET_LOCK_LIFETIME. A 500 is Rasa's own error: not retried."""
    return response.status_code in (502, 504)


def _reply(message: dict[str, Any]) -> BotReply:
    buttons = tuple(
        Button(title=str(button.get("title", "")), payload=str(button.get("payload", "")))
        for button in message.get("buttons") or [] if isinstance(button, dict)
    )
    return BotReply(text=str(message.get("text") or ""), buttons=buttons,
                    image=message.get("image"), custom=message.get("custom"))
