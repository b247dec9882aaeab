// Agent console: log in, watch the live queue, claim a customer, talk (with canned replies), keep
// internal notes, transfer to another group or close with a resolution; answer tickets; supervisors
// also see every queue's load. Talks to /api/agent (session cookie) and its WebSocket (live queue
// and customer messages; the page's heartbeat keeps the agent's leases). Everything that comes from
// a customer, another agent or the server is put on the page as text (textContent), never parsed
// as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const els = {
  loginView: $("login-view"), loginForm: $("login-form"), loginUsername: $("login-username"),
  loginPassword: $("login-password"), loginError: $("login-error"), loginSubmit: $("login-submit"),
  appView: $("app-view"), conn: $("conn-status"), agentName: $("agent-name"), agentRole: $("agent-role"),
  agentLoad: $("agent-load"), logout: $("logout"),
  mine: $("mine"), mineEmpty: $("mine-empty"), mineCount: $("mine-count"),
  queue: $("queue"), queueCount: $("queue-count"), claimNext: $("claim-next"),
  empty: $("conversation-empty"), conversation: $("conversation"), title: $("conv-title"), meta: $("conv-meta"),
  transcript: $("transcript"), replyForm: $("reply-form"), replyInput: $("reply-input"), replySend: $("reply-send"),
  replyHint: $("reply-hint"), closeButton: $("close-conversation"),
  summary: $("summary"), info: $("handoff-info"),
  closeDialog: $("close-dialog"), closeForm: $("close-form"), closeCancel: $("close-cancel"),
  closeConfirm: $("close-confirm"), closeError: $("close-error"), toast: $("toast"),
  tabs: $("tabs"), tabDesk: $("tab-desk"), tabTickets: $("tab-tickets"), tabSupervisor: $("tab-supervisor"),
  supervisorTab: $("tab-btn-supervisor"), ticketsBadge: $("tickets-badge"),
  tickets: $("tickets"), ticketsCount: $("tickets-count"), ticketsEmpty: $("tickets-empty"),
  ticketsRefresh: $("tickets-refresh"),
  svGroups: $("sv-groups"), svAgents: $("sv-agents"), svTickets: $("sv-tickets"), svUpdated: $("sv-updated"),
  svError: $("sv-error"),
  canned: $("canned"), cannedSearch: $("canned-search"), cannedList: $("canned-list"), cannedEmpty: $("canned-empty"),
  cannedOpen: $("canned-open"),
  notesPanel: $("notes-panel"), notes: $("notes"), notesEmpty: $("notes-empty"), notesCount: $("notes-count"),
  noteForm: $("note-form"), noteInput: $("note-input"), noteError: $("note-error"), noteAdd: $("note-add"),
  transferButton: $("transfer-conversation"), transferDialog: $("transfer-dialog"), transferForm: $("transfer-form"),
  transferNote: $("transfer-note"), transferError: $("transfer-error"), transferCancel: $("transfer-cancel"),
  transferConfirm: $("transfer-confirm"), transferAgent: $("transfer-agent"),
  orderPanel: $("order-panel"), orderInfo: $("order-info"), orderItems: $("order-items"), orderRule: $("order-rule"),
  logisticsInfo: $("logistics-info"), logisticsEvents: $("logistics-events"), actionLog: $("action-log"),
  actionLogEmpty: $("action-log-empty"), closeResume: $("close-resume"), closeOrder: $("close-order"),
  closeOrderField: $("close-order-field"), svTargets: $("sv-targets"),
};

const GROUPS = { logistics: "物流", returns: "退换货", quality: "质量", general: "综合" };
const TIERS = { vip: "VIP", potential: "潜力", regular: "普通" };
const REASONS = {
  customer_request: "客户要求", not_understood: "机器人未理解", complaint: "投诉", bot_unavailable: "机器人不可用",
  policy_dispute: "对政策结果有异议", action_failure: "系统操作失败", shop_rule: "店铺规则",
};
const ORDER_STATUS = {
  pending_payment: "待付款", paid: "待发货", shipped: "已发货", in_transit: "运输中", delivered: "已签收",
  cancelled: "已取消", returned: "已退回",
};
const CHANNELS = { app: "App", web: "网页", wechat: "微信", telegram: "Telegram" };
const ROLES = { agent: "客服", supervisor: "主管", editor: "内容编辑" };
const RESOLUTIONS = { resolved: "已解决", ticket: "转工单", no_response: "客户无响应" };
const AUTHORS = { customer: "客户", bot: "机器人", agent: "客服" };
const TICKET_STATUS = { open: "待回复", answered: "已回复" };
const WINDOW_CLOSED = "微信 48 小时窗口已关闭，无法发送";
const ERROR_TEXT = {
  bad_credentials: "用户名或密码错误", unauthorized: "请先登录", taken: "该客户已被其他客服接入",
  full: "您接待的会话已达上限，请先结束一个会话", empty: "暂时没有排队的客户", not_yours: "这个会话不属于您",
  not_found: "没有找到这个会话", not_open: "这个会话已经结束了", network: "网络异常，请检查网络后重试",
  window_closed: "客户超过 48 小时没有发消息，微信不允许再主动发送，请改用电话或短信联系",
  not_deliverable: "无法把消息发到客户的渠道",
};
const QUEUE_POLL_MS = 5000;
const TICKETS_POLL_MS = 15000;
const SUPERVISOR_POLL_MS = 5000;
const HEARTBEAT_MS = 10000;
const TITLE = document.title;

const state = {
  agent: null, waiting: [], mine: [], selected: null, detail: null, loading: false, buffered: [],
  socket: null, attempt: 0, reconnectTimer: null, heartbeatTimer: null, pollTimer: null, tickTimer: null,
  refreshing: false, refreshAgain: false, queueSeq: 0, selectSeq: 0,
  unread: new Map(), drafts: new Map(), clockOffset: 0, toastTimer: null,
  tab: "desk", tickets: [], ticketCards: new Map(), ticketsTimer: null, ticketsSeq: 0,
  supervisorTimer: null, supervisorSeq: 0,
  canned: [], cannedActive: -1, cannedSeq: 0, cannedTimer: null, cannedLoading: null,
  noteDrafts: new Map(), noteBusy: false,
};

// ---- small helpers ---------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

const hasChinese = (text) => typeof text === "string" && /[\u3400-\u9fff]/.test(text);
const label = (table, key) => table[key] || key || "—";
const now = () => Date.now() + state.clockOffset;

// The conversation id is "<channel>:<account>"; the account is what an agent recognises.
function customerLabel(handoff) {
  const id = handoff.conversation_id || "";
  const colon = id.indexOf(":");
  return colon >= 0 ? id.slice(colon + 1) : id || handoff.handoff_id;
}

// Server times: epoch seconds (numbers) or ISO strings; an ISO string without a zone is UTC.
function parseWhen(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return new Date(value * 1000);
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

const pad = (n) => String(n).padStart(2, "0");

function formatTime(date) {
  if (!date) return "";
  const today = new Date(now());
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return date.toDateString() === today.toDateString()
    ? time : `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}秒`;
  if (s < 3600) return `${Math.floor(s / 60)}分${pad(s % 60)}秒`;
  return `${Math.floor(s / 3600)}时${pad(Math.floor((s % 3600) / 60))}分`;
}

// Waiting times are measured against the server's clock (from the Date header), so a desk PC
// whose clock is off does not show customers waiting minutes longer or shorter than they do.
function syncClock(response) {
  const server = Date.parse(response.headers.get("Date") || "");
  if (Number.isNaN(server)) return;
  const offset = server + 500 - Date.now(); // the header is truncated to the second
  state.clockOffset = Math.abs(offset) > 1500 ? offset : 0;
}

function toast(message, isError = false) {
  els.toast.textContent = message;
  els.toast.classList.toggle("is-error", isError);
  els.toast.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => { els.toast.hidden = true; }, isError ? 5000 : 3000);
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function fallbackMessage(status, code) {
  if (ERROR_TEXT[code]) return ERROR_TEXT[code];
  if (status === 401) return "登录已过期，请重新登录";
  if (status === 403) return "没有权限进行此操作";
  if (status === 404) return "没有找到";
  if (status === 409) return "操作冲突，请刷新后重试";
  if (status === 413 || status === 422) return "输入内容有误，请检查后重试";
  return "服务暂时不可用，请稍后重试";
}

// fetch with the session cookie; errors become ApiError with a Chinese message. A 401 on any
// call but login and the start-up check means the session ended: back to the login form.
async function api(path, { method = "GET", body, expectLogin = false } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method, credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", ERROR_TEXT.network);
  }
  syncClock(response);
  if (response.status === 204) return {};
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = (data && data.error) || {};
    const code = error.code || `http_${response.status}`;
    const message = hasChinese(error.message) ? error.message : fallbackMessage(response.status, code);
    if (response.status === 401 && !expectLogin && state.agent) sessionEnded();
    throw new ApiError(response.status, code, message);
  }
  return data;
}

