"""Custom actions of the assistant (rasa_sdk), one module per concern, and typed API clients."""
