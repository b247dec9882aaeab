"""Hostile input on every endpoint gets a clear 4xx, reaches nothing and writes nothing."""
from __future__ import annotations

import time

import pytest

from tests.service.wechat.helpers import (
    AES_KEY,
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    PARAMETER_ENTITY,
    TOKEN,
    URL,
    encrypted_callback,
    plain_signature,
    signed_query,
    text_xml,
)

VALID = text_xml("你好")


def now() -> int:
    return int(time.time())


def query_at(timestamp: str, nonce: str = "123", token: str = TOKEN) -> dict[str, str]:
    return {"signature": plain_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


UNSIGNED = {
    "no query at all": ({}, 403, "bad_signature"),
    "no signature": ({"timestamp": "NOW", "nonce": "1"}, 403, "bad_signature"),
    "wrong signature": ({"signature": "0" * 40, "timestamp": "NOW", "nonce": "1"}, 403, "bad_signature"),
    "signature of another token": ("OTHER_TOKEN", 403, "bad_signature"),
    "signature not hex": ({"signature": "x" * 40, "timestamp": "NOW", "nonce": "1"}, 403, "bad_signature"),
    "nonce with markup": ("BAD_NONCE", 403, "bad_signature"),
    "stale timestamp": ("STALE", 403, "stale_timestamp"),
    "future timestamp": ("FUTURE", 403, "stale_timestamp"),
    "timestamp not a number": ("NAN", 403, "stale_timestamp"),
}


def unsigned_query(case) -> dict[str, str]:
    if case == "OTHER_TOKEN":
        return query_at(str(now()), token="not-our-token")
    if case == "BAD_NONCE":
        return query_at(str(now()), nonce="<script>")
    if case == "STALE":
        return query_at(str(now() - 301))
    if case == "FUTURE":
        return query_at(str(now() + 400))
    if case == "NAN":
        return query_at("17e8")
    return {key: str(now()) if value == "NOW" else value for key, value in case.items()}


async def assert_nothing_happened(submitter, redis, prefix):
    assert submitter.submitted == []
    assert [key async for key in redis.scan_iter(match=f"{prefix}*")] == []


@pytest.mark.parametrize("name", sorted(UNSIGNED))
async def test_unauthenticated_posts_are_refused(make_webhook, make_settings, redis, prefix, name):
    client, submitter = await make_webhook(make_settings())
    case, status, code = UNSIGNED[name]
    response = await client.post(URL, params=unsigned_query(case), content=VALID)
    assert response.status_code == status and response.json()["error"]["code"] == code
    await assert_nothing_happened(submitter, redis, prefix)


@pytest.mark.parametrize("name", sorted(UNSIGNED))
async def test_unauthenticated_url_verification_is_refused(make_webhook, make_settings, name):
    client, _ = await make_webhook(make_settings())
    case, status, code = UNSIGNED[name]
    response = await client.get(URL, params={**unsigned_query(case), "echostr": "42"})
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert "42" not in response.text


BODIES = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "parameter entity": PARAMETER_ENTITY,
    "doctype": b"<!DOCTYPE xml>" + VALID.encode(),
    "binary junk": bytes(range(256)) * 8,
    "empty": b"",
    "json": b'{"ToUserName": "gh", "MsgType": "text"}',
    "html": b"<html><body>hi</body></html>",
    "no FromUserName": b"<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType><Content>x</Content></xml>",
    "duplicate MsgType": VALID.replace("<MsgId>", "<MsgType>event</MsgType><MsgId>").encode(),
    "openid with spaces": VALID.replace("oCustomer0001", "o Customer").encode(),
}


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_signed_but_malformed_bodies_are_400(make_webhook, make_settings, name):
    client, submitter = await make_webhook(make_settings())
    response = await client.post(URL, params=signed_query(), content=BODIES[name])
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_xml"
    assert submitter.submitted == []


async def test_one_megabyte_body_is_413(make_webhook, make_settings, redis, prefix):
    client, submitter = await make_webhook(make_settings())
    response = await client.post(URL, params=signed_query(), content=b"<xml>" + b"a" * 1_048_576 + b"</xml>")
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    await assert_nothing_happened(submitter, redis, prefix)