const handoffPath = (id, rest = "") => `/api/agent/handoffs/${encodeURIComponent(id)}${rest}`;
const ticketReplyPath = (id) => `/api/agent/tickets/${encodeURIComponent(id)}/reply`;
const isSupervisor = () => Boolean(state.agent && state.agent.role === "supervisor");

// Enter sends; Shift+Enter is a new line; Enter that confirms an IME candidate is left alone.
const isSendKey = (event) => event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229;

// ---- login and logout ------------------------------------------------------------------------

function showLogin(message = "") {
  els.appView.hidden = true;
  els.loginView.hidden = false;
  els.loginError.textContent = message;
  els.loginError.hidden = !message;
  document.title = TITLE;
  (els.loginUsername.value ? els.loginPassword : els.loginUsername).focus();
}

els.loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = els.loginUsername.value.trim();
  const password = els.loginPassword.value;
  if (!username || !password) { showLogin("请输入用户名和密码"); return; }
  els.loginSubmit.disabled = true;
  els.loginSubmit.textContent = "登录中…";
  try {
    const { agent } = await api("/api/agent/login", { method: "POST", body: { username, password }, expectLogin: true });
    els.loginPassword.value = "";
    startDesk(agent);
  } catch (error) {
    showLogin(error.status === 401 ? fallbackMessage(401, "bad_credentials") : error.message);
    els.loginPassword.select();
  } finally {
    els.loginSubmit.disabled = false;
    els.loginSubmit.textContent = "登录";
  }
});

els.logout.addEventListener("click", async () => {
  els.logout.disabled = true;
  try { await api("/api/agent/logout", { method: "POST", expectLogin: true }); } catch { /* ended anyway */ }
  els.logout.disabled = false;
  stopDesk();
  showLogin();
  toast("已退出登录");
});

function sessionEnded() {
  stopDesk();
  showLogin("登录已过期，请重新登录");
}

// ---- the desk --------------------------------------------------------------------------------

function startDesk(agent) {
  stopDesk();
  state.agent = agent;
  els.agentName.textContent = agent.name || agent.id;
  els.agentRole.textContent = label(ROLES, agent.role);
  els.loginView.hidden = true;
  els.appView.hidden = false;
  els.supervisorTab.hidden = !isSupervisor();
  showConversation(null);
  showTab("desk");
  renderQueue();
  renderMine();
  renderTickets();
  refreshQueue();
  refreshTickets();
  connectSocket();
  state.pollTimer = setInterval(refreshQueue, QUEUE_POLL_MS);
  state.ticketsTimer = setInterval(refreshTickets, TICKETS_POLL_MS);
  state.heartbeatTimer = setInterval(heartbeat, HEARTBEAT_MS);
  state.tickTimer = setInterval(tick, 1000);
}

function stopDesk() {
  state.agent = null;
  clearInterval(state.pollTimer);
  clearInterval(state.heartbeatTimer);
  clearInterval(state.tickTimer);
  clearInterval(state.ticketsTimer);
  clearInterval(state.supervisorTimer);
  clearTimeout(state.reconnectTimer);
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.onclose = null;
    socket.close();
  }
  if (els.closeDialog.open) els.closeDialog.close();
  if (els.transferDialog.open) els.transferDialog.close();
  closeCanned(false);
  Object.assign(state, { waiting: [], mine: [], selected: null, detail: null, buffered: [], attempt: 0,
    tickets: [], tab: "desk" });
  state.unread.clear();
  state.drafts.clear();
  state.noteDrafts.clear();
  state.ticketCards.clear();
  els.tickets.replaceChildren();
  els.svGroups.replaceChildren();
  els.svAgents.replaceChildren();
  els.svTickets.replaceChildren();
  els.supervisorTab.hidden = true;
  els.transcript.replaceChildren();
  els.replyInput.value = "";
  els.noteInput.value = "";
}

function capacityText() {
  const capacity = state.agent && state.agent.capacity;
  return capacity ? `${state.mine.length}/${capacity}` : String(state.mine.length);
}

// One refresh at a time; a request for another while one runs makes it run once more after.
async function refreshQueue() {
  if (!state.agent) return;
  if (state.refreshing) { state.refreshAgain = true; return; }
  state.refreshing = true;
  const seq = ++state.queueSeq;
  try {
    const data = await api("/api/agent/queue");
    if (seq !== state.queueSeq || !state.agent) return;
    state.waiting = data.waiting || [];
    state.mine = data.mine || [];
    renderQueue();
    renderMine();
    // The open conversation is no longer ours (its lease lapsed, or it was closed elsewhere):
    // the server decides; loading it again says so.
    if (state.selected && !state.loading && !state.mine.some((h) => h.handoff_id === state.selected)) {
      loadConversation(state.selected);
    }
  } catch (error) {
    if (error.status !== 401) setConnection(`队列刷新失败：${error.message}`, "down");
  } finally {
    state.refreshing = false;
    if (state.refreshAgain && state.agent) { state.refreshAgain = false; refreshQueue(); }
  }
}

function waitBadge(since, prefix) {
  const span = el("span", "wait");
  if (since) {
    span.dataset.since = String(since);
    span.dataset.prefix = prefix;
  }
  updateWait(span);
  return span;
}

function updateWait(span) {
  const since = Number(span.dataset.since);
  if (!since) { span.textContent = ""; return; }
  const seconds = now() / 1000 - since;
  span.textContent = `${span.dataset.prefix}${formatDuration(seconds)}`;
  span.classList.toggle("is-long", seconds >= 120 && seconds < 300);
  span.classList.toggle("is-late", seconds >= 300);
}

function tick() {
  document.querySelectorAll(".wait[data-since]").forEach(updateWait);
  document.querySelectorAll(".due[data-due]").forEach(updateDue);
}

function tierBadge(tier) {
  return el("span", `tier tier--${TIERS[tier] ? tier : "regular"}`, label(TIERS, tier));
}

