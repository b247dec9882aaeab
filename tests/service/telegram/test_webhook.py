"""The webhook against real Redis and the Bot API stand-in: what is submitted, what is ignored,
what is refused, with Telegram's own sample updates and hostile input."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from channels.messages import Inbound
from channels.telegram.inbound import ButtonPress, parse_update, route
from channels.telegram.routes import EXPIRED_BUTTON_TEXT, WEBHOOK_PATH
from service.rate_limit import Limit
from tests.service.telegram.conftest import webhook_app
from tests.service.telegram.updates import SECRET, callback, message, official_samples, post
from tests.support import free_port

SAMPLES = official_samples()
CHAT = 1111111

# name -> (text, kind, extra fields expected) for the samples that become a customer message.
SUBMITTED = {
    "message_text_start_v1": ("/greet", "event", {}),  # its chat lacks "type": a user's chat id
    "message_text_start": ("/greet", "event", {}),
    "forwarded_message": ("/greet", "event", {}),
    "forwarded_channel_message": ("/greet", "event", {}),
    "message_with_reply": ("/greet", "event", {}),
    "message_with_entities": ("Bold and italics", "text", {}),
    "message_with_audio": ("[音频]", "audio", {"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX"}),
    "voice_message": ("[语音]", "voice", {"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX"}),
    "message_with_document": ("[文件]", "file", {"file_name": "Testfile.pdf"}),
}
IGNORED = {"edited_message", "inline_query", "chosen_inline_result"}


def test_every_official_sample_is_classified():
    assert set(SAMPLES) == set(SUBMITTED) | IGNORED | {"callback_query"}


@pytest.mark.parametrize("name", sorted(SUBMITTED))
def test_official_message_samples_are_submitted(client, submitter, name):
    response = post(client, SAMPLES[name])
    assert response.status_code == 200
    assert response.content == b""  # a JSON body with "method" would be run by Telegram
    [inbound] = submitter.inbounds
    text, kind, extra = SUBMITTED[name]
    assert (inbound.channel, inbound.external_id, inbound.message_id) == ("telegram", str(CHAT),
                                                                          "10000")
    assert (inbound.text, inbound.kind) == (text, kind)
    assert inbound.extra["chat_id"] == CHAT
    assert extra.items() <= inbound.extra.items()
    assert inbound.customer_id is None  # Telegram vouches for nobody: the shop binds accounts


@pytest.mark.parametrize("name", sorted(IGNORED))
def test_official_samples_we_do_not_serve_are_acknowledged_and_ignored(client, submitter,
                                                                       stand_in, name):
    assert post(client, SAMPLES[name]).status_code == 200
    assert submitter.inbounds == []
    assert stand_in.calls == []


def test_official_callback_sample_with_a_foreign_button_is_answered_not_submitted(
        client, submitter, stand_in):
    # Its data is not one of our keys (nor could any client-chosen data be): the spinner
    # stops with a note, nothing reaches the bot.
    assert post(client, SAMPLES["callback_query"]).status_code == 200
    assert submitter.inbounds == []
    assert stand_in.sent("answerCallbackQuery") == [
        {"callback_query_id": "4382bfdwdsb323b2d9", "text": EXPIRED_BUTTON_TEXT}]


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1], SECRET.upper(),
                                    "秘密".encode()])
def test_missing_or_wrong_secret_is_403_and_nothing_is_submitted(client, submitter, secret):
    # (bytes: a non-ASCII header value, as a client may send one)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = json.dumps(SAMPLES["message_text_start"]).encode()
    response = client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert submitter.inbounds == []


def test_webhook_is_404_while_the_channel_is_not_configured(telegram_redis_url, submitter):
    with TestClient(webhook_app(None, telegram_redis_url, submitter)) as unconfigured:
        assert post(unconfigured, SAMPLES["message_text_start"]).status_code == 404
    assert submitter.inbounds == []


def test_telegram_retries_of_an_update_are_submitted_once(client, submitter):
    update = message(42, text="我的订单到哪了")
    assert [post(client, update).status_code for _ in range(3)] == [200, 200, 200]
    assert [inbound.text for inbound in submitter.inbounds] == ["我的订单到哪了"]


def test_router_down_is_503_so_telegram_retries_and_the_retry_is_taken(client, submitter):
    update = message(43, text="退货")
    submitter.unavailable = True
    response = post(client, update)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    submitter.unavailable = False
    assert post(client, update).status_code == 200
    assert [inbound.text for inbound in submitter.inbounds] == ["退货"]


@pytest.mark.parametrize(("fields", "text", "kind"), [
    ({"text": "  我要退货\x00\x07 "}, "我要退货", "text"),
    ({"text": "/start"}, "/greet", "event"),
    ({"text": "/start order_2611201234567890"}, "/greet", "event"),
    ({"text": "/start@xiaoshou_test_bot"}, "/greet", "event"),
    ({"text": "/starting"}, "/starting", "text"),
    ({"photo": [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
                {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 1280}],
      "caption": "收到的杯子是碎的"}, "收到的杯子是碎的", "image"),
    ({"photo": [{"file_id": "only", "file_unique_id": "o", "width": 90, "height": 90}]},
     "[图片]", "image"),
    ({"sticker": {"file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512,
                  "height": 512, "is_animated": False, "is_video": False, "emoji": "😡"}},
     "[表情] 😡", "sticker"),
    ({"location": {"latitude": 31.2, "longitude": 121.5}}, "[位置]", "location"),
])
def test_private_messages_become_inbounds(client, submitter, fields, text, kind):
    assert post(client, message(50, **fields)).status_code == 200
    [inbound] = submitter.inbounds
    assert (inbound.text, inbound.kind, inbound.external_id) == (text, kind, "5550001")
    if kind == "image":
        assert inbound.extra["file_id"] in {"large", "only"}


@pytest.mark.parametrize("update", [
    message(60, chat_id=-100200300, chat_type="supergroup", text="群里有人问订单"),
    message(61, chat_id=-4000, chat_type="group", text="/start"),
    message(62, text="\x00\x01   "),
    message(63, new_chat_title="新群名"),
    message(64, dice={"emoji": "🎲", "value": 3}),
    {"update_id": 65, "channel_post": {"message_id": 1, "date": 1763600000,
                                       "chat": {"id": -1001, "type": "channel"}, "text": "公告"}},
    {"update_id": 66, "my_chat_member": {"chat": {"id": 5550001, "type": "private"}}},
    {"update_id": 67},
])
def test_updates_we_do_not_serve_get_200_and_nothing_is_submitted(client, submitter, update):
    assert post(client, update).status_code == 200
    assert submitter.inbounds == []


async def test_a_button_tap_submits_the_stored_payload_and_stops_the_spinner(
        client, submitter, stand_in, sender):
    payload = '/query_order{"order_id": "2611201234567890", "note": "不要漏掉 ✓"}'
    assert len(payload.encode()) > 64
    await sender.deliver(Inbound("telegram", "5550001", "70", "订单"),
                         [{"text": "您要查哪个订单？", "buttons": [
                             {"title": "订单 2611201234567890", "payload": payload},
                             {"title": "都不是", "payload": "/deny"}]}])
    [sent] = stand_in.sent()
    keys = [row[0]["callback_data"] for row in sent["reply_markup"]["inline_keyboard"]]
    assert all(len(key.encode()) <= 64 for key in keys)

    update = callback(71, keys[0], query_id="cbq-71")
    assert [post(client, update).status_code for _ in range(2)] == [200, 200]
    [inbound] = submitter.inbounds
    assert (inbound.text, inbound.kind, inbound.message_id) == (payload, "callback", "71")
    assert inbound.extra == {"chat_id": 5550001, "callback_query_id": "cbq-71",
                             "button_title": "订单 2611201234567890"}
    # Answered once: Telegram's retry of the same update changes nothing.
    assert stand_in.sent("answerCallbackQuery") == [{"callback_query_id": "cbq-71"}]


def test_a_button_press_is_keyed_before_resolving_as_the_message_it_becomes():
    """The rate limit needs the press's dedupe key before the button is looked up."""
    press = route(parse_update(json.dumps(callback(72, "K" * 16, chat_id=4242)).encode()))
    assert isinstance(press, ButtonPress)
    assert (press.conversation_id, press.dedupe_key) == ("telegram:4242", "telegram:4242:72")
    assert press.dedupe_key == press.inbound("/deny", "都不是").dedupe_key


