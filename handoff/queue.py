"""The human-agent queue in Redis: who waits, in what order, and which agent owns what.

Order within a skill group: by waiting time with a head start per customer tier (a VIP counts as
having waited ``head_start['vip']`` seconds more), so VIPs wait least and a regular customer who
has waited long enough goes before new VIPs: nobody starves. Claims are one Lua script each, so
exactly one agent gets a conversation however many click at once, and an agent never holds more
than their capacity. An owner holds a lease that the console renews; when it lapses (the console
disconnected and did not come back within the grace period) the conversation goes back to the
front of its queue.

Keys: ``xs:queue:<group>`` (sorted set of handoff ids by priority), ``xs:handoff:<id>`` (hash),
``xs:leases`` (sorted set of owned handoff ids by lease expiry), ``xs:agent:<id>:owned`` (set),
``xs:mode:<conversation>`` (``queued`` / ``human``; absent means the bot answers).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from redis.asyncio import Redis

from channels.messages import as_text

P = "xs:"
SKILL_GROUPS = ("logistics", "returns", "quality", "general")
TIERS = ("vip", "potential", "regular")
DEFAULT_HEAD_START = {"vip": 900.0, "potential": 300.0, "regular": 0.0}
FRONT = -1e12  # a score before every waiting customer
PRESENCE_SECONDS = 30.0
# What the consoles follow live: customer messages of conversations in human hands, and queue
# changes (so a waiting customer shows up at once, not at the next poll). Trimmed: consoles only
# read new entries.
TO_AGENTS = f"{P}to-agents"
TO_AGENTS_KEEP = 10_000

# KEYS: agent's owned set, leases. ARGV: agent, capacity, lease expiry ms, now, groups...
# Takes the best-placed waiting handoff of the agent's groups, or nothing.
_CLAIM_NEXT = """
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return {'full'} end
local best, best_score, best_group = nil, nil, nil
for i = 5, #ARGV do
  local top = redis.call('ZRANGE', 'xs:queue:' .. ARGV[i], 0, 0, 'WITHSCORES')
  if top[1] and (best_score == nil or tonumber(top[2]) < best_score) then
    best, best_score, best_group = top[1], tonumber(top[2]), ARGV[i]
  end
end
if best == nil then return {'empty'} end
redis.call('ZREM', 'xs:queue:' .. best_group, best)
redis.call('SADD', KEYS[1], best)
redis.call('ZADD', KEYS[2], ARGV[3], best)
redis.call('HSET', 'xs:handoff:' .. best, 'status', 'assigned', 'agent', ARGV[1],
           'claimed_at', ARGV[4], 'score', best_score)
local conversation = redis.call('HGET', 'xs:handoff:' .. best, 'conversation_id')
redis.call('SET', 'xs:mode:' .. conversation, 'human')
return {'claimed', best}
"""
# KEYS: agent's owned set, leases, the handoff hash. ARGV: agent, capacity, expiry ms, now, id.
_CLAIM_ONE = """
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return {'full'} end
local group = redis.call('HGET', KEYS[3], 'group')
if not group or redis.call('ZREM', 'xs:queue:' .. group, ARGV[5]) == 0 then return {'taken'} end
redis.call('SADD', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[5])
redis.call('HSET', KEYS[3], 'status', 'assigned', 'agent', ARGV[1], 'claimed_at', ARGV[4])
redis.call('SET', 'xs:mode:' .. redis.call('HGET', KEYS[3], 'conversation_id'), 'human')
return {'claimed', ARGV[5]}
"""
# KEYS: leases. ARGV: now ms. Lapsed owners lose their conversations to the front of the queue.
_REAP = """
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, id in ipairs(lapsed) do
  local h = 'xs:handoff:' .. id
  local agent = redis.call('HGET', h, 'agent')
  redis.call('ZREM', KEYS[1], id)
  if agent then redis.call('SREM', 'xs:agent:' .. agent .. ':owned', id) end
  redis.call('HSET', h, 'status', 'waiting', 'agent', '', 'requeued', '1')
  redis.call('HDEL', h, 'claimed_at')
  redis.call('ZADD', 'xs:queue:' .. redis.call('HGET', h, 'group'), ARGV[2], id)
  redis.call('SET', 'xs:mode:' .. redis.call('HGET', h, 'conversation_id'), 'queued')
