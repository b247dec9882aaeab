"""The supervisors' dashboard API over the real service app, on SQLite and (when reachable)
PostgreSQL, with the real demo shop as a process: records are seeded for three shop days
(2026-03-01..03, UTC+8) and every figure is checked against what was seeded.

Rasa's ``events`` rows are written here exactly as its SQL event broker writes them
(``json.dumps`` of the tracker event); tests/e2e/test_dashboard_browser.py checks that the running
Rasa really writes them into the service's database.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from analytics.sql import EVENTS
from demo_shop import models as shop
from demo_shop.app import open_database
from demo_shop.settings import ShopSettings
from handoff.records import HandoffRow, SatisfactionRow, TicketRow
from handoff.transcripts import MessageRow
from service.app import create_app
from service.settings import Settings
from tests.support import (
    SERVICE_PYTHON,
    free_port,
    http_ok,
    log_in_demo,
    running,
    scratch_database,
    wait_until,
)

SHOP_KEY = "dashboard-test-key"
WINDOW = {"from": "2026-03-01", "to": "2026-03-03"}
HOSTILE_REASON = "<img src=x onerror=alert(1)>"
HOSTILE_INTENT = "<b>13812345678</b>"
HOSTILE_PRODUCT = "<svg onload=alert(2)>围巾"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A UTC moment in March 2026 (shop time is 8 hours ahead)."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=timezone.utc)


# --- the demo shop, with after-sales records of its own in the window ----------------------

def seed_shop(path) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(ShopSettings(db_path=str(path), seed_anchor=datetime(2025, 6, 1, 4)))
    naive = lambda moment: moment.replace(tzinfo=None)  # noqa: E731  (the shop stores naive UTC)
    with Session(engine) as session, session.begin():
        for order_id, items in {"2603010000000001": [("ZZ-0001", "羊毛大衣"),
                                                     ("ZZ-0002", HOSTILE_PRODUCT)],
                                "2603010000000002": [("ZZ-0003", "运动鞋")]}.items():
            session.add(shop.Order(id=order_id, customer_id="C0001", status="after_sale",
                                   receiver_name="测试", receiver_phone="13800000000",
                                   address="上海市浦东新区测试路 1 号", shipping_fee_fen=0,
                                   created_at=naive(at(1, 0))))
            session.add_all(shop.OrderItem(order_id=order_id, sku=sku, name=name, category="apparel",
                                           unit_price_fen=10000, quantity=1) for sku, name in items)
        session.flush()  # the orders before what refers to them
        returns = [("RA1", "2603010000000001", "return", "size", "", "ZZ-0001", at(1, 2)),
                   ("RA2", "2603010000000001", "return", None, "颜色与图片不符", None, at(2, 2)),
                   ("RA3", "2603010000000002", "exchange", "size", "", "ZZ-0003", at(3, 2)),
                   ("RA4", "2603010000000002", "return", "size", "", "ZZ-0003", at(4, 2))]  # after
        session.add_all(shop.ReturnRequest(id=id_, order_id=order, kind=kind, reason_code=code,
                                           reason=reason or "x", status="requested", skus=skus,
                                           created_at=naive(moment))
                        for id_, order, kind, code, reason, skus, moment in returns)
        session.add(shop.AfterSalesCase(id="QC1", order_id="2603010000000001", kind="quality",
                                        skill_group="quality", description="起球", status="open",
                                        created_at=naive(at(2, 3))))
    engine.dispose()


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("dashboard-shop")
    seed_shop(folder / "shop.sqlite3")
    port = free_port()
    env = {"SHOP_DB_PATH": str(folder / "shop.sqlite3"), "SHOP_API_KEY": SHOP_KEY}
    command = [str(SERVICE_PYTHON), "-m", "demo_shop", "--port", str(port)]
    with running(command, folder / "shop.log", env) as process:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), 60, "demo shop", process,
                   folder / "shop.log")
        yield f"http://127.0.0.1:{port}/api/v1"


# --- the service's records ------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    with scratch_database(request.param, tmp_path) as url:
        yield url


def make_client(database_url: str, redis_url: str, shop_api_url: str) -> TestClient:
    settings = Settings(redis_url=redis_url, database_url=database_url,
                        rasa_url="http://127.0.0.1:9", app_token_secret="d" * 40,
                        shop_api_url=shop_api_url, shop_api_key=SHOP_KEY,
                        handoff_hours="00:00-00:00")
    return TestClient(create_app(settings))


@pytest.fixture
def client(database_url, fresh_redis_url, shop_url) -> Iterator[TestClient]:
    with make_client(database_url, fresh_redis_url, shop_url) as test_client:
        seed_records(test_client.app.state.transcripts.engine)
        yield test_client


def message(conversation: str, direction: str, moment: datetime, author: str = "") -> MessageRow:
    channel = conversation.partition(":")[0]
    payload = {"text": "…", "author": {"role": author, "id": "agent1"}} if author else None
    return MessageRow(conversation_id=conversation, channel=channel, direction=direction,
                      customer_id="C0001", text="我的手机号 13812345678", payload=payload,
                      created_at=moment)


def handoff(id_: str, conversation: str, reason: str, tier: str, status: str, created: datetime,
            closed: datetime | None = None) -> HandoffRow:
    return HandoffRow(id=id_, conversation_id=conversation, channel=conversation.partition(":")[0],
                      customer_id="C0001", reason=reason, skill_group="general", tier=tier,
                      status=status, summary="客户电话 13812345678", created_at=created,
                      closed_at=closed)


def ticket(id_: str, conversation: str, reason: str, tier: str, created: datetime, hours: int,
           answered: datetime | None) -> TicketRow:
    return TicketRow(id=id_, conversation_id=conversation, channel=conversation.partition(":")[0],
                     customer_id="C0001", skill_group="general", tier=tier, reason=reason,
                     status="answered" if answered else "open", due_at=created + timedelta(hours=hours),
                     created_at=created, first_response_at=answered)


def event(sender: str, moment: datetime, kind: str, **fields) -> dict:
    """A row as rasa.core.brokers.sql.SQLEventBroker.publish writes it."""
    body = {"event": kind, "timestamp": moment.timestamp(), "sender_id": sender, **fields}
    return {"sender_id": sender, "data": json.dumps(body)}


def user(sender: str, moment: datetime, intent: str) -> dict:
    return event(sender, moment, "user", text="…", input_channel="xiaoshou",
                 parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": []})


def faq_answer(sender: str, moment: datetime, entry: str) -> dict:
    return event(sender, moment, "bot", text="…", data={},
                 metadata={"utter_action": f"utter_faq/{entry}"})


def action(sender: str, moment: datetime, name: str) -> dict:
    return event(sender, moment, "action", name=name, policy="RulePolicy", confidence=1.0)


# Three shop days. Shop day 03-01 runs from 02-28 16:00 to 03-01 16:00 UTC.
def messages() -> list[MessageRow]:
    return [
        message("app:C1", "in", at(1, 2)),                     # day 1, contained
        message("app:C2", "in", at(1, 3)),                     # day 1, handoff H1
        message("app:C2", "out", at(1, 3, 2), author="agent"),
        message("app:C2", "out", at(1, 3, 5), author="agent"),
        message("app:C2", "out", at(1, 3, 30), author="agent"),  # after H1 closed: not a first reply
        message("wechat:o3", "in", at(1, 4)),                  # day 1, handoff H2
        message("wechat:o3", "out", at(1, 4, 7), author="agent"),
        message("telegram:t4", "in", at(1, 15, 30)),           # 23:30 shop time, day 1, ticket T1
        message("app:C1", "in", at(2, 1)),                     # day 2, contained again
        message("app:C1", "in", at(2, 1, 5)),                  # same conversation-day
        message("app:C5", "in", at(1, 16, 30)),                # 00:30 shop time: day 2, ticket T2
        message("app:C6", "in", at(2, 5)),                     # day 2, handoff H3 (still open)
        message("app:C6", "out", at(2, 5, 1, 40), author="agent"),
        message("wechat:o7", "in", at(2, 6)),                  # day 2, contained
        message("wechat:o7", "out", at(2, 6, 0, 5)),           # the bot's answer (no author)
        message("app:C8", "in", at(3, 2)),                     # day 3, handoff H4 (cancelled)
        message("app:C10", "in", at(3, 3)),                    # day 3, ticket T3 (overdue)
        message("app:C0", "in", at(1, 15, 59) - timedelta(days=1)),  # 02-28 23:59 shop time: before
        message("app:C9", "in", at(3, 16)),                    # 03-04 00:00 shop time: after
    ]
def handoffs() -> list[tuple[HandoffRow, datetime | None]]:
    """Each handoff with the moment an agent claimed it."""
    return [
        (handoff("H1", "app:C2", "customer_request", "vip", "closed", at(1, 3, 1), at(1, 3, 21)),
         at(1, 3, 1, 30)),                                     # waited 30 s, replied 60 s, closed 1200 s
        (handoff("H2", "wechat:o3", "complaint", "regular", "closed", at(1, 4), at(1, 5)),
         at(1, 4, 6, 40)),                                     # waited 400 s, replied 420 s, 3600 s
        (handoff("H3", "app:C6", "customer_request", "vip", "assigned", at(2, 5)),
         at(2, 5, 1, 30)),                                     # waited 90 s, replied 100 s, open
        (handoff("H4", "app:C8", HOSTILE_REASON, "regular", "cancelled", at(3, 2), at(3, 2, 1)),
         None),                                                # never claimed
        (handoff("H9", "app:C9", "customer_request", "vip", "closed", at(3, 16, 1), at(3, 16, 2)),
         at(3, 16, 1, 5)),                                     # 03-04 shop time: outside the window
    ]
def tickets() -> list[TicketRow]:
    return [
        ticket("T1", "telegram:t4", "not_understood", "potential", at(1, 15, 31), 4,
               at(1, 20, 31)),                                 # answered after 5 h: late
        ticket("T2", "app:C5", "customer_request", "regular", at(1, 16, 31), 8, at(1, 17, 31)),
        ticket("T3", "app:C10", "shop_rule", "vip", at(3, 3), 2, None),  # never answered: overdue
    ]
RATINGS = [("H1", "app:C2", 5, at(1, 3, 22)), ("H2", "wechat:o3", 2, at(1, 5, 1)),
           ("H3", "app:C6", 4, at(2, 7)), ("H9", "app:C9", 1, at(3, 16, 3))]
EVENTS_ROWS = [
    user("app:C1", at(1, 2), "query_logistics"),
    action("app:C1", at(1, 2, 0, 1), "action_listen"),
    user("app:C2", at(1, 3), "request_human"),
    user("wechat:o3", at(1, 4), "complain"),
    user("telegram:t4", at(1, 15, 29), "nlu_fallback"),
    user("telegram:t4", at(1, 15, 30), "nlu_fallback"),
    action("telegram:t4", at(1, 15, 30, 1), "action_default_fallback"),
    user("app:C1", at(2, 1), "faq"), faq_answer("app:C1", at(2, 1, 0, 1), "return_policy"),
    user("app:C5", at(1, 16, 30), "query_logistics"),
    user("app:C5", at(1, 16, 31), "faq"), faq_answer("app:C5", at(1, 16, 31, 1), "return_policy"),
    user("wechat:o7", at(2, 6), "faq"), faq_answer("wechat:o7", at(2, 6, 0, 1), "delivery_time"),
    user("app:C6", at(2, 5), "query_logistics"),
    user("app:C8", at(3, 2), HOSTILE_INTENT),
    user("app:C10", at(3, 3), "request_return"),
    user("app:C9", at(3, 16), "query_order"),              # 03-04 shop time: outside
    user("app:C0", at(1, 15, 59) - timedelta(days=1), "query_order"),  # 02-28: outside
]


def seed_records(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(messages())
        session.add_all(replace_claim(row, claimed) for row, claimed in handoffs())
        session.add_all(tickets())
        session.add_all(SatisfactionRow(handoff_id=h, conversation_id=c, score=s, created_at=m)
                        for h, c, s, m in RATINGS)
    EVENTS.create(engine, checkfirst=True)  # Rasa creates it on its first start
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), EVENTS_ROWS)


def replace_claim(row: HandoffRow, claimed: datetime | None) -> HandoffRow:
    row.claimed_at = claimed
    return row




def summary(client: TestClient, **params) -> dict:
    answer = client.get("/api/dashboard/summary", params={**WINDOW, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- the figures ------------------------------------------------------------------------------

def test_conversations_containment_and_handoffs_per_day_and_channel(client):
    log_in_demo(client, "supervisor1")
    board = summary(client)
    assert board["range"] == {"from": "2026-03-01", "to": "2026-03-03", "channel": "all",
                              "channel_label": "全部渠道"}
    totals = board["totals"]
    assert (totals["conversations"], totals["contained"], totals["containment_rate"]) == (10, 3, 0.3)
    assert (totals["handoffs"], totals["live_handoffs"], totals["tickets"]) == (7, 4, 3)
    assert totals["handoff_rate"] == 0.7
    days = {day["day"]: day for day in board["daily"]}
    assert [(d, days[d]["conversations"], days[d]["contained"], days[d]["handoffs"])
            for d in days] == [("2026-03-01", 4, 1, 3), ("2026-03-02", 4, 2, 2),
                               ("2026-03-03", 2, 0, 2)]
    assert days["2026-03-02"]["by_channel"] == {"app": 3, "wechat": 1, "telegram": 0}
    channels = {row["channel"]: row for row in board["channels"]}
    assert [(c, r["conversations"], r["contained"], r["handoffs"], r["satisfaction_average"])
            for c, r in channels.items()] == [("app", 7, 2, 5, 4.5), ("wechat", 2, 1, 1, 2.0),
                                              ("telegram", 1, 0, 1, None)]
    assert channels["app"]["containment_rate"] == 0.2857


def test_handoff_rate_by_reason(client):
    log_in_demo(client, "supervisor1")
    reasons = summary(client)["handoff_reasons"]
    assert [(r["reason"], r["label"], r["live"], r["tickets"], r["count"], r["rate"])
            for r in reasons] == [
        ("customer_request", "客户要求转人工", 2, 1, 3, 0.3),
        (HOSTILE_REASON, HOSTILE_REASON, 1, 0, 1, 0.1),
        ("complaint", "投诉/情绪激动", 1, 0, 1, 0.1),
        ("not_understood", "机器人未听懂", 0, 1, 1, 0.1),
        ("shop_rule", "店铺规则转人工", 0, 1, 1, 0.1)]


def tiers(rows: list[dict]) -> dict[str, tuple]:
    return {r["tier"]: (r["count"], r["p50_seconds"], r["p90_seconds"], r["target_seconds"],
                        r["breaches"]) for r in rows}


def test_queue_waits_first_responses_and_resolution_against_targets(client):
    log_in_demo(client, "supervisor1")
    board = summary(client)
    assert tiers(board["waits"]["tiers"]) == {
        "vip": (2, 30, 90, 60, 1), "potential": (0, None, None, 120, 0),
        "regular": (1, 400, 400, 300, 1)}
    assert tiers(board["first_response"]["live"]) == {
        "vip": (2, 60, 100, 60, 1), "potential": (0, None, None, 120, 0),
        "regular": (1, 420, 420, 300, 1)}
    tickets = {r["tier"]: r for r in board["first_response"]["tickets"]}
    assert tiers(board["first_response"]["tickets"]) == {
        "vip": (0, None, None, 7200, 0), "potential": (1, 18000, 18000, 14400, 1),
        "regular": (1, 3600, 3600, 28800, 0)}
    assert [(t, tickets[t]["tickets"], tickets[t]["overdue_open"]) for t in tickets] == [
        ("vip", 1, 1), ("potential", 1, 0), ("regular", 1, 0)]
    assert tiers(board["resolution"]) == {
        "vip": (1, 1200, 1200, 1800, 0), "potential": (0, None, None, 3600, 0),
        "regular": (1, 3600, 3600, 7200, 0)}


def test_satisfaction_trend(client):
    log_in_demo(client, "supervisor1")
    board = summary(client)
    assert [(d["day"], d["satisfaction_average"], d["ratings"]) for d in board["daily"]] == [
        ("2026-03-01", 3.5, 2), ("2026-03-02", 4.0, 1), ("2026-03-03", None, 0)]
    assert board["satisfaction"]["average"] == 3.67 and board["satisfaction"]["count"] == 3
    assert [r["count"] for r in board["satisfaction"]["distribution"]] == [0, 1, 0, 1, 1]


def test_top_intents_faq_entries_and_fallback_rate(client):
    log_in_demo(client, "supervisor1")
    intents = summary(client)["intents"]
    assert intents["available"] is True
    assert [(i["intent"], i["label"], i["count"]) for i in intents["top"]] == [
        ("faq", "常见问题", 3), ("query_logistics", "查物流", 3),
        ("nlu_fallback", "未听懂（兜底）", 2),
        ("<b>****</b>", "<b>****</b>", 1),  # a typed "/intent": phone digits hidden
        ("complain", "投诉", 1), ("request_human", "转人工", 1), ("request_return", "退货", 1)]
    assert intents["top"][0]["share"] == 0.25
    assert [(f["entry"], f["title"], f["count"]) for f in intents["faq"]] == [
        ("return_policy", "退货政策", 2), ("delivery_time", "发货与送达时间", 1)]
    assert intents["fallback"] == {"intent": "nlu_fallback", "messages": 12, "fallbacks": 2,
                                   "rate": 0.1667, "gave_up": 1}
    board = summary(client)
    assert [(d["user_messages"], d["fallbacks"], d["fallback_rate"]) for d in board["daily"]] == [
        (5, 2, 0.4), (5, 0, 0.0), (2, 0, 0.0)]


def test_products_with_most_complaints_and_returns_and_return_reasons(client):
    log_in_demo(client, "supervisor1")
    products = summary(client)["products"]
    assert products["available"] is True
    assert (products["returns"], products["exchanges"], products["quality_cases"]) == (2, 1, 1)
    assert [(p["sku"], p["name"], p["returns"], p["exchanges"], p["quality_cases"])
            for p in products["skus"]] == [
        ("ZZ-0001", "羊毛大衣", 2, 0, 1),            # RA1 names it, RA2 (no SKUs) and QC1 its order
        ("ZZ-0002", HOSTILE_PRODUCT, 1, 0, 1),
        ("ZZ-0003", "运动鞋", 0, 1, 0)]
    assert [(r["reason"], r["count"]) for r in products["reasons"]] == [
        ("尺码不合适", 2), ("颜色与图片不符", 1)]


def test_one_channel_only(client):
    log_in_demo(client, "supervisor1")
    board = summary(client, channel="wechat")
    assert board["range"]["channel_label"] == "微信公众号"
    assert (board["totals"]["conversations"], board["totals"]["contained"],
            board["totals"]["handoffs"]) == (2, 1, 1)
    assert [r["reason"] for r in board["handoff_reasons"]] == ["complaint"]
    assert [row["channel"] for row in board["channels"]] == ["wechat"]
    assert [(i["intent"], i["count"]) for i in board["intents"]["top"]] == [
        ("complain", 1), ("faq", 1)]
    assert [f["entry"] for f in board["intents"]["faq"]] == ["delivery_time"]
    assert tiers(board["waits"]["tiers"])["vip"][0] == 0
    assert board["satisfaction"]["count"] == 1


def test_no_personal_data_reaches_the_dashboard(client):
    log_in_demo(client, "supervisor1")
    body = client.get("/api/dashboard/summary", params=WINDOW).text
    body += client.get("/api/dashboard/export.csv", params=WINDOW).text
    for secret in ("13812345678", "C0001", "测试路", "手机号", "起球"):
        assert secret not in body


def test_csv_export(client):
    log_in_demo(client, "supervisor1")
    answer = client.get("/api/dashboard/export.csv", params={**WINDOW, "channel": "all"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert (answer.headers["content-disposition"]
            == 'attachment; filename="xiaoshou-dashboard-2026-03-01_2026-03-03-all.csv"')
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["板块", "日期", "渠道", "项目", "数值"]
    assert ["总览", "2026-03-01~2026-03-03", "全部渠道", "conversations", "10"] in rows
    assert ["每日", "2026-03-02", "全部渠道", "contained", "2"] in rows
    assert ["分渠道", "2026-03-01~2026-03-03", "微信公众号", "handoffs", "1"] in rows
    assert ["转人工原因", "2026-03-01~2026-03-03", "全部渠道", "客户要求转人工（customer_request）",
            "3"] in rows
    assert ["排队等待", "2026-03-01~2026-03-03", "全部渠道", "VIP p90_seconds", "90"] in rows
    assert ["FAQ", "2026-03-01~2026-03-03", "全部渠道", "退货政策（return_policy）", "2"] in rows
    assert ["退货原因", "2026-03-01~2026-03-03", "全部渠道", "尺码不合适", "2"] in rows
    assert ["满意度分布", "2026-03-01~2026-03-03", "全部渠道", "5 分", "1"] in rows
    # Hostile text stays text, and nothing starts like a spreadsheet formula.
    assert any(HOSTILE_REASON in row[3] for row in rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- authorisation and bad input --------------------------------------------------------------

def dashboard_routes(client: TestClient) -> list[str]:
    paths = [path for path in client.app.openapi()["paths"] if path.startswith("/api/dashboard")]
    assert sorted(paths) == ["/api/dashboard/export.csv", "/api/dashboard/summary"]
    return paths


def test_only_supervisors_see_the_dashboard(client):
    routes = dashboard_routes(client)
    client.cookies.clear()
    for path in routes:
        answer = client.get(path, params=WINDOW)
        assert answer.status_code == 401 and answer.json()["error"]["message"] == "请先登录"
        assert client.get(path, params={"from": "nonsense"}).status_code == 401  # no probing
    for username in ("agent1", "editor1"):
        log_in_demo(client, username)
        for path in routes:
            answer = client.get(path, params=WINDOW)
            assert answer.status_code == 403, (username, path)
            assert CHINESE.search(answer.json()["error"]["message"])
    log_in_demo(client, "supervisor1")
    for path in routes:
        assert client.get(path, params=WINDOW).status_code == 200


@pytest.mark.parametrize("params, message", [
    ({"from": "2026-13-01"}, "开始日期不是有效的日期"),
    ({"from": "2026/12/01"}, "开始日期格式应为 YYYY-MM-DD"),
    ({"to": "yesterday"}, "结束日期格式应为 YYYY-MM-DD"),
    ({"from": "2026-03-01'; DROP TABLE messages; --"}, "请求格式不正确"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "开始日期不能晚于结束日期"),
    ({"from": "2016-01-01", "to": "2026-01-01"}, "日期范围最长 366 天，请缩小范围"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "开始日期超出可查询的范围"),
    ({"from": "9" * 10_000}, "请求格式不正确"),
    ({"channel": "<script>"}, "渠道只能是 app、wechat、telegram 或 all"),
    ({"channel": "x" * 5000}, "请求格式不正确"),
])
def test_bad_filters_get_a_clear_chinese_422(client, params, message):
    log_in_demo(client, "supervisor1")
    for path in dashboard_routes(client):
        answer = client.get(path, params={**WINDOW, **params})
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["error"]["message"] == message


def test_the_default_range_is_the_last_seven_shop_days(client):
    log_in_demo(client, "supervisor1")
    board = client.get("/api/dashboard/summary").json()
    today = datetime.now(timezone(timedelta(hours=8))).date()
    assert board["range"]["to"] == today.isoformat()
    assert board["range"]["from"] == (today - timedelta(days=6)).isoformat()
    assert len(board["daily"]) == 7


# --- what is missing is said, not faked ----------------------------------------------------------

@pytest.fixture
def bare_client(tmp_path, fresh_redis_url) -> Iterator[TestClient]:
    """No Rasa events table, no claim times, and a shop that does not answer."""
    with make_client(f"sqlite:///{tmp_path}/bare.sqlite3", fresh_redis_url,
                     f"http://127.0.0.1:{free_port()}/api/v1") as test_client:
        with Session(test_client.app.state.transcripts.engine) as session, session.begin():
            session.add_all([message("app:C1", "in", at(1, 2))])
        yield test_client


def test_missing_sources_are_reported_not_invented(bare_client):
    log_in_demo(bare_client, "supervisor1")
    board = summary(bare_client)
    assert board["totals"]["conversations"] == 1 and board["totals"]["fallback_rate"] is None
    assert board["intents"]["available"] is False and board["intents"]["top"] == []
    assert all(row["count"] == 0 for row in board["waits"]["tiers"])
    assert board["products"]["available"] is False
    assert CHINESE.search(board["products"]["message"])
