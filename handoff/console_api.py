"""The agent console's API: login, the live queue, claiming, talking with the customer, closing.

Every route but login needs a session cookie of an agent or supervisor (editors are refused
with 403); a handoff can only be read, answered or closed by the agent who owns it. Customer
messages of owned conversations reach the console live over the WebSocket, which also carries
the heartbeat that keeps the agent's leases.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import AfterValidator, BaseModel, Field, model_validator
from redis.exceptions import RedisError

from channels.messages import has_control_chars
from handoff.agents import Agent, AgentDirectory
from handoff.desk import SATISFACTION_QUESTION, HandoffDesk
from handoff.queue import SKILL_GROUPS, TO_AGENTS, tell_agents
from service.errors import ApiError

COOKIE = "xs_agent"
# Password guessing: after this many failures for one account, or from one address (a whole
# call centre may share one), further logins wait.
LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_ADDRESS = 50
LOGIN_LOCK_SECONDS = 15 * 60
QUEUE_ROLES = ("agent", "supervisor")
router = APIRouter(prefix="/api/agent", tags=["agent console"])
log = logging.getLogger(__name__)


def _typed(text: str) -> str:
    # Refused at the door (422), before anything is sent to a customer or stored.
    if has_control_chars(text):
        raise ValueError("contains control characters")
    return text


TypedText = Annotated[str, AfterValidator(_typed)]


class LoginIn(BaseModel):
    username: TypedText = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)  # only hashed, never stored or queried


class ReplyIn(BaseModel):
    text: TypedText = Field(min_length=1, max_length=2000)


# Flows the bot can carry on with after an agent closes (the agent picks one, or none).
RESUME_FLOWS = {"query_logistics": "查物流", "query_order": "查订单状态", "urge_shipment": "催发货",
                "change_address": "改地址", "cancel_order": "取消订单", "request_return": "退货",
                "request_exchange": "换货", "query_refund": "查退款进度",
                "report_quality_issue": "登记质量问题"}


class ResumeIn(BaseModel):
    intent: Literal[tuple(RESUME_FLOWS)]  # type: ignore[valid-type]
    order_id: str | None = Field(default=None, pattern=r"^\d{16}$")


class CloseIn(BaseModel):
    resolution: Literal["resolved", "ticket", "no_response"]
    resume: ResumeIn | None = None  # the bot carries on with this flow, slots kept


class TicketReplyIn(ReplyIn):
    close: bool = False


class NoteIn(BaseModel):
    text: TypedText = Field(min_length=1, max_length=2000)


class TransferIn(BaseModel):
    """To another group's queue (its front), or straight to a colleague who is online."""
    group: Literal["logistics", "returns", "quality", "general"] | None = None
    agent_id: TypedText | None = Field(default=None, min_length=1, max_length=64)
    note: TypedText = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.group is None) == (self.agent_id is None):
            raise ValueError("name either a group or a colleague (agent_id)")
        return self


CANNED_REPLIES = Path(__file__).resolve().parent / "canned_replies.yml"


# WeChat lets a shop write to a customer only within 48 hours of the customer's last message.
WINDOWS = {"wechat": 48 * 3600}


def _desk(request: Request) -> HandoffDesk:
    return request.app.state.desk


async def current_agent(request: Request) -> Agent:
    return await _agent_of(request.app, request.cookies.get(COOKIE, ""))


async def _agent_of(app: Any, session_id: str) -> Agent:
    agent_id = await app.state.sessions.agent_id(session_id)
    agent = await to_thread.run_sync(app.state.agents.get, agent_id) if agent_id else None
    if agent is None:
        raise ApiError(401, "unauthorized", "请先登录")
    if agent.role not in QUEUE_ROLES:
        raise ApiError(403, "forbidden", "您的账号没有接待客户的权限")
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]
Desk = Annotated[HandoffDesk, Depends(_desk)]


