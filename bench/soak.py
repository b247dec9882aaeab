"""``make soak``: simulated customers on the local cluster for minutes, while members are killed.

    python -m bench.soak [--customers 200] [--minutes 5] [--seed N]

The cluster (``cluster.local``: 2 Rasa, 2 action servers, 2 service instances behind nginx,
PostgreSQL, Redis with an append-only file) is started on loopback. Customers chat through the
app channel, WeChat (signed XML, retried by "WeChat" when no answer comes within 5 s) and Telegram
(webhook updates, retried on any non-200); some ask for a human, whom simulated agents claim,
answer and close. At three random moments one service instance, one Rasa server and Redis are
killed with SIGKILL; Redis comes back from its append-only file, the others are started again as
a supervisor would. Afterwards the records (SQL transcripts and handoffs, Redis delivery
progress) are held against what customers and agents saw; the counts that must be zero and the
latency around each fault are printed and filed in reports/soak.md and reports/soak.json.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import httpx
import websockets
from sqlalchemy import create_engine, text

from bench import report
from channels import app_auth
from cluster.local import ClusterConfig, LocalCluster, drop_database
from handoff.agents import AgentDirectory
from tests.stand_ins.serving import serve
from tests.stand_ins.telegram_api import TelegramStandIn
from tests.stand_ins.wechat_api import WeChatApiState
from tests.stand_ins.wechat_api import serving as wechat_serving

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
WECHAT_TOKEN, WECHAT_APP_ID, WECHAT_SECRET = "soaktoken", "wxsoak", "soak-secret"
TELEGRAM_TOKEN, TELEGRAM_SECRET = "123456:TEST", "soak-webhook-secret"
AGENTS = 4
ANSWER_WAIT_SECONDS = 120     # a customer gives up on a reply after this (then it counts)
RETRY_FOR_SECONDS = 90        # a client keeps retrying a refused message this long
THINK_SECONDS = (15.0, 45.0)  # between a reply and the customer's next message (a person types)
HUMAN_SHARE = 0.12            # customers who ask for a human
CHANNELS = ("app", "app", "wechat", "telegram")  # customer n chats on CHANNELS[n % 4]
LINES = ["你好", "我的订单到哪了", "退货运费谁出", "怎么开发票", "发货太慢了，什么时候发货",
         "七天无理由退货怎么弄", "支持花呗吗", "物流一直不更新", "能开专票吗", "谢谢", "会员有什么权益",
         "衣服尺码怎么选", "优惠券怎么用", "价保怎么申请", "好的", "再见"]
FAULTS = {"service": ("service1", 5.0), "rasa": ("rasa1", 5.0), "redis": ("redis", 3.0)}


@dataclass
class Sent:
    """One customer message and what became of it, as the customer saw it."""
    channel: str
    conversation_id: str
    message_id: str
    text: str
    to_agent: bool = False                   # written while a human owns the conversation
    sent_at: float = 0.0
    accepted: bool = False                   # the endpoint said yes (200/202) at last
    answered_at: Optional[float] = None      # first reply seen (bot-mode messages)
    tries: int = 0


@dataclass
class Observed:
    sent: list[Sent] = field(default_factory=list)
    app_frames: Counter = field(default_factory=Counter)      # (customer, client_message_id)
    windows: dict[str, list[list[str]]] = field(default_factory=lambda: defaultdict(list))
    asked_human: set[str] = field(default_factory=set)         # conversation ids
    agent_saw: set[tuple[str, str]] = field(default_factory=set)  # (conversation, text)
    ownership: list[tuple[str, str, float, float]] = field(default_factory=list)
    refusals: Counter = field(default_factory=Counter)


# --- customers -----------------------------------------------------------------------------

class Customer:
    """A person chatting: one message at a time, waiting for the answer before the next."""

    def __init__(self, n: int, run: Soak, rng: random.Random) -> None:
        self.n, self.run, self.rng = n, run, rng
        self.wants_human = rng.random() < HUMAN_SHARE
        self.serial = 0
        self.read = 0                       # replies taken from the platform stand-in so far
        self.window: list[str] = []         # replies seen since the last message was sent
        run.seen.windows[self.conversation_key(n, run)].append(self.window)

    def conversation_key(self, n: int, run: Soak) -> str:
        return f"{type(self).__name__}:{n}"

    def take_new(self, texts: list[str]) -> bool:
        """Replies that reached the customer since the last look, kept in the window of the
        message they followed: a delivery repeated after a crash shows up as the same text twice
        in one window."""
        news = texts[self.read:]
        self.read = len(texts)
        self.window.extend(news)
        return bool(news)

    async def chat(self, until: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, 20))  # customers arrive over the first 20 s
        asked = False
        while time.monotonic() < until:
            if self.wants_human and not asked and self.serial >= 2:
                asked = True
                await self.talk_to_human()
            else:
                await self.say(self.rng.choice(LINES))
            await asyncio.sleep(self.rng.uniform(*THINK_SECONDS))

    async def talk_to_human(self) -> None:
        self.run.seen.asked_human.add(self.conversation_id)
        await self.say("转人工")
        greeting = await self.wait_for_agent()
        if greeting is None:
            return
        # Written while the agent owns the conversation: goes to the agent, not the bot.
        await self.say(f"好的，快递一直没更新，麻烦查一下（第{self.n}-{self.serial}条）",
                       to_agent=True, wait=False)
        if await self.wait_for_agent() is None:  # the agent's answer
            return
        if await self.wait_for_agent() is not None:  # the satisfaction question after closing
            await self.say("5")

    async def say(self, line: str, to_agent: bool = False, wait: bool = True) -> None:
        self.serial += 1
        sent = Sent(self.channel, self.conversation_id, self.new_message_id(), line, to_agent)
        self.run.seen.sent.append(sent)
        self.window = []
        self.run.seen.windows[self.conversation_key(self.n, self.run)].append(self.window)
        sent.sent_at = time.monotonic()
        await self.deliver(sent)
        if sent.accepted and wait and not to_agent:
            await self.wait_answer(sent)

    async def wait_answer(self, sent: Sent) -> None:
        deadline = time.monotonic() + ANSWER_WAIT_SECONDS
        while sent.answered_at is None and time.monotonic() < deadline:
            if await self.poll_replies():
                sent.answered_at = time.monotonic()
                return
            await asyncio.sleep(0.5)

    async def wait_for_agent(self) -> Optional[float]:
        deadline = time.monotonic() + ANSWER_WAIT_SECONDS
        while time.monotonic() < deadline:
            if await self.poll_replies():
                return time.monotonic()
            await asyncio.sleep(0.5)
        return None

    async def retrying(self, sent: Sent, attempt) -> Optional[httpx.Response]:  # type: ignore[no-untyped-def]
        """The platform's (or app's) retries: same message id until accepted or out of time."""
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while time.monotonic() < deadline:
            sent.tries += 1
            try:
                response = await attempt()
            except httpx.HTTPError as error:
                self.run.seen.refusals[f"{self.channel}: {type(error).__name__}"] += 1
            else:
                if response.status_code < 300:
                    sent.accepted = True
                    return response
                self.run.seen.refusals[f"{self.channel}: HTTP {response.status_code}"] += 1
            await asyncio.sleep(1.0)
        return None


class AppCustomer(Customer):
    channel = "app"

    def __init__(self, n: int, run: Soak, rng: random.Random) -> None:
        super().__init__(n, run, rng)
        self.customer_id = f"C{(n % 60) + 1:04d}" if n < 60 else f"SOAK{n:04d}"
        self.conversation_id = f"app:{self.customer_id}"
        self.token = app_auth.sign(self.customer_id, run.secret, 3 * 3600)
        self.since = "0-0"

    def new_message_id(self) -> str:
        return uuid.uuid4().hex

    async def deliver(self, sent: Sent) -> None:
        response = await self.retrying(sent, lambda: self.run.http.post(
            f"{self.run.url}/api/app/messages", headers=self.headers,
            json={"client_message_id": sent.message_id, "text": sent.text}))
        if response is not None and response.status_code == 200:
            body = response.json()
            if body["replies"]:
                self.run.seen.app_frames[(self.customer_id, sent.message_id)] += 1
                sent.answered_at = time.monotonic()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def poll_replies(self) -> bool:
        try:
            response = await self.run.http.get(f"{self.run.url}/api/app/outbox",
                                               params={"since": self.since}, headers=self.headers)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        frames = response.json()
        for frame in frames:
            self.run.seen.app_frames[(self.customer_id, frame["client_message_id"])] += 1
            self.since = frame["outbox_id"]
        return bool(frames)


class WeChatCustomer(Customer):
    channel = "wechat"

    def __init__(self, n: int, run: Soak, rng: random.Random) -> None:
        super().__init__(n, run, rng)
        self.openid = f"oSoak{run.run_id}{n:04d}"
        self.conversation_id = f"wechat:{self.openid}"

    def new_message_id(self) -> str:
        return str(self.run.next_id())

    async def deliver(self, sent: Sent) -> None:
        xml = (f"<xml><ToUserName><![CDATA[gh_soak]]></ToUserName><FromUserName><![CDATA["
               f"{self.openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
               f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{sent.text}]]></Content>"
               f"<MsgId>{sent.message_id}</MsgId></xml>")

        # The customer wrote: WeChat opens its 48 h window, 5 customer-service messages.
        self.run.wechat.open_window(self.openid, 5)

        async def attempt() -> httpx.Response:  # WeChat gives up on an answer after 5 s
            return await self.run.http.post(f"{self.run.url}/webhooks/wechat", content=xml.encode(),
                                            params=wechat_query(), timeout=5.0)
        response = await self.retrying(sent, attempt)
        if response is not None and b"<Content>" in response.content:
            content = response.content.split(b"<Content><![CDATA[", 1)[1].split(b"]]>", 1)[0]
            self.window.append(content.decode())
            sent.answered_at = time.monotonic()

    async def poll_replies(self) -> bool:
        return self.take_new(self.run.wechat.texts_to(self.openid))


class TelegramCustomer(Customer):
    channel = "telegram"

    def __init__(self, n: int, run: Soak, rng: random.Random) -> None:
        super().__init__(n, run, rng)
        self.chat_id = 7_000_000 + run.run_id * 1000 + n
        self.conversation_id = f"telegram:{self.chat_id}"

    def new_message_id(self) -> str:
        return str(self.run.next_id())

    async def deliver(self, sent: Sent) -> None:
        update = {"update_id": int(sent.message_id), "message": {
            "message_id": int(sent.message_id) % 1_000_000, "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private"},
            "from": {"id": self.chat_id, "is_bot": False, "first_name": "顾客"},
            "text": sent.text}}
        await self.retrying(sent, lambda: self.run.http.post(
            f"{self.run.url}/webhooks/telegram", json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}))

    async def poll_replies(self) -> bool:
        return self.take_new([str(call.get("text", "")) for call in self.run.telegram.sent()
                              if int(call["chat_id"]) == self.chat_id])


def wechat_query() -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), str(random.randrange(10**9))
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


# --- agents --------------------------------------------------------------------------------

async def agent(run: Soak, username: str, until: float) -> None:
    """Claims what waits, reads the transcript, answers, waits for the customer, closes."""
    async with httpx.AsyncClient(base_url=run.url, timeout=30) as client:
        while time.monotonic() < until + 60:
            if await _log_in(client, username):
                break
            await asyncio.sleep(2)
        owned: dict[str, dict[str, Any]] = {}
        presence = asyncio.create_task(_console_socket(run, client))
        while time.monotonic() < until + 90:
            try:
                await _agent_round(run, client, username, owned)
            except (httpx.HTTPError, KeyError, ValueError):
                await _log_in(client, username)  # Redis may have restarted mid-session: fine
            await asyncio.sleep(1.0)
        presence.cancel()
        for handoff_id in list(owned):
            _let_go(run, username, handoff_id, owned)


async def _console_socket(run: Soak, client: httpx.AsyncClient) -> None:
    """What the console's page does: hold the WebSocket and send a heartbeat every 10 s, which
    keeps the agent online (else handoffs become tickets) and renews their conversations' leases.
    Reconnects when its service instance dies."""
    url = run.url.replace("http://", "ws://") + "/api/agent/ws"
    while True:
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        try:
            async with websockets.connect(url, additional_headers={"Cookie": cookie}) as socket:
                drain = asyncio.create_task(_drain(socket))
                try:
                    while not drain.done():
                        await socket.send(json.dumps({"type": "heartbeat"}))
                        await asyncio.sleep(10)
                finally:
                    drain.cancel()
        except (OSError, websockets.WebSocketException):
            pass
        await asyncio.sleep(1.0)


async def _drain(socket: Any) -> None:
    async for _ in socket:  # queue news: the agent polls anyway
        pass


async def _log_in(client: httpx.AsyncClient, username: str) -> bool:
    try:
        answer = await client.post("/api/agent/login",
                                   json={"username": username, "password": f"{username}-soak"})
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


async def _agent_round(run: Soak, client: httpx.AsyncClient, username: str,
                       owned: dict[str, dict[str, Any]]) -> None:
    claim = await client.post("/api/agent/claim-next")
    if claim.status_code == 200:
        handoff = claim.json()["handoff"]
        now = time.monotonic()
        owned.setdefault(handoff["handoff_id"], {"conversation": handoff["conversation_id"],
                                         "since": now, "last_ok": now, "answered": 0})
    for handoff_id, case in list(owned.items()):
        detail = await client.get(f"/api/agent/handoffs/{handoff_id}")
        if detail.status_code in (403, 404):  # taken back by the queue (lease) or closed
            _let_go(run, username, handoff_id, owned)
            continue
        detail.raise_for_status()
        case["last_ok"] = time.monotonic()
        customer_lines = [line["text"] for line in detail.json()["transcript"]
                          if line.get("direction") == "in"]
        for line in customer_lines:
            run.seen.agent_saw.add((case["conversation"], line))
        if case["answered"] == 0:
            await _answer(client, handoff_id, case, "您好，我是人工客服小王，请问有什么可以帮您？")
        elif case["answered"] == 1 and any("第" in line and "条" in line for line in customer_lines):
            await _answer(client, handoff_id, case, "已经帮您催促快递公司了，今天内会更新。")
        elif case["answered"] >= 2:
            closed = await client.post(f"/api/agent/handoffs/{handoff_id}/close",
                                       json={"resolution": "resolved"})
            if closed.status_code == 200:
                case["last_ok"] = time.monotonic()
            if closed.status_code in (200, 403, 404, 409):
                _let_go(run, username, handoff_id, owned)


async def _answer(client: httpx.AsyncClient, handoff_id: str, case: dict[str, Any],
                  line: str) -> None:
    sent = await client.post(f"/api/agent/handoffs/{handoff_id}/messages", json={"text": line})
    if sent.status_code == 200:
        case["answered"] += 1
        case["last_ok"] = time.monotonic()


def _let_go(run: Soak, username: str, handoff_id: str, owned: dict[str, dict[str, Any]]) -> None:
    """The agent was accepted as this conversation's owner from its claim to its last accepted
    action: two agents' such spans must never overlap."""
    case = owned.pop(handoff_id)
    run.seen.ownership.append((case["conversation"], username, case["since"], case["last_ok"]))


