"""The Kuaidi100 adapter against a stand-in that speaks Kuaidi100's protocol on a loopback port."""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from actions.api import kuaidi100
from actions.api.kuaidi100 import (
    STATUS_BY_STATE,
    TEXT_BAD_NUMBER,
    TEXT_NO_TRACE,
    TEXT_PHONE,
    TEXT_UNAVAILABLE,
    TEXT_UNSUPPORTED,
    CourierError,
    CourierUnavailable,
    InvalidQuery,
    Kuaidi100Client,
    sign,
)
from actions.api.shop import ShopUnavailable
from tests.stand_ins.kuaidi100 import FORMS, PATH, REQUESTS, make_app
from tests.support import free_port

CUSTOMER = "TESTCUSTOMER"
KEY = "k100-secret-7f3a9c"
BEIJING = timezone(timedelta(hours=8))
SIGN_LIKE = re.compile(r"[0-9A-F]{32}")
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "kuaidi100" / "success_with_areas.json"
STATES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "13", "14", "501", "99")


def events(*lines: tuple[str, str]) -> list[dict[str, str]]:
    return [{"time": when, "context": text, "location": "上海"} for when, text in lines]


WAYBILLS = {
    "YT1000000000001": {"com": "yuantong", "state": "0", "events": events(
        ("2026-11-19 08:00:00", "【义乌市】已揽收"),
        ("2026-11-20 10:00:00", "【上海转运中心】已发出"),
        ("2026-11-19 23:30:00", "【金华转运中心】已发出"))},
    "SF1234567890123": {"com": "shunfeng", "state": "5", "phone": "13800001234",
                        "events": events(("2026-11-20 09:05:00", "快件正在派送途中"))},
    "73100000000001": {"com": "zhongtong", "state": "3", "phone": "13900005678",
                       "events": events(("2026-11-20 14:30:00", "已签收，签收人：本人"))},
    "JD0000000000001": {"com": "jd", "state": "1", "events": []},
    "BUSY000502": {"com": "yuantong", "fail": "502"},
    "ERR0000501": {"com": "yuantong", "fail": "501"},
    "EXPIRED0601": {"com": "yuantong", "fail": "601"},
    "BROKEN00500": {"com": "yuantong", "fail": "http500"},
    "GARBLED0001": {"com": "yuantong", "fail": "malformed"},
    "NODATA00001": {"com": "yuantong", "body": {"message": "ok", "status": "200", "state": "0"}},
    "SLOW000001": {"com": "yuantong", "state": "0", "fail": "slow", "delay": 5},
    "YT7000000000001": {"com": "yuantong", "body": json.loads(FIXTURE.read_text(encoding="utf-8"))},
    "ODDTIME0001": {"com": "yuantong", "body": {"message": "ok", "status": "200", "state": "0", "data": [
        {"time": "昨天", "context": "时间看不懂"}, {"time": "2026-11-20 10:00:00"},
        {"time": "2026-11-19 10:00:00", "context": "  已揽收  "}]}},
    **{f"YTSTATE{state}": {"com": "yuantong", "state": state,
                           "events": events(("2026-11-20 10:00:00", "状态"))} for state in STATES},
}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(kuaidi100, "BACKOFF_SECONDS", 0.01)


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    assert KEY not in caplog.text and not SIGN_LIKE.search(caplog.text)


@pytest.fixture
async def stand_in():
    server = TestServer(make_app(CUSTOMER, KEY, copy.deepcopy(WAYBILLS)), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def make_client(stand_in):
    clients = []

    def make(url: str = "", customer: str = CUSTOMER, key: str = KEY, timeout_seconds: float = 2.0,
             retries: int = 2) -> Kuaidi100Client:
        clients.append(Kuaidi100Client(url or str(stand_in.make_url(PATH)), customer, key,
                                       timeout_seconds=timeout_seconds, retries=retries))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def client(make_client) -> Kuaidi100Client:
    return make_client()


def requests(stand_in, number: str = "") -> int:
    counts = stand_in.app[REQUESTS]
    return counts[number] if number else sum(counts.values())


def assert_secret_kept(error: BaseException) -> None:
    """Neither the key nor a sign in the error, its customer text or anything it was raised from."""
    seen: BaseException | None = error
    while seen is not None:
        for text in (str(seen), repr(seen), getattr(seen, "customer_text", "")):
            assert KEY not in text and not SIGN_LIKE.search(text)
        seen = seen.__cause__ or seen.__context__


async def failure(client: Kuaidi100Client, courier: str, number: str, phone=None) -> CourierError:
    with pytest.raises(CourierError) as caught:
        await client.trace(courier, number, phone)
    assert_secret_kept(caught.value)
    return caught.value


# --- the request ------------------------------------------------------------------------------

def test_sign_matches_fixed_vectors():
    # Computed outside Python: printf '%s' '<param><key><customer>' | md5sum, upper-cased.
    param = '{"com":"yuantong","num":"YT1234567890","show":"0","order":"desc"}'
    assert sign(param, "testkey-123", "TESTCUSTOMER") == "012B3186DA7203F91A2EC3B714ED898A"
    param = '{"com":"shunfeng","num":"SF1234567890123","phone":"1234","show":"0","order":"desc"}'
    assert sign(param, "abc", "TEST") == "8F9E3F7CE7C64FE669F954510FF1EC4A"


async def test_request_is_the_documented_form(client, stand_in):
    await client.trace("SF", "SF1234567890123", phone="138 0000 1234")
    form = stand_in.app[FORMS][-1]
    assert json.loads(form["param"]) == {"com": "shunfeng", "num": "SF1234567890123", "phone": "1234",
                                         "show": "0", "order": "desc"}
    assert form["customer"] == CUSTOMER
    expected = hashlib.md5((form["param"] + KEY + CUSTOMER).encode("utf-8")).hexdigest().upper()
    assert form["sign"] == expected
    assert all(KEY not in value for value in form.values())


# --- successes --------------------------------------------------------------------------------

async def test_trace_has_our_names_status_and_beijing_times_newest_first(client):
    shipment = await client.trace("YTO", " YT1000000000001 ")
    assert (shipment.courier_name, shipment.tracking_number, shipment.status) == (
        "圆通速递", "YT1000000000001", "in_transit")
    assert [event.description for event in shipment.events] == [
        "【上海转运中心】已发出", "【金华转运中心】已发出", "【义乌市】已揽收"]
    latest = shipment.latest
    assert latest.time == datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)
    assert latest.time.isoformat() == "2026-11-20T10:00:00+08:00"
    assert latest.time.astimezone(timezone.utc).hour == 2
    assert latest.location == "上海"


