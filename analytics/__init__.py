"""The supervisors' dashboard: aggregates over the durable records (messages, handoffs, tickets,
ratings), Rasa's event log (intents, FAQ answers, fallbacks) and the shop's after-sales counts."""