# --- the run -------------------------------------------------------------------------------

class Soak:
    def __init__(self, cluster: LocalCluster, wechat: WeChatApiState, telegram: TelegramStandIn,
                 run_id: int) -> None:
        self.cluster, self.url = cluster, cluster.url
        self.secret = cluster.env["APP_TOKEN_SECRET"]
        self.wechat, self.telegram, self.run_id = wechat, telegram, run_id
        self.seen = Observed()
        self.faults: list[dict[str, Any]] = []
        self._ids = iter(range(run_id * 10**7 + 1, (run_id + 1) * 10**7))
        self.http = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=400))

    def next_id(self) -> int:
        return next(self._ids)

    async def fault(self, kind: str, at: float, started: float) -> None:
        name, down_for = FAULTS[kind]
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        record = {"kind": kind, "member": name, "killed_at": time.monotonic() - started}
        self.cluster.kill(name)
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.cluster.restart, name)
        record["back_at"] = time.monotonic() - started
        self.faults.append(record)


def fault_schedule(rng: random.Random, seconds: float) -> dict[str, float]:
    """Three faults at random moments, each in its own third of the middle of the run: 30 s of
    warm-up before, and 150 s after the window, as a killed Rasa needs 1-2 minutes to load its
    model again and its "after" should still be measured."""
    kinds = list(FAULTS)
    rng.shuffle(kinds)
    slot = max(seconds - 180, 30) / 3
    return {kind: 30 + i * slot + rng.uniform(0, slot * 0.6) for i, kind in enumerate(kinds)}