@router.post("/login", summary="Log in; sets the session cookie", responses={401: {}, 429: {}})
async def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    redis = request.app.state.redis
    client = request.client.host if request.client else "unknown"
    counters = [f"xs:login-failures:user:{body.username}", f"xs:login-failures:ip:{client}"]
    account, address = (int(value or 0) for value in await redis.mget(counters))
    if account >= LOGIN_FAILURES_PER_ACCOUNT or address >= LOGIN_FAILURES_PER_ADDRESS:
        raise ApiError(429, "too_many_attempts", "登录失败次数过多，请 15 分钟后再试")
    directory: AgentDirectory = request.app.state.agents
    agent = await to_thread.run_sync(directory.authenticate, body.username, body.password)
    if agent is None:
        for key in counters:
            await redis.incr(key)
            await redis.expire(key, LOGIN_LOCK_SECONDS)
        raise ApiError(401, "bad_credentials", "用户名或密码错误")
    await redis.delete(counters[0])
    session_id = await request.app.state.sessions.open(agent)
    if agent.role in QUEUE_ROLES:
        await request.app.state.desk.queue.set_online(agent.id, list(agent.groups), True)
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="strict", path="/",
                        secure=request.app.state.settings.xs_env == "production")
    return {"agent": agent.public()}


@router.post("/logout", status_code=204, summary="End the session everywhere")
async def logout(request: Request, response: Response, agent: CurrentAgent, desk: Desk) -> None:
    await request.app.state.sessions.close(request.cookies.get(COOKIE, ""))
    await desk.queue.set_online(agent.id, list(agent.groups), False)
    response.delete_cookie(COOKIE, path="/")


@router.get("/me")
async def me(agent: CurrentAgent) -> dict[str, Any]:
    return {"agent": agent.public()}


@router.get("/queue", summary="Waiting conversations of the agent's groups, and the agent's own")
async def queue(agent: CurrentAgent, desk: Desk) -> dict[str, Any]:
    waiting = []
    for group in agent.groups:
        for handoff_id in await desk.queue.waiting(group):
            waiting.append(await _public(desk, handoff_id))
    mine = [await _public(desk, handoff_id) for handoff_id in await desk.queue.owned_by(agent.id)]
    return {"waiting": waiting, "mine": mine}


@router.post("/handoffs/{handoff_id}/claim", responses={409: {}})
async def claim(handoff_id: str, agent: CurrentAgent, desk: Desk) -> dict[str, Any]:
    outcome = await desk.queue.claim(agent.id, handoff_id[:64], agent.capacity)
    return await _claimed(desk, outcome.outcome, outcome.handoff_id)


@router.post("/claim-next", responses={404: {}, 409: {}})
async def claim_next(agent: CurrentAgent, desk: Desk) -> dict[str, Any]:
    outcome = await desk.queue.claim_next(agent.id, list(agent.groups), agent.capacity)
    return await _claimed(desk, outcome.outcome, outcome.handoff_id)


@router.get("/handoffs/{handoff_id}", responses={403: {}, 404: {}})
async def handoff(handoff_id: str, agent: CurrentAgent, desk: Desk,
                  request: Request) -> dict[str, Any]:
    info = await _owned(desk, handoff_id, agent)
    history = await request.app.state.conversations.history(info["conversation_id"])
    notes = await to_thread.run_sync(desk.records.notes, handoff_id)
    return {"handoff": await _public(desk, handoff_id), "summary": info.get("summary", ""),
            "packet": _packet(info.get("packet")), "resume_flows": RESUME_FLOWS,
            "transcript": [_line(message) for message in history],
            "notes": [{"agent_id": n.agent_id, "text": n.text,
                       "created_at": _utc(n.created_at).isoformat()} for n in notes]}


@router.post("/handoffs/{handoff_id}/messages", responses={403: {}, 404: {}, 409: {}})
async def reply(handoff_id: str, body: ReplyIn, agent: CurrentAgent, desk: Desk,
                request: Request) -> dict[str, bool]:
    info = await _owned(desk, handoff_id, agent)
    sent = await request.app.state.conversations.send_to_customer(
        info["conversation_id"], [{"text": body.text, "buttons": []}],
        {"role": "agent", "id": agent.id, "name": agent.name})
    if not sent:
        raise ApiError(409, "not_deliverable", "无法把消息发到客户的渠道")
    return {"ok": True}


