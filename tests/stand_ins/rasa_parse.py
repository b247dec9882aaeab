"""A stand-in for Rasa's HTTP API as the FAQ editor uses it: ``GET /status`` and
``POST /model/parse`` (with ``?token=`` when one is set), answering in Rasa 3.6's format.

Its "model" is the lexical matcher built once, at start, from the questions it is given: like a
trained model it does not know entries added or questions changed afterwards. Texts listed in
``intents`` get another intent (not ``faq``), as a real model would for "我的快递到哪了".
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, HTTPException, Request

from knowledge_base.regression import LexicalMatcher
from tests.stand_ins.serving import serve


@dataclass
class ParseStandIn:
    questions: dict[str, list[str]]
    token: str = ""
    url: str = ""
    intents: dict[str, str] = field(default_factory=dict)
    parsed: list[str] = field(default_factory=list)
    down: bool = False


def parse_result(state: ParseStandIn, matcher: LexicalMatcher, text: str) -> dict:
    ranking = matcher.rank(text)[:10] or [("return_policy", 0.0)]
    total = sum(score for _, score in ranking) or 1.0
    selector = [{"id": n, "confidence": round(score / total, 4), "intent_response_key": f"faq/{entry}",
                 "utter_action": f"utter_faq/{entry}"} for n, (entry, score) in enumerate(ranking)]
    intent = state.intents.get(text, "faq")
    return {"text": text, "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}], "entities": [],
            "response_selector": {"all_retrieval_intents": ["faq"], "faq": {
                "response": {**selector[0], "responses": [{"text": "…"}]}, "ranking": selector}}}


def make_app(state: ParseStandIn) -> FastAPI:
    app = FastAPI()
    matcher = LexicalMatcher(state.questions)

    def guard(request: Request) -> None:
        if state.down:
            raise HTTPException(503)
        if state.token and request.query_params.get("token") != state.token:
            raise HTTPException(401)

    @app.get("/status")
    async def status(request: Request) -> dict:
        guard(request)
        return {"model_file": "20261126-stand-in.tar.gz", "num_active_training_jobs": 0}

    @app.post("/model/parse")
    async def parse(request: Request) -> dict:
        guard(request)
        text = (await request.json())["text"]
        state.parsed.append(text)
        return parse_result(state, matcher, text)

    return app


@contextmanager
def parse_stand_in(questions: dict[str, list[str]], token: str = "") -> Iterator[ParseStandIn]:
    state = ParseStandIn(questions=questions, token=token)
    with serve(make_app(state)) as url:
        state.url = url
        yield state
