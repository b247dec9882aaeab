"""How the service talks to Rasa: shared by ``bot.channel`` (inside Rasa) and ``channels`` (service)."""

WEBHOOK_PATH = "/webhooks/xiaoshou/webhook"
TOKEN_HEADER = "X-Xiaoshou-Token"