@router.post("/handoffs/{handoff_id}/close", responses={403: {}, 404: {}})
async def close(handoff_id: str, body: CloseIn, agent: CurrentAgent, desk: Desk,
                request: Request) -> dict[str, bool]:
    await _owned(desk, handoff_id, agent)
    conversation_id = await desk.close(handoff_id, agent.id, body.resolution)
    if conversation_id is None:
        raise ApiError(409, "not_open", "这个会话已经结束了")
    conversations = request.app.state.conversations
    if body.resume is not None:  # the satisfaction question follows the bot's replies
        entities = {"order_id": body.resume.order_id} if body.resume.order_id else {}
        if await conversations.resume(conversation_id, body.resume.intent, entities, handoff_id):
            return {"ok": True}
    await conversations.send_to_customer(conversation_id, [SATISFACTION_QUESTION], {"role": "system"})
    return {"ok": True}


@router.post("/handoffs/{handoff_id}/notes", responses={403: {}, 404: {}},
             summary="An internal note (agents only, never the customer)")
async def add_note(handoff_id: str, body: NoteIn, agent: CurrentAgent, desk: Desk) -> dict[str, bool]:
    await _owned(desk, handoff_id, agent)
    await to_thread.run_sync(desk.records.add_note, handoff_id, agent.id, body.text)
    return {"ok": True}


@router.post("/handoffs/{handoff_id}/transfer", responses={403: {}, 404: {}, 409: {}},
             summary="Pass the conversation to another group or a colleague, with a note")
async def transfer(handoff_id: str, body: TransferIn, agent: CurrentAgent, desk: Desk,
                   request: Request) -> dict[str, bool]:
    await _owned(desk, handoff_id, agent)
    if body.agent_id is not None:
        await _hand_to_colleague(desk, request, handoff_id, agent, body.agent_id)
    elif not await desk.queue.transfer(handoff_id, agent.id, body.group):
        raise ApiError(409, "not_open", "这个会话已经结束了")
    if body.note:
        await to_thread.run_sync(desk.records.add_note, handoff_id, agent.id, body.note)
    await tell_agents(desk.queue.redis, {"event": "transferred"})
    return {"ok": True}


async def _hand_to_colleague(desk: HandoffDesk, request: Request, handoff_id: str, agent: Agent,
                             colleague_id: str) -> None:
    colleague = await to_thread.run_sync(request.app.state.agents.get, colleague_id)
    if colleague is None or colleague.role not in QUEUE_ROLES or colleague.id == agent.id:
        raise ApiError(404, "no_colleague", "没有这位同事")
    if colleague.id not in await desk.queue.online_agents(list(colleague.groups)):
        raise ApiError(409, "offline", f"{colleague.name} 现在不在线")
    moved = await desk.queue.hand_to(handoff_id, agent.id, colleague.id, colleague.capacity)
    if moved == "full":
        raise ApiError(409, "full", f"{colleague.name} 接待的会话已达上限")
    if moved != "moved":
        raise ApiError(409, "not_open", "这个会话已经结束了")


@router.get("/colleagues", summary="Colleagues online now, with their load (for a transfer)")
async def colleagues(agent: CurrentAgent, desk: Desk, request: Request) -> list[dict[str, Any]]:
    online = await desk.queue.online_agents(list(SKILL_GROUPS))
    found = []
    for colleague_id in sorted(online - {agent.id}):
        colleague = await to_thread.run_sync(request.app.state.agents.get, colleague_id)
        if colleague is not None and colleague.role in QUEUE_ROLES:
            found.append({**colleague.public(),
                          "load": len(await desk.queue.owned_by(colleague.id))})
    return found


@router.get("/canned-replies", summary="Canned replies matching every word of `q`")
async def canned_replies(agent: CurrentAgent, q: str = "") -> list[dict[str, Any]]:
    entries = await to_thread.run_sync(_load_canned)
    words = q.split()[:5]
    return [entry for entry in entries
            if all(word in f"{entry['title']} {entry['text']} {' '.join(entry['tags'])}"
                   for word in words)]