// Re-rendering the lists every few seconds must not steal the keyboard from the agent.
function keepFocus(container, render) {
  const active = document.activeElement;
  const key = container.contains(active) && active.dataset ? active.dataset.focusKey : null;
  render();
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

function renderQueue() {
  const groups = [...((state.agent && state.agent.groups) || [])];
  const order = Object.keys(GROUPS);
  groups.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  for (const item of state.waiting) if (!groups.includes(item.group)) groups.push(item.group);
  els.queueCount.textContent = `(${state.waiting.length})`;
  els.claimNext.disabled = !state.waiting.length;
  keepFocus(els.queue, () => {
    const sections = groups.map((group) => {
      const items = state.waiting.filter((h) => h.group === group);
      const section = el("section", "group");
      section.dataset.group = group;
      const head = el("div", "group__head");
      head.append(el("span", "", label(GROUPS, group)), el("span", "count", items.length ? `${items.length} 位` : ""));
      section.append(head);
      if (!items.length) section.append(el("p", "group__empty", "暂无等待"));
      for (const handoff of items) section.append(queueItem(handoff));
      return section;
    });
    els.queue.replaceChildren(...sections);
  });
}

function queueItem(handoff) {
  const row = el("div", "queue-item");
  row.dataset.handoff = handoff.handoff_id;
  row.dataset.conversation = handoff.conversation_id || "";
  const line = el("div", "queue-item__line");
  const who = el("span", "list__id", customerLabel(handoff));
  who.title = handoff.conversation_id || "";
  line.append(tierBadge(handoff.tier), who, el("span", "channel", label(CHANNELS, handoff.channel)));
  const sub = el("div", "queue-item__sub");
  sub.append(el("span", "reason", label(REASONS, handoff.reason)), waitBadge(handoff.enqueued_at, "等待 "));
  const button = el("button", "btn btn--primary btn--small", "接入");
  button.type = "button";
  button.dataset.focusKey = `claim:${handoff.handoff_id}`;
  button.addEventListener("click", () => claim(handoff, button));
  row.append(line, sub, button);
  return row;
}

function renderMine() {
  els.mineCount.textContent = `(${capacityText()})`;
  els.agentLoad.textContent = `接待 ${capacityText()}`;
  els.mineEmpty.hidden = state.mine.length > 0;
  keepFocus(els.mine, () => {
    els.mine.replaceChildren(...state.mine.map((handoff, index) => {
      const item = el("li", "list__item");
      item.dataset.handoff = handoff.handoff_id;
      item.dataset.conversation = handoff.conversation_id || "";
      item.dataset.focusKey = `mine:${handoff.handoff_id}`;
      item.tabIndex = 0;
      item.setAttribute("role", "button");
      item.title = index < 9 ? `${handoff.conversation_id || ""}（Alt+${index + 1}）` : handoff.conversation_id || "";
      item.classList.toggle("is-active", handoff.handoff_id === state.selected);
      const title = el("div", "list__title");
      title.append(tierBadge(handoff.tier), el("span", "list__id", customerLabel(handoff)),
        el("span", "channel", label(CHANNELS, handoff.channel)));
      const unread = state.unread.get(handoff.handoff_id) || 0;
      const badge = el("span", "unread", unread ? String(unread) : "");
      badge.hidden = !unread;
      const sub = el("div", "list__sub");
      sub.append(el("span", "", `${label(GROUPS, handoff.group)} · ${label(REASONS, handoff.reason)}`),
        waitBadge(handoff.claimed_at, "已接待 "));
      item.append(title, badge, sub);
      item.addEventListener("click", () => selectConversation(handoff.handoff_id));
      item.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); selectConversation(handoff.handoff_id); }
      });
      return item;
    }));
  });
  updateTitle();
}

function updateTitle() {
  let unread = 0;
  for (const count of state.unread.values()) unread += count;
  document.title = unread ? `(${unread}) ${TITLE}` : TITLE;
}

// ---- claiming --------------------------------------------------------------------------------

async function claim(handoff, button) {
  if (button) button.disabled = true;
  try {
    const data = await api(handoffPath(handoff.handoff_id, "/claim"), { method: "POST" });
    claimed(data.handoff || handoff);
  } catch (error) {
    if (button) button.disabled = false;
    if (error.status !== 401) toast(error.message, true);
    refreshQueue();
  }
}

async function claimNext() {
  if (!state.agent || els.claimNext.dataset.busy) return;
  els.claimNext.dataset.busy = "1";
  try {
    const data = await api("/api/agent/claim-next", { method: "POST" });
    claimed(data.handoff);
  } catch (error) {
    if (error.status !== 401) toast(error.message, error.status !== 404);
    refreshQueue();
  } finally {
    delete els.claimNext.dataset.busy;
  }
}

function claimed(handoff) {
  state.waiting = state.waiting.filter((h) => h.handoff_id !== handoff.handoff_id);
  if (!state.mine.some((h) => h.handoff_id === handoff.handoff_id)) {
    state.mine.push({ claimed_at: now() / 1000, ...handoff });
  }
  renderQueue();
  toast(`已接入客户 ${customerLabel(handoff)}`);
  selectConversation(handoff.handoff_id);
  refreshQueue();
}

els.claimNext.addEventListener("click", claimNext);

// ---- the open conversation -------------------------------------------------------------------

function showConversation(handoff) {
  els.empty.hidden = Boolean(handoff);
  els.conversation.hidden = !handoff;
  els.notesPanel.hidden = !handoff;
  if (!handoff) {
    closeCanned(false);
    els.summary.textContent = "打开会话后在这里查看转接摘要";
    els.summary.classList.add("summary--empty");
    els.info.replaceChildren();
    renderPacket(null);
    renderNotes([]);
    els.noteInput.value = "";
    els.noteError.hidden = true;
  }
}

function saveDraft() {
  if (!state.selected) return;
  state.drafts.set(state.selected, els.replyInput.value);
  state.noteDrafts.set(state.selected, els.noteInput.value);
}

async function selectConversation(handoffId) {
  if (handoffId !== state.selected) {
    saveDraft();
    closeCanned(false);
    state.selected = handoffId;
    state.detail = null;
    els.replyInput.value = state.drafts.get(handoffId) || "";
    els.noteInput.value = state.noteDrafts.get(handoffId) || "";
    els.noteError.hidden = true;
    els.transcript.replaceChildren(el("li", "divider", "加载中…"));
    renderNotes(null);
  }
  state.unread.delete(handoffId);
  renderMine();
  const handoff = state.mine.find((h) => h.handoff_id === handoffId) || { handoff_id: handoffId };
  renderHeader(handoff);
  showConversation(handoff);
  els.replyInput.focus();
  await loadConversation(handoffId);
}

async function loadConversation(handoffId) {
  const seq = ++state.selectSeq;
  state.loading = true;
  state.buffered = [];
  try {
    const data = await api(handoffPath(handoffId));
    if (seq !== state.selectSeq || state.selected !== handoffId) return;
    state.detail = data;
    renderConversation(data);
  } catch (error) {
    if (seq !== state.selectSeq || state.selected !== handoffId) return;
    if (error.status === 403 || error.status === 404) {
      dropConversation(handoffId, "该会话已不在您名下（已结束或已回到队列）");
    } else if (error.status !== 401) {
      const retry = el("button", "bubble__retry", "重新加载");
      retry.type = "button";
      retry.addEventListener("click", () => loadConversation(handoffId));
      const note = el("li", "divider", `会话加载失败：${error.message} `);
      note.append(retry);
      els.transcript.replaceChildren(note);
    }
  } finally {
    if (seq === state.selectSeq) state.loading = false;
  }
}

function renderHeader(handoff) {
  els.title.replaceChildren(tierBadge(handoff.tier), document.createTextNode(` ${customerLabel(handoff)}`));
  els.title.title = handoff.conversation_id || "";
  els.meta.textContent = [label(CHANNELS, handoff.channel), label(GROUPS, handoff.group),
    label(REASONS, handoff.reason)].join(" · ");
}

function renderConversation(data) {
  const handoff = data.handoff || {};
  renderHeader(handoff);
  const summary = (data.summary || "").trim();
  els.summary.textContent = summary || "暂无摘要";
  els.summary.classList.toggle("summary--empty", !summary);
  renderInfo(handoff);
  renderPacket(data.packet);
  renderNotes(data.notes || []);

  const enqueued = parseWhen(handoff.enqueued_at);
  const claimedAt = parseWhen(handoff.claimed_at);
  const items = [];
  let queuedShown = false;
  let claimedShown = false;
  for (const line of data.transcript || []) {
    const when = parseWhen(line.created_at);
    if (!queuedShown && enqueued && when && when >= enqueued) {
      items.push(el("li", "divider", `—— ${formatTime(enqueued)} 转人工排队 ——`));
      queuedShown = true;
    }
    if (!claimedShown && claimedAt && when && when >= claimedAt) {
      items.push(el("li", "divider", `—— ${formatTime(claimedAt)} 客服接入 ——`));
      claimedShown = true;
    }
    items.push(bubble(line.author, line.text, when));
  }
  if (!queuedShown && enqueued) items.push(el("li", "divider", `—— ${formatTime(enqueued)} 转人工排队 ——`));
  if (!claimedShown && claimedAt) items.push(el("li", "divider", `—— ${formatTime(claimedAt)} 客服接入 ——`));
  if (!items.length) items.push(el("li", "divider", "暂无消息记录"));
  els.transcript.replaceChildren(...items);

  // Customer messages that came over the socket while the transcript was loading.
  const shown = (data.transcript || []).filter((l) => l.author === "customer").slice(-5).map((l) => l.text);
  for (const frame of state.buffered) if (!shown.includes(frame.text)) appendBubble("customer", frame.text, parseWhen(frame.created_at));
  state.buffered = [];
  scrollToEnd(true);
}

