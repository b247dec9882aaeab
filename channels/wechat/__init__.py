"""The WeChat official-account (公众号) channel.

Wiring, at startup (see ``routes`` for the webhook's behaviour)::

    wechat = WeChatSettings()                            # WECHAT_* environment variables
    if wechat.enabled:
        app.include_router(make_router(wechat))          # GET/POST /webhooks/wechat
    # in the lifespan, after app.state.redis, app.state.http and app.state.conversations:
    if wechat.enabled:
        state.wechat_sender = build_sender(wechat, state.redis, state.http)
        state.conversations.register_sender("wechat", state.wechat_sender)
"""
from channels.wechat.routes import make_router
from channels.wechat.sender import WeChatSender, build_sender
from channels.wechat.settings import WeChatSettings

__all__ = ["WeChatSender", "WeChatSettings", "build_sender", "make_router"]
