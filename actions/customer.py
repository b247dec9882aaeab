"""Who the customer is: the service puts it in every message's metadata (never the customer)."""
from __future__ import annotations

import re
from typing import Optional

from rasa_sdk import Tracker

_CUSTOMER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def customer_id_of(tracker: Tracker) -> Optional[str]:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    customer_id = metadata.get("customer_id")
    if isinstance(customer_id, str) and _CUSTOMER_ID_RE.match(customer_id):
        return customer_id
    return None
