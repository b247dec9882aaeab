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
