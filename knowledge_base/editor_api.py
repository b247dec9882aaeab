"""The FAQ editor's API (``/api/kb``), behind the console's login.

Editors (role ``editor``) list, search, create, edit, retire and restore entries, preview a
question against the model, run the regression check, read the audit log, and work the agents'
proposals and the not-understood backlog. Agents and supervisors may only propose an entry
from a conversation (``POST /api/kb/proposals``). No session: 401; the wrong role: 403.
Refusals are JSON ``{"error": {"code", "message", "problems": [{"field", "index", "message"}]}}``
with Chinese messages that say what to fix.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from handoff.agents import Agent
from handoff.console_api import COOKIE, TypedText, has_control_chars
from knowledge_base import regression
from knowledge_base.editor import EditorError, KnowledgeBase, clean
from knowledge_base.proposals import Proposals, backlog, recent_customer_questions
from service.errors import ApiError, error_body

router = APIRouter(prefix="/api/kb", tags=["FAQ editor"], responses={401: {}, 403: {}, 422: {}})
PROPOSER_ROLES = ("agent", "supervisor")


# --- who is asking --------------------------------------------------------------------------

async def kb_user(request: Request) -> Agent:
    """Any logged-in account (the console's ``current_agent`` turns editors away)."""
    state = request.app.state
    agent_id = await state.sessions.agent_id(request.cookies.get(COOKIE, ""))
    agent = await to_thread.run_sync(state.agents.get, agent_id) if agent_id else None
    if agent is None:
        raise ApiError(401, "unauthorized", "请先登录")
    return agent


async def editor(agent: Annotated[Agent, Depends(kb_user)]) -> Agent:
    if agent.role != "editor":
        raise ApiError(403, "forbidden", "只有内容编辑可以管理知识库")
    return agent


async def proposer(agent: Annotated[Agent, Depends(kb_user)]) -> Agent:
    if agent.role not in PROPOSER_ROLES:
        raise ApiError(403, "forbidden", "只有客服和主管可以从会话提议 FAQ")
    return agent


Editor = Annotated[Agent, Depends(editor)]


def _who(agent: Agent) -> dict[str, str]:
    return {"id": agent.id, "username": agent.username, "name": agent.name}


# --- what it works on (created on first use; tests put their own in app.state first) ----------

def knowledge_base(request: Request) -> KnowledgeBase:
    if getattr(request.app.state, "kb", None) is None:
        request.app.state.kb = KnowledgeBase()
    return request.app.state.kb


def proposals(request: Request) -> Proposals:
    if getattr(request.app.state, "kb_proposals", None) is None:
        request.app.state.kb_proposals = Proposals(request.app.state.transcripts.engine)
    return request.app.state.kb_proposals


def parser(request: Request) -> regression.RasaParser:
    state = request.app.state
    if getattr(state, "kb_parser", None) is None:
        state.kb_parser = regression.RasaParser(state.http, state.settings.rasa_url,
                                                state.settings.rasa_auth_token)
    return state.kb_parser


KB = Annotated[KnowledgeBase, Depends(knowledge_base)]


async def _call(function: Any, *args: Any) -> Any:
    """Run a blocking knowledge-base call in a thread; its refusals become JSON answers."""
    try:
        return await to_thread.run_sync(function, *args)
    except EditorError as error:
        return _refusal(error)


def _refusal(error: EditorError) -> JSONResponse:
    return JSONResponse(error_body(error.code, error.message, problems=error.problems),
                        status_code=error.status)


# --- bodies -----------------------------------------------------------------------------------

class CreateIn(BaseModel):
    file: str = Field(min_length=1, max_length=40)
    entry: dict[str, Any]


class UpdateIn(BaseModel):
    version: str = Field(min_length=1, max_length=64)
    entry: dict[str, Any]


class VersionIn(BaseModel):
    version: str = Field(min_length=1, max_length=64)


class PreviewIn(BaseModel):
    text: str = Field(min_length=1, max_length=200)
    entry: Optional[dict[str, Any]] = None   # the unsaved form, for the estimate


class RegressionIn(BaseModel):
    action: Literal["edit", "create", "retire", "restore"]
    entry_id: str = Field(min_length=1, max_length=64)
    entry: Optional[dict[str, Any]] = None   # the unsaved form (edit, create)
    limit: int = Field(default=200, ge=0, le=1000)  # real customer questions to replay


class ProposalIn(BaseModel):
    handoff_id: TypedText = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=2000)