async def test_streamed_body_without_length_is_cut_at_the_limit(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings())

    async def chunks():
        for _ in range(64):
            yield b"a" * 16_384  # 1 MB in all, chunked: no Content-Length to refuse it by

    response = await client.post(URL, params=signed_query(), content=chunks())
    assert response.status_code == 413 and submitter.submitted == []


async def test_lying_content_length_is_413(make_webhook, make_settings):
    client, _ = await make_webhook(make_settings())
    response = await client.post(URL, params=signed_query(), content=VALID,
                                 headers={"Content-Length": "abc"})
    assert response.status_code == 413


@pytest.mark.parametrize("encrypt_type", ["aes", "des", "AES", ""])
async def test_plaintext_account_refuses_other_encrypt_types(make_webhook, make_settings, encrypt_type):
    client, submitter = await make_webhook(make_settings())
    response = await client.post(URL, params=signed_query(encrypt_type=encrypt_type), content=VALID)
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsupported_encryption"
    assert submitter.submitted == []


@pytest.mark.parametrize("encrypt_type", [None, "raw", "des"])
async def test_safe_mode_account_refuses_unencrypted_callbacks(make_webhook, make_settings, encrypt_type):
    client, submitter = await make_webhook(make_settings(encoding_aes_key=AES_KEY))
    extra = {} if encrypt_type is None else {"encrypt_type": encrypt_type}
    response = await client.post(URL, params=signed_query(**extra), content=VALID)
    assert response.status_code == 400 and submitter.submitted == []


SAFE_MODE_TAMPERING = {
    "no msg_signature": ("drop", 403, "bad_signature"),
    "wrong msg_signature": ("wrong", 403, "bad_signature"),
    "no Encrypt field": ("no-encrypt", 400, "malformed_xml"),
    "Encrypt not base64, signed": ("garbage", 403, "decrypt_failed"),
    "no plain signature": ("no-plain", 403, "bad_signature"),
}


@pytest.mark.parametrize("name", sorted(SAFE_MODE_TAMPERING))
async def test_safe_mode_tampering_is_refused(make_webhook, make_settings, name):
    client, submitter = await make_webhook(make_settings(encoding_aes_key=AES_KEY))
    how, status, code = SAFE_MODE_TAMPERING[name]
    query, body = encrypted_callback(text_xml("x"))
    if how == "drop":
        del query["msg_signature"]
    elif how == "wrong":
        query["msg_signature"] = "1" * 40
    elif how == "no-encrypt":
        body = "<xml><ToUserName>gh</ToUserName></xml>"
    elif how == "garbage":
        garbage = "!!!not-base64!!!"
        body = f"<xml><Encrypt>{garbage}</Encrypt></xml>"
        query["msg_signature"] = plain_signature(TOKEN, query["timestamp"], query["nonce"], garbage)
    elif how == "no-plain":
        del query["signature"]
    response = await client.post(URL, params=query, content=body)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert submitter.submitted == []


async def test_encrypted_xml_bomb_is_400(make_webhook, make_settings):
    client, submitter = await make_webhook(make_settings(encoding_aes_key=AES_KEY))
    query, body = encrypted_callback(BILLION_LAUGHS.decode())
    response = await client.post(URL, params=query, content=body)
    assert response.status_code == 400 and submitter.submitted == []


@pytest.mark.parametrize(("params", "status"), [
    ({}, 400),                              # no echostr
    ({"echostr": "9" * 513}, 400),          # absurdly long
    ({"echostr": "1", "msg_signature": "0" * 40}, 400),  # encrypted echostr, plaintext account
])
async def test_url_verification_oddities(make_webhook, make_settings, params, status):
    client, _ = await make_webhook(make_settings())
    response = await client.get(URL, params={**signed_query(), **params})
    assert response.status_code == status


async def test_encrypted_echostr_with_a_wrong_signature_is_403(make_webhook, make_settings):
    client, _ = await make_webhook(make_settings(encoding_aes_key=AES_KEY))
    query = signed_query(echostr="P9nAzCzyDtyTWESHep1vC5X9xho", msg_signature="2" * 40)
    response = await client.get(URL, params=query)
    assert response.status_code == 403


async def test_wrong_methods_are_405(make_webhook, make_settings):
    client, _ = await make_webhook(make_settings())
    assert (await client.put(URL, params=signed_query(), content=VALID)).status_code == 405
    assert (await client.delete(URL)).status_code == 405
