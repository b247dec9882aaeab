"""Is this callback really from WeChat, and what does it say?

- ``signature`` = sha1 of the sorted token, timestamp and nonce (every callback, both modes);
  ``msg_signature`` also covers the ``Encrypt`` field (safe mode). Compared in constant time.
- A timestamp further than the allowed skew from our clock is refused.
- ``ReplayGuard`` remembers each (timestamp, nonce) with the hash of the body it came with. The
  plain signature does not cover the body, so a second, *different* body under a seen signature is
  a forgery and is refused; the *same* body again is WeChat re-sending a callback it got no answer
  to (it retries within 5 s, with the same query string), and must pass: the router deduplicates
  it by MsgId.
- ``MessageCrypto``: WeChat's AES-256-CBC scheme (key = base64(EncodingAESKey + "="), IV = first
  16 key bytes, PKCS#7 padding to 32 bytes; plaintext = 16 random bytes | 4-byte big-endian length
  | message | app id). Decrypts with the current or the previous EncodingAESKey.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from typing import Optional

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from redis.asyncio import Redis

from channels.wechat.settings import aes_key_bytes

_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")


class DecryptError(Exception):
    """Not decryptable with any configured key, or not addressed to this account."""


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_valid(given: Optional[str], *parts: str) -> bool:
    if not given or not _HEX40.match(given):
        return False
    return hmac.compare_digest(sha1_signature(*parts), given.lower())


def timestamp_fresh(timestamp: str, now: float, max_skew_seconds: int) -> bool:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now) <= max_skew_seconds


class ReplayGuard:
    def __init__(self, redis: Redis, prefix: str, max_skew_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        # A timestamp is accepted while within the skew either side of now: remember it that long.
        self._ttl = 2 * max_skew_seconds + 60

    async def first_or_same(self, timestamp: str, nonce: str, body: bytes) -> bool:
        """True for a first sight of this (timestamp, nonce) or a byte-identical re-send."""
        key = f"{self._prefix}nonce:{timestamp}:{nonce}"
        digest = hashlib.sha256(body).hexdigest()
        if await self._redis.set(key, digest, nx=True, ex=self._ttl):
            return True
        seen = await self._redis.get(key)
        seen_text = seen.decode() if isinstance(seen, bytes) else seen
        # Expired in between: nothing is remembered, so it cannot be a replay we know of.
        return seen_text is None or hmac.compare_digest(seen_text, digest)


class MessageCrypto:
    def __init__(self, encoding_aes_keys: list[str], app_id: str) -> None:
        if not encoding_aes_keys:
            raise ValueError("at least one EncodingAESKey is needed")
        self._keys = [aes_key_bytes(key) for key in encoding_aes_keys]
        if any(len(key) != 32 for key in self._keys):
            raise ValueError("an EncodingAESKey is 43 base64 characters (32 bytes)")
        self._app_id = app_id.encode("utf-8")

    def decrypt(self, encrypted: str) -> tuple[str, int]:
        """The plaintext and the index of the key that opened it (0 current, 1 previous)."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("not base64") from None
        if not raw or len(raw) % 16:
            raise DecryptError("not whole AES blocks")
        for index, key in enumerate(self._keys):
            message = self._open(key, raw)
            if message is not None:
                return message, index
        raise DecryptError("no configured key opens this message for this app id")

    def encrypt(self, message: str, key_index: int = 0, random16: Optional[bytes] = None) -> str:
        random16 = os.urandom(16) if random16 is None else random16
        if len(random16) != 16:
            raise ValueError("the random prefix is 16 bytes")
        data = message.encode("utf-8")
        body = random16 + len(data).to_bytes(4, "big") + data + self._app_id
        padding = _BLOCK - len(body) % _BLOCK
        body += bytes([padding]) * padding
        encryptor = _cipher(self._keys[key_index]).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode("ascii")

    def _open(self, key: bytes, raw: bytes) -> Optional[str]:
        decryptor = _cipher(key).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        padding = plain[-1]
        if not 1 <= padding <= _BLOCK or plain[-padding:] != bytes([padding]) * padding:
            return None
        content = plain[16:-padding]
        if len(content) < 4:
            return None
        length = int.from_bytes(content[:4], "big")
        if length > len(content) - 4:
            return None
        if not hmac.compare_digest(content[4 + length:], self._app_id):
            return None
        try:
            return content[4:4 + length].decode("utf-8")
        except UnicodeDecodeError:
            return None


def encrypted_envelope(crypto: MessageCrypto, token: str, message: str, nonce: str, timestamp: str,
                       key_index: int = 0) -> str:
    """A passive reply in safe mode: the encrypted message and its msg_signature."""
    encrypted = crypto.encrypt(message, key_index)
    signature = sha1_signature(token, timestamp, nonce, encrypted)
    return (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def _cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))