def _load_canned() -> list[dict[str, Any]]:
    data = yaml.safe_load(CANNED_REPLIES.read_text(encoding="utf-8")) or []
    return [{"title": str(item["title"]), "text": str(item["text"]),
             "tags": [str(tag) for tag in item.get("tags", [])]} for item in data]


@router.get("/supervisor", responses={403: {}},
            summary="Queues, waits, agents' load and tickets past their deadline")
async def supervisor(agent: CurrentAgent, desk: Desk) -> dict[str, Any]:
    if agent.role != "supervisor":
        raise ApiError(403, "forbidden", "只有主管可以查看")
    load = await desk.queue.load()
    targets = {tier: target.total_seconds() for tier, target in desk.hours.answer_within.items()}
    for info in load["groups"].values():
        for wait in info["waits"]:
            wait["target_seconds"] = targets.get(wait["tier"], targets["regular"])
            wait["breached"] = wait["waited_seconds"] > wait["target_seconds"]
        info["breached"] = sum(wait["breached"] for wait in info["waits"])
    tickets = await to_thread.run_sync(desk.records.tickets, list(SKILL_GROUPS), 1000)
    now = datetime.now(timezone.utc)
    load["tickets"] = {"open": len(tickets),
                       "overdue": sum(1 for t in tickets
                                      if t.first_response_at is None and _utc(t.due_at) < now)}
    load["wait_targets"] = targets
    return load


@router.get("/tickets", summary="Open tickets of the agent's groups, the most urgent first")
async def tickets(agent: CurrentAgent, desk: Desk, request: Request) -> list[dict[str, Any]]:
    rows = await to_thread.run_sync(desk.records.tickets, list(agent.groups))
    now = datetime.now(timezone.utc)
    return [{"ticket_id": row.id, "conversation_id": row.conversation_id, "channel": row.channel,
             "group": row.skill_group, "tier": row.tier, "reason": row.reason,
             "status": row.status, "due_at": _utc(row.due_at).isoformat(),
             "summary": row.summary or "",
             "overdue": row.first_response_at is None and _utc(row.due_at) < now,
             "window_open": await _window_open(request, row.channel, row.conversation_id)}
            for row in rows]


@router.post("/tickets/{ticket_id}/reply", responses={404: {}, 409: {}})
async def reply_ticket(ticket_id: str, body: TicketReplyIn, agent: CurrentAgent, desk: Desk,
                       request: Request) -> dict[str, bool]:
    row = None if has_control_chars(ticket_id) else await to_thread.run_sync(
        desk.records.ticket, ticket_id[:32])
    if row is None or row.skill_group not in agent.groups:
        raise ApiError(404, "not_found", "没有这个工单")
    if not await _window_open(request, row.channel, row.conversation_id):
        raise ApiError(409, "window_closed",
                       "客户超过 48 小时没有发消息，微信不允许再主动发送，请改用电话或短信联系")
    sent = await request.app.state.conversations.send_to_customer(
        row.conversation_id, [{"text": body.text, "buttons": []}],
        {"role": "agent", "id": agent.id, "name": agent.name})
    if not sent:
        raise ApiError(409, "not_deliverable", "无法把消息发到客户的渠道")
    await to_thread.run_sync(desk.records.ticket_answered, row.id, body.close)
    return {"ok": True}