async def test_a_button_key_from_another_chat_or_made_up_does_not_resolve(
        client, submitter, stand_in, sender):
    await sender.deliver(Inbound("telegram", "5550001", "80", "订单"),
                         [{"text": "请选择", "buttons": [{"title": "人工", "payload": "/request_human"}]}])
    key = stand_in.sent()[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    for update in (callback(81, key, chat_id=5550002, query_id="q1"),
                   callback(82, "/request_human", query_id="q2"),
                   callback(83, key[:-1] + ("A" if key[-1] != "A" else "B"), query_id="q3")):
        assert post(client, update).status_code == 200
    assert submitter.inbounds == []
    assert [call["text"] for call in stand_in.sent("answerCallbackQuery")] == \
        [EXPIRED_BUTTON_TEXT] * 3


DEEP = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(("body", "code"), [
    (b"", "invalid_json"),
    (b"{not json", "invalid_json"),
    (b'{"update_id": 1,}', "invalid_json"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", "invalid_json"),
    ("好".encode("gbk"), "invalid_json"),
    (DEEP, "invalid_json"),
    (b'{"update_id": 1, "message": {"text": "\\ud800"}}', "invalid_json"),
    (b'{"update_id": NaN}', "invalid_update"),  # pydantic's parser reads NaN; not an id
    (b'{"update_id": 1' + b"0" * 5000 + b"}", "invalid_json"),
    (b"[]", "invalid_update"),
    (b"null", "invalid_update"),
    (b'"update"', "invalid_update"),
    (b"{}", "invalid_update"),
    (b'{"update_id": "10000"}', "invalid_update"),
    (b'{"update_id": -1}', "invalid_update"),
    (b'{"update_id": 1.5}', "invalid_update"),
    (b'{"update_id": true}', "invalid_update"),
    (b'{"update_id": 99999999999999999999999999}', "invalid_update"),
    (b'{"update_id": 1, "message": "hi"}', "invalid_update"),
    (b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": "1"}, "text": "hi"}}',
     "invalid_update"),
    (b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "text": ["hi"]}}',
     "invalid_update"),
    (b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1e300}, "text": "hi"}}',
     "invalid_update"),
    (b'{"update_id": 1, "callback_query": {"id": "q", "data": "x"}}', "invalid_update"),
])
def test_malformed_bodies_get_a_clear_400_and_nothing_is_submitted(client, submitter, stand_in,
                                                                   body, code):
    response = post(client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], list) and error["details"]
    assert submitter.inbounds == []
    assert stand_in.calls == []


