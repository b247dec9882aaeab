"""Channels through the whole service: the real router and consumers on a real Redis, a Rasa
webhook stand-in (to count and slow down calls), and the Telegram Bot API and WeChat API
stand-ins."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels import app_auth
from channels.telegram import TelegramSettings
from channels.wechat import WeChatSettings
from demo_shop.app import create_app as create_shop
from demo_shop.settings import ShopSettings
from service.app import create_app
from service.rate_limit import TOO_MANY_TEXT
from service.settings import Settings
from tests.service.telegram.updates import SECRET, TOKEN, callback, message, post
from tests.service.wechat.helpers import APP_ID, APP_SECRET, passive_content, signed_query, text_xml
from tests.service.wechat.helpers import TOKEN as WECHAT_TOKEN
from tests.stand_ins.serving import serve
from tests.stand_ins.telegram_api import TelegramStandIn
from tests.stand_ins.wechat_api import WeChatApiState, serving
from tests.support import eventually

APP_SECRET_FOR_TESTS = "s" * 40


@pytest.fixture
def telegram_api():
    stand_in = TelegramStandIn(TOKEN)
    with serve(stand_in.app) as url:
        stand_in.url = url
        yield stand_in


@pytest.fixture
def wechat_api():
    state = WeChatApiState(APP_ID, APP_SECRET, every_window_open=True)
    with serving(state) as running:
        state.url = running.url
        yield state


@pytest.fixture
def demo_shop(tmp_path):
    """The demo shop (it knows which channel accounts belong to which customer)."""
    database = tmp_path / "shop.sqlite3"
    with serve(create_shop(ShopSettings(db_path=str(database)))) as url:
        yield f"{url}/api/v1", database


@pytest.fixture
def make_service(fresh_redis_url, tmp_path, rasa, telegram_api, wechat_api, demo_shop):
    """The service with every channel; keyword arguments override its Settings."""
    @contextmanager
    def make(**overrides: Any) -> Iterator[TestClient]:
        values = {"redis_url": fresh_redis_url, "database_url": f"sqlite:///{tmp_path}/t.sqlite3",
                  "rasa_url": rasa.url, "app_token_secret": APP_SECRET_FOR_TESTS,
                  "bot_timeout_seconds": 5, "shop_api_url": demo_shop[0], **overrides}
        telegram = TelegramSettings(bot_token=TOKEN, webhook_secret=SECRET,
                                    api_base_url=f"{telegram_api.url}/bot")
        wechat = WeChatSettings(token=WECHAT_TOKEN, app_id=APP_ID, app_secret=APP_SECRET,
                                api_base_url=wechat_api.url, passive_timeout_seconds=1)
        with TestClient(create_app(Settings(**values), telegram, wechat)) as client:
            yield client
    return make


@pytest.fixture
def service(make_service):
    with make_service() as client:
        yield client


@pytest.fixture
def limited_service(make_service, one_rate_window):
    """Two messages a minute per customer, the clock standing still inside one window."""
    with make_service(rate_limit_per_customer="2/60") as client:
        yield client


def wechat_post(client: TestClient, xml: str):
    return client.post("/webhooks/wechat", params=signed_query(), content=xml.encode(),
                       headers={"Content-Type": "text/xml"})


def test_a_telegram_update_retried_three_times_is_answered_once(service, rasa, telegram_api):
    update = message(9001, text="我的快递到哪了")
    assert [post(service, update).status_code for _ in range(3)] == [200, 200, 200]
    sent = eventually(lambda: telegram_api.sent("sendMessage"))
    time.sleep(0.5)  # room for a wrong second delivery to show up
    assert [m["text"] for m in telegram_api.sent("sendMessage")] == ["收到：我的快递到哪了"]
    assert int(sent[0]["chat_id"]) == 5550001
    assert rasa.calls == [("telegram:5550001", "我的快递到哪了")]
    transcript = service.app.state.transcripts.conversation("telegram:5550001")
    assert [(m.direction, m.text) for m in transcript] == [
        ("in", "我的快递到哪了"), ("out", "收到：我的快递到哪了")]


def test_telegram_messages_of_one_chat_reach_the_bot_in_order(service, rasa, telegram_api):
    for n in range(10):
        assert post(service, message(9100 + n, text=f"第{n}句")).status_code == 200
    eventually(lambda: len(telegram_api.sent("sendMessage")) == 10)
    assert [text for _, text in rasa.calls] == [f"第{n}句" for n in range(10)]


def test_a_badly_signed_telegram_update_stores_nothing(service, rasa):
    assert post(service, message(9200, text="你好"), secret="wrong").status_code == 403
    assert post(service, b"\x00\xffjunk").status_code == 400
    time.sleep(0.3)
    assert rasa.calls == []
    assert service.app.state.transcripts.conversation("telegram:5550001") == []


def test_an_unknown_button_is_refused_without_reaching_the_bot(service, rasa, telegram_api):
    assert post(service, callback(9300, "not-a-key")).status_code == 200
    eventually(lambda: telegram_api.sent("answerCallbackQuery"))
    assert rasa.calls == []


def test_a_wechat_push_retried_three_times_gets_one_passive_answer(service, rasa, wechat_api):
    xml = text_xml("退货运费谁出", openid="oWeChatCustomer1", msg_id="7001")
    answers = [wechat_post(service, xml) for _ in range(3)]
    assert [passive_content(answer) for answer in answers] == ["收到：退货运费谁出"] * 3
    assert rasa.calls == [("wechat:oWeChatCustomer1", "退货运费谁出")]
    time.sleep(0.3)
    assert wechat_api.sent == []  # nothing went out a second way


def test_telegram_redeliveries_do_not_use_up_the_customers_message_limit(
        limited_service, rasa, telegram_api):
    update = message(9400, text="我的快递到哪了")
    assert [post(limited_service, update).status_code for _ in range(6)] == [200] * 6
    assert post(limited_service, message(9401, text="还没到")).status_code == 200
    refused = post(limited_service, message(9402, text="在吗"))
    assert refused.status_code == 429  # a new update over the limit: Telegram delivers it later
    eventually(lambda: len(telegram_api.sent("sendMessage")) == 2)
    assert rasa.calls == [("telegram:5550001", "我的快递到哪了"), ("telegram:5550001", "还没到")]


def test_wechat_re_pushes_do_not_use_up_the_customers_message_limit(limited_service, rasa):
    xml = text_xml("退货运费谁出", openid="oWeChatCustomer3", msg_id="7201")
    answers = [wechat_post(limited_service, xml) for _ in range(6)]
    assert [passive_content(answer) for answer in answers] == ["收到：退货运费谁出"] * 6
    second = wechat_post(limited_service, text_xml("运费多少", openid="oWeChatCustomer3",
                                                   msg_id="7202"))
    assert passive_content(second) == "收到：运费多少"
    third = wechat_post(limited_service, text_xml("在吗", openid="oWeChatCustomer3", msg_id="7203"))
    assert passive_content(third) == TOO_MANY_TEXT
    assert [text for _, text in rasa.calls] == ["退货运费谁出", "运费多少"]


def test_a_slow_bot_answer_goes_out_as_a_customer_service_message(service, rasa, wechat_api):
    rasa.delay_seconds = 2.0  # longer than the passive wait
    answer = wechat_post(service, text_xml("在吗", openid="oWeChatCustomer2", msg_id="7002"))
    assert answer.status_code == 200 and answer.text == "success"
    eventually(lambda: wechat_api.sent)
    assert [m["text"]["content"] for m in wechat_api.sent] == ["收到：在吗"]
    assert wechat_api.sent[0]["touser"] == "oWeChatCustomer2"


def test_one_customer_on_two_channels_has_one_history(service, rasa, demo_shop):
    """A WeChat account the shop has bound to a customer is recorded under that customer."""
    with sqlite3.connect(demo_shop[1]) as db:
        openid, customer_id = db.execute("SELECT external_id, customer_id FROM identities "
                                         "WHERE channel = 'wechat' LIMIT 1").fetchone()
    passive_content(wechat_post(service, text_xml("微信上问一句", openid=openid, msg_id="7101")))
    token = app_auth.sign(customer_id, APP_SECRET_FOR_TESTS, 60)
    answer = service.post("/api/app/messages", headers={"Authorization": f"Bearer {token}"},
                          json={"client_message_id": "app-1", "text": "App 里再问一句"})
    assert answer.status_code == 200
    history = service.app.state.transcripts.customer_history(customer_id)
    assert [(m.channel, m.direction, m.text) for m in history] == [
        ("wechat", "in", "微信上问一句"), ("wechat", "out", "收到：微信上问一句"),
        ("app", "in", "App 里再问一句"), ("app", "out", "收到：App 里再问一句")]
