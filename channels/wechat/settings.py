"""WeChat official-account settings, read from ``WECHAT_*`` environment variables.

The channel is off unless ``WECHAT_TOKEN`` is set; then the app id and secret are required (the
customer-service API needs them). Setting ``WECHAT_ENCODING_AES_KEY`` means the account runs in
safe mode (安全模式) and plaintext callbacks are refused.
"""
from __future__ import annotations

import base64
import binascii

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WeChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WECHAT_", env_file=None, extra="ignore")

    # The token typed into 公众平台 → 基本配置 → 服务器配置; it signs every callback.
    token: str = Field(default="", repr=False)
    app_id: str = ""
    app_secret: str = Field(default="", repr=False)
    # 43 characters; empty means plaintext mode (明文模式).
    encoding_aes_key: str = Field(default="", repr=False)
    # The key before the last change: WeChat may still use it for callbacks in flight.
    previous_encoding_aes_key: str = Field(default="", repr=False)
    api_base_url: str = "https://api.weixin.qq.com"
    api_timeout_seconds: float = Field(default=5.0, gt=0)
    # WeChat gives up on a callback after 5 s, so the passive answer must leave before that.
    passive_timeout_seconds: float = Field(default=4.0, gt=0, lt=5)
    max_clock_skew_seconds: int = Field(default=300, gt=0)
    redis_prefix: str = "xs:wechat:"

    @field_validator("encoding_aes_key", "previous_encoding_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: str) -> str:
        if value and len(aes_key_bytes(value)) != 32:
            raise ValueError("an EncodingAESKey is 43 base64 characters (32 bytes)")
        return value

    @model_validator(mode="after")
    def _complete(self) -> WeChatSettings:
        if self.enabled and not (self.app_id and self.app_secret):
            raise ValueError("WECHAT_APP_ID and WECHAT_APP_SECRET are required when WECHAT_TOKEN is set")
        if self.previous_encoding_aes_key and not self.encoding_aes_key:
            raise ValueError("WECHAT_PREVIOUS_ENCODING_AES_KEY needs WECHAT_ENCODING_AES_KEY")
        return self

    @property
    def enabled(self) -> bool:
        """Mount the webhook only when a token is configured."""
        return bool(self.token)

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)

    @property
    def aes_keys(self) -> list[str]:
        """Current key first: replies are encrypted with the key their callback came with."""
        return [key for key in (self.encoding_aes_key, self.previous_encoding_aes_key) if key]


def aes_key_bytes(encoding_aes_key: str) -> bytes:
    """WeChat's EncodingAESKey is base64 without its trailing '='."""
    try:
        return base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        return b""