// The order panel: what the bot knew when it handed over (masked by the server), and what it did.
function renderPacket(packet) {
  const order = packet && packet.order;
  const logistics = packet && packet.logistics;
  const log = (packet && Array.isArray(packet.action_log)) ? packet.action_log : [];
  els.orderPanel.hidden = !packet;
  els.orderRule.textContent = packet && packet.rule ? `规则：${packet.rule}` : "";
  els.orderInfo.replaceChildren(...(order ? infoRows([
    ["订单号", order.id], ["状态", order.status_label || label(ORDER_STATUS, order.status)],
    ["金额", order.total_display], ["下单", formatTime(parseWhen(order.created_at))],
    ["签收", order.signed_at ? formatTime(parseWhen(order.signed_at)) : ""],
    ["收货人", order.receiver], ["地址", order.address],
  ]) : infoRows([["订单", "会话中没有确定的订单"]])));
  els.orderItems.replaceChildren(...(order && Array.isArray(order.items) ? order.items : []).map(
    (item) => el("li", "", item.quantity ? `${item.name} × ${item.quantity}` : item.name)));
  els.logisticsInfo.replaceChildren(...(logistics ? infoRows([
    ["快递", logistics.courier], ["运单号", logistics.tracking_number],
    ["预计送达", logistics.estimated_delivery_at ? formatTime(parseWhen(logistics.estimated_delivery_at)) : ""],
  ]) : []));
  els.logisticsEvents.replaceChildren(...(logistics && Array.isArray(logistics.events) ? logistics.events : []).map(
    (event) => el("li", "", `${formatTime(parseWhen(event.time))} ${event.location ? `【${event.location}】` : ""}${event.description}`)));
  els.actionLog.replaceChildren(...log.slice().reverse().map(actionLogItem));
  els.actionLogEmpty.hidden = log.length > 0;
}

function actionLogItem(entry) {
  const ok = entry.outcome === "ok";
  const item = el("li", ok ? "action-log__ok" : "action-log__bad");
  const head = el("div", "action-log__head");
  head.append(el("strong", "", entry.label || entry.action), el("span", "action-log__outcome", entry.outcome_label || entry.outcome),
    el("time", "", formatTime(parseWhen(entry.at))));
  item.append(head);
  if (entry.detail) item.append(el("p", "action-log__detail", entry.detail));
  const calls = Array.isArray(entry.calls) ? entry.calls : [];
  if (calls.length) {
    item.append(el("p", "action-log__calls", calls.map(
      (call) => `${call.call} → ${call.outcome}${typeof call.ms === "number" ? ` ${call.ms} ms` : ""}`).join("\n")));
  }
  return item;
}

function infoRows(rows) {
  return rows.filter(([, value]) => value).flatMap(([name, value]) => [el("dt", "", name), el("dd", "", value)]);
}

function renderInfo(handoff) {
  const rows = [
    ["客户", customerLabel(handoff)], ["渠道", label(CHANNELS, handoff.channel)],
    ["技能组", label(GROUPS, handoff.group)], ["客户等级", label(TIERS, handoff.tier)],
    ["转人工原因", label(REASONS, handoff.reason)], ["排队开始", formatTime(parseWhen(handoff.enqueued_at))],
    ["接入时间", formatTime(parseWhen(handoff.claimed_at))], ["会话", handoff.conversation_id],
    ["转接编号", handoff.handoff_id],
  ];
  const nodes = [];
  for (const [name, value] of rows) {
    if (!value) continue;
    nodes.push(el("dt", "", name), el("dd", "", value));
  }
  els.info.replaceChildren(...nodes);
}

function bubble(author, text, when) {
  const kind = AUTHORS[author] ? author : "bot";
  const item = el("li", `bubble bubble--${kind}`);
  const meta = el("div", "bubble__meta");
  const time = el("time", "", formatTime(when));
  if (when) time.dateTime = when.toISOString();
  meta.append(el("span", "bubble__author", AUTHORS[kind]), time);
  item.append(meta, el("div", "bubble__text", text));
  return item;
}

function scrollToEnd(force) {
  const box = els.transcript;
  const nearEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  if (force || nearEnd) box.scrollTop = box.scrollHeight;
}

function appendBubble(author, text, when) {
  const node = bubble(author, text, when);
  const placeholder = els.transcript.querySelector(".divider:only-child");
  if (placeholder && !els.transcript.querySelector(".bubble")) placeholder.remove();
  const nearEnd = els.transcript.scrollHeight - els.transcript.scrollTop - els.transcript.clientHeight < 80;
  els.transcript.append(node);
  scrollToEnd(nearEnd || author === "agent");
  return node;
}

function dropConversation(handoffId, message) {
  state.mine = state.mine.filter((h) => h.handoff_id !== handoffId);
  state.unread.delete(handoffId);
  state.drafts.delete(handoffId);
  state.noteDrafts.delete(handoffId);
  if (state.selected === handoffId) {
    state.selected = null;
    state.detail = null;
    els.transcript.replaceChildren();
    els.replyInput.value = "";
    if (els.transferDialog.open) els.transferDialog.close();
    showConversation(null);
  }
  renderMine();
  if (message) toast(message);
}

// ---- replying --------------------------------------------------------------------------------

async function sendReply(handoffId, text, node = null) {
  const item = node || appendBubble("agent", text, new Date(now()));
  item.classList.add("is-pending");
  item.classList.remove("is-failed");
  const meta = item.querySelector(".bubble__meta");
  meta.querySelectorAll(".bubble__status, .bubble__retry").forEach((n) => n.remove());
  const status = el("span", "bubble__status", "发送中…");
  meta.append(status);
  try {
    await api(handoffPath(handoffId, "/messages"), { method: "POST", body: { text } });
    item.classList.remove("is-pending");
    status.remove();
  } catch (error) {
    item.classList.remove("is-pending");
    item.classList.add("is-failed");
    status.textContent = `发送失败：${error.message}`;
    if (error.status === 403 || error.status === 404) return;
    const retry = el("button", "bubble__retry", "重试");
    retry.type = "button";
    retry.addEventListener("click", () => sendReply(handoffId, text, item));
    meta.append(retry);
  }
}

els.replyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = els.replyInput.value.trim();
  if (!text || !state.selected) return;
  els.replyInput.value = "";
  state.drafts.delete(state.selected);
  sendReply(state.selected, text);
});

els.replyInput.addEventListener("keydown", (event) => {
  if (isSendKey(event)) {
    event.preventDefault();
    els.replyForm.requestSubmit();
    return;
  }
  // "/" at the start of an empty reply box opens the canned replies instead of being typed.
  if (event.key === "/" && !els.replyInput.value && !event.altKey && !event.ctrlKey && !event.metaKey
      && !event.isComposing) {
    event.preventDefault();
    openCanned();
  }
});

// ---- closing ---------------------------------------------------------------------------------

els.closeButton.addEventListener("click", () => {
  if (!state.selected) return;
  closeCanned(false);
  els.closeForm.reset();
  fillResumeChoices();
  els.closeError.hidden = true;
  els.closeConfirm.disabled = false;
  els.closeDialog.showModal();
  els.closeForm.querySelector("input[name=resolution]:checked").focus();
});

