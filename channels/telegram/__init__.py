"""The Telegram channel: webhook in (``router``), replies out (``build_sender``).

Wiring, in the service's lifespan::

    settings = TelegramSettings()
    if settings.enabled:
        app.state.telegram = build_sender(settings, app.state.redis)
        await app.state.telegram.start()      # aclose() at shutdown
        conversations.register_sender("telegram", app.state.telegram)
    app.include_router(telegram.router)       # 404 while app.state.telegram is unset
"""
from channels.telegram.routes import WEBHOOK_PATH, router
from channels.telegram.sender import TelegramSender, build_sender
from channels.telegram.settings import TelegramSettings

__all__ = ["WEBHOOK_PATH", "TelegramSender", "TelegramSettings", "build_sender", "router"]