def test_oversized_declared_body_is_413_before_it_is_read(client, submitter):
    update = message(90, text="好" * 10)
    update["padding"] = "x" * (1024 * 1024)
    response = post(client, update)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert submitter.inbounds == []


def test_oversized_chunked_body_is_413(client, submitter):
    def chunks():
        yield b'{"update_id": 91, "padding": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    response = client.post(WEBHOOK_PATH, content=chunks(),
                           headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 413
    assert submitter.inbounds == []


def test_a_wrong_secret_is_refused_before_a_large_body_is_looked_at(client):
    response = client.post(WEBHOOK_PATH, content=b"x" * (2 * 1024 * 1024),
                           headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    assert response.status_code == 403


def test_an_update_just_under_the_limit_is_accepted(client, submitter):
    update = message(92, text="你好")
    update["padding"] = "x" * (1024 * 1024 - 400)
    assert post(client, update).status_code == 200
    assert [inbound.text for inbound in submitter.inbounds] == ["你好"]


def test_a_button_tap_while_redis_is_down_is_503_so_telegram_retries(settings, submitter,
                                                                     stand_in):
    app = webhook_app(settings, f"redis://127.0.0.1:{free_port()}/0", submitter)
    with TestClient(app) as down:
        response = post(down, callback(95, "A" * 16))
    assert response.status_code == 503
    assert submitter.inbounds == [] and stand_in.calls == []


def test_a_customer_over_the_message_limit_gets_429_and_telegram_delivers_it_later(
        settings, telegram_redis_url, submitter, one_rate_window):
    app = webhook_app(settings, telegram_redis_url, submitter, per_customer=Limit(2, 60))
    with TestClient(app) as client:
        answers = [post(client, message(9100 + n, chat_id=4242, text=f"第{n}条"))
                   for n in range(3)]
        other = post(client, message(9200, chat_id=4343, text="别人的消息"))
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert answers[2].json()["error"]["code"] == "too_many_requests"
    assert other.status_code == 200  # another customer's allowance is their own
    assert [i.text for i in submitter.inbounds] == ["第0条", "第1条", "别人的消息"]