els.closeCancel.addEventListener("click", () => els.closeDialog.close());

// The flows the bot can carry on with (from the server), and the order it should use.
function fillResumeChoices() {
  const flows = (state.detail && state.detail.resume_flows) || {};
  els.closeResume.replaceChildren(el("option", "", "不需要，直接请客户评价"),
    ...Object.entries(flows).map(([intent, name]) => {
      const option = el("option", "", name);
      option.value = intent;
      return option;
    }));
  els.closeResume.firstChild.value = "";
  const order = state.detail && state.detail.packet && state.detail.packet.order;
  els.closeOrder.value = order && /^\d{16}$/.test(order.id || "") ? order.id : "";
  els.closeOrderField.hidden = true;
}

els.closeResume.addEventListener("change", () => { els.closeOrderField.hidden = !els.closeResume.value; });

els.closeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const handoffId = state.selected;
  if (!handoffId) { els.closeDialog.close(); return; }
  const resolution = new FormData(els.closeForm).get("resolution") || "resolved";
  const body = { resolution };
  const flow = els.closeResume.value;
  if (flow) {
    const orderId = els.closeOrder.value.trim();
    if (orderId && !/^\d{16}$/.test(orderId)) {
      els.closeError.textContent = "订单号应为 16 位数字，或留空使用会话中的订单";
      els.closeError.hidden = false;
      return;
    }
    body.resume = orderId ? { intent: flow, order_id: orderId } : { intent: flow };
  }
  els.closeConfirm.disabled = true;
  const proposal = proposalDraft(handoffId);
  try {
    await api(handoffPath(handoffId, "/close"), { method: "POST", body });
    rememberClosed(proposal);
    els.closeDialog.close();
    const after = flow ? `，机器人继续“${els.closeResume.selectedOptions[0].textContent}”` : "";
    dropConversation(handoffId, `会话已结束（${RESOLUTIONS[resolution]}）${after}，已请客户评价`);
  } catch (error) {
    if (error.code === "not_open" || error.status === 404) {
      els.closeDialog.close();
      dropConversation(handoffId, error.message);
    } else if (error.status !== 401) {
      els.closeError.textContent = error.message;
      els.closeError.hidden = false;
    }
  } finally {
    els.closeConfirm.disabled = false;
    refreshQueue();
  }
});

// ---- canned replies: search, then click or Enter puts the text in the reply box (not sent) ----

function openCanned() {
  if (!state.selected || els.conversation.hidden) return;
  els.canned.hidden = false;
  els.cannedOpen.setAttribute("aria-expanded", "true");
  els.cannedSearch.value = "";
  searchCanned("");
  els.cannedSearch.focus();
}

function closeCanned(focusReply = true) {
  if (els.canned.hidden) return;
  els.canned.hidden = true;
  els.cannedOpen.setAttribute("aria-expanded", "false");
  clearTimeout(state.cannedTimer);
  state.cannedTimer = null;
  state.cannedSeq += 1; // answers still on their way are dropped
  if (focusReply && !els.conversation.hidden) els.replyInput.focus();
}

function searchCanned(query) {
  const seq = ++state.cannedSeq;
  const run = (async () => {
    try {
      const items = await api(`/api/agent/canned-replies?q=${encodeURIComponent(query.trim())}`);
      if (seq !== state.cannedSeq) return;
      state.canned = Array.isArray(items) ? items.filter((item) => item && typeof item.text === "string") : [];
      renderCanned(query, "");
    } catch (error) {
      if (seq !== state.cannedSeq) return;
      state.canned = [];
      renderCanned(query, error.status === 401 ? "" : error.message);
    }
  })();
  state.cannedLoading = run;
  return run;
}

function renderCanned(query, failure) {
  els.cannedList.replaceChildren(...state.canned.map((item, index) => {
    const option = el("li", "canned__item");
    option.id = `canned-option-${index}`;
    option.setAttribute("role", "option");
    option.title = item.text;
    option.append(el("span", "canned__title", item.title), el("span", "canned__text", item.text));
    option.addEventListener("mousedown", (event) => event.preventDefault()); // keep the search focused
    option.addEventListener("click", () => insertCanned(item));
    return option;
  }));
  const words = query.trim();
  els.cannedEmpty.textContent = failure ? `快捷回复加载失败：${failure}`
    : words ? `没有找到与“${words}”匹配的快捷回复` : "还没有快捷回复";
  els.cannedEmpty.hidden = state.canned.length > 0 && !failure;
  setCannedActive(state.canned.length ? 0 : -1);
}

function setCannedActive(index) {
  state.cannedActive = index;
  els.cannedList.querySelectorAll(".canned__item").forEach((option, i) => {
    option.classList.toggle("is-active", i === index);
    option.setAttribute("aria-selected", String(i === index));
    if (i === index) option.scrollIntoView({ block: "nearest" });
  });
  if (index >= 0) els.cannedSearch.setAttribute("aria-activedescendant", `canned-option-${index}`);
  else els.cannedSearch.removeAttribute("aria-activedescendant");
}

// Puts the text where the reply box's cursor was (replacing a selection), within its 2000 characters.
function insertCanned(item) {
  const input = els.replyInput;
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  const room = Math.max(0, input.maxLength - (input.value.length - (end - start)));
  const text = item.text.slice(0, room);
  closeCanned(true);
  input.setRangeText(text, start, end, "end");
  if (text.length < item.text.length) toast("回复不能超过 2000 字，快捷回复已截断", true);
}

els.cannedOpen.addEventListener("click", () => {
  if (els.canned.hidden) openCanned();
  else closeCanned(true);
});

els.cannedSearch.addEventListener("input", () => {
  clearTimeout(state.cannedTimer);
  state.cannedTimer = setTimeout(() => {
    state.cannedTimer = null;
    searchCanned(els.cannedSearch.value);
  }, 150);
});

els.cannedSearch.addEventListener("keydown", async (event) => {
  const count = state.canned.length;
  if (event.key === "Escape") {
    event.preventDefault();
    closeCanned(true);
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    if (count) setCannedActive((state.cannedActive + (event.key === "ArrowDown" ? 1 : -1) + count) % count);
  } else if (event.key === "Enter" && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    // Typed faster than the search: finish it first, then insert what it found.
    if (state.cannedTimer) {
      clearTimeout(state.cannedTimer);
      state.cannedTimer = null;
      await searchCanned(els.cannedSearch.value);
    } else if (state.cannedLoading) {
      await state.cannedLoading;
    }
    const item = state.canned[state.cannedActive];
    if (item && !els.canned.hidden) insertCanned(item);
  }
});

document.addEventListener("mousedown", (event) => {
  if (!els.canned.hidden && !els.canned.contains(event.target) && !els.cannedOpen.contains(event.target)) {
    closeCanned(false);
  }
});

// ---- internal notes: agents only, never sent to the customer ----------------------------------

// `null` while the conversation loads.
function renderNotes(notes) {
  if (notes === null) {
    els.notes.replaceChildren();
    els.notesCount.textContent = "";
    els.notesEmpty.textContent = "加载中…";
    els.notesEmpty.hidden = false;
    return;
  }
  const list = Array.isArray(notes) ? notes : [];
  els.notesCount.textContent = list.length ? `(${list.length})` : "";
  els.notesEmpty.textContent = "暂无备注";
  els.notesEmpty.hidden = list.length > 0;
  els.notes.replaceChildren(...list.map((note) => {
    const item = el("li", "note");
    const when = parseWhen(note.created_at);
    const time = el("time", "", formatTime(when));
    if (when) time.dateTime = when.toISOString();
    const meta = el("div", "note__meta");
    meta.append(el("span", "note__author", noteAuthor(note.agent_id)), time);
    item.append(meta, el("div", "note__text", note.text));
    return item;
  }));
}

function noteAuthor(agentId) {
  if (state.agent && agentId === state.agent.id) return `${state.agent.name || agentId}（我）`;
  return agentId || "客服";
}

