"""A test double of the router's ``ConversationSubmitter`` protocol (``channels/messages.py``).

The real router (``channels/router.py``) is exercised by the engineer's integration tests; here
the webhook only needs something that keeps the contract the same way:

- ``submit`` dedupes by ``Inbound.dedupe_key`` and raises ``RouterUnavailable`` when told to;
- the bot answers a message once (``canned``); its replies go to the first ``wait_replies``
  caller that is waiting when they are ready, and again to later callers (WeChat's retries) for
  as long as they are kept; a caller that gives up before they are ready leaves them to the
  channel's Sender (``to_sender``), and later callers then get None.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from channels.messages import Inbound, Reply, RouterUnavailable, Submitted


class RecordingSubmitter:
    def __init__(self, replies: Optional[list[Reply]] = None, ready: bool = True) -> None:
        self.canned = replies if replies is not None else [{"text": "您好，请问有什么可以帮您？"}]
        self.available = True
        self.submitted: list[Inbound] = []     # every call, duplicates included
        self.new: list[Inbound] = []
        self.duplicates: list[Inbound] = []
        self.waits: list[float] = []           # the timeout of each wait_replies call
        self.to_sender: list[Inbound] = []     # replies the router would hand to the Sender
        self._seen: set[str] = set()
        self._taken: dict[str, str] = {}       # dedupe key → "caller" | "sender"
        self._ready = asyncio.Event()
        if ready:
            self._ready.set()

    def make_ready(self) -> None:
        self._ready.set()

    async def submit(self, inbound: Inbound) -> Submitted:
        if not self.available:
            raise RouterUnavailable("redis down (test double)")
        self.submitted.append(inbound)
        if inbound.dedupe_key in self._seen:
            self.duplicates.append(inbound)
            return Submitted(duplicate=True, entry_id=None)
        self._seen.add(inbound.dedupe_key)
        self.new.append(inbound)
        return Submitted(duplicate=False, entry_id=f"{len(self.new)}-0")

    async def wait_replies(self, inbound: Inbound, timeout: float) -> Optional[list[Reply]]:
        self.waits.append(timeout)
        key = inbound.dedupe_key
        if key in self._taken:
            return self.canned if self._taken[key] == "caller" else None
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except asyncio.TimeoutError:
            self._taken[key] = "sender"
            self.to_sender.append(inbound)
            return None
        self._taken[key] = "caller"
        return self.canned
