"""The router over a real Redis: exactly once, in order, nothing lost when a consumer dies."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from channels.messages import DeliveryFailed, Inbound, RouterUnavailable
from channels.partitions import DEAD_LETTERS, GROUP, PartitionWorkers
from channels.rasa_client import RasaClient
from channels.router import ConversationRouter, inbound_from
from handoff.transcripts import TranscriptStore
from tests.support import free_port


class RecordingSender:
    """The channel side: records deliveries; may fail or hang on demand."""

    def __init__(self, fail_times: int = 0, hang: bool = False) -> None:
        self.delivered: list[tuple[str, list[str]]] = []
        self.fail_times = fail_times
        self.hang = hang

    async def deliver(self, inbound: Inbound, replies: list[dict]) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.fail_times:
            self.fail_times -= 1
            raise DeliveryFailed("channel says try later")
        self.delivered.append((inbound.message_id, [r["text"] for r in replies]))


def make_router(redis, rasa, tmp_path, sender=None) -> ConversationRouter:
    store = TranscriptStore.from_url(f"sqlite:///{tmp_path}/{uuid.uuid4().hex}.sqlite3")
    router = ConversationRouter(redis, RasaClient(rasa.url, timeout_seconds=5), store, partitions=4)
    router.register_sender("app", sender or RecordingSender())
    return router


def message(n: int, conversation: str = "C0001") -> Inbound:
    return Inbound("app", conversation, f"m{n}", f"第{n}条", customer_id=conversation)


async def until(predicate, timeout: float = 15.0) -> None:
    """Wait for a condition the workers bring about (polling, with a deadline); ``predicate``
    may be a coroutine function."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def nothing_pending(redis, router) -> bool:
    return (await redis.xpending(router.stream_of("app:C0001"), GROUP))["pending"] == 0


@pytest.fixture
async def workers():
    running: list[tuple[PartitionWorkers, asyncio.Task]] = []

    def start(router: ConversationRouter, **options) -> PartitionWorkers:
        worker = PartitionWorkers(router, lease_seconds=options.pop("lease_seconds", 2),
                                  block_seconds=0.2, retry_seconds=0.05, **options)
        running.append((worker, asyncio.create_task(worker.run())))
        return worker

    yield start
    for worker, task in running:
        await worker.stop()
        task.cancel()


async def test_a_message_pushed_three_times_is_answered_once(redis, rasa, tmp_path, workers):
    sender = RecordingSender()
    router = make_router(redis, rasa, tmp_path, sender)
    results = [await router.submit(message(1)) for _ in range(3)]
    assert [r.duplicate for r in results] == [False, True, True]
    workers(router)
    await until(lambda: sender.delivered)
    await asyncio.sleep(0.5)  # let any wrongly repeated delivery show up
    assert rasa.calls == [("app:C0001", "第1条")]
    assert sender.delivered == [("m1", ["收到：第1条"])]
    transcript = await router.history("app:C0001")
    assert [(m.direction, m.text) for m in transcript] == [("in", "第1条"), ("out", "收到：第1条")]


async def test_concurrent_messages_of_one_conversation_are_processed_in_order(
        redis, rasa, tmp_path, workers):
    sender = RecordingSender()
    routers = [make_router(redis, rasa, tmp_path, sender) for _ in range(2)]
    workers(routers[0])
    workers(routers[1])  # a second instance competing for the partitions
    await asyncio.gather(*(routers[n % 2].submit(message(n)) for n in range(20)))
    await until(lambda: len(sender.delivered) == 20)
    entries = await redis.xrange(routers[0].stream_of("app:C0001"))
    submitted = [inbound_from(fields).text for _, fields in entries]
    assert [text for _, text in rasa.calls] == submitted  # the bot saw them in stream order
    assert len(set(submitted)) == 20


async def test_a_consumer_killed_mid_message_is_replaced_and_the_message_handled_once(
        redis, rasa, tmp_path, workers):
    hung = RecordingSender(hang=True)
    first = make_router(redis, rasa, tmp_path, hung)
    dying = PartitionWorkers(first, lease_seconds=1, block_seconds=0.2)
    task = asyncio.create_task(dying.run())
    await first.submit(message(7))
    await until(lambda: rasa.calls)  # it asked the bot, and now hangs delivering
    task.cancel()                     # killed: no XACK, no lease release
    for owned in list(dying._owned.values()):
        owned.cancel()
    healthy = RecordingSender()
    workers(make_router(redis, rasa, tmp_path, healthy), lease_seconds=1)
    await until(lambda: healthy.delivered)
    assert healthy.delivered == [("m7", ["收到：第7条"])]
    assert rasa.calls == [("app:C0001", "第7条")]  # the bot was not asked again
    await until(lambda: nothing_pending(redis, first))  # and the entry is acknowledged


async def test_a_message_that_keeps_failing_is_dead_lettered_and_the_next_goes_on(
        redis, rasa, tmp_path, workers):
    sender = RecordingSender(fail_times=3)
    router = make_router(redis, rasa, tmp_path, sender)
    await router.submit(message(1))
    await router.submit(message(2))
    workers(router, max_attempts=3)
    await until(lambda: sender.delivered)
    assert sender.delivered == [("m2", ["收到：第2条"])]
    dead = await redis.xrange(DEAD_LETTERS)
    assert len(dead) == 1 and b"DeliveryFailed" in dead[0][1][b"reason"]
    assert b'"message_id": "m1"' in dead[0][1][b"inbound"]


