"""Answer an FAQ from the knowledge base files as they are now, not as they were at training.

The model picks the entry (``faq/<id>``, bot.nlu_components.CharNgramBlender); the text comes from
entries in ``KNOWLEDGE_BASE_DIR`` (``compiler.ENTRIES_DIR``: by default ``knowledge_base/entries``,
deployed a volume shared with the editor's replicas) through ``current_entries`` (re-read only
when a file changed), so an editor's answer change is served at the next question without
retraining. The action also
applies the entry's time window, the channel's variant (WeChat's length limit) and the policy
numbers from ``shop_policy.yml``. When the files cannot be read (an editor saved a broken file,
the entry was removed since training) the compiled response ``utter_faq/<id>`` is served instead.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import policy
from actions.policy import SHOP_TZ
from knowledge_base import compiler, placeholders

log = logging.getLogger(__name__)
DEFAULT_CHANNEL = "app"
# Module attributes, so tests (and a preview) can point the action at other files.
ENTRIES_DIR = compiler.ENTRIES_DIR
POLICY_PATH = policy.POLICY_PATH


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        entry_id = selected_entry(message)
        if entry_id is None:  # the rule only runs on intent faq; a missing selection is a bug
            log.warning("faq intent without a response selection: %s", message.get("intent"))
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        # utter_action: the dashboard counts FAQ answers by it, as it did for utter_faq.
        response_key = f"utter_faq/{entry_id}"
        try:
            text = live_answer(entry_id, channel_of(message), now())
        except (compiler.KnowledgeBaseError, placeholders.PolicyValuesError, OSError,
                LookupError) as error:
            log.warning("FAQ %s served from the trained model: knowledge base unusable: %s",
                        entry_id, str(error).splitlines()[0] if str(error) else repr(error))
            dispatcher.utter_message(response=response_key)
            return []
        dispatcher.utter_message(text=text, utter_action=response_key)
        return []


def now() -> datetime:
    return datetime.now(SHOP_TZ)


def selected_entry(message: dict[str, Any]) -> Optional[str]:
    """The entry id the model chose (in the ResponseSelector's format, Rasa 3.6:
    ``response_selector.faq.response.intent_response_key`` is ``faq/<id>``)."""
    selector = (message.get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key") or ""
    return key.removeprefix("faq/") if key.startswith("faq/") else None


def channel_of(message: dict[str, Any]) -> str:
    channel = (message.get("metadata") or {}).get("channel")
    return channel if channel in compiler.CHANNELS else DEFAULT_CHANNEL


def live_answer(entry_id: str, channel: str, now: datetime) -> str:
    """The entry's answer for this channel and moment; LookupError if the entry is gone."""
    entries = compiler.current_entries(ENTRIES_DIR, POLICY_PATH)
    entry = next((e for e in entries if e.id == entry_id), None)
    if entry is None:
        raise LookupError(f"no entry '{entry_id}' in the knowledge base")
    return compiler.answer_text(entry, channel, now, current_policy_values())


_policy_cache: dict[str, tuple[tuple, dict]] = {}


def current_policy_values() -> dict:
    """The policy's numbers, re-read when shop_policy.yml changes (like the entries)."""
    path = POLICY_PATH
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _policy_cache.get(str(path))
    if cached is None or cached[0] != stamp:
        cached = (stamp, placeholders.load_values(path))
        _policy_cache[str(path)] = cached
    return cached[1]