async def drive(soak: Soak, customers: int, seconds: float, rng: random.Random) -> None:
    kinds = {"app": AppCustomer, "wechat": WeChatCustomer, "telegram": TelegramCustomer}
    people = []
    for n in range(customers):
        people.append(kinds[CHANNELS[n % 4]](n, soak, random.Random(rng.random())))
    started = time.monotonic()
    until = started + seconds
    soak.started = started
    tasks = [asyncio.create_task(person.chat(until)) for person in people]
    tasks += [asyncio.create_task(agent(soak, f"soak{k}", until)) for k in range(1, AGENTS + 1)]
    tasks += [asyncio.create_task(soak.fault(kind, at, started))
              for kind, at in fault_schedule(rng, seconds).items()]
    await asyncio.gather(*tasks)


# --- the records, held against what people saw ---------------------------------------------

def counts(soak: Soak, database_url: str) -> dict[str, int]:
    seen = soak.seen
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            inbound = Counter(tuple(row) for row in connection.execute(text(
                "SELECT conversation_id, client_message_id FROM messages WHERE direction = 'in'")))
            # A handoff while no agent is online becomes a ticket: either is the one record.
            handoffs = Counter(row[0] for row in connection.execute(text(
                "SELECT conversation_id FROM handoffs UNION ALL SELECT conversation_id FROM tickets")))
    finally:
        engine.dispose()
    accepted = [s for s in seen.sent if s.accepted]
    for sent in [s for s in accepted if not _answered(s, seen)][:10]:
        print(f"unanswered: {sent}", flush=True)
    return {
        "messages sent": len(seen.sent),
        "never accepted (client gave up retrying)": len(seen.sent) - len(accepted),
        "accepted but not in the records (lost)": sum(
            1 for s in accepted if inbound[(s.conversation_id, s.message_id)] == 0),
        "recorded more than once": sum(
            1 for s in accepted if inbound[(s.conversation_id, s.message_id)] > 1),
        "neither answered nor delivered to an agent": sum(
            1 for s in accepted if not _answered(s, seen)),
        "replies sent twice": _replies_twice(seen),
        "customers who asked for a human": len(seen.asked_human),
        "asked for a human, no handoff or ticket": sum(1 for c in seen.asked_human if handoffs[c] == 0),
        "asked once, more than one handoff or ticket": sum(1 for c in seen.asked_human if handoffs[c] > 1),
        "handoffs and tickets": sum(handoffs.values()),
        "conversations owned by two agents at once": _owned_twice(seen.ownership),
    }


