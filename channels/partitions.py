"""Consumers of the router's partitioned streams: one owner per partition, in order, nothing lost.

A service instance leases partitions (``xs:lease:<n>``, renewed while it works); the owner reads
its partition's stream through the consumer group, first taking over whatever a previous owner
left pending (it died: its lease lapsed), then new entries, one at a time and in order. An entry
is acknowledged (XACK) only after its replies were delivered. An entry that keeps failing is
moved to the dead-letter stream ``xs:dead`` (for an operator) so it cannot block its partition.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Optional

from redis.exceptions import RedisError, ResponseError

from bot.json_logs import log_context
from channels.messages import as_text
from channels.router import PREFIX, ConversationRouter, inbound_from
from service import metrics

log = logging.getLogger(__name__)

GROUP = "router"
DEAD_LETTERS = f"{PREFIX}dead"
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class PartitionWorkers:
    def __init__(self, router: ConversationRouter, name: Optional[str] = None,
                 lease_seconds: float = 10.0, block_seconds: float = 1.0,
                 max_attempts: int = 5, retry_seconds: float = 0.5) -> None:
        self.router = router
        self.name = name or f"consumer-{uuid.uuid4().hex[:8]}"
        self._redis = router.redis
        self._lease_ms = int(lease_seconds * 1000)
        self._block_ms = int(block_seconds * 1000)
        self._max_attempts = max_attempts
        self._retry_seconds = retry_seconds
        self._renew = self._redis.register_script(_RENEW)
        self._owned: dict[int, asyncio.Task[None]] = {}
        self._stopping = False

    async def run(self) -> None:
        """Keep leasing free partitions until ``stop``; each owned one gets its own task."""
        while not self._stopping:
            for partition in range(self.router.partitions):
                task = self._owned.get(partition)
                if task is not None and not task.done():
                    continue
                try:
                    if await self._redis.set(_lease(partition), self.name, nx=True,
                                             px=self._lease_ms) and not self._stopping:
                        self._owned[partition] = asyncio.create_task(self._work(partition))
                except RedisError as error:
                    log.warning("cannot lease partition %s: %s", partition, error)
            await asyncio.sleep(self._lease_ms / 3000)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the entries in hand (up to ``grace_seconds``), then release the leases so
        another instance takes over at once. An entry cut short stays pending, to be redone."""
        self._stopping = True
        tasks = [task for task in self._owned.values() if not task.done()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for partition in list(self._owned):
            try:
                if await self._redis.get(_lease(partition)) == self.name.encode():
                    await self._redis.delete(_lease(partition))
            except RedisError:
                pass

    async def _work(self, partition: int) -> None:
        stream = f"{PREFIX}in:{partition}"
        renewing = asyncio.create_task(self._keep_lease(partition))
        try:
            await self._ensure_group(stream)
            await self._take_over(stream, partition)
            while not self._stopping and await self._still_mine(partition):
                entries = await self._redis.xreadgroup(GROUP, self.name, {stream: ">"}, count=10,
                                                       block=self._block_ms)
                for _, batch in entries or []:
                    for entry_id, fields in batch:
                        if self._stopping or not await self._still_mine(partition):
                            return  # left pending: the next owner takes it over
                        await self._handle(stream, entry_id, fields)
        except RedisError as error:  # the lease lapses; this or another instance resumes
            log.warning("partition %s stopped: %s", partition, error)
        finally:
            renewing.cancel()

    async def _keep_lease(self, partition: int) -> None:
        """Renew the lease while an entry takes long (Rasa slow under load: seen in `make soak`).
        Renewed only between entries, a lease lapsed mid-entry and another instance processed
        the same entry at the same time, recording it twice."""
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                if not await self._still_mine(partition):
                    return  # taken over: the loop notices before its next entry
            except RedisError as error:
                log.warning("cannot renew the lease of partition %s: %s", partition, error)

    async def _ensure_group(self, stream: str) -> None:
        try:
            await self._redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _take_over(self, stream: str, partition: int) -> None:
        """Entries a previous owner read but never acknowledged, oldest first."""
        cursor = "0-0"
        while True:
            cursor, entries, *_ = await self._redis.xautoclaim(stream, GROUP, self.name,
                                                                min_idle_time=0, start_id=cursor)
            for entry_id, fields in entries:
                if fields and await self._still_mine(partition):
                    await self._handle(stream, entry_id, fields)
            if as_text(cursor) == "0-0":
                return

    async def _handle(self, stream: str, entry_id: Any, fields: dict[Any, Any]) -> None:
        """Process until done or dead-lettered; later entries of the partition wait meanwhile."""
        with log_context(_conversation_of(fields)):
            await self._try(stream, entry_id, fields)

    async def _try(self, stream: str, entry_id: Any, fields: dict[Any, Any]) -> None:
        attempts = 0
        while True:
            try:
                await self.router.process(inbound_from(fields))
                break
            except RedisError:
                raise
            except Exception as error:  # DeliveryFailed, a bug, a malformed entry
                attempts += 1
                metrics.ERRORS.labels("entry_failed").inc()
                log.warning("entry %s failed (attempt %s): %s", as_text(entry_id), attempts, error)
                if attempts >= self._max_attempts:
                    reason = f"{type(error).__name__}: {error}"[:500]
                    await self._redis.xadd(DEAD_LETTERS, {**fields, "stream": stream,
                                                          "entry_id": entry_id, "reason": reason})
                    metrics.ERRORS.labels("dead_letter").inc()
                    log.error("entry %s moved to %s after %s attempts", as_text(entry_id),
                              DEAD_LETTERS, attempts)
                    break
                await asyncio.sleep(self._retry_seconds * attempts)
        await self._redis.xack(stream, GROUP, entry_id)

    async def _still_mine(self, partition: int) -> bool:
        return bool(await self._renew(keys=[_lease(partition)], args=[self.name, self._lease_ms]))


def _conversation_of(fields: dict[Any, Any]) -> Optional[str]:
    """The entry's conversation for the log lines about it; None for an entry that does not
    parse (processing it reports that)."""
    try:
        return inbound_from(fields).conversation_id
    except Exception:  # malformed: any parsing error, handled where the entry is processed
        return None


def _lease(partition: int) -> str:
    return f"{PREFIX}lease:{partition}"

