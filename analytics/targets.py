"""Service-level targets the dashboard measures against.

Queue waits and tickets' first answers use the service's own targets (``HANDOFF_WAIT_SECONDS``,
``HANDOFF_TICKET_HOURS``, through the running desk). Nothing else in the service sets a target for
how long an agent takes to settle a conversation, so that one is the dashboard's own setting
(``DASHBOARD_RESOLUTION_MINUTES``).
"""
from __future__ import annotations

from datetime import timedelta

from handoff.desk import by_tier

DEFAULT_RESOLUTION = {"vip": timedelta(minutes=30), "potential": timedelta(minutes=60),
                      "regular": timedelta(minutes=120)}


def resolution_targets(minutes_by_tier: str) -> dict[str, timedelta]:
    """``"vip=30,regular=90"``: tiers not named keep their default."""
    return {**DEFAULT_RESOLUTION, **by_tier(minutes_by_tier, timedelta(minutes=1))}
