"""Demo shop settings, from the environment."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic_settings import BaseSettings, SettingsConfigDict


class ShopSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_", extra="ignore")

    db_path: str = "var/demo_shop.sqlite3"
    seed: int = 20261111
    # The moment the seeded data is relative to (default: when the database is created).
    seed_anchor: Optional[datetime] = None
    # When set, every /api request must carry it in X-Api-Key.
    api_key: str = ""
    # Paid orders ship within this many hours (the promise an urge quotes).
    ship_within_hours: int = 48
    # Where customers send returns they post themselves.
    return_address: str = "浙江省杭州市余杭区文一西路 1000 号 小售退货仓（收），电话 0571-88880000"
    # Wrong phone-digit guesses allowed per order per hour before further checks get 429.
    phone_check_failures_per_hour: int = 5
