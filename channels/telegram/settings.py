"""Telegram channel settings, read from ``TELEGRAM_*`` environment variables.

The channel is off until ``TELEGRAM_BOT_TOKEN`` is set; then ``TELEGRAM_WEBHOOK_SECRET`` is
required, because Telegram signs nothing: the secret (given to ``setWebhook`` as
``secret_token``) is the only proof that a webhook request comes from Telegram.
"""
from __future__ import annotations

import re

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What setWebhook accepts as secret_token (Bot API: 1-256 characters A-Z, a-z, 0-9, _ and -).
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# "<bot id>:<key>", as BotFather hands it out.
BOT_TOKEN_PATTERN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")


class TelegramSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TELEGRAM_", env_file=None, extra="ignore")

    bot_token: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")
    # The token is appended to this (PTB's Bot(base_url=...)); tests point it at a stand-in.
    api_base_url: str = "https://api.telegram.org/bot"
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # A 429 asking to wait at most this long is waited out in place; longer ones go back to
    # the router, which retries the delivery later.
    max_retry_after_wait_seconds: float = Field(default=5.0, ge=0)
    # Button payloads stay resolvable this long after the keyboard was sent.
    button_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)

    @model_validator(mode="after")
    def _check_secrets(self) -> TelegramSettings:
        token = self.bot_token.get_secret_value()
        if not token:
            return self
        if not BOT_TOKEN_PATTERN.fullmatch(token):
            raise ValueError("TELEGRAM_BOT_TOKEN does not look like a bot token (<digits>:<key>)")
        if not WEBHOOK_SECRET_PATTERN.fullmatch(self.webhook_secret.get_secret_value()):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_BOT_TOKEN: "
                             "1-256 characters of A-Z a-z 0-9 _ -")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token.get_secret_value())
