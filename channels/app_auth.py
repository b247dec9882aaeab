"""Customer tokens of the app channel.

The shop's app backend knows who is logged in; it asks for (or signs itself, sharing
APP_TOKEN_SECRET) a token naming the customer, and the chat sends it with every message. The
token is ``v1.<customer_id>.<expires_unix>.<hmac-sha256 hex>``.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Optional

CUSTOMER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VERSION = "v1"


def sign(customer_id: str, secret: str, ttl_seconds: int, now: Optional[float] = None) -> str:
    if not CUSTOMER_ID_RE.match(customer_id):
        raise ValueError("customer id has an unexpected shape")
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    body = f"{_VERSION}.{customer_id}.{expires}"
    return f"{body}.{_mac(body, secret)}"


def verify(token: str, secret: str, now: Optional[float] = None) -> Optional[str]:
    """The customer id the token names, or None if it is forged, malformed or expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION or len(token) > 256:
        return None
    version, customer_id, expires, mac = parts
    body = f"{version}.{customer_id}.{expires}"
    if not hmac.compare_digest(mac.encode(), _mac(body, secret).encode()):
        return None
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return None
    return customer_id if CUSTOMER_ID_RE.match(customer_id) else None


def _mac(body: str, secret: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