async function reloadNotes(handoffId, added) {
  try {
    const data = await api(handoffPath(handoffId));
    if (state.selected !== handoffId) return;
    if (state.detail) state.detail.notes = data.notes || [];
    renderNotes(data.notes || []);
  } catch {
    if (state.selected !== handoffId || !state.detail) return;
    state.detail.notes = [...(state.detail.notes || []), added];
    renderNotes(state.detail.notes);
  }
}

els.noteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const handoffId = state.selected;
  const text = els.noteInput.value.trim();
  if (!handoffId || !text || state.noteBusy) return;
  state.noteBusy = true;
  els.noteAdd.disabled = true;
  els.noteInput.readOnly = true;
  els.noteError.hidden = true;
  try {
    await api(handoffPath(handoffId, "/notes"), { method: "POST", body: { text } });
    state.noteDrafts.delete(handoffId);
    if (state.selected === handoffId) els.noteInput.value = "";
    await reloadNotes(handoffId, { agent_id: state.agent && state.agent.id, text,
      created_at: new Date(now()).toISOString() });
    toast("内部备注已保存（客户看不到）");
  } catch (error) {
    if (error.status === 401 || state.selected !== handoffId) return;
    els.noteError.textContent = `备注未保存：${error.message}`;
    els.noteError.hidden = false;
    if (error.status === 403 || error.status === 404) loadConversation(handoffId);
  } finally {
    state.noteBusy = false;
    els.noteAdd.disabled = false;
    els.noteInput.readOnly = false;
  }
});

els.noteInput.addEventListener("keydown", (event) => {
  if (isSendKey(event)) {
    event.preventDefault();
    els.noteForm.requestSubmit();
  }
});

// ---- transfer to another group or straight to a colleague ------------------------------------

els.transferButton.addEventListener("click", () => {
  if (!state.selected) return;
  const handoff = (state.detail && state.detail.handoff)
    || state.mine.find((h) => h.handoff_id === state.selected) || {};
  closeCanned(false);
  els.transferForm.reset();
  els.transferError.hidden = true;
  els.transferConfirm.disabled = false;
  const radios = [...els.transferForm.querySelectorAll("input[name=group]")];
  for (const radio of radios) {
    radio.closest(".choice").querySelector(".choice__current").hidden = radio.value !== handoff.group;
  }
  els.transferDialog.showModal();
  (radios.find((radio) => radio.value !== handoff.group) || radios[0]).focus();
  loadColleagues();
});

// Colleagues online now, with their load, for a direct transfer.
async function loadColleagues() {
  const none = el("option", "", "不指定，转到所选技能组的队列");
  none.value = "";
  els.transferAgent.replaceChildren(none);
  try {
    const colleagues = await api("/api/agent/colleagues");
    els.transferAgent.append(...colleagues.map((colleague) => {
      const option = el("option", "", `${colleague.name}（${label(ROLES, colleague.role)}，接待 ${colleague.load}/${colleague.capacity}）`);
      option.value = colleague.id;
      option.disabled = colleague.load >= colleague.capacity;
      return option;
    }));
  } catch (error) {
    if (error.status !== 401) none.textContent = "不指定（同事列表加载失败）";
  }
}

els.transferCancel.addEventListener("click", () => els.transferDialog.close());

els.transferForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const handoffId = state.selected;
  if (!handoffId) { els.transferDialog.close(); return; }
  const group = new FormData(els.transferForm).get("group");
  const colleague = els.transferAgent.value;
  if (!group && !colleague) {
    els.transferError.textContent = "请选择要转给的技能组或同事";
    els.transferError.hidden = false;
    return;
  }
  const note = els.transferNote.value.trim();
  const body = colleague ? { agent_id: colleague, note } : { group, note };
  els.transferConfirm.disabled = true;
  try {
    await api(handoffPath(handoffId, "/transfer"), { method: "POST", body });
    els.transferDialog.close();
    dropConversation(handoffId, colleague
      ? `已转给${els.transferAgent.selectedOptions[0].textContent.replace(/（.*$/, "")}`
      : `已转接到${label(GROUPS, group)}组，客户排在该组最前面`);
  } catch (error) {
    if (error.code === "not_open" || error.code === "not_yours" || error.code === "not_found") {
      els.transferDialog.close();
      dropConversation(handoffId, error.message);
    } else if (error.status !== 401) {
      els.transferError.textContent = error.message;
      els.transferError.hidden = false;
    }
  } finally {
    els.transferConfirm.disabled = false;
    refreshQueue();
  }
});

// ---- sidebar tabs: 会话 / 工单 / 主管视图 -------------------------------------------------------

function showTab(name, focus = false) {
  const tab = name === "supervisor" && !isSupervisor() ? "desk" : name;
  state.tab = tab;
  for (const button of els.tabs.querySelectorAll(".tab")) {
    const active = button.dataset.tab === tab;
    button.classList.toggle("is-active", active);
    button.setAttribute("aria-selected", String(active));
    button.tabIndex = active ? 0 : -1;
    if (active && focus) button.focus();
  }
  els.tabDesk.hidden = tab !== "desk";
  els.tabTickets.hidden = tab !== "tickets";
  els.tabSupervisor.hidden = tab !== "supervisor";
  clearInterval(state.supervisorTimer);
  state.supervisorTimer = null;
  if (!state.agent) return;
  if (tab === "tickets") refreshTickets();
  if (tab === "supervisor") {
    refreshSupervisor();
    state.supervisorTimer = setInterval(refreshSupervisor, SUPERVISOR_POLL_MS);
  }
}

els.tabs.addEventListener("click", (event) => {
  const button = event.target.closest(".tab");
  if (button && state.agent && button.dataset.tab !== state.tab) showTab(button.dataset.tab);
});