end
return lapsed
"""
# KEYS: the handoff hash, leases, owner's set. ARGV: id, owner, target group, front score.
# The owner hands the conversation to another group: it waits at the front of that queue.
_TRANSFER = """
if redis.call('HGET', KEYS[1], 'agent') ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'assigned' then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'waiting', 'agent', '', 'group', ARGV[3], 'transferred', '1')
redis.call('ZADD', 'xs:queue:' .. ARGV[3], ARGV[4], ARGV[1])
redis.call('SET', 'xs:mode:' .. redis.call('HGET', KEYS[1], 'conversation_id'), 'queued')
return 1
"""
# KEYS: the handoff hash, leases, owner's set, colleague's set. ARGV: id, owner, colleague,
# colleague's capacity, lease expiry ms, now. The owner hands the conversation to a colleague
# directly; it never waits in a queue, so the customer sees no gap.
_HAND_TO = """
if redis.call('HGET', KEYS[1], 'agent') ~= ARGV[2] then return 'not_yours' end
if redis.call('HGET', KEYS[1], 'status') ~= 'assigned' then return 'not_open' end
if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[4]) then return 'full' end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('HSET', KEYS[1], 'agent', ARGV[3], 'claimed_at', ARGV[6], 'transferred', '1')
return 'moved'
"""
# KEYS: the handoff hash, leases. ARGV: id, expected owner ('' = anyone), final status.
_FINISH = """
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return 0 end
local agent = redis.call('HGET', KEYS[1], 'agent')
if ARGV[2] ~= '' and agent ~= ARGV[2] then return 0 end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'waiting' and status ~= 'assigned' then return 0 end
redis.call('ZREM', 'xs:queue:' .. redis.call('HGET', KEYS[1], 'group'), ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if agent and agent ~= '' then redis.call('SREM', 'xs:agent:' .. agent .. ':owned', ARGV[1]) end
redis.call('HSET', KEYS[1], 'status', ARGV[3])
redis.call('DEL', 'xs:mode:' .. redis.call('HGET', KEYS[1], 'conversation_id'))
redis.call('DEL', 'xs:waiting:' .. redis.call('HGET', KEYS[1], 'conversation_id'))
return 1
"""


@dataclass(frozen=True)
class Claim:
    outcome: str                  # claimed | empty | full | taken
    handoff_id: Optional[str] = None


@dataclass(frozen=True)
class Place:
    position: int                 # 1 = next
    expected_wait_seconds: int


async def tell_agents(redis: Redis, fields: dict[str, str]) -> None:
    """A customer message (``conversation_id``, ``text``) or a queue change (``event``)."""
    await redis.xadd(TO_AGENTS, fields, maxlen=TO_AGENTS_KEEP, approximate=True)


class HandoffQueue:
    def __init__(self, redis: Redis, lease_seconds: float = 60.0,
                 head_start: Optional[dict[str, float]] = None,
                 handle_seconds: float = 300.0) -> None:
        self.redis = redis
        self._lease_ms = int(lease_seconds * 1000)
        self._head_start = head_start or DEFAULT_HEAD_START
        self._handle_seconds = handle_seconds  # mean time an agent spends on one conversation
        self._claim_next = redis.register_script(_CLAIM_NEXT)
        self._hand_to = redis.register_script(_HAND_TO)
        self._claim_one = redis.register_script(_CLAIM_ONE)
        self._reap = redis.register_script(_REAP)
        self._finish = redis.register_script(_FINISH)
        self._transfer = redis.register_script(_TRANSFER)

    async def enqueue(self, handoff_id: str, conversation_id: str, group: str, tier: str,
                      now: Optional[float] = None, *, reason: str = "") -> bool:
        """Put a conversation in its group's queue; False when it is already waiting or owned."""
        if group not in SKILL_GROUPS or tier not in TIERS:
            raise ValueError(f"unknown group {group!r} or tier {tier!r}")
        now = time.time() if now is None else now
        if not await self.redis.set(f"{P}waiting:{conversation_id}", handoff_id, nx=True):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"{P}handoff:{handoff_id}", mapping={
                "conversation_id": conversation_id, "group": group, "tier": tier,
                "reason": reason, "status": "waiting", "enqueued_at": now, "agent": ""})
            pipe.zadd(f"{P}queue:{group}", {handoff_id: now - self._head_start[tier]})
            pipe.set(f"{P}mode:{conversation_id}", "queued")
            await pipe.execute()
        return True

    async def claim_next(self, agent_id: str, groups: list[str], capacity: int) -> Claim:
        now = time.time()
        result = await self._claim_next(
            keys=[_owned(agent_id), f"{P}leases"],
            args=[agent_id, capacity, int(now * 1000) + self._lease_ms, now, *groups])
        return Claim(*(as_text(part) for part in result))

    async def claim(self, agent_id: str, handoff_id: str, capacity: int) -> Claim:
        now = time.time()
        result = await self._claim_one(
            keys=[_owned(agent_id), f"{P}leases", f"{P}handoff:{handoff_id}"],
            args=[agent_id, capacity, int(now * 1000) + self._lease_ms, now, handoff_id])
        return Claim(*(as_text(part) for part in result))

    async def renew(self, agent_id: str) -> int:
        """The console's heartbeat: extend the leases of everything the agent owns."""
        owned = [as_text(x) for x in await self.redis.smembers(_owned(agent_id))]
        if owned:
            expiry = int(time.time() * 1000) + self._lease_ms
            await self.redis.zadd(f"{P}leases", dict.fromkeys(owned, expiry), xx=True)
        return len(owned)

    async def reap(self) -> list[str]:
        """Return lapsed conversations to the front of their queues (run it every few seconds)."""
        lapsed = await self._reap(keys=[f"{P}leases"], args=[int(time.time() * 1000), FRONT])
        return [as_text(handoff_id) for handoff_id in lapsed]

    async def finish(self, handoff_id: str, status: str, agent_id: str = "") -> bool:
        """Close (``closed``), cancel (``cancelled``) or turn into a ticket (``ticket``): the bot
        answers the conversation again. With ``agent_id`` only that owner may do it."""
        done = await self._finish(keys=[f"{P}handoff:{handoff_id}", f"{P}leases"],
                                  args=[handoff_id, agent_id, status])
        return bool(done)

    async def transfer(self, handoff_id: str, agent_id: str, group: str) -> bool:
        """The owner passes the conversation to ``group``, where it waits at the front."""
        if group not in SKILL_GROUPS:
            raise ValueError(f"unknown group {group!r}")
        return bool(await self._transfer(
            keys=[f"{P}handoff:{handoff_id}", f"{P}leases", _owned(agent_id)],
            args=[handoff_id, agent_id, group, FRONT]))

    async def hand_to(self, handoff_id: str, owner: str, colleague: str, capacity: int) -> str:
        """The owner gives the conversation to ``colleague`` (within their capacity): ``moved``,
        ``full``, ``not_yours`` or ``not_open``."""
        if colleague == owner:
            return "not_yours"
        now = time.time()
        return as_text(await self._hand_to(
            keys=[f"{P}handoff:{handoff_id}", f"{P}leases", _owned(owner), _owned(colleague)],
            args=[handoff_id, owner, colleague, capacity, int(now * 1000) + self._lease_ms, now]))

    async def online_agents(self, groups: list[str]) -> set[str]:
        """Agents seen within ``PRESENCE_SECONDS`` in any of ``groups``."""
        since = time.time() - PRESENCE_SECONDS
        found: set[str] = set()
        for group in groups:
            found.update(as_text(a) for a in await self.redis.zrangebyscore(
                f"{P}online:{group}", since, "+inf"))
        return found

    async def load(self) -> dict[str, Any]:
        """For the supervisor: per group, how many wait and for how long; per agent, how many
        conversations they hold."""
        groups = {}
        now = time.time()
        for group in SKILL_GROUPS:
            waits = []
            for handoff_id in await self.waiting(group, 1000):
                info = await self.handoff(handoff_id)
                waits.append({"handoff_id": handoff_id, "tier": info.get("tier", "regular"),
                              "waited_seconds": now - float(info.get("enqueued_at") or now)})
            oldest = max((w["waited_seconds"] for w in waits), default=None)
            groups[group] = {"waiting": len(waits), "longest_wait_seconds": oldest,
                             "agents_online": await self.online(group), "waits": waits}
        agents = {}
        async for key in self.redis.scan_iter(match=f"{P}agent:*:owned"):
            agent_id = as_text(key).split(":")[2]
            agents[agent_id] = await self.redis.scard(key)
        return {"groups": groups, "agents": agents}

    async def waiting_handoff(self, conversation_id: str) -> Optional[str]:
        value = await self.redis.get(f"{P}waiting:{conversation_id}")
        return as_text(value) if value is not None else None

    async def place(self, handoff_id: str) -> Optional[Place]:
        """Where a waiting customer stands, and a wait estimate from the agents on the group."""
        info = await self.handoff(handoff_id)
        if info.get("status") != "waiting":
            return None
        rank = await self.redis.zrank(f"{P}queue:{info['group']}", handoff_id)
        if rank is None:
            return None
        agents = max(await self.online(info["group"]), 1)
        return Place(rank + 1, int((rank + 1) * self._handle_seconds / agents))

    async def handoff(self, handoff_id: str) -> dict[str, str]:
        return {as_text(k): as_text(v) for k, v in
                (await self.redis.hgetall(f"{P}handoff:{handoff_id}")).items()}

    async def waiting(self, group: str, limit: int = 50) -> list[str]:
        return [as_text(x) for x in await self.redis.zrange(f"{P}queue:{group}", 0, limit - 1)]

    async def owned_by(self, agent_id: str) -> list[str]:
        return sorted(as_text(x) for x in await self.redis.smembers(_owned(agent_id)))

    async def set_online(self, agent_id: str, groups: list[str], online: bool) -> None:
        """Presence by heartbeat: an agent counts as online for ``PRESENCE_SECONDS`` after the
        last sign of life (login, console heartbeat), so a crashed console does not linger."""
        for group in groups:
            if online:
                await self.redis.zadd(f"{P}online:{group}", {agent_id: time.time()})
            else:
                await self.redis.zrem(f"{P}online:{group}", agent_id)

    async def online(self, group: str) -> int:
        return await self.redis.zcount(f"{P}online:{group}", time.time() - PRESENCE_SECONDS, "+inf")


def _owned(agent_id: str) -> str:
    return f"{P}agent:{agent_id}:owned"

