"""WECHAT_* settings: off by default, complete when on, keys checked."""
from __future__ import annotations

import pytest

from channels.wechat import WeChatSettings

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("TOKEN", "APP_ID", "APP_SECRET", "ENCODING_AES_KEY", "PREVIOUS_ENCODING_AES_KEY",
                 "API_BASE_URL", "PASSIVE_TIMEOUT_SECONDS"):
        monkeypatch.delenv(f"WECHAT_{name}", raising=False)


def test_disabled_without_a_token():
    settings = WeChatSettings()
    assert not settings.enabled and not settings.safe_mode
    assert settings.api_base_url == "https://api.weixin.qq.com"
    assert settings.passive_timeout_seconds == 4.0 and settings.max_clock_skew_seconds == 300


def test_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("WECHAT_TOKEN", "tok")
    monkeypatch.setenv("WECHAT_APP_ID", "wx1")
    monkeypatch.setenv("WECHAT_APP_SECRET", "secret")
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", KEY)
    monkeypatch.setenv("WECHAT_API_BASE_URL", "http://127.0.0.1:8191")
    settings = WeChatSettings()
    assert settings.enabled and settings.safe_mode and settings.aes_keys == [KEY]
    assert settings.api_base_url == "http://127.0.0.1:8191"
    assert "secret" not in repr(settings) and KEY not in repr(settings) and "tok" not in repr(settings)


def test_a_token_without_app_credentials_is_refused():
    with pytest.raises(ValueError, match="WECHAT_APP_ID"):
        WeChatSettings(token="tok")


@pytest.mark.parametrize("key", ["short", KEY + "A", "!" * 43])
def test_malformed_aes_keys_are_refused(key):
    with pytest.raises(ValueError):
        WeChatSettings(token="t", app_id="wx1", app_secret="s", encoding_aes_key=key)


def test_previous_key_needs_a_current_one():
    with pytest.raises(ValueError):
        WeChatSettings(token="t", app_id="wx1", app_secret="s", previous_encoding_aes_key=KEY)


def test_passive_timeout_must_leave_room_before_wechats_5_seconds():
    with pytest.raises(ValueError):
        WeChatSettings(passive_timeout_seconds=5)
