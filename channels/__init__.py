"""Customer channels (app/web now; WeChat and Telegram to come) and the conversation router."""