els.tabs.addEventListener("keydown", (event) => {
  const buttons = [...els.tabs.querySelectorAll(".tab")].filter((button) => !button.hidden);
  const index = buttons.indexOf(document.activeElement);
  if (index < 0) return;
  const moves = { ArrowRight: index + 1, ArrowLeft: index - 1 + buttons.length, Home: 0, End: buttons.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  showTab(buttons[moves[event.key] % buttons.length].dataset.tab, true);
});

// ---- tickets: answered later, within their deadline; WeChat only within 48 hours ------------

async function refreshTickets(announce = false) {
  if (!state.agent) return;
  const seq = ++state.ticketsSeq;
  try {
    const tickets = await api("/api/agent/tickets");
    if (seq !== state.ticketsSeq || !state.agent) return;
    state.tickets = Array.isArray(tickets) ? tickets : [];
    renderTickets();
  } catch (error) {
    if (seq !== state.ticketsSeq || error.status === 401) return;
    if (announce || state.tab === "tickets") toast(`工单刷新失败：${error.message}`, true);
  }
}

function ticketLate(ticket) {
  if (ticket.status === "answered") return false;
  const due = parseWhen(ticket.due_at);
  return Boolean(ticket.overdue) || Boolean(due && due.getTime() <= now());
}

function renderTickets() {
  const tickets = state.tickets;
  const late = tickets.filter(ticketLate).length;
  els.ticketsCount.textContent = `(${tickets.length})`;
  els.ticketsBadge.textContent = String(tickets.length);
  els.ticketsBadge.hidden = !tickets.length;
  els.ticketsBadge.classList.toggle("is-late", late > 0);
  els.ticketsBadge.title = late ? `${late} 个工单已超时` : "";
  els.ticketsEmpty.hidden = tickets.length > 0;
  // Cards are kept and updated in place, so a refresh keeps what the agent is typing.
  const active = document.activeElement;
  const seen = new Set();
  const nodes = tickets.map((ticket) => {
    seen.add(ticket.ticket_id);
    let card = state.ticketCards.get(ticket.ticket_id);
    if (!card) {
      card = ticketCard(ticket.ticket_id);
      state.ticketCards.set(ticket.ticket_id, card);
    }
    updateTicketCard(card, ticket);
    return card.node;
  });
  for (const [ticketId, card] of state.ticketCards) {
    if (!seen.has(ticketId)) { card.node.remove(); state.ticketCards.delete(ticketId); }
  }
  nodes.forEach((node, index) => {
    const current = els.tickets.children[index];
    if (current !== node) els.tickets.insertBefore(node, current || null);
  });
  if (active && els.tickets.contains(active) && document.activeElement !== active) active.focus();
}

function ticketCard(ticketId) {
  const node = el("article", "ticket");
  node.dataset.ticket = ticketId;
  const line = el("div", "ticket__line");
  const card = {
    node, ticket: null, busy: false,
    tier: el("span", "tier"), who: el("span", "list__id"), channel: el("span", "channel"), due: el("span", "due"),
    group: el("span", "ticket__group"), reason: el("span", "reason"), status: el("span", "ticket__status"),
    windowNote: el("p", "ticket__window", WINDOW_CLOSED), input: el("textarea"), close: el("input"),
    send: el("button", "btn btn--primary btn--small", "发送"), error: el("p", "ticket__error"),
    summary: el("details", "ticket__summary"), summaryText: el("p", "ticket__summary-text"),
  };
  card.summary.append(el("summary", "", "转接摘要（客户诉求、订单、机器人已做的事）"), card.summaryText);
  line.append(card.tier, card.who, card.channel, card.due);
  const sub = el("div", "ticket__sub");
  sub.append(card.group, card.reason, card.status, el("span", "ticket__id", ticketId));
  const form = el("form", "ticket__reply");
  form.autocomplete = "off";
  card.input.rows = 2;
  card.input.maxLength = 2000;
  card.input.setAttribute("aria-label", `回复工单 ${ticketId}`);
  card.close.type = "checkbox";
  const closeLabel = el("label", "ticket__close");
  closeLabel.append(card.close, document.createTextNode("回复后关闭工单"));
  card.send.type = "submit";
  const actions = el("div", "ticket__actions");
  actions.append(closeLabel, card.send);
  card.error.setAttribute("role", "alert");
  card.error.hidden = true;
  form.append(card.input, actions, card.error);
  node.append(line, sub, card.summary, card.windowNote, form);
  form.addEventListener("submit", (event) => { event.preventDefault(); replyTicket(card); });
  card.input.addEventListener("keydown", (event) => {
    if (isSendKey(event)) { event.preventDefault(); form.requestSubmit(); }
  });
  return card;
}

function updateTicketCard(card, ticket) {
  card.ticket = ticket;
  card.node.dataset.conversation = ticket.conversation_id || "";
  card.tier.className = `tier tier--${TIERS[ticket.tier] ? ticket.tier : "regular"}`;
  card.tier.textContent = label(TIERS, ticket.tier);
  card.who.textContent = customerLabel(ticket);
  card.who.title = ticket.conversation_id || "";
  card.channel.textContent = label(CHANNELS, ticket.channel);
  card.group.textContent = label(GROUPS, ticket.group);
  card.reason.textContent = label(REASONS, ticket.reason);
  card.status.textContent = label(TICKET_STATUS, ticket.status);
  card.summaryText.textContent = (ticket.summary || "").trim() || "暂无摘要";
  const due = parseWhen(ticket.due_at);
  card.due.dataset.due = due ? String(due.getTime()) : "";
  card.due.dataset.status = ticket.status || "";
  card.due.dataset.overdue = ticket.overdue ? "1" : "";
  card.due.title = due ? `回复截止 ${formatTime(due)}` : "";
  updateDue(card.due);
  const closed = ticket.window_open === false;
  card.windowNote.hidden = !closed;
  card.input.disabled = closed;
  card.input.readOnly = card.busy;
  card.input.placeholder = closed ? "无法在微信回复，请改用电话或短信联系客户" : "回复客户，Enter 发送，Shift+Enter 换行";
  card.close.disabled = closed || card.busy;
  card.send.disabled = closed || card.busy;
  card.send.textContent = card.busy ? "发送中…" : "发送";
  card.send.title = closed ? WINDOW_CLOSED : "";
}

// The countdown to the ticket's deadline, red once it has passed without an answer.
function updateDue(span) {
  const due = Number(span.dataset.due);
  const card = span.closest(".ticket");
  if (!due) { span.textContent = ""; return; }
  const left = (due - now()) / 1000;
  const answered = span.dataset.status === "answered";
  const late = !answered && (left <= 0 || span.dataset.overdue === "1");
  span.textContent = answered ? "已回复" : late ? `已超时 ${formatDuration(-left)}` : `剩余 ${formatDuration(left)}`;
  span.classList.toggle("is-late", late);
  span.classList.toggle("is-soon", !late && !answered && left < 15 * 60);
  if (card) card.classList.toggle("is-overdue", late);
}

async function replyTicket(card) {
  const ticket = card.ticket;
  const text = card.input.value.trim();
  if (!ticket || card.busy || !text) return;
  if (ticket.window_open === false) {
    card.error.textContent = WINDOW_CLOSED;
    card.error.hidden = false;
    return;
  }
  const close = card.close.checked;
  card.busy = true;
  card.error.hidden = true;
  updateTicketCard(card, ticket);
  try {
    await api(ticketReplyPath(ticket.ticket_id), { method: "POST", body: { text, close } });
    card.input.value = "";
    card.close.checked = false;
    if (close) state.tickets = state.tickets.filter((t) => t.ticket_id !== ticket.ticket_id);
    else Object.assign(ticket, { status: "answered", overdue: false });
    toast(close ? `已回复客户并关闭工单 ${ticket.ticket_id}` : `已回复客户（工单 ${ticket.ticket_id}）`);
  } catch (error) {
    if (error.status === 401) return;
    if (error.code === "window_closed") ticket.window_open = false;
    if (error.status === 404) toast(error.message, true);
    card.error.textContent = error.message;
    card.error.hidden = false;
  } finally {
    card.busy = false;
    if (state.agent) {
      renderTickets();
      refreshTickets();
    }
  }
}

els.ticketsRefresh.addEventListener("click", () => refreshTickets(true));

// ---- supervisor view: every group's queue, agents' load, tickets; every 5 s -----------------

async function refreshSupervisor() {
  if (!isSupervisor() || state.tab !== "supervisor") return;
  const seq = ++state.supervisorSeq;
  try {
    const data = await api("/api/agent/supervisor");
    if (seq !== state.supervisorSeq || state.tab !== "supervisor") return;
    renderSupervisor(data || {});
    els.svError.hidden = true;
    els.svUpdated.textContent = `${formatTime(new Date(now()))} 更新`;
  } catch (error) {
    if (seq !== state.supervisorSeq || error.status === 401) return;
    els.svError.textContent = `刷新失败：${error.message}`;
    els.svError.hidden = false;
  }
}

function cell(tag, className, text) {
  const node = el(tag, className, text);
  if (tag === "th") node.scope = "row";
  return node;
}

function renderSupervisor(data) {
  const groups = data.groups || {};
  const order = Object.keys(GROUPS);
  const names = [...order.filter((g) => g in groups), ...Object.keys(groups).filter((g) => !order.includes(g))];
  els.svGroups.replaceChildren(...names.map((group) => {
    const info = groups[group] || {};
    const waiting = Number(info.waiting) || 0;
    const online = Number(info.agents_online) || 0;
    const longest = typeof info.longest_wait_seconds === "number" ? info.longest_wait_seconds : null;
    const row = el("tr");
    row.dataset.group = group;
    const waitingCell = cell("td", "sv-waiting", String(waiting));
    const longestCell = cell("td", "sv-longest", longest === null ? "—" : formatDuration(longest));
    longestCell.classList.toggle("is-busy", longest !== null && longest >= 120 && longest < 300);
    longestCell.classList.toggle("is-late", longest !== null && longest >= 300);
    const onlineCell = cell("td", "sv-online", String(online));
    onlineCell.classList.toggle("is-late", waiting > 0 && online === 0);
    if (waiting > 0 && online === 0) onlineCell.title = "有客户在等，但没有客服在线";
    const breached = Number(info.breached) || 0;
    const breachedCell = cell("td", "sv-breached", String(breached));
    breachedCell.classList.toggle("is-late", breached > 0);
    row.append(cell("th", "", label(GROUPS, group)), waitingCell, longestCell, onlineCell, breachedCell);
    return row;
  }));

  const agents = Object.entries(data.agents || {}).sort((a, b) => Number(b[1]) - Number(a[1]) || a[0].localeCompare(b[0]));
  if (!agents.length) {
    const row = el("tr");
    const empty = cell("td", "sv-none", "暂无客服接待中");
    empty.colSpan = 2;
    row.append(empty);
    els.svAgents.replaceChildren(row);
  } else {
    els.svAgents.replaceChildren(...agents.map(([agentId, owned]) => {
      const row = el("tr");
      row.dataset.agent = agentId;
      const who = cell("th", "sv-agent", noteAuthor(agentId));
      who.title = agentId;
      row.append(who, cell("td", "sv-owned", String(Number(owned) || 0)));
      return row;
    }));
  }

  const tickets = data.tickets || {};
  const overdue = Number(tickets.overdue) || 0;
  const overdueValue = el("dd", "sv-overdue", String(overdue));
  overdueValue.classList.toggle("is-late", overdue > 0);
  els.svTickets.replaceChildren(el("dt", "", "未处理工单"), el("dd", "sv-open", String(Number(tickets.open) || 0)),
    el("dt", "", "已超时"), overdueValue);
  const targets = data.wait_targets || {};
  els.svTargets.textContent = Object.keys(targets).length ? "等待目标：" + Object.entries(targets).map(
    ([tier, seconds]) => `${label(TIERS, tier)} ${formatDuration(Number(seconds))}`).join(" · ") : "";
}

// ---- live updates: WebSocket with heartbeat, reconnecting by itself --------------------------

function setConnection(text, kind) {
  els.conn.textContent = text;
  els.conn.classList.toggle("is-online", kind === "online");
  els.conn.classList.toggle("is-down", kind === "down");
}

function connectSocket() {
  clearTimeout(state.reconnectTimer);
  if (!state.agent) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/agent/ws`);
  state.socket = socket;
  setConnection("连接中…", "");
  socket.onopen = () => {
    if (state.socket !== socket) return;
    const reconnected = state.attempt > 0;
    state.attempt = 0;
    setConnection("在线", "online");
    heartbeat();
    refreshQueue();
    // Customer messages sent while the line was down did not come over it: reload the open
    // conversation (unless a reply of ours is still in flight or failed, to keep it on screen).
    if (reconnected && state.selected && !state.loading
        && !els.transcript.querySelector(".bubble.is-pending, .bubble.is-failed")) {
      loadConversation(state.selected);
    }
  };
  socket.onmessage = (event) => {
    if (state.socket !== socket) return;
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    onFrame(frame);
  };
  socket.onclose = async (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (!state.agent) return;
    if (event.code === 4401) { sessionEnded(); return; }
    const wait = Math.min(15000, 1000 * 2 ** state.attempt);
    state.attempt += 1;
    setConnection(`连接已断开，${Math.round(wait / 1000)} 秒后重连…`, "down");
    state.reconnectTimer = setTimeout(async () => {
      if (!state.agent || state.socket) return;
      // A refused handshake looks like a dropped line: check the session before retrying.
      try { await api("/api/agent/me"); } catch (error) { if (error.status === 401 || !state.agent) return; }
      if (state.agent && !state.socket) connectSocket();
    }, wait);
  };
}

function heartbeat() {
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "heartbeat" }));
}

function onFrame(frame) {
  if (frame.type === "queue") { refreshQueue(); return; }
  if (frame.type !== "message" || typeof frame.text !== "string") return;
  const handoffId = frame.handoff_id;
  if (handoffId && handoffId === state.selected) {
    if (state.loading) state.buffered.push(frame);
    else appendBubble("customer", frame.text, parseWhen(frame.created_at) || new Date(now()));
    if (document.hidden) { state.unread.set(handoffId, (state.unread.get(handoffId) || 0) + 1); renderMine(); }
    return;
  }
  state.unread.set(handoffId, (state.unread.get(handoffId) || 0) + 1);
  const handoff = state.mine.find((h) => h.handoff_id === handoffId);
  if (handoff) toast(`客户 ${customerLabel(handoff)} 发来新消息`);
  else refreshQueue();
  renderMine();
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden || !state.agent) return;
  if (state.selected) { state.unread.delete(state.selected); renderMine(); }
  refreshQueue();
});

// ---- keyboard ---------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  if (!state.agent || !event.altKey || event.ctrlKey || event.metaKey || els.closeDialog.open
      || els.transferDialog.open) return;
  if (event.code === "KeyN") { event.preventDefault(); claimNext(); return; }
  if (event.code === "KeyK") {
    event.preventDefault();
    if (!els.canned.hidden) closeCanned(true);
    else if (state.selected) openCanned();
    return;
  }
  const digit = /^Digit([1-9])$/.exec(event.code);
  if (digit) {
    const handoff = state.mine[Number(digit[1]) - 1];
    if (handoff) { event.preventDefault(); selectConversation(handoff.handoff_id); }
  }
});

// ---- start: a valid session cookie skips the login form ---------------------------------------

(async () => {
  try {
    const { agent } = await api("/api/agent/me", { expectLogin: true });
    startDesk(agent);
  } catch (error) {
    showLogin(error.status === 401 ? "" : error.message);
  }
})();

// ---- proposing an FAQ entry (to the editors' review queue, /api/kb/proposals) ------------------
// From the open conversation, or the one just closed: prefilled with the customer's last
// question and the agent's last answer, both editable before sending.

const proposeEls = {
  button: $("propose-faq"), last: $("propose-last"), dialog: $("propose-dialog"), form: $("propose-form"),
  question: $("propose-question"), answer: $("propose-answer"), error: $("propose-error"),
  cancel: $("propose-cancel"), confirm: $("propose-confirm"),
};
let proposing = null;   // {handoffId, question, answer} shown in the dialog
let lastClosed = null;  // the same, for the conversation the agent closed last

function proposalDraft(handoffId) {
  const last = (kind) => {
    const texts = [...els.transcript.querySelectorAll(`.bubble--${kind} .bubble__text`)];
    return texts.length ? texts[texts.length - 1].textContent : "";
  };
  return { handoffId, question: last("customer"), answer: last("agent") };
}

function rememberClosed(proposal) {
  lastClosed = proposal;
  proposeEls.last.hidden = false;
}

function openProposal(draft) {
  if (!draft) return;
  proposing = draft;
  proposeEls.question.value = draft.question;
  proposeEls.answer.value = draft.answer;
  proposeEls.error.hidden = true;
  proposeEls.confirm.disabled = false;
  proposeEls.dialog.showModal();
  proposeEls.question.focus();
}

proposeEls.button.addEventListener("click", () => { if (state.selected) openProposal(proposalDraft(state.selected)); });
proposeEls.last.addEventListener("click", () => openProposal(lastClosed));
proposeEls.cancel.addEventListener("click", () => proposeEls.dialog.close());

proposeEls.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = proposeEls.question.value.trim();
  const answer = proposeEls.answer.value.trim();
  if (!question || !answer) {
    proposeEls.error.textContent = "请填写客户的问题和您的回答";
    proposeEls.error.hidden = false;
    return;
  }
  proposeEls.confirm.disabled = true;
  try {
    await api("/api/kb/proposals", { method: "POST", body: { handoff_id: proposing.handoffId, question, answer } });
    proposeEls.dialog.close();
    if (lastClosed && proposing.handoffId === lastClosed.handoffId) {
      lastClosed = null;
      proposeEls.last.hidden = true;
    }
    toast("已提交给内容编辑审核");
  } catch (error) {
    proposeEls.error.textContent = error.message;
    proposeEls.error.hidden = false;
    proposeEls.confirm.disabled = false;
  }
});
