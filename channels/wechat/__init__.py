"""The WeChat official-account (公众号) channel.

Wiring, at startup (see ``routes`` for the webhook's behaviour)::

    settings = WeChatSettings()                      # WECHAT_* environment variables
    if settings.enabled:
        app.include_router(make_router(settings))     # GET/POST /webhooks/wechat
        # in the lifespan, beside app.state.redis and app.state.conversations:
        app.state.wechat_sender = build_sender(settings, app.state.redis, app.state.http)
"""
from channels.wechat.routes import make_router
from channels.wechat.sender import WeChatSender, build_sender
from channels.wechat.settings import WeChatSettings

__all__ = ["WeChatSender", "WeChatSettings", "build_sender", "make_router"]
