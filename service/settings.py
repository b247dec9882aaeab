"""Service settings: one object, read from the environment (see README's configuration table)."""
from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from typing import Literal

import yaml
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from actions.policy import POLICY_PATH
from service.rate_limit import Limit

log = logging.getLogger(__name__)


_BY_TIER = r"^((vip|potential|regular)=\d+(\.\d+)?)?(,(vip|potential|regular)=\d+(\.\d+)?)*$"


def policy_agent_hours() -> str:
    """The agents' hours as the shop's policy states them (FAQ answers quote the same value)."""
    try:
        data = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8")) or {}
        return str(data["service"]["agent_hours"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        log.warning("agent hours not in %s (%s); using 09:00-22:00", POLICY_PATH.name, error)
        return "09:00-22:00"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    xs_env: Literal["development", "production"] = "development"
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = "sqlite:///var/xiaoshou.sqlite3"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_auth_token: str = ""
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    shop_api_url: str = "http://127.0.0.1:8100/api/v1"
    shop_api_key: str = ""
    bot_timeout_seconds: float = Field(default=20.0, gt=0)
    probe_timeout_seconds: float = Field(default=2.0, gt=0)
    # Signs the app channel's customer tokens. Required outside development.
    app_token_secret: str = ""
    app_token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # Idempotency keys must outlive every client retry.
    dedupe_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    max_message_chars: int = Field(default=2000, gt=0)
    # Streams a conversation is hashed onto; each is processed in order by one consumer.
    router_partitions: int = Field(default=8, ge=1, le=256)
    # Run the stream consumers in this process (off for a process that only accepts messages).
    router_consumers: bool = True
    router_lease_seconds: float = Field(default=10.0, gt=0)
    # Tries of a message whose delivery keeps failing, before it goes to the dead-letter stream.
    router_max_attempts: int = Field(default=5, ge=1)
    # When agents work, shop time (UTC+8); outside it a handoff becomes a ticket.
    # The same start and end ("00:00-00:00") means around the clock.
    handoff_hours: str = Field(default_factory=policy_agent_hours,
                               pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    # First answer to a ticket within these hours, and the live queue's longest fair wait in
    # seconds, by tier ("vip=2,potential=4,regular=8"); tiers not named keep their default.
    handoff_ticket_hours: str = Field(default="", pattern=_BY_TIER)
    handoff_wait_seconds: str = Field(default="", pattern=_BY_TIER)
    # The dashboard's target from handoff to the agent closing it, minutes per tier (same form).
    dashboard_resolution_minutes: str = Field(default="", pattern=_BY_TIER)

    # Requests per client address on the customers' endpoints, and messages per customer on
    # every channel: "count/seconds" (service/rate_limit.py).
    rate_limit_per_ip: str = "600/60"
    rate_limit_per_customer: str = "30/60"

    @field_validator("rate_limit_per_ip", "rate_limit_per_customer")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        Limit.parse(value)  # the ValueError says which shape is expected
        return value

    @model_validator(mode="after")
    def _secrets(self) -> Settings:
        if self.xs_env == "production" and len(self.app_token_secret) < 32:
            raise ValueError("APP_TOKEN_SECRET must be set (32+ characters) in production")
        if not self.app_token_secret:
            # Development only: tokens die with the process, which is fine for a demo chat.
            log.warning("APP_TOKEN_SECRET not set; using a random one for this process")
            self.app_token_secret = secrets.token_urlsafe(32)
        return self

    @property
    def demo_login_enabled(self) -> bool:
        """The web chat's "log in as a demo customer" exists only in development."""
        return self.xs_env == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