@pytest.mark.parametrize(("state", "status"), [
    ("0", "in_transit"), ("1", "picked_up"), ("2", "problem"), ("3", "delivered"), ("4", "returned"),
    ("5", "out_for_delivery"), ("6", "returned"), ("7", "in_transit"), ("8", "in_transit"),
    ("13", "problem"), ("14", "problem"), ("501", "out_for_delivery"), ("99", "in_transit")])
async def test_states_map_to_our_shipment_statuses(client, state, status):
    assert (await client.trace("YTO", f"YTSTATE{state}")).status == status


def test_state_table_uses_only_our_vocabulary_and_covers_basic_states():
    assert set(STATUS_BY_STATE.values()) == {"picked_up", "in_transit", "out_for_delivery",
                                             "delivered", "returned", "problem"}
    assert {str(state) for state in range(15) if state != 9} <= set(STATUS_BY_STATE)


@pytest.mark.parametrize("phone", ["13800001234", "1234", "+86 138-0000-1234"])
async def test_sf_with_the_phone_or_its_last_four_digits(client, phone):
    shipment = await client.trace("SF", "SF1234567890123", phone)
    assert (shipment.courier_name, shipment.status) == ("顺丰速运", "out_for_delivery")


async def test_zto_checks_the_phone_too(client):
    assert (await client.trace("ZTO", "73100000000001", "5678")).status == "delivered"
    assert (await failure(client, "ZTO", "73100000000001")).code == "408"


async def test_a_shipment_without_events_yet(client):
    shipment = await client.trace("JD", "JD0000000000001")
    assert (shipment.courier_name, shipment.status, shipment.events) == ("京东物流", "picked_up", ())
    assert shipment.latest is None


async def test_real_response_shape_with_area_fields(client):
    shipment = await client.trace("YTO", "YT7000000000001")
    assert shipment.status == "delivered" and len(shipment.events) == 4
    assert [event.location for event in shipment.events] == [
        "", "山东,济南市,历城区", "山东,济南市", "义乌"]
    assert shipment.events[-1].time == datetime(2026, 11, 18, 18, 2, 41, tzinfo=BEIJING)


async def test_unreadable_trace_lines_are_skipped(client):
    shipment = await client.trace("YTO", "ODDTIME0001")
    assert [(event.description, event.time.day) for event in shipment.events] == [("已揽收", 19)]


async def test_one_session_reused_and_close_is_idempotent(client):
    await client.trace("YTO", "YT1000000000001")
    session = client._session
    await client.trace("YTO", "YT1000000000001")
    assert client._session is session
    await client.close()
    await client.close()
    assert (await client.trace("YTO", "YT1000000000001")).status == "in_transit"


# --- refusals: final, no retry ----------------------------------------------------------------

@pytest.mark.parametrize("phone", [None, "13800009999", "9999"])
async def test_sf_without_or_with_a_wrong_phone_is_408(client, stand_in, phone):
    error = await failure(client, "SF", "SF1234567890123", phone)
    assert error.code == "408" and error.customer_text == TEXT_PHONE and "后四位" in error.customer_text
    assert not isinstance(error, CourierUnavailable)
    assert requests(stand_in, "SF1234567890123") == 1


async def test_unknown_number_or_another_couriers_number_is_500(client, stand_in):
    error = await failure(client, "YTO", "YT9999999999999")
    assert (error.code, error.customer_text) == ("500", TEXT_NO_TRACE)
    assert requests(stand_in, "YT9999999999999") == 1
    assert (await failure(client, "YD", "YT1000000000001")).code == "500"


