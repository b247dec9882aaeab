// Web chat of the app channel. Talks to /api/app (WebSocket first, REST as fallback).
// Each message gets a client id once; a retry resends the same id, so it is answered only once.
"use strict";

const $ = (id) => document.getElementById(id);
const els = {
  messages: $("messages"), form: $("composer"), input: $("input"), send: $("send"),
  status: $("status"), demo: $("demo-login"), customer: $("demo-customer"),
  hints: $("demo-orders"), orderList: $("demo-order-list"),
};
const state = { token: null, customer: null, socket: null, pending: new Map() };

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

function setStatus(text, online) {
  els.status.textContent = text;
  els.status.classList.toggle("is-online", Boolean(online));
}

function addBubble(kind, text) {
  const li = document.createElement("li");
  li.className = `msg msg--${kind}`;
  li.textContent = text;
  els.messages.appendChild(li);
  els.messages.scrollTop = els.messages.scrollHeight;
  return li;
}

function addReply(reply) {
  const li = addBubble("bot", reply.text || "");
  if (reply.buttons && reply.buttons.length) {
    const box = document.createElement("div");
    box.className = "msg__buttons";
    for (const button of reply.buttons) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = button.title;
      b.addEventListener("click", () => send(button.payload, button.title));
      box.appendChild(b);
    }
    li.appendChild(box);
  }
}

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (body.error && body.error.message) || "网络异常，请稍后重试";
    throw Object.assign(new Error(message), { status: response.status });
  }
  return body;
}

function outboxKey() { return `xs_outbox_${state.customer || "app"}`; }

function remember(frame) {
  if (frame.outbox_id) sessionStorage.setItem(outboxKey(), frame.outbox_id);
}

// A reply frame either answers a message we are waiting on, or arrived while we were away
// (the outbox): then it is shown as it is.
function receive(frame) {
  remember(frame);
  const waiter = state.pending.get(frame.client_message_id);
  if (waiter) {
    state.pending.delete(frame.client_message_id);
    frame.type === "replies" ? waiter.resolve(frame) : waiter.reject(new Error(frame.error.message));
  } else if (frame.type === "replies") {
    frame.replies.forEach(addReply);
  }
}

function connectSocket(attempt = 0) {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); }
  if (!state.token) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const since = sessionStorage.getItem(outboxKey());
  const query = `token=${encodeURIComponent(state.token)}` + (since ? `&since=${encodeURIComponent(since)}` : "");
  const socket = new WebSocket(`${scheme}://${location.host}/api/app/ws?${query}`);
  socket.onopen = () => { attempt = 0; setStatus("在线 · 通常几秒内回复", true); };
  socket.onclose = () => {
    if (state.socket !== socket) return;
    state.socket = null;
    // Reconnect by itself, backing off; meanwhile messages go over plain HTTP.
    const wait = Math.min(15000, 1000 * 2 ** attempt);
    setStatus(`连接已断开，${Math.round(wait / 1000)} 秒后重连…`);
    setTimeout(() => { if (!state.socket) connectSocket(attempt + 1); }, wait);
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  state.socket = socket;
}

function waitFor(id) {
  return new Promise((resolve, reject) => state.pending.set(id, { resolve, reject }));
}

// Replies that were not ready within the server's wait come through the outbox: the socket
// forwards them; without a socket we ask for them.
async function pollOutbox(id) {
  for (let i = 0; i < 30 && state.pending.has(id); i++) {
    await new Promise((r) => setTimeout(r, 2000));
    if (state.socket) return;
    const since = sessionStorage.getItem(outboxKey()) || "0-0";
    const frames = await api(`/api/app/outbox?since=${encodeURIComponent(since)}`).catch(() => []);
    frames.forEach(receive);
  }
}

async function deliver(id, text) {
  const answer = waitFor(id);
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "message", client_message_id: id, text }));
    return answer;
  }
  try {
    const reply = await api("/api/app/messages", { method: "POST", body: JSON.stringify({ client_message_id: id, text }) });
    if (!reply.pending) { state.pending.delete(id); return reply; }
    pollOutbox(id);
    return answer;
  } catch (error) {
    state.pending.delete(id);
    throw error;
  }
}

async function send(text, shown, id = newId(), bubble = null) {
  if (!state.token) { addBubble("system", "请先选择演示身份或登录后再咨询"); return; }
  const mine = bubble || addBubble("me", shown || text);
  mine.classList.remove("msg--failed");
  const typing = addBubble("system", "小售正在输入…");
  typing.classList.add("typing");
  try {
    const answer = await deliver(id, text);
    typing.remove();
    answer.replies.forEach(addReply);
    if (!answer.replies.length) addBubble("system", "（小售没有回复，请换个说法试试）");
  } catch (error) {
    typing.remove();
    mine.classList.add("msg--failed");
    const retry = document.createElement("button");
    retry.className = "msg__retry";
    retry.type = "button";
    retry.textContent = "重试";
    retry.addEventListener("click", () => { retry.remove(); note.remove(); send(text, shown, id, mine); });
    const note = addBubble("system", `发送失败：${error.message}`);
    mine.appendChild(retry);
  }
}

async function loadHistory() {
  els.messages.replaceChildren();
  const history = await api("/api/app/messages").catch(() => []);
  for (const item of history) {
    item.direction === "in" ? addBubble("me", item.text) : addReply(item);
  }
  if (!history.length) addBubble("system", "您好，这里是小售售后客服，请问有什么可以帮您？");
}

async function useCustomer(customerId) {
  const session = await api("/api/app/demo/session", { method: "POST", body: JSON.stringify({ customer_id: customerId }) });
  state.token = session.token;
  state.customer = customerId;
  localStorage.setItem("xs_demo_customer", customerId);
  els.orderList.replaceChildren();
  for (const order of session.orders) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `${order.id} · ${order.status_label}`;
    b.title = order.summary;
    b.addEventListener("click", () => { els.input.value = `我的订单 ${order.id} 到哪了`; els.input.focus(); });
    els.orderList.appendChild(b);
  }
  els.hints.hidden = !session.orders.length;
  await loadHistory();
  connectSocket();
}

async function setUpDemoLogin() {
  let customers;
  try { customers = await api("/api/app/demo/customers"); } catch { return false; }
  for (const customer of customers) {
    const option = document.createElement("option");
    option.value = customer.id;
    option.textContent = `${customer.display_name}（${customer.tier_label}）`;
    els.customer.appendChild(option);
  }
  els.demo.hidden = false;
  els.customer.value = localStorage.getItem("xs_demo_customer") || customers[0].id;
  els.customer.addEventListener("change", () => useCustomer(els.customer.value));
  await useCustomer(els.customer.value);
  return true;
}

els.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = els.input.value.trim();
  if (!text) return;
  els.input.value = "";
  send(text);
});
els.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    els.form.requestSubmit();
  }
});

(async () => {
  // The shop's app passes its customer token in the URL fragment (never sent to servers' logs).
  const fromApp = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromApp) { state.token = fromApp; await loadHistory(); connectSocket(); return; }
  if (!(await setUpDemoLogin())) setStatus("请从商城 App 内打开客服");
})();
