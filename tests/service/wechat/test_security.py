"""Signatures, timestamps, replay protection and AES against Tencent's published vectors
(tests/fixtures/wechat/crypto_vectors.json, see SOURCE.txt there)."""
from __future__ import annotations

import base64

import pytest
from wechatpy.crypto import WeChatCrypto

from channels.wechat.security import (
    DecryptError,
    MessageCrypto,
    ReplayGuard,
    encrypted_envelope,
    sha1_signature,
    signature_valid,
    timestamp_fresh,
)
from channels.wechat.settings import WeChatSettings
from tests.service.wechat.helpers import plain_signature, vectors

VECTORS = vectors()
ALL = sorted(VECTORS)


@pytest.mark.parametrize("name", ALL)
def test_msg_signature_of_every_vector(name):
    v = VECTORS[name]
    assert sha1_signature(v["token"], v["timestamp"], v["nonce"], v["encrypt"]) == v["msg_signature"]
    assert signature_valid(v["msg_signature"], v["token"], v["timestamp"], v["nonce"], v["encrypt"])
    assert signature_valid(v["msg_signature"].upper(), v["token"], v["timestamp"], v["nonce"], v["encrypt"])


@pytest.mark.parametrize("name", ALL)
def test_a_changed_part_breaks_the_signature(name):
    v = VECTORS[name]
    parts = [v["token"], v["timestamp"], v["nonce"], v["encrypt"]]
    for index in range(len(parts)):
        changed = list(parts)
        changed[index] += "x"
        assert not signature_valid(v["msg_signature"], *changed)


@pytest.mark.parametrize("given", [None, "", "abc", "z" * 40, "5d197aaffba7e9b25a30732f161a50dee96bd5fa0"])
def test_malformed_signatures_are_invalid(given):
    v = VECTORS["mp_official_sample_decrypt"]
    assert not signature_valid(given, v["token"], v["timestamp"], v["nonce"], v["encrypt"])


def test_plain_signature_is_sha1_of_sorted_token_timestamp_nonce():
    assert sha1_signature("spamtest", "1409735669", "1320562132") == \
        plain_signature("1320562132", "1409735669", "spamtest")


@pytest.mark.parametrize("name", ALL)
def test_every_vector_decrypts_to_the_published_plaintext(name):
    v = VECTORS[name]
    plaintext, key_index = MessageCrypto([v["encoding_aes_key"]], v["appid"]).decrypt(v["encrypt"])
    assert plaintext == v["expected_plaintext"]
    assert key_index == 0


def test_official_account_sample_is_the_text_message_it_claims():
    v = VECTORS["mp_official_sample_decrypt"]
    plaintext, _ = MessageCrypto([v["encoding_aes_key"]], v["appid"]).decrypt(v["encrypt"])
    assert "<Content><![CDATA[abcdteT]]></Content>" in plaintext
    assert "<MsgId>6054768590064713728</MsgId>" in plaintext


def test_encryption_is_byte_exact_with_the_fixed_random_vector():
    v = VECTORS["wechatpy_work_encrypt_deterministic"]
    crypto = MessageCrypto([v["encoding_aes_key"]], v["appid"])
    encrypted = crypto.encrypt(v["expected_plaintext"], random16=v["encrypt_random"].encode())
    assert encrypted == v["encrypt"]
    assert sha1_signature(v["token"], v["timestamp"], v["nonce"], encrypted) == v["msg_signature"]


def test_round_trip_with_chinese_text_and_random_prefix():
    crypto = MessageCrypto(["abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"], "wx2c2769f8efd9abc2")
    message = "<xml><Content><![CDATA[我的订单到哪了？]]></Content></xml>"
    first, second = crypto.encrypt(message), crypto.encrypt(message)
    assert first != second  # a fresh random prefix each time
    assert crypto.decrypt(first) == (message, 0)


def test_wechatpy_reads_what_we_encrypt():
    """An independent implementation (wechatpy) opens our passive-reply envelope."""
    v = VECTORS["mp_official_sample_decrypt"]
    crypto = MessageCrypto([v["encoding_aes_key"]], v["appid"])
    message = "<xml><Content>好的</Content></xml>"
    envelope = encrypted_envelope(crypto, v["token"], message, "987", "1409735670")
    theirs = WeChatCrypto(v["token"], v["encoding_aes_key"], v["appid"])
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert theirs.decrypt_message(envelope, signature, "1409735670", "987") == message


def test_previous_key_is_accepted_and_reported():
    v = VECTORS["mp_official_sample_decrypt"]
    crypto = MessageCrypto(["kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", v["encoding_aes_key"]], v["appid"])
    plaintext, key_index = crypto.decrypt(v["encrypt"])
    assert plaintext == v["expected_plaintext"] and key_index == 1
    # A reply goes back under the key the callback came with.
    reply = crypto.encrypt("<xml/>", key_index=1)
    assert MessageCrypto([v["encoding_aes_key"]], v["appid"]).decrypt(reply) == ("<xml/>", 0)


def test_wrong_key_is_refused():
    v = VECTORS["mp_official_sample_decrypt"]
    with pytest.raises(DecryptError):
        MessageCrypto(["kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"], v["appid"]).decrypt(v["encrypt"])


def test_message_for_another_app_id_is_refused():
    v = VECTORS["mp_official_sample_decrypt"]
    with pytest.raises(DecryptError):
        MessageCrypto([v["encoding_aes_key"]], "wx0000000000000000").decrypt(v["encrypt"])


@pytest.mark.parametrize("encrypted", [
    "", "not base64!!", base64.b64encode(b"short").decode(), base64.b64encode(b"\0" * 64).decode(),
])
def test_garbage_ciphertext_is_refused(encrypted):
    v = VECTORS["mp_official_sample_decrypt"]
    with pytest.raises(DecryptError):
        MessageCrypto([v["encoding_aes_key"]], v["appid"]).decrypt(encrypted)


def test_flipped_ciphertext_bit_is_refused():
    v = VECTORS["mp_official_sample_decrypt"]
    raw = bytearray(base64.b64decode(v["encrypt"]))
    raw[-1] ^= 0x01  # breaks the padding of the last block
    with pytest.raises(DecryptError):
        MessageCrypto([v["encoding_aes_key"]], v["appid"]).decrypt(base64.b64encode(bytes(raw)).decode())


def test_settings_refuse_a_malformed_aes_key():
    with pytest.raises(ValueError):
        WeChatSettings(token="t", app_id="wx1", app_secret="s", encoding_aes_key="too-short")


@pytest.mark.parametrize(("timestamp", "fresh"), [
    ("1000000", True), ("1000300", True), ("999700", True), ("1000301", False), ("999699", False),
    ("", False), ("-5", False), ("1e6", False), ("１０００００0", False), ("9" * 40, False),
])
def test_timestamp_skew(timestamp, fresh):
    assert timestamp_fresh(timestamp, now=1_000_000, max_skew_seconds=300) is fresh


async def test_replay_guard_lets_an_identical_resend_through_and_refuses_another_body(redis, prefix):
    guard = ReplayGuard(redis, prefix, max_skew_seconds=300)
    assert await guard.first_or_same("1700000000", "42", b"<xml>a</xml>")
    assert await guard.first_or_same("1700000000", "42", b"<xml>a</xml>")  # WeChat's retry
    assert not await guard.first_or_same("1700000000", "42", b"<xml>b</xml>")  # forged body
    assert await guard.first_or_same("1700000000", "43", b"<xml>b</xml>")
    assert 0 < await redis.ttl(f"{prefix}nonce:1700000000:42") <= 660