async def _window_open(request: Request, channel: str, conversation_id: str) -> bool:
    window = WINDOWS.get(channel)
    if window is None:
        return True
    heard = await request.app.state.conversations.last_heard(conversation_id)
    return heard is not None and time.time() - heard < window


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@router.websocket("/ws")
async def console_socket(websocket: WebSocket) -> None:
    """Frames out: ``{"type": "queue"}`` and ``{"type": "message", ...}``; in: heartbeats."""
    try:
        agent = await _agent_of(websocket.app, websocket.cookies.get(COOKIE, ""))
    except ApiError:
        await websocket.close(code=4401)
        return
    await websocket.accept()
    desk: HandoffDesk = websocket.app.state.desk
    await desk.queue.set_online(agent.id, list(agent.groups), True)
    forward = asyncio.create_task(_forward_customer_messages(websocket, desk, agent))
    try:
        while True:
            frame = await websocket.receive_text()
            if len(frame) < 200 and json.loads(frame or "{}").get("type") == "heartbeat":
                await desk.queue.renew(agent.id)
                await desk.queue.set_online(agent.id, list(agent.groups), True)
    except (WebSocketDisconnect, ValueError, RedisError):
        pass
    finally:
        forward.cancel()
        await desk.queue.set_online(agent.id, list(agent.groups), False)


async def _forward_customer_messages(websocket: WebSocket, desk: HandoffDesk, agent: Agent) -> None:
    last = "$"
    while True:
        entries = await desk.queue.redis.xread({TO_AGENTS: last}, count=50, block=5000)
        if not entries:
            await websocket.send_json({"type": "queue"})
            continue
        for entry_id, fields in entries[0][1]:
            last = entry_id
            if b"event" in fields:  # someone queued, claimed, left: refresh the queue now
                await websocket.send_json({"type": "queue"})
                continue
            conversation_id = fields[b"conversation_id"].decode()
            handoff_id = await desk.queue.waiting_handoff(conversation_id)
            info = await desk.queue.handoff(handoff_id) if handoff_id else {}
            if info.get("agent") == agent.id:
                await websocket.send_json({"type": "message", "handoff_id": handoff_id,
                                           "conversation_id": conversation_id,
                                           "text": fields[b"text"].decode(),
                                           "created_at": time.time()})
            else:
                await websocket.send_json({"type": "queue"})


async def _owned(desk: HandoffDesk, handoff_id: str, agent: Agent) -> dict[str, str]:
    info = await desk.queue.handoff(handoff_id[:64])
    if not info:
        raise ApiError(404, "not_found", "没有这个会话")
    if info.get("agent") != agent.id:
        raise ApiError(403, "not_yours", "这个会话不属于您")
    return info


async def _claimed(desk: HandoffDesk, outcome: str, handoff_id: str | None) -> dict[str, Any]:
    if outcome == "claimed" and handoff_id:
        await to_thread.run_sync(desk.records.claimed, handoff_id)
        await tell_agents(desk.queue.redis, {"event": "claimed"})  # gone from the others' queues
        return {"handoff": await _public(desk, handoff_id)}
    messages = {"taken": "已被其他客服接入", "full": "您接待的会话已达上限", "empty": "暂时没有排队的客户"}
    raise ApiError(404 if outcome == "empty" else 409, outcome, messages.get(outcome, "无法接入"))


async def _public(desk: HandoffDesk, handoff_id: str) -> dict[str, Any]:
    info = await desk.queue.handoff(handoff_id)
    channel = info.get("conversation_id", "").split(":", 1)[0]
    return {"handoff_id": handoff_id, "conversation_id": info.get("conversation_id"),
            "channel": channel, "group": info.get("group"), "tier": info.get("tier"),
            "reason": info.get("reason", ""), "status": info.get("status"),
            "enqueued_at": float(info.get("enqueued_at") or 0),
            "claimed_at": float(info["claimed_at"]) if info.get("claimed_at") else None}


def _packet(stored: str | None) -> dict[str, Any]:
    """The masked order panel of a handoff (``handoff.packet``); empty for one without."""
    try:
        packet = json.loads(stored) if stored else {}
    except ValueError:
        packet = {}
    return packet if isinstance(packet, dict) else {}


def _line(message: Any) -> dict[str, Any]:
    return {"direction": message.direction, "author": _author(message), "text": message.text,
            "created_at": message.created_at.isoformat()}


def _author(message: Any) -> str:
    if message.direction == "in":
        return "customer"
    role = ((message.payload or {}).get("author") or {}).get("role")
    return "agent" if role == "agent" else "bot"
