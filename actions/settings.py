"""Action-server settings, read once from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    shop_api_url: str
    shop_api_key: str
    shop_timeout_seconds: float
    shop_read_retries: int
    # Where courier traces come from: "shop" (the order system) or "kuaidi100".
    logistics_source: str = "shop"
    kuaidi100_url: str = "https://poll.kuaidi100.com/poll/query.do"
    kuaidi100_customer: str = ""
    kuaidi100_key: str = ""


def load() -> Settings:
    port = os.environ.get("SHOP_PORT", "8100")
    return Settings(
        shop_api_url=os.environ.get("SHOP_API_URL", f"http://127.0.0.1:{port}/api/v1").rstrip("/"),
        shop_api_key=os.environ.get("SHOP_API_KEY", ""),
        shop_timeout_seconds=float(os.environ.get("SHOP_TIMEOUT_SECONDS", "3")),
        shop_read_retries=int(os.environ.get("SHOP_READ_RETRIES", "2")),
        logistics_source=os.environ.get("LOGISTICS_SOURCE", "shop"),
        kuaidi100_url=os.environ.get("KUAIDI100_URL", "https://poll.kuaidi100.com/poll/query.do"),
        kuaidi100_customer=os.environ.get("KUAIDI100_CUSTOMER", ""),
        kuaidi100_key=os.environ.get("KUAIDI100_KEY", ""),
    )
