"""The service process: a FastAPI app composing the routers of ``channels`` and ``handoff``."""
