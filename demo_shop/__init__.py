"""The demo shop: the embedded stand-in for a merchant's order system and courier API.

It serves the backend contract (docs/shop-api.openapi.json) over SQLite with deterministically
seeded data, so the assistant runs end to end without a real shop and tests can rely on it.
"""