MUST_BE_ZERO = ("never accepted (client gave up retrying)", "accepted but not in the records (lost)",
                "recorded more than once", "neither answered nor delivered to an agent",
                "replies sent twice", "asked for a human, no handoff or ticket",
                "asked once, more than one handoff or ticket", "conversations owned by two agents at once")


def _answered(sent: Sent, seen: Observed) -> bool:
    return sent.answered_at is not None or (sent.conversation_id, sent.text) in seen.agent_saw


def _replies_twice(seen: Observed) -> int:
    """App: a reply frame for one message received more than once. WeChat and Telegram: the
    same text twice in a row within one message's window (a delivery repeated after a crash)."""
    app = sum(n - 1 for n in seen.app_frames.values() if n > 1)
    repeated = sum(1 for windows in seen.windows.values() for window in windows
                   for first, second in zip(window, window[1:], strict=False) if first == second)
    return app + repeated


def _owned_twice(spans: list[tuple[str, str, float, float]]) -> int:
    by_conversation: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for conversation, agent_name, start, end in spans:
        by_conversation[conversation].append((agent_name, start, end))
    return sum(1 for held in by_conversation.values() if _overlap(held))


def _overlap(held: list[tuple[str, float, float]]) -> bool:
    """Did two agents' spans overlap? Each span is checked against every agent's latest end so
    far, not only its neighbour's (a long span may cover several later ones)."""
    latest: dict[str, float] = {}
    for agent_name, start, end in sorted(held, key=lambda span: span[1]):
        if any(other != agent_name and start < until for other, until in latest.items()):
            return True
        latest[agent_name] = max(end, latest.get(agent_name, end))
    return False