async def test_a_retried_delivery_succeeds_without_asking_the_bot_again(redis, rasa, tmp_path, workers):
    sender = RecordingSender(fail_times=2)
    router = make_router(redis, rasa, tmp_path, sender)
    await router.submit(message(3))
    workers(router)
    await until(lambda: sender.delivered)
    assert rasa.calls == [("app:C0001", "第3条")] and sender.delivered == [("m3", ["收到：第3条"])]


async def test_a_waiting_caller_takes_the_replies_and_the_sender_stays_silent(
        redis, rasa, tmp_path, workers):
    sender = RecordingSender()
    router = make_router(redis, rasa, tmp_path, sender)
    workers(router)
    inbound = message(4)
    await router.submit(inbound)
    assert await router.wait_replies(inbound, 10) == [{"text": "收到：第4条", "buttons": []}]
    retry = await router.wait_replies(inbound, 1)  # a client retry gets the same replies
    assert retry == [{"text": "收到：第4条", "buttons": []}]
    await asyncio.sleep(0.3)
    assert sender.delivered == []


async def test_a_caller_that_gives_up_leaves_the_replies_to_the_sender(redis, rasa, tmp_path, workers):
    rasa.delay_seconds = 1.0
    sender = RecordingSender()
    router = make_router(redis, rasa, tmp_path, sender)
    workers(router)
    inbound = message(5)
    await router.submit(inbound)
    assert await router.wait_replies(inbound, 0.2) is None
    await until(lambda: sender.delivered)
    assert sender.delivered == [("m5", ["收到：第5条"])]
    assert await router.wait_replies(inbound, 0.2) is None  # a late retry does not repeat them


async def test_in_human_mode_the_bot_stays_silent(redis, rasa, tmp_path, workers):
    sender = RecordingSender()
    router = make_router(redis, rasa, tmp_path, sender)
    await redis.set("xs:mode:app:C0002", "human")
    await router.submit(message(6, "C0002"))
    workers(router)
    await until(lambda: redis.xlen("xs:to-agents"))
    assert rasa.calls == [] and sender.delivered == []
    [(_, fields)] = await redis.xrange("xs:to-agents")
    assert fields[b"conversation_id"] == b"app:C0002" and fields[b"text"] == "第6条".encode()


async def test_without_redis_a_message_is_refused_not_lost(rasa, tmp_path):
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    router = make_router(dead, rasa, tmp_path)
    with pytest.raises(RouterUnavailable):
        await router.submit(message(1))
    await dead.aclose()


async def test_an_operator_replays_a_dead_letter_and_it_is_delivered_once(
        redis, rasa, tmp_path, workers):
    from channels.dead_letters import dead_letters, replay

    sender = RecordingSender(fail_times=2)
    router = make_router(redis, rasa, tmp_path, sender)
    await router.submit(message(8))
    workers(router, max_attempts=2)
    await until(lambda: redis.xlen(DEAD_LETTERS))
    [letter] = await dead_letters(redis)
    assert letter["inbound"]["message_id"] == "m8" and "DeliveryFailed" in letter["reason"]
    await replay(redis, letter["id"])
    await until(lambda: sender.delivered)
    assert sender.delivered == [("m8", ["收到：第8条"])]
    assert rasa.calls == [("app:C0001", "第8条")]  # answered once, delivered on the replay
    assert await dead_letters(redis) == []
    with pytest.raises(LookupError):
        await replay(redis, letter["id"])


@pytest.mark.parametrize("arguments, code, says", [
    (["list"], 0, ""), (["replay", "1-0"], 1, "no dead letter"), (["replay"], 2, "entry_id"),
    (["drop-everything"], 2, "invalid choice"), ([], 2, "required"),
])
def test_the_dead_letter_command_line(fresh_redis_url, arguments, code, says):
    import os
    import subprocess
    import sys

    from tests.support import ROOT
    done = subprocess.run([sys.executable, "-m", "channels.dead_letters", *arguments], cwd=ROOT,
                          env={**os.environ, "REDIS_URL": fresh_redis_url, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == code and says in done.stderr


async def test_stopping_finishes_the_message_in_hand(redis, rasa, tmp_path):
    rasa.delay_seconds = 0.8
    sender = RecordingSender()
    router = make_router(redis, rasa, tmp_path, sender)
    worker = PartitionWorkers(router, lease_seconds=2, block_seconds=0.2)
    task = asyncio.create_task(worker.run())
    await router.submit(message(9))
    await until(lambda: rasa.calls)   # the bot is thinking …
    await worker.stop()               # … when the instance is asked to shut down
    task.cancel()
    assert sender.delivered == [("m9", ["收到：第9条"])]
    assert await nothing_pending(redis, router)
    assert await redis.keys("xs:lease:*") == []  # released for the next instance


async def test_a_slow_bot_does_not_let_a_second_instance_take_the_same_message(
        redis, rasa, tmp_path, workers):
    """Seen in `make soak`: under load Rasa took longer than the partition lease, the lease
    lapsed mid-message and the other instance processed the same entry too (two transcript
    rows, two replies). The owner now renews its lease while it works."""
    rasa.delay_seconds = 2.5  # longer than two leases of 1 s
    senders = [RecordingSender(), RecordingSender()]
    routers = [make_router(redis, rasa, tmp_path, sender) for sender in senders]
    workers(routers[0], lease_seconds=1)
    await routers[0].submit(message(1))
    await until(lambda: rasa.calls)  # the first instance holds it and waits for the bot
    workers(routers[1], lease_seconds=1)  # a second instance wanting partitions
    await until(lambda: senders[0].delivered or senders[1].delivered)
    await until(lambda: nothing_pending(redis, routers[0]))
    assert rasa.calls == [("app:C0001", "第1条")]
    assert senders[0].delivered + senders[1].delivered == [("m1", ["收到：第1条"])]