async def test_wrong_key_is_a_logged_503_without_retry(make_client, stand_in, caplog):
    error = await failure(make_client(key="wrong-key-1234"), "YTO", "YT1000000000001")
    assert (error.code, error.customer_text) == ("503", TEXT_UNAVAILABLE)
    assert not isinstance(error, CourierUnavailable)
    assert requests(stand_in, "YT1000000000001") == 1
    [record] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "503" in record.getMessage() and "验证签名失败" in record.getMessage()
    assert "wrong-key-1234" not in caplog.text and "wrong-key-1234" not in str(error)


async def test_expired_key_is_a_logged_601_without_retry(client, stand_in, caplog):
    error = await failure(client, "YTO", "EXPIRED0601")
    assert error.code == "601" and not isinstance(error, CourierUnavailable)
    assert requests(stand_in, "EXPIRED0601") == 1
    assert any(record.levelno == logging.ERROR and "601" in record.getMessage()
               for record in caplog.records)


async def test_wrong_customer_is_a_400_without_retry(make_client, stand_in):
    error = await failure(make_client(customer="SOMEONEELSE"), "YTO", "YT1000000000001")
    assert error.code == "400" and requests(stand_in, "YT1000000000001") == 1


async def test_a_wrong_url_is_a_logged_error_without_retry(make_client, stand_in, caplog):
    error = await failure(make_client(url=str(stand_in.make_url("/poll/query"))), "YTO", "YT1000000000001")
    assert error.code == "http404" and not isinstance(error, CourierUnavailable)
    assert [record.levelno for record in caplog.records if record.name == kuaidi100.__name__] == [
        logging.ERROR]


# --- unavailable: retried, then CourierUnavailable --------------------------------------------

@pytest.mark.parametrize(("number", "code"), [
    ("BUSY000502", "502"), ("ERR0000501", "501"), ("BROKEN00500", "http500"),
    ("GARBLED0001", "malformed"), ("NODATA00001", "malformed")])
async def test_busy_or_broken_answers_are_retried_then_unavailable(client, stand_in, number, code):
    error = await failure(client, "YTO", number)
    assert isinstance(error, CourierUnavailable) and isinstance(error, ShopUnavailable)
    assert (error.code, error.customer_text) == (code, TEXT_UNAVAILABLE)
    assert requests(stand_in, number) == 3


@pytest.mark.parametrize("retries", [0, 4])
async def test_retries_are_bounded_by_the_setting(make_client, stand_in, retries):
    await failure(make_client(retries=retries), "YTO", "BUSY000502")
    assert requests(stand_in, "BUSY000502") == 1 + retries


async def test_timeout_is_unavailable_after_retries(make_client, stand_in):
    started = time.monotonic()
    error = await failure(make_client(timeout_seconds=0.2), "YTO", "SLOW000001")
    assert isinstance(error, CourierUnavailable) and error.code == "timeout"
    assert requests(stand_in, "SLOW000001") == 3
    assert time.monotonic() - started < 4  # three short timeouts, not the stand-in's 5 s delay


async def test_nothing_listening_is_unavailable(make_client):
    client = make_client(url=f"http://127.0.0.1:{free_port()}{PATH}", retries=1)
    assert (await failure(client, "YTO", "YT1000000000001")).code == "network"


# --- rejected before any request --------------------------------------------------------------

@pytest.mark.parametrize("courier", ["DHL", "", "顺丰", "S F", "SF; DROP TABLE", None])
async def test_unknown_courier_is_refused_without_a_request(client, stand_in, courier):
    error = await failure(client, courier, "YT1000000000001")
    assert isinstance(error, InvalidQuery) and error.customer_text == TEXT_UNSUPPORTED
    assert requests(stand_in) == 0


@pytest.mark.parametrize("number", [
    "", "   ", "12345", "9" * 33, "Y" * 5000, "1' OR '1'='1", "YT1000000000001; DROP TABLE orders",
    "<script>alert(1)</script>", "运单YT1000000000001", "ＹＴ１０００００００００００１",
    "YT10000\n00000001", "../../etc/passwd", "YT100%00000001", None])
async def test_hostile_tracking_numbers_are_refused_without_a_request(client, stand_in, number):
    error = await failure(client, "YTO", number)
    assert isinstance(error, InvalidQuery) and error.customer_text == TEXT_BAD_NUMBER
    assert len(str(error)) < 100
    assert number is None or len(number.strip()) < 6 or number.strip() not in str(error)
    assert requests(stand_in) == 0


@pytest.mark.parametrize("phone", ["abc1234", "12", "1234<script>", "１２３４", "1" * 5000, "1234\n5"])
async def test_implausible_phones_are_refused_without_a_request(client, stand_in, phone):
    error = await failure(client, "SF", "SF1234567890123", phone)
    assert isinstance(error, InvalidQuery) and error.customer_text == TEXT_PHONE
    assert requests(stand_in) == 0