def latency_rows(soak: Soak) -> list[list[Any]]:
    """Bot answers' latency (send → first reply) before, during and after each fault."""
    timed = [(s.sent_at - soak.started, (s.answered_at - s.sent_at) * 1000)
             for s in soak.seen.sent if s.accepted and s.answered_at is not None and not s.to_agent]
    rows = [_row("whole run", "", timed)]
    for fault in sorted(soak.faults, key=lambda f: f["killed_at"]):
        killed, back = fault["killed_at"], fault["back_at"] + 15
        label = f"kill -9 {fault['member']} at {killed:.0f} s (back at {fault['back_at']:.0f} s)"
        for phase, start, end in (("before", killed - 30, killed), ("during", killed, back),
                                  ("after", back, back + 30)):
            rows.append(_row(label, phase, [t for t in timed if start <= t[0] < end]))
    return rows


def _row(label: str, phase: str, timed: list[tuple[float, float]]) -> list[Any]:
    values = sorted(ms for _, ms in timed)
    if not values:
        return [label, phase, 0, "–", "–", "–", "–"]
    pick = lambda q: values[min(len(values) - 1, int(len(values) * q / 100))]  # noqa: E731
    return [label, phase, len(values), round(statistics.median(values)), round(pick(95)),
            round(pick(99)), round(values[-1])]


