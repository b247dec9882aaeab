"""Queue semantics against a real Redis: priority, aging, capacity, leases, one owner."""
from __future__ import annotations

import asyncio
import time

import pytest

from handoff.queue import HandoffQueue


@pytest.fixture
def queue(redis):
    return HandoffQueue(redis, lease_seconds=60)


async def test_vips_go_first_but_a_long_wait_beats_a_new_vip(queue):
    now = time.time()
    await queue.enqueue("h-regular-new", "app:R1", "logistics", "regular", now)
    await queue.enqueue("h-vip", "app:V1", "logistics", "vip", now)
    await queue.enqueue("h-regular-old", "app:R2", "logistics", "regular", now - 3600)
    assert await queue.waiting("logistics") == ["h-regular-old", "h-vip", "h-regular-new"]
    claims = [await queue.claim_next("a1", ["logistics"], capacity=5) for _ in range(4)]
    assert [c.handoff_id for c in claims[:3]] == ["h-regular-old", "h-vip", "h-regular-new"]
    assert claims[3].outcome == "empty"


async def test_a_claim_takes_the_best_placed_of_the_agents_groups(queue):
    now = time.time()
    await queue.enqueue("h-returns", "app:C1", "returns", "regular", now - 60)
    await queue.enqueue("h-quality", "app:C2", "quality", "regular", now - 120)
    await queue.enqueue("h-general", "app:C3", "general", "regular", now - 999)
    claim = await queue.claim_next("a1", ["returns", "quality"], capacity=5)
    assert claim.handoff_id == "h-quality"
    assert await queue.waiting("general") == ["h-general"]  # not the agent's group


async def test_fifty_agents_clicking_at_once_give_one_owner(redis, queue):
    await queue.enqueue("h-1", "app:C1", "general", "regular")
    claims = await asyncio.gather(*(HandoffQueue(redis).claim(f"agent-{n}", "h-1", capacity=3)
                                    for n in range(50)))
    winners = [c for c in claims if c.outcome == "claimed"]
    assert len(winners) == 1 and {c.outcome for c in claims} == {"claimed", "taken"}
    owner = (await queue.handoff("h-1"))["agent"]
    assert await queue.owned_by(owner) == ["h-1"]
    assert (await redis.get("xs:mode:app:C1")) == b"human"


async def test_fifty_concurrent_claim_next_never_share_a_conversation(redis, queue):
    for n in range(20):
        await queue.enqueue(f"h-{n}", f"app:C{n}", "general", "regular")
    claims = await asyncio.gather(*(HandoffQueue(redis).claim_next(f"agent-{n}", ["general"], 1)
                                    for n in range(50)))
    taken = [c.handoff_id for c in claims if c.outcome == "claimed"]
    assert sorted(taken) == sorted(f"h-{n}" for n in range(20))  # each once, all of them


async def test_capacity_is_respected(queue):
    for n in range(3):
        await queue.enqueue(f"h-{n}", f"app:C{n}", "returns", "regular")
    assert [(await queue.claim_next("a1", ["returns"], capacity=2)).outcome for _ in range(3)] \
        == ["claimed", "claimed", "full"]
    assert len(await queue.owned_by("a1")) == 2


async def test_a_lapsed_lease_puts_the_conversation_back_at_the_front(redis):
    queue = HandoffQueue(redis, lease_seconds=0.2)
    await queue.enqueue("h-first", "app:C1", "logistics", "regular", time.time() - 50)
    await queue.claim_next("a1", ["logistics"], capacity=3)
    await queue.enqueue("h-vip", "app:C2", "logistics", "vip")
    await asyncio.sleep(0.3)  # the console is gone for longer than the lease
    assert await queue.reap() == ["h-first"]
    assert await queue.waiting("logistics") == ["h-first", "h-vip"]
    assert await queue.owned_by("a1") == []
    assert (await redis.get("xs:mode:app:C1")) == b"queued"


async def test_a_renewed_lease_is_kept(redis):
    queue = HandoffQueue(redis, lease_seconds=0.4)
    await queue.enqueue("h-1", "app:C1", "logistics", "regular")
    await queue.claim_next("a1", ["logistics"], capacity=3)
    for _ in range(3):
        await asyncio.sleep(0.2)
        assert await queue.renew("a1") == 1
        assert await queue.reap() == []
    assert await queue.owned_by("a1") == ["h-1"]


async def test_the_queue_survives_a_service_restart(redis):
    before = HandoffQueue(redis)
    await before.enqueue("h-1", "app:C1", "general", "potential")
    after = HandoffQueue(redis)  # a new process: everything is in Redis
    assert (await after.place("h-1")).position == 1
    assert (await after.claim_next("a1", ["general"], 1)).handoff_id == "h-1"


async def test_place_and_expected_wait(redis):
    queue = HandoffQueue(redis, handle_seconds=240)
    now = time.time()
    for n in range(3):
        await queue.enqueue(f"h-{n}", f"app:C{n}", "returns", "regular", now + n)
    await queue.set_online("a1", ["returns"], True)
    await queue.set_online("a2", ["returns"], True)
    place = await queue.place("h-2")
    assert (place.position, place.expected_wait_seconds) == (3, 360)


async def test_one_conversation_waits_once_and_cancelling_gives_it_back_to_the_bot(redis, queue):
    assert await queue.enqueue("h-1", "app:C1", "general", "regular")
    assert not await queue.enqueue("h-2", "app:C1", "general", "regular")
    assert await queue.waiting_handoff("app:C1") == "h-1"
    assert await queue.finish("h-1", "cancelled")
    assert await queue.waiting("general") == [] and await redis.get("xs:mode:app:C1") is None
    assert not await queue.finish("h-1", "cancelled")  # once
    assert await queue.enqueue("h-3", "app:C1", "general", "regular")  # may ask again later


async def test_only_the_owner_closes(queue):
    await queue.enqueue("h-1", "app:C1", "quality", "regular")
    await queue.claim_next("a1", ["quality"], 2)
    assert not await queue.finish("h-1", "closed", agent_id="a2")
    assert await queue.finish("h-1", "closed", agent_id="a1")
    assert await queue.owned_by("a1") == []


@pytest.mark.parametrize("group, tier", [("sales", "regular"), ("general", "gold"), ("", "")])
async def test_unknown_groups_and_tiers_are_refused(queue, group, tier):
    with pytest.raises(ValueError):
        await queue.enqueue("h-x", "app:C9", group, tier)
