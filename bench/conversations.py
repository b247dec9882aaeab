"""Conversation-level evaluation (``make eval``): scripted multi-turn customers against the live
stack, each scored on how it ended: settled by the bot, or handed to a human in the right skill
group for the right reason.

    python -m bench.conversations [--only NAME ...] [--show]

The scripts are ``tests/scripted/*.yml``, written apart from the training data. Each names the
kind of customer it needs (``customer: {status: in_transit}``: someone with an order in that
state, with optional ``signed_days_over`` / ``signed_days_under`` / ``total_over_yuan`` /
``total_under_yuan`` / ``plain_goods`` / ``sized``), what they say (``{order}`` is their order's
id, ``{order_fullwidth}`` the same in full-width digits, ``{other_order}`` someone else's,
``{missing_order}`` one that does not exist) and how it should end (``expect: {ends:
settled|human, group, reason, last_reply}``; ``last_reply`` is a regular expression the bot's
last answer must match). Every conversation gets a customer of its own, so none sees another's
state. A human ending may be a live handoff or a ticket: whether an agent is on duty is not the
bot's decision.
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import httpx
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench import report
from channels import app_auth
from handoff.records import HandoffRow, TicketRow
from handoff.transcripts import make_engine
from tests.stack import Stack, full_stack
from tests.support import redis_server

SCRIPTS = Path(__file__).resolve().parent.parent / "tests" / "scripted"
MISSING_ORDER = "2611000000000001"
REPLY_WAIT_SECONDS = 30
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class Script:
    name: str
    flow: str
    customer: dict[str, Any]
    turns: tuple[str, ...]
    expect: dict[str, Any]


@dataclass
class Outcome:
    script: Script
    customer_id: str
    ends: str = "settled"
    group: Optional[str] = None
    reason: Optional[str] = None
    values: dict[str, str] = field(default_factory=dict)  # what the placeholders stood for
    replies: list[str] = field(default_factory=list)      # the bot's answer to the last turn
    transcript: list[str] = field(default_factory=list)   # every turn and answer, for --show
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def load_scripts(directory: Path = SCRIPTS) -> list[Script]:
    scripts = []
    for path in sorted(directory.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            scripts.append(Script(item["name"], item.get("flow", path.stem), item.get("customer") or {},
                                  tuple(item["turns"]), item["expect"]))
    names = [s.name for s in scripts]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"scripted conversations with the same name: {', '.join(sorted(duplicates))}")
    return scripts


class Customers:
    """Hands each script a customer of its own who fits what it asks for."""

    def __init__(self, shop: httpx.Client) -> None:
        self._shop = shop
        self._used: set[str] = set()
        self._orders: dict[str, list[dict[str, Any]]] = {}

    def pick(self, wanted: dict[str, Any]) -> tuple[str, dict[str, str]]:
        if "status" not in wanted:
            customer = f"EVAL{uuid.uuid4().hex[:8].upper()}"  # no orders at all
            return customer, {"missing_order": MISSING_ORDER}
        order = next((o for o in self._of_status(wanted["status"])
                      if o["customer_id"] not in self._used and _fits(o, wanted)), None)
        if order is None:
            raise SystemExit(f"the demo shop has no unused customer for {wanted}")
        self._used.add(order["customer_id"])
        other = next(o for o in self._of_status(wanted["status"])
                     if o["customer_id"] != order["customer_id"])
        return order["customer_id"], {"order": order["id"], "other_order": other["id"],
                                      "missing_order": MISSING_ORDER,
                                      "order_fullwidth": order["id"].translate(FULL_WIDTH)}

    def _of_status(self, status: str) -> list[dict[str, Any]]:
        if status not in self._orders:
            self._orders[status] = self._shop.get(
                "/orders", params={"status": status, "limit": 100}).json()["items"]
        return self._orders[status]


PLAIN_GOODS = {"apparel", "shoes", "electronics", "home"}  # returnable without a reason
SIZED_GOODS = {"apparel", "shoes"}                          # have sizes to exchange


def _fits(order: dict[str, Any], wanted: dict[str, Any]) -> bool:
    categories = {item["category"] for item in order["items"]}
    if wanted.get("plain_goods") and not categories <= PLAIN_GOODS:
        return False
    if wanted.get("sized") and not categories & SIZED_GOODS:
        return False
    signed = order.get("signed_at")
    days = ((datetime.now(timezone.utc) - datetime.fromisoformat(signed)).days
            if signed else None)
    if "signed_days_over" in wanted and (days is None or days <= wanted["signed_days_over"]):
        return False
    if "signed_days_under" in wanted and (days is None or days >= wanted["signed_days_under"]):
        return False
    if "total_over_yuan" in wanted and order["total_fen"] <= wanted["total_over_yuan"] * 100:
        return False
    return "total_under_yuan" not in wanted or order["total_fen"] < wanted["total_under_yuan"] * 100


def run_script(script: Script, stack: Stack, service: httpx.Client, customers: Customers,
               database_url: str) -> Outcome:
    customer_id, values = customers.pick(script.customer)
    outcome = Outcome(script, customer_id, values=values)
    token = app_auth.sign(customer_id, stack.app_token_secret, 3600)
    for turn in script.turns:
        text = turn.format(**values)
        outcome.replies = say(service, token, text)
        outcome.transcript += [f"顾客: {text}", *(f"小售: {reply}" for reply in outcome.replies)]
    _ending(outcome, database_url)
    _judge(outcome)
    return outcome


def say(service: httpx.Client, token: str, text: str) -> list[str]:
    """The bot's replies to one message (waiting for late ones through the outbox)."""
    headers = {"Authorization": f"Bearer {token}"}
    message_id = uuid.uuid4().hex
    answer = service.post("/api/app/messages", headers=headers,
                          json={"client_message_id": message_id, "text": text})
    answer.raise_for_status()
    body = answer.json()
    if not body["pending"]:
        return [reply["text"] for reply in body["replies"]]
    deadline = time.monotonic() + REPLY_WAIT_SECONDS
    while time.monotonic() < deadline:  # the bot was slow: its answer arrives in the outbox
        frames = service.get("/api/app/outbox", headers=headers, params={"since": "0-0"}).json()
        mine = [f for f in frames if f.get("client_message_id") == message_id]
        if mine:
            return [reply["text"] for frame in mine for reply in frame["replies"]]
        time.sleep(0.2)
    return []


