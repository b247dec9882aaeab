"""Constants and helpers of the WeChat channel tests (fixtures are in conftest.py)."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any, Optional

from wechatpy.crypto import WeChatCrypto

from channels.wechat.inbound import parse_xml

URL = "/webhooks/wechat"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wechat"
TOKEN = "xiaoshou-test-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "test-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
ACCOUNT = "gh_0123456789ab"


def vectors() -> dict[str, dict[str, Any]]:
    return {vector["name"]: vector for vector in json.loads((FIXTURES / "crypto_vectors.json").read_text())}


def sample_messages() -> list[dict[str, Any]]:
    lines = (FIXTURES / "sample_messages.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def plain_signature(*parts: str) -> str:
    """WeChat's signature, computed here independently of channels.wechat.security."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_query(token: str = TOKEN, timestamp: Optional[str] = None, nonce: Optional[str] = None,
                 **extra: str) -> dict[str, str]:
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = nonce or str(secrets.randbelow(10**9))
    return {"signature": plain_signature(token, timestamp, nonce), "timestamp": timestamp,
            "nonce": nonce, **extra}


def text_xml(content: str, openid: str = "oCustomer0001", msg_id: str = "6054768590064713728",
             account: str = ACCOUNT) -> str:
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}"
            f"</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]>"
            f"</Content><MsgId>{msg_id}</MsgId></xml>")


def passive_content(response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    fields = parse_xml(response.content)
    assert fields["MsgType"] == "text"
    return fields["Content"]


def open_envelope(response, token: str, key: str, app_id: str) -> dict[str, str]:
    """Our encrypted passive reply, opened by wechatpy (an independent implementation)."""
    outer = parse_xml(response.content)
    plain = WeChatCrypto(token, key, app_id).decrypt_message(
        response.text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
    return parse_xml(plain.encode())


def encrypted_callback(xml: str, key: str = AES_KEY, token: str = TOKEN, app_id: str = APP_ID,
                       nonce: str = "5150") -> tuple[dict[str, str], str]:
    """A safe-mode callback as WeChat sends it, encrypted by wechatpy."""
    query = signed_query(token, nonce=nonce)
    envelope = WeChatCrypto(token, key, app_id).encrypt_message(xml, nonce, query["timestamp"])
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", envelope).group(1)
    signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", envelope).group(1)
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    return {**query, "encrypt_type": "aes", "msg_signature": signature, "openid": "oCustomer0001"}, body


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<xml><Content>&d;</Content></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<xml><Content>&x;</Content></xml>"""
PARAMETER_ENTITY = b"""<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]><xml/>"""
