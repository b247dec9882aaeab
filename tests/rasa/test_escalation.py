"""When the bot hands over on its own: the action log, a failure or a refusal that repeats, the
shop's escalation rules, and the packet (order, logistics, action log) the agent gets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import action_log, order_lookup
from actions.api.shop import ShopClient
from actions.escalation import load_rules, reason_after
from actions.handoff import ActionComplain, ActionHandOffNotUnderstood, ActionRequestHuman
from actions.logistics import ActionLogistics
from actions.order_status import ActionOrderStatus
from actions.policy import PolicyError
from actions.returns import ActionReturnEligibility
from actions.settings import Settings
from tests.rasa.conftest import make_tracker, split_log
from tests.support import free_port

ORDER_ID = "2611201234567890"


def use(monkeypatch, url: str, timeout: float = 2) -> None:
    monkeypatch.setattr(order_lookup, "shop", ShopClient(Settings(
        shop_api_url=url, shop_api_key="", shop_timeout_seconds=timeout, shop_read_retries=0)))


@pytest.fixture
def live_shop(monkeypatch, shop_url):
    use(monkeypatch, shop_url)
    return shop_url


@pytest.fixture
def dead_shop(monkeypatch):
    use(monkeypatch, f"http://127.0.0.1:{free_port()}/api/v1", timeout=0.3)


async def listed(shop_url: str, status: str) -> list[dict]:
    async with aiohttp.ClientSession() as session, \
            session.get(f"{shop_url}/orders?status={status}&limit=100") as response:
        return (await response.json())["items"]


async def run(action, tracker) -> tuple[list[dict], list[dict], list[dict] | None]:
    dispatcher = CollectingDispatcher()
    events, log = split_log(await action.run(dispatcher, tracker, {}))
    await order_lookup.shop.close()
    return dispatcher.messages, events, log


def entry(action: str, outcome: str, order_id: str = ORDER_ID, minutes_ago: float = 1) -> dict:
    item = action_log.entry(action, outcome, [], order_id, "")
    at = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return {**item, "at": at.isoformat(timespec="seconds")}


def signed_days_ago(order: dict) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(order["signed_at"])).days


# --- the action log -----------------------------------------------------------------------

async def test_the_log_notes_each_backend_call_and_how_it_ended(live_shop):
    order = (await listed(live_shop, "in_transit"))[0]
    tracker = make_tracker(f"订单{order['id']}到哪了", order["customer_id"], "query_logistics",
                           slots={"action_log": [entry("action_order_status", "ok")]})
    _, _, log = await run(ActionLogistics(), tracker)
    assert len(log) == 2 and log[0]["action"] == "action_order_status"  # appended, kept in order
    latest = log[-1]
    assert latest["action"] == "action_logistics" and latest["outcome"] == "ok"
    assert latest["order_id"] == order["id"] and order["id"] in latest["detail"]
    calls = [call["call"] for call in latest["calls"]]
    assert calls == [f"GET /customers/{order['customer_id']}/orders/{order['id']}",
                     f"GET /orders/{order['id']}/shipment"]
    assert all(call["outcome"] == "ok" and call["ms"] >= 0 for call in latest["calls"])


async def test_the_log_keeps_the_latest_entries_only(live_shop):
    order = (await listed(live_shop, "in_transit"))[0]
    old = [entry("action_order_status", "ok") for _ in range(action_log.MAX_ENTRIES)]
    tracker = make_tracker(f"订单{order['id']}", order["customer_id"], slots={"action_log": old})
    _, _, log = await run(ActionOrderStatus(), tracker)
    assert len(log) == action_log.MAX_ENTRIES and log[-1]["order_id"] == order["id"]


async def test_someone_elses_order_is_logged_as_not_found(live_shop):
    order = (await listed(live_shop, "in_transit"))[0]
    other = "C9999" if order["customer_id"] != "C9999" else "C9998"
    messages, _, log = await run(ActionOrderStatus(), make_tracker(f"订单{order['id']}", other))
    assert log[-1]["outcome"] == "not_found" and log[-1]["calls"][0]["outcome"] == "not_found"
    assert "custom" not in messages[0] or not messages[0]["custom"]


async def test_a_garbled_log_slot_is_ignored(live_shop):
    order = (await listed(live_shop, "in_transit"))[0]
    tracker = make_tracker(f"订单{order['id']}", order["customer_id"],
                           slots={"action_log": ["junk", {"no": "action"}, 7]})
    _, _, log = await run(ActionOrderStatus(), tracker)
    assert [item["action"] for item in log] == ["action_order_status"]


# --- a failure that repeats -----------------------------------------------------------------

async def test_the_first_failure_offers_a_human_and_the_second_hands_over(dead_shop):
    tracker = make_tracker(f"订单{ORDER_ID}到哪了", "C0001", "query_logistics")
    messages, _, log = await run(ActionLogistics(), tracker)
    assert messages[0]["text"] == order_lookup.SHOP_DOWN and not messages[0]["custom"]
    assert log[-1]["outcome"] == "unavailable"

    again = make_tracker(f"订单{ORDER_ID}到哪了", "C0001", "query_logistics",
                         slots={"action_log": log})
    messages, _, log = await run(ActionLogistics(), again)
    handoff = messages[0]["custom"]["handoff"]
    assert messages[0]["text"] == order_lookup.REPEATED["action_failure"]
    assert (handoff["reason"], handoff["skill_group"], handoff["tier"]) == (
        "action_failure", "logistics", "regular")
    assert [item["outcome"] for item in handoff["facts"]["action_log"]] == ["unavailable"] * 2
    assert len(log) == 2


async def test_a_failure_long_ago_does_not_count(dead_shop):
    tracker = make_tracker(f"订单{ORDER_ID}", "C0001", slots={
        "action_log": [entry("action_order_status", "unavailable", minutes_ago=60)]})
    messages, _, _ = await run(ActionOrderStatus(), tracker)
    assert messages[0]["text"] == order_lookup.SHOP_DOWN and not messages[0]["custom"]


# --- a refusal the customer disputes ----------------------------------------------------------

async def test_asking_again_after_a_refusal_hands_over_as_a_dispute(live_shop):
    order = next(o for o in await listed(live_shop, "delivered")
                 if signed_days_ago(o) > 9 and o["total_fen"] <= 200_000)
    first = make_tracker(f"订单{order['id']}要退货", order["customer_id"], "request_return")
    messages, _, log = await run(ActionReturnEligibility(), first)
    assert "不能申请无理由退货" in messages[0]["text"] and log[-1]["outcome"] == "refused"

    again = make_tracker("凭什么不能退，我就要退货", order["customer_id"], "request_return",
                         slots={"action_log": log, "order_id": order["id"]})
    messages, _, _ = await run(ActionReturnEligibility(), again)
    handoff = messages[0]["custom"]["handoff"]
    assert messages[0]["text"] == order_lookup.REPEATED["policy_dispute"]
    assert handoff["reason"] == "policy_dispute" and handoff["skill_group"] == "returns"
    snapshot = handoff["facts"]["order"]
    assert snapshot["id"] == order["id"] and snapshot["status"] == "delivered"
    assert [i["name"] for i in snapshot["items"]] == [i["name"] for i in order["items"]]
    assert handoff["facts"]["logistics"]["tracking_number"]


@pytest.mark.parametrize("log, reason, group", [
    ([entry("action_return_eligibility", "refused")], "policy_dispute", "returns"),
    ([entry("action_cancel_order", "refused")], "policy_dispute", "returns"),
    ([entry("action_logistics", "unavailable")], "action_failure", "logistics"),
    ([entry("action_return_eligibility", "refused", minutes_ago=60)], "customer_request", None),
    ([entry("action_logistics", "ok")], "customer_request", None),
    ([], "customer_request", None),
])
def test_asking_for_a_human_right_after_a_refusal_or_failure_says_so(log, reason, group):
    tracker = make_tracker("转人工", intent="request_human", slots={"action_log": log})
    assert reason_after(tracker, "customer_request") == (reason, group)


async def test_the_fallback_stays_not_understood_even_after_a_refusal(dead_shop):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("阿巴阿巴", intent="nlu_fallback",
                           slots={"action_log": [entry("action_return_eligibility", "refused")]})
    await ActionHandOffNotUnderstood().run(dispatcher, tracker, {})
    await order_lookup.shop.close()
    assert dispatcher.messages[0]["custom"]["handoff"]["reason"] == "not_understood"


# --- the packet --------------------------------------------------------------------------

async def test_the_packet_holds_the_discussed_order_its_logistics_and_the_log(live_shop):
    order = (await listed(live_shop, "in_transit"))[0]
    log = [entry("action_logistics", "ok", order["id"])]
    tracker = make_tracker("转人工", order["customer_id"], "request_human",
                           slots={"order_id": order["id"], "action_log": log})
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, tracker, {})
    await order_lookup.shop.close()
    facts = dispatcher.messages[0]["custom"]["handoff"]["facts"]
    assert facts["order"]["id"] == order["id"] and facts["order"]["receiver_phone"]
    assert facts["logistics"]["status"] and len(facts["logistics"]["events"]) <= 3
    assert facts["order_ids"] == [order["id"]] and facts["action_log"] == log
    assert "actions" not in facts  # the service derives the summary's lines from the log


async def test_an_order_of_someone_else_never_enters_the_packet(live_shop):
    order = (await listed(live_shop, "in_transit"))[0]
    other = "C9999" if order["customer_id"] != "C9999" else "C9998"
    tracker = make_tracker("转人工", other, "request_human", slots={"order_id": order["id"]})
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, tracker, {})
    await order_lookup.shop.close()
    facts = dispatcher.messages[0]["custom"]["handoff"]["facts"]
    assert facts["order"] is None and facts["logistics"] is None


# --- the shop's rules ------------------------------------------------------------------------

async def test_a_big_order_goes_to_a_human_by_the_shops_rule(live_shop):
    big = next(o for o in await listed(live_shop, "delivered") if o["total_fen"] > 200_000)
    tracker = make_tracker(f"订单{big['id']}我要退货", big["customer_id"], "request_return")
    messages, events, _ = await run(ActionReturnEligibility(), tracker)
    handoff = messages[0]["custom"]["handoff"]
    assert messages[0]["text"].startswith("这笔订单金额较大")
    assert handoff["reason"] == "shop_rule" and handoff["skill_group"] == "returns"
    assert handoff["facts"]["rule"] == "大额订单的退货、换货和取消"
    assert handoff["facts"]["order"]["id"] == big["id"]
    assert not any(e.get("name") == "pending_write" for e in events)


async def test_the_same_big_order_is_answered_by_the_bot_for_logistics(live_shop):
    big = next(o for o in await listed(live_shop, "delivered") if o["total_fen"] > 200_000)
    tracker = make_tracker(f"订单{big['id']}到哪了", big["customer_id"], "query_logistics")
    messages, _, _ = await run(ActionLogistics(), tracker)
    assert not messages[0]["custom"]


@pytest.mark.parametrize("text", ["再不处理我就去12315投诉你们", "我要找律師起訴你們"])
async def test_a_complaint_naming_a_regulator_or_lawyer_goes_to_a_human(live_shop, text):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "C0001", "complain")
    await ActionComplain().run(dispatcher, tracker, {})
    await order_lookup.shop.close()
    handoff = dispatcher.messages[0]["custom"]["handoff"]
    assert handoff["reason"] == "shop_rule" and handoff["facts"]["rule"] == "提到投诉渠道或法律途径"


def test_the_shops_rules_file_loads():
    names = [rule.name for rule in load_rules()]
    assert "大额订单的退货、换货和取消" in names


@pytest.mark.parametrize("rules, message", [
    ("- {name: x, intents: [request_return]}", "needs `say`"),
    ("- {say: 转人工}", "names no condition"),
    ("- {say: 转人工, intents: [request_return], colour: red}", "unknown key(s) colour"),
    ("- {say: 转人工, keywords: 律师}", "keywords must be a list"),
    ("- {say: 转人工, order_total_over_yuan: lots}", "order_total_over_yuan must be a number"),
    ("- {say: 转人工, order_total_over_yuan: true}", "order_total_over_yuan must be a number"),
    ("- {say: 转人工, intents: [cancel_order], skill_group: sales}", "skill_group must be one of"),
    ("{say: 转人工}", "escalation_rules must be a list"),
    ("[unclosed", "shop_policy.yml"),
])
def test_a_broken_rule_is_refused_with_where_and_why(tmp_path: Path, rules, message):
    path = tmp_path / "shop_policy.yml"
    path.write_text("escalation_rules:\n" + "\n".join("  " + line for line in rules.splitlines()),
                    encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_rules(path)
    assert message in str(error.value)
    if "#" in str(error.value):
        assert "escalation_rules #1" in str(error.value)


def test_a_zone_less_time_in_the_log_counts_as_utc():
    naive = {**entry("action_return_eligibility", "refused"),
             "at": datetime.utcnow().replace(microsecond=0).isoformat()}
    tracker = make_tracker("转人工", intent="request_human", slots={"action_log": [naive]})
    assert reason_after(tracker, "customer_request") == ("policy_dispute", "returns")


def test_an_edited_rules_file_is_read_again(tmp_path: Path):
    path = tmp_path / "shop_policy.yml"
    path.write_text("escalation_rules:\n  - {say: 转人工, keywords: [律师]}\n", encoding="utf-8")
    assert [r.keywords for r in load_rules(path)] == [("律师",)]
    assert load_rules(path) is load_rules(path)  # parsed once while unchanged
    path.write_text("escalation_rules:\n  - {say: 转人工, keywords: [法院, 起訴]}\n",
                    encoding="utf-8")
    assert [r.keywords for r in load_rules(path)] == [("法院", "起诉")]
