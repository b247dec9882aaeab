"""Build the demo shop app. The database is created and seeded on first start, not at import."""
from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from fastapi import Depends, FastAPI, Request
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from demo_shop import api, errors, stats, writes
from demo_shop.models import Base, Customer
from demo_shop.seed import seed
from demo_shop.settings import ShopSettings

DESCRIPTION = """The backend contract between 小售 and a merchant's order system.

The demo shop implements it over SQLite with seeded data; a real shop implements the same routes.
Errors are `{"error": {"code": ..., "message": ...}}`. When the shop is configured with an API key,
every `/api` call carries it in `X-Api-Key`.
"""


def open_database(settings: ShopSettings) -> Engine:
    """The shop's engine; creates and seeds the database file when it is new."""
    path = Path(settings.db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
    event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA foreign_keys=ON"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        if session.scalar(select(Customer.id).limit(1)) is None:
            anchor = settings.seed_anchor or datetime.now(timezone.utc)
            if anchor.tzinfo is not None:
                anchor = anchor.astimezone(timezone.utc).replace(tzinfo=None)
            seed(session, settings.seed, anchor)
    return engine


def create_app(settings: Optional[ShopSettings] = None) -> FastAPI:
    settings = settings or ShopSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = open_database(settings)
        yield
        app.state.engine.dispose()

    def require_api_key(request: Request) -> None:
        if settings.api_key and not hmac.compare_digest(
                request.headers.get("x-api-key", "").encode(), settings.api_key.encode()):
            raise errors.Unauthorized("unauthorized", "API 密钥无效")

    app = FastAPI(title="小售 demo shop: order system contract", version="1.0.0",
                  description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    app.state.settings = settings
    app.include_router(api.router, dependencies=[Depends(require_api_key)])
    app.include_router(writes.router, dependencies=[Depends(require_api_key)])
    app.include_router(stats.router, dependencies=[Depends(require_api_key)])

    @app.get("/healthz", tags=["operations"], summary="The shop answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def openapi_json() -> str:
    """The contract as committed in docs/shop-api.openapi.json (stable order, readable Chinese)."""
    document = create_app(ShopSettings()).openapi()
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
