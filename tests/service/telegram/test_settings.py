"""TELEGRAM_* settings: off by default, and no bot token without a usable webhook secret."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from channels.telegram import TelegramSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("BOT_TOKEN", "WEBHOOK_SECRET", "API_BASE_URL"):
        monkeypatch.delenv(f"TELEGRAM_{name}", raising=False)


def test_the_channel_is_off_until_a_token_is_set():
    settings = TelegramSettings()
    assert not settings.enabled
    assert settings.api_base_url == "https://api.telegram.org/bot"


def test_settings_come_from_telegram_prefixed_variables(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC-def_1")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s" * 256)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot")
    settings = TelegramSettings()
    assert settings.enabled
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert "123456:ABC" not in repr(settings)  # secrets stay out of logs


@pytest.mark.parametrize("secret", ["", "s" * 257, "has space", "中文密钥", "semi;colon"])
def test_a_token_without_a_valid_webhook_secret_is_refused(secret):
    with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramSettings(bot_token="123456:ABC", webhook_secret=secret)


@pytest.mark.parametrize("token", ["not-a-token", "123456", ":abc", "123:abc def"])
def test_a_malformed_token_is_refused(token):
    with pytest.raises(ValidationError, match="TELEGRAM_BOT_TOKEN"):
        TelegramSettings(bot_token=token, webhook_secret="secret")