# --- main ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    if args.customers < 1 or not 1.5 <= args.minutes <= 60:
        parser.error("--customers must be positive and --minutes between 1.5 and 60")
    rng = random.Random(args.seed)
    run_id = args.seed % 1000
    database_url = f"{POSTGRES}/xiaoshou_soak_{uuid.uuid4().hex[:8]}"
    print(f"soak: {args.customers} customers, {args.minutes} min, seed {args.seed}", flush=True)
    tmp = tempfile.mkdtemp(prefix="xs-soak-")
    with ExitStack() as stack:
        wechat = WeChatApiState(app_id=WECHAT_APP_ID, secret=WECHAT_SECRET, every_window_open=True)
        wechat_url = stack.enter_context(wechat_serving(wechat)).url
        telegram = TelegramStandIn(TELEGRAM_TOKEN)
        telegram_url = stack.enter_context(serve(telegram.app))
        cluster = LocalCluster(ClusterConfig(Path(tmp), database_url, extra_env={
            "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_APP_ID": WECHAT_APP_ID,
            "WECHAT_APP_SECRET": WECHAT_SECRET, "WECHAT_API_BASE_URL": wechat_url,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": f"{telegram_url}/bot",
            # Every simulated customer comes from 127.0.0.1: the per-address limit is not the test.
            "RATE_LIMIT_PER_IP": "100000/60"}))
        stack.callback(cluster.stop)
        started = time.monotonic()
        cluster.start()
        print(f"cluster ready in {time.monotonic() - started:.0f} s: {cluster.pids()}", flush=True)
        add_agents(database_url)
        soak = Soak(cluster, wechat, telegram, run_id)
        asyncio.run(_run(soak, args.customers, args.minutes * 60, rng))
        result = counts(soak, database_url)
        file_report(soak, result, args)
        failed = [name for name in MUST_BE_ZERO if result[name]]
    if failed:  # keep the evidence: every member's log and the records
        raise SystemExit(f"soak: not zero: {', '.join(failed)}\n  logs: {tmp}\n  records: {database_url}")
    drop_database(database_url)
    shutil.rmtree(tmp, ignore_errors=True)


async def _run(soak: Soak, customers: int, seconds: float, rng: random.Random) -> None:
    try:
        await drive(soak, customers, seconds, rng)
    finally:
        await soak.http.aclose()


def add_agents(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        directory = AgentDirectory(engine)
        for k in range(1, AGENTS + 1):
            directory.add(f"soak{k}", f"坐席{k}", "agent", ["logistics", "returns", "quality", "general"],
                          5, f"soak{k}-soak")
    finally:
        engine.dispose()


def file_report(soak: Soak, result: dict[str, int], args: argparse.Namespace) -> None:
    note = (f"{args.customers} customers for {args.minutes} min (seed {args.seed}); "
            f"client refusals seen while retrying: {dict(soak.seen.refusals) or 'none'}")
    report.file("soak", "Soak: the records against what customers and agents saw",
                ["count", "value", "must be"],
                [[name, value, "0" if name in MUST_BE_ZERO else ""] for name, value in result.items()],
                note, name="soak")
    report.file("soak-latency", "Soak: bot answer latency (ms) around each fault",
                ["window", "phase", "answers", "p50", "p95", "p99", "max"], latency_rows(soak),
                "send → first reply seen by the customer, retries included", name="soak")


if __name__ == "__main__":
    main()