class DecisionIn(BaseModel):
    status: Literal["accepted", "rejected"]
    entry_id: TypedText = Field(default="", max_length=64)
    note: TypedText = Field(default="", max_length=500)


# --- routes: session ----------------------------------------------------------------------------

@router.get("/me", summary="Who is logged in (any role), so the page can say what it allows")
async def me(agent: Annotated[Agent, Depends(kb_user)]) -> dict[str, Any]:
    return {"agent": agent.public()}


@router.post("/logout", status_code=204, summary="End the session (the console's needs a queue role)")
async def logout(request: Request, response: Response,
                 _: Annotated[Agent, Depends(kb_user)]) -> None:
    await request.app.state.sessions.close(request.cookies.get(COOKIE, ""))
    response.delete_cookie(COOKIE, path="/")


# --- routes: entries ----------------------------------------------------------------------------

@router.get("/entries", summary="Entries matching every word of q; retired=true for retired ones")
async def list_entries(_: Editor, kb: KB, q: Annotated[str, Query(max_length=200)] = "",
                       retired: Optional[bool] = None) -> Any:
    found = await _call(kb.search, q, retired)
    if isinstance(found, JSONResponse):
        return found
    return {"entries": found, "files": await to_thread.run_sync(kb.topics)}


@router.get("/entries/{entry_id}", summary="One entry with its version and history")
async def get_entry(entry_id: str, _: Editor, kb: KB) -> Any:
    found = await _call(lambda: kb.find(entry_id[:64]).public(full=True))
    if isinstance(found, JSONResponse):
        return found
    found["history"] = await to_thread.run_sync(kb.audit.history, found["id"], 20)
    return found


@router.post("/entries", status_code=201, summary="Create an entry in a topic file")
async def create_entry(body: CreateIn, agent: Editor, kb: KB) -> Any:
    return await _call(kb.create, body.entry, body.file, _who(agent))


@router.put("/entries/{entry_id}", summary="Save an entry; 409 if it changed since `version`")
async def update_entry(entry_id: str, body: UpdateIn, agent: Editor, kb: KB) -> Any:
    return await _call(kb.update, entry_id[:64], body.entry, body.version, _who(agent))


@router.post("/entries/{entry_id}/retire", summary="Move an entry out of the training data")
async def retire_entry(entry_id: str, body: VersionIn, agent: Editor, kb: KB) -> Any:
    return await _call(kb.retire, entry_id[:64], body.version, _who(agent))


@router.post("/entries/{entry_id}/restore", summary="Bring a retired entry back")
async def restore_entry(entry_id: str, body: VersionIn, agent: Editor, kb: KB) -> Any:
    return await _call(kb.restore, entry_id[:64], body.version, _who(agent))


