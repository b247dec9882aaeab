"""The transcript store on SQLite and, when reachable, PostgreSQL."""
from __future__ import annotations

from datetime import timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from handoff.transcripts import TranscriptMessage, TranscriptStore, make_engine
from tests.support import scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    with scratch_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield TranscriptStore(engine)
        finally:
            engine.dispose()


def message(conversation: str, direction: str, text_: str, **extra) -> TranscriptMessage:
    return TranscriptMessage(conversation_id=conversation, channel="app", direction=direction,
                             text=text_, customer_id="C0001", **extra)


def test_messages_come_back_in_order_per_conversation(store):
    store.record(message("app:C0001", "in", "我的订单到哪了", client_message_id="m1"))
    store.record(message("app:C0001", "out", "请问您要查询哪一笔订单？",
                         payload={"buttons": [{"title": "订单", "payload": "/query_order"}]}),
                 message("app:C0002", "in", "别的会话"))
    history = store.conversation("app:C0001")
    assert [(m.direction, m.text) for m in history] == [
        ("in", "我的订单到哪了"), ("out", "请问您要查询哪一笔订单？")]
    assert history[0].client_message_id == "m1"
    assert history[1].payload["buttons"][0]["title"] == "订单"
    assert all(m.created_at.tzinfo == timezone.utc for m in history)


def test_limit_keeps_the_latest(store):
    store.record(*(message("app:C0003", "in", f"第{i}条") for i in range(10)))
    assert [m.text for m in store.conversation("app:C0003", limit=3)] == ["第7条", "第8条", "第9条"]


def test_a_failed_batch_stores_nothing(store):
    good = message("app:C0004", "in", "好的")
    bad = message("app:C0004", "out", None)  # text is NOT NULL on every engine
    with pytest.raises(IntegrityError):
        store.record(good, bad)
    assert store.conversation("app:C0004") == []


def test_handoff_records_tickets_notes_ratings_and_agents(store):
    """The handoff side's tables live in the same database (SQLite or PostgreSQL)."""
    from datetime import datetime, timedelta

    from handoff.agents import AgentDirectory
    from handoff.records import HandoffRecords, HandoffRow, TicketRow

    records = HandoffRecords(store.engine)
    now = datetime.now(timezone.utc)
    records.create(HandoffRow(id="H1", conversation_id="app:C1", channel="app", customer_id="C1",
                              reason="complaint", skill_group="quality", tier="vip",
                              status="waiting", summary="诉求：……", created_at=now))
    records.add_note("H1", "A1", "客户很着急")
    records.finish("H1", "closed", "resolved")
    records.rate("H1", "app:C1", 4)
    records.rate("H1", "app:C1", 1)  # the first answer counts
    [row] = records.of_conversation("app:C1")
    assert (row.status, row.resolution, row.summary) == ("closed", "resolved", "诉求：……")
    assert records.rating("H1") == 4 and [n.text for n in records.notes("H1")] == ["客户很着急"]
    records.open_ticket(TicketRow(id="T1", conversation_id="app:C2", channel="app",
                                  customer_id="C2", skill_group="general", tier="regular",
                                  reason="customer_request", status="open",
                                  due_at=now + timedelta(hours=8), created_at=now))
    records.ticket_answered("T1")
    assert records.ticket("T1").status == "answered" and records.ticket("T1").first_response_at
    agents = AgentDirectory(store.engine)
    agents.add("wang", "小王", "agent", ["general"], 2, "secret-password")
    assert agents.authenticate("wang", "secret-password").name == "小王"
    assert agents.authenticate("wang", "wrong") is None


def test_a_database_from_before_the_packet_column_gets_it_and_keeps_its_rows(store):
    from datetime import datetime

    from handoff.records import HandoffRecords, HandoffRow

    with store.engine.begin() as connection:  # the handoffs table as an older release made it
        connection.execute(text(
            "CREATE TABLE handoffs (id VARCHAR(32) PRIMARY KEY, conversation_id VARCHAR(128),"
            " channel VARCHAR(16), customer_id VARCHAR(64), reason VARCHAR(32),"
            " skill_group VARCHAR(16), tier VARCHAR(16), status VARCHAR(16), summary TEXT,"
            " resolution VARCHAR(16), created_at TIMESTAMP WITH TIME ZONE,"
            " closed_at TIMESTAMP WITH TIME ZONE)"))
        connection.execute(text(
            "INSERT INTO handoffs (id, conversation_id, channel, reason, skill_group, tier, status,"
            " summary, resolution, created_at) VALUES ('OLD', 'app:C9', 'app', 'complaint',"
            " 'general', 'regular', 'closed', '诉求：旧的', 'resolved', CURRENT_TIMESTAMP)"))
    records = HandoffRecords(store.engine)
    HandoffRecords(store.engine)  # a second start finds nothing to add
    records.create(HandoffRow(id="NEW", conversation_id="app:C9", channel="app", customer_id="C9",
                              reason="shop_rule", skill_group="returns", tier="vip",
                              status="waiting", summary="", packet='{"rule": "大额"}',
                              created_at=datetime.now(timezone.utc)))
    rows = {row.id: row for row in records.of_conversation("app:C9")}
    assert rows["OLD"].summary == "诉求：旧的" and not rows["OLD"].packet
    assert rows["NEW"].packet == '{"rule": "大额"}'