def _ending(outcome: Outcome, database_url: str) -> None:
    conversation = f"app:{outcome.customer_id}"
    with Session(make_engine(database_url)) as session:
        rows: list[Any] = list(session.scalars(
            select(HandoffRow).where(HandoffRow.conversation_id == conversation)))
        rows += list(session.scalars(
            select(TicketRow).where(TicketRow.conversation_id == conversation)))
    live = [row for row in rows if getattr(row, "status", "") != "cancelled"]
    if live:
        latest = max(live, key=lambda row: row.created_at)
        outcome.ends, outcome.group, outcome.reason = "human", latest.skill_group, latest.reason


def _judge(outcome: Outcome) -> None:
    expect = outcome.script.expect
    if outcome.ends != expect["ends"]:
        outcome.problems.append(f"ended {outcome.ends}, expected {expect['ends']}")
    for key in ("group", "reason"):
        if expect.get(key) and getattr(outcome, key) != expect[key]:
            outcome.problems.append(f"{key} {getattr(outcome, key)}, expected {expect[key]}")
    pattern = expect.get("last_reply", "").format(**outcome.values)
    if pattern and not re.search(pattern, "\n".join(outcome.replies)):
        outcome.problems.append(f"last reply does not match /{pattern}/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run just these conversations (by name)")
    parser.add_argument("--show", action="store_true", help="print each failure's last replies")
    args = parser.parse_args()
    scripts = [s for s in load_scripts() if not args.only or s.name in args.only]
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as redis_url:
        database_url = f"sqlite:///{tmp}/eval.sqlite3"
        with full_stack(Path(tmp), redis_url, {"DATABASE_URL": database_url}) as stack, \
                httpx.Client(base_url=stack.service_url, timeout=60) as service, \
                httpx.Client(base_url=f"{stack.shop_url}/api/v1", timeout=10) as shop:
            customers = Customers(shop)
            outcomes = [run_script(s, stack, service, customers, database_url) for s in scripts]
    file_outcomes(outcomes, args.show)


def file_outcomes(outcomes: list[Outcome], show: bool) -> None:
    passed = sum(o.passed for o in outcomes)
    flows = sorted({o.script.flow for o in outcomes})
    by_flow = {flow: [o for o in outcomes if o.script.flow == flow] for flow in flows}
    note = f"{passed} / {len(outcomes)} conversations ended as they should ({passed / len(outcomes):.0%}). " \
        + "By flow: " + ", ".join(f"{flow} {sum(o.passed for o in group)}/{len(group)}"
                                  for flow, group in by_flow.items()) + "."
    rows = [[o.script.flow, o.script.name, _expected(o.script.expect),
             f"{o.ends} {o.group or ''} {o.reason or ''}".strip(),
             "✓" if o.passed else "✗ " + "; ".join(o.problems)] for o in outcomes]
    report.file("conversations", "Scripted conversations against the live stack",
                ["flow", "conversation", "expected", "got", "result"], rows, note,
                {"passed": passed, "total": len(outcomes)}, name="scripted")
    if show:
        for o in outcomes:
            if not o.passed:
                print(f"\n--- {o.script.name} ({o.customer_id}): {'; '.join(o.problems)}")
                print("\n".join(o.transcript))


def _expected(expect: dict[str, Any]) -> str:
    return " ".join(str(expect[k]) for k in ("ends", "group", "reason") if expect.get(k))


if __name__ == "__main__":
    main()