@router.get("/audit", summary="Who changed what, newest first")
async def audit(_: Editor, kb: KB, entry_id: Annotated[Optional[str], Query(max_length=64)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    return await to_thread.run_sync(kb.audit.history, entry_id, limit)


# --- routes: preview and regression -----------------------------------------------------------

@router.post("/preview", summary="Which entry answers a question now, and the estimate with a draft")
async def preview(body: PreviewIn, request: Request, _: Editor, kb: KB) -> Any:
    questions = await _call(kb.active_questions)
    if isinstance(questions, JSONResponse):
        return questions
    draft = _draft_questions(questions, body.entry) if body.entry else None
    now, unavailable = await _model([body.text], parser(request))
    result = regression.preview(body.text, now[0] if now else None, questions, draft)
    return {**result, "model_error": unavailable}


def _draft_questions(questions: dict[str, list[str]], entry: dict[str, Any]) -> dict[str, list[str]]:
    """The questions as they would be with the form's (unsaved, possibly unfinished) entry."""
    entry_id = str(entry.get("id") or "") or "（新条目）"
    texts = [str(q).strip() for q in entry.get("questions") or [] if isinstance(q, str) and q.strip()]
    return {**questions, entry_id: texts[:200]}


async def _model(texts: list[str], rasa: regression.RasaParser) -> tuple[Optional[list], str]:
    try:
        return await rasa.parse_many(texts), ""
    except regression.ModelUnavailable:
        return None, "模型暂时无法访问（Rasa 未启动或正在加载），以下只有估计结果"


@router.post("/regression", summary="Replay held-out and real questions; list what would change")
async def regression_check(body: RegressionIn, request: Request, _: Editor, kb: KB) -> Any:
    sides = await _call(_before_after, kb, body)
    if isinstance(sides, JSONResponse):
        return sides
    before, after, changed = sides
    customer = await to_thread.run_sync(recent_customer_questions,
                                        request.app.state.transcripts.engine, body.limit)
    samples = regression.heldout_samples() + [regression.Sample(t, "customer") for t in customer]
    answers, unavailable = await _model([s.text for s in samples], parser(request))
    result = await to_thread.run_sync(regression.check, samples, answers, before, after,
                                      body.entry_id, changed)
    return {**result, "model_error": unavailable}


def _before_after(kb: KnowledgeBase, body: RegressionIn) -> tuple[dict, dict, bool]:
    before = kb.active_questions()
    after = dict(before)
    if body.action == "retire":
        after.pop(body.entry_id, None)
        return before, after, True
    if body.action == "restore":
        after[body.entry_id] = [str(q) for q in kb.find(body.entry_id).data.get("questions") or []]
        return before, after, True
    data = clean(body.entry)  # the same checks as a save: a broken form says so here already
    after[data["id"]] = data["questions"]
    changed = body.action == "create" or before.get(data["id"]) != data["questions"]
    return before, after, changed


@router.get("/confusion", summary="Entry pairs the current model mixes up more than 10% of the time")
async def confusion(request: Request, _: Editor, kb: KB) -> Any:
    questions = await _call(kb.active_questions)
    if isinstance(questions, JSONResponse):
        return questions
    samples = regression.entry_samples(questions) + regression.heldout_samples()
    answers, unavailable = await _model([s.text for s in samples], parser(request))
    if answers is None:
        return {"pairs": None, "model_error": unavailable,
                "estimate_pairs": await to_thread.run_sync(regression.confusable_pairs, questions)}
    return {"pairs": regression.model_confusion(samples, answers), "model_error": "",
            "replayed": len(samples), "limit": regression.CONFUSION_LIMIT}


# --- routes: learning from agents ----------------------------------------------------------------

@router.post("/proposals", status_code=201, responses={404: {}},
             summary="An agent proposes an FAQ entry from a conversation (question + answer)")
async def propose(body: ProposalIn, request: Request,
                  agent: Annotated[Agent, Depends(proposer)]) -> dict[str, Any]:
    store = proposals(request)
    question, answer = _plain_text(body.question, "问题"), _plain_text(body.answer, "答案")
    if not await to_thread.run_sync(store.handoff_exists, body.handoff_id):
        raise ApiError(404, "not_found", "没有这个会话，无法提议")
    return await to_thread.run_sync(store.add, body.handoff_id, question, answer, agent.id,
                                    agent.name)


def _plain_text(text: str, what: str) -> str:
    cleaned = text.replace("\r\n", "\n").strip()
    if not cleaned or any(ord(c) < 32 and c not in "\n\t" for c in cleaned):
        raise ApiError(422, "invalid_request", f"{what}不能为空，也不能含不可见的控制字符")
    return cleaned


@router.get("/proposals", summary="The review queue (pending, or decided ones by status)")
async def list_proposals(request: Request, _: Editor,
                         status: Literal["pending", "accepted", "rejected"] = "pending") -> Any:
    return {"proposals": await to_thread.run_sync(proposals(request).list, status)}


@router.post("/proposals/{proposal_id}/decision", responses={409: {}})
async def decide(proposal_id: str, body: DecisionIn, request: Request, agent: Editor) -> Any:
    decided = None if has_control_chars(proposal_id) else await to_thread.run_sync(
        proposals(request).decide, proposal_id[:32], body.status, agent.name, body.entry_id,
        body.note)
    if decided is None:
        raise ApiError(409, "already_decided", "这条提议已被处理（或不存在），请刷新")
    return decided


@router.get("/backlog", summary="Not-understood questions grouped by similarity, biggest first")
async def not_understood(request: Request, _: Editor, kb: KB,
                         days: Annotated[int, Query(ge=1, le=366)] = 30) -> Any:
    questions = await _call(kb.active_questions)
    if isinstance(questions, JSONResponse):
        return questions
    groups = await to_thread.run_sync(backlog, request.app.state.transcripts.engine, questions, days)
    return {"groups": groups, "days": days}
