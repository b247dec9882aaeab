// FAQ editor page: list/search entries, edit them in a form, preview a question against the
// model, run the regression check before a question change is saved, work the agents'
// proposals and the not-understood backlog. Everything from the server goes on the page through
// textContent (never innerHTML): questions and answers are typed by people.
"use strict";

const $ = (id) => document.getElementById(id);
const form = $("entry-form");
const VERDICTS = { fixed: "改对了", broken: "改错了", changed: "答案会变", new_text: "将用新答案" };
const SOURCES = { heldout: "测试集", customer: "真实客户", entry: "问法" };
const state = { entries: [], current: null, proposalId: null, pendingSave: null };

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function status(text, isError) {
  $("status").hidden = !text;
  $("status").textContent = text || "";
  $("status").classList.toggle("status--error", Boolean(isError));
}

class ApiFailure extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `请求失败（${status}）`);
    this.status = status;
    this.problems = (body && body.error && body.error.problems) || [];
  }
}

async function api(path, { method = "GET", body } = {}) {
  let response;
  try {
    response = await fetch(path, { method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined });
  } catch (error) {
    throw new ApiFailure(0, { error: { message: "连不上服务器，请检查网络后重试" } });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) showLogin();
  if (!response.ok) throw new ApiFailure(response.status, data);
  return data;
}

// --- login -------------------------------------------------------------------------------------
function showLogin(message) {
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("who").textContent = "";
  if (message) status(message, true);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").hidden = true;
  try {
    await api("/api/agent/login", { method: "POST",
      body: { username: $("login-user").value, password: $("login-password").value } });
    await start();
  } catch (error) {
    $("login-error").textContent = error.message;
    $("login-error").hidden = false;
  }
});

$("logout").addEventListener("click", async () => {
  await api("/api/kb/logout", { method: "POST" }).catch(() => {});
  showLogin("已退出");
});

async function start() {
  let me;
  try {
    me = (await api("/api/kb/me")).agent;
  } catch (error) {
    if (error.status !== 401) status(error.message, true);
    return;
  }
  $("who").textContent = `${me.name}（${me.role}）`;
  $("logout").hidden = false;
  $("login").hidden = true;
  if (me.role !== "editor") {
    status("只有内容编辑可以管理知识库。请用编辑账号登录。", true);
    return;
  }
  status("");
  $("app").hidden = false;
  await Promise.all([loadEntries(), loadProposals()]);
  document.body.dataset.ready = "1";
}

// --- tabs --------------------------------------------------------------------------------------
document.querySelector(".tabs").addEventListener("click", (event) => {
  const tab = event.target.closest("[data-tab]");
  if (!tab) return;
  for (const button of document.querySelectorAll("[data-tab]")) {
    const on = button === tab;
    button.setAttribute("aria-selected", String(on));
    $(`tab-${button.dataset.tab}`).hidden = !on;
  }
  const loaders = { proposals: loadProposals, backlog: loadBacklog, audit: loadAudit };
  if (loaders[tab.dataset.tab]) loaders[tab.dataset.tab]();
});

// --- the list ----------------------------------------------------------------------------------
async function loadEntries() {
  const q = encodeURIComponent($("q").value.trim());
  const retired = $("show-retired").checked ? "true" : "false";
  try {
    const data = await api(`/api/kb/entries?q=${q}&retired=${retired}`);
    state.entries = data.entries;
    $("files").replaceChildren(...data.files.map((name) => el("option", { value: name })));
    renderList();
  } catch (error) {
    status(error.message, true);
  }
}

function renderList() {
  const items = state.entries.map((entry) => {
    const button = el("button", { type: "button", "data-id": entry.id });
    button.append(el("strong", {}, entry.title), el("small", {}, ` ${entry.id} · ${entry.question_count} 问`));
    button.addEventListener("click", () => openEntry(entry.id));
    const item = el("li", entry.retired ? { class: "retired" } : {});
    item.append(button);
    return item;
  });
  if (!items.length) items.push(el("li", { class: "empty" }, "没有符合的条目"));
  $("entry-list").replaceChildren(...items);
}

let searchTimer = null;
$("q").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(loadEntries, 250); });
$("search").addEventListener("submit", (event) => { event.preventDefault(); loadEntries(); });
$("show-retired").addEventListener("change", loadEntries);

function titleOf(id) {
  if (!id) return "（不走 FAQ）";
  const entry = state.entries.find((e) => e.id === id);
  return entry ? `${entry.title}（${id}）` : id;
}

// --- the form ----------------------------------------------------------------------------------
async function openEntry(id) {
  try {
    const data = await api(`/api/kb/entries/${encodeURIComponent(id)}`);
    fillForm(data.entry, data);
  } catch (error) {
    status(error.message, true);
  }
}

function fillForm(entry, meta) {
  state.current = meta;
  form.hidden = false;
  $("regression").hidden = true;
  $("problems").replaceChildren();
  const variants = entry.answers_by_channel || {};
  const values = { id: entry.id, file: meta ? meta.file : "", title: entry.title,
    skill_group: entry.skill_group || "general", tags: (entry.tags || []).join("，"),
    owner: entry.owner, questions: (entry.questions || []).join("\n"), answer: entry.answer,
    wechat: variants.wechat, app: variants.app, telegram: variants.telegram,
    valid_from: entry.valid_from, valid_to: entry.valid_to, inactive_answer: entry.inactive_answer };
  for (const [name, value] of Object.entries(values)) form.elements[name].value = value || "";
  form.elements.id.readOnly = Boolean(meta);
  form.elements.file.readOnly = Boolean(meta);
  $("form-title").textContent = meta ? `编辑：${entry.title}` : "新建条目";
  $("form-state").textContent = meta
    ? `文件 ${meta.file}.yml · 最近更新 ${meta.updated_at || "—"}${meta.retired ? " · 已下线" : ""}` : "";
  $("retire").hidden = !meta || meta.retired;
  $("restore").hidden = !meta || !meta.retired;
  $("save").hidden = Boolean(meta && meta.retired);
}

$("new-entry").addEventListener("click", () => newEntry({}));

function newEntry(prefill) {
  state.proposalId = prefill.proposalId || null;
  fillForm({ skill_group: "general", ...prefill }, null);
  form.elements.id.focus();
}

function formEntry() {
  const value = (name) => form.elements[name].value;
  const variants = {};
  for (const channel of ["wechat", "app", "telegram"]) if (value(channel).trim()) variants[channel] = value(channel);
  const entry = { id: value("id").trim(), title: value("title"), skill_group: value("skill_group"),
    tags: value("tags").split(/[,，、]/).map((t) => t.trim()).filter(Boolean), owner: value("owner"),
    questions: value("questions").split("\n").map((q) => q.trim()).filter(Boolean),
    answer: value("answer"), answers_by_channel: variants };
  for (const name of ["valid_from", "valid_to", "inactive_answer"]) if (value(name).trim()) entry[name] = value(name);
  return entry;
}

const FIELD_NAMES = { id: "id", title: "标题", skill_group: "技能组", tags: "标签", owner: "负责人",
  questions: "问法", answer: "答案", answers_by_channel: "渠道短版本", valid_from: "生效开始",
  valid_to: "生效结束", inactive_answer: "有效期外的回答", file: "所属文件" };

function showProblems(error) {
  const problems = error.problems.length ? error.problems : [{ message: error.message }];
  $("problems").replaceChildren(...problems.map((p) => {
    let where = p.field ? FIELD_NAMES[p.field] || p.field : "";
    if (p.field === "questions" && p.index !== null && p.index !== undefined) where += ` 第 ${p.index + 1} 个`;
    return el("li", {}, where ? `${where}：${p.message}` : p.message);
  }));
  status(error.message, true);
}

function questionsChanged(entry) {
  if (!state.current) return true;
  return JSON.stringify(state.current.entry.questions || []) !== JSON.stringify(entry.questions);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const entry = formEntry();
  $("problems").replaceChildren();
  if (questionsChanged(entry)) {
    // A question change moves customers between entries: show who first, save on confirmation.
    state.pendingSave = entry;
    await runRegression(entry, state.current ? "edit" : "create", true);
  } else {
    await save(entry);
  }
});

async function save(entry) {
  const editing = state.current;
  try {
    const saved = editing
      ? await api(`/api/kb/entries/${encodeURIComponent(editing.id)}`, { method: "PUT",
          body: { version: editing.version, entry } })
      : await api("/api/kb/entries", { method: "POST", body: { file: form.elements.file.value.trim(), entry } });
    if (state.proposalId) await decideProposal(state.proposalId, "accepted", saved.id, true);
    state.proposalId = null;
    state.pendingSave = null;
    $("confirm-save").hidden = true;
    $("cancel-save").hidden = true;
    fillForm(saved.entry, saved);
    $("regression").hidden = true;
    const later = questionsChanged(entry) || !editing ? "问法需重新训练（make train）后生效。" : "答案已在机器人上生效。";
    status(`已保存「${saved.title}」。${later}`);
    document.body.dataset.saved = saved.id;
    await loadEntries();
  } catch (error) {
    showProblems(error);
  }
}

$("confirm-save").addEventListener("click", () => { if (state.pendingSave) save(state.pendingSave); });
$("cancel-save").addEventListener("click", () => {
  state.pendingSave = null;
  $("regression").hidden = true;
});
$("check").addEventListener("click", () => runRegression(formEntry(), state.current ? "edit" : "create", false));

async function lifecycle(action) {
  const current = state.current;
  if (!current) return;
  try {
    const saved = await api(`/api/kb/entries/${encodeURIComponent(current.id)}/${action}`,
      { method: "POST", body: { version: current.version } });
    fillForm(saved.entry, saved);
    status(action === "retire" ? `已下线「${saved.title}」，重新训练后从模型中移除。` : `已恢复「${saved.title}」，重新训练后生效。`);
    await loadEntries();
  } catch (error) {
    showProblems(error);
  }
}
$("retire").addEventListener("click", async () => {
  if (!state.current) return;
  state.pendingSave = null;
  await runRegression(null, "retire", false);
  await lifecycle("retire");
});
$("restore").addEventListener("click", () => lifecycle("restore"));

// --- regression --------------------------------------------------------------------------------
async function runRegression(entry, action, confirming) {
  const id = entry ? entry.id : state.current.id;
  const box = $("regression");
  box.hidden = false;
  $("regression-summary").textContent = "正在回放测试集和真实客户问题……";
  $("regression-rows").replaceChildren();
  $("confirm-save").hidden = true;
  $("cancel-save").hidden = true;
  try {
    const result = await api("/api/kb/regression", { method: "POST",
      body: { action, entry_id: id || "new", entry: entry || undefined } });
    renderRegression(result);
    $("confirm-save").hidden = !confirming;
    $("cancel-save").hidden = !confirming;
  } catch (error) {
    box.hidden = true;
    showProblems(error);
  }
}

function percent(value) { return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`; }

function renderRegression(result) {
  const replayed = `回放了 ${result.replayed.heldout} 条测试集问题和 ${result.replayed.customer} 条真实客户问题`;
  const model = result.model_available
    ? `当前模型在测试集上的 FAQ 准确率 ${percent(result.heldout_model_top1)}`
    : result.model_error || "模型暂时无法访问";
  const estimate = `估计器准确率 ${percent(result.estimate_top1.before)} → ${percent(result.estimate_top1.after)}`;
  $("regression-summary").textContent = `${replayed}；${model}；${estimate}。共 ${result.changes.length} 条会换答案。`;
  const rows = result.changes.map((row) => {
    const tr = el("tr", { class: `verdict--${row.verdict}` });
    const now = row.now_confidence === null ? titleOf(row.now) : `${titleOf(row.now)} ${percent(row.now_confidence)}`;
    tr.append(el("td", {}, row.text), el("td", {}, SOURCES[row.source] || row.source),
      el("td", {}, row.expected ? titleOf(row.expected) : "—"), el("td", {}, now),
      el("td", {}, titleOf(row.after)), el("td", {}, VERDICTS[row.verdict] || row.verdict));
    return tr;
  });
  if (!rows.length) rows.push(el("tr", {}, null));
  if (!result.changes.length) rows[0].append(el("td", { colspan: "6", class: "empty" }, "没有问题会换答案"));
  $("regression-rows").replaceChildren(...rows);
  const pairs = result.confusable.new;
  $("confusable").textContent = pairs.length
    ? "注意：修改后这些条目的问法容易混淆（超过 10%）：" + pairs.map((p) => `${titleOf(p.a)} ↔ ${titleOf(p.b)} ${percent(p.rate)}`).join("；")
    : "";
}

// --- preview -----------------------------------------------------------------------------------
$("preview-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("preview-text").value.trim();
  if (!text) return;
  const box = $("preview-result");
  box.replaceChildren(el("p", {}, "正在查询……"));
  try {
    const body = { text };
    if (!form.hidden && form.elements.id.value.trim()) body.entry = formEntry();
    renderPreview(await api("/api/kb/preview", { method: "POST", body }));
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, error.message));
  }
});

function renderPreview(result) {
  const lines = [];
  const model = result.model;
  if (model) {
    const intent = model.intent === "faq" ? "" : `（模型判为「${model.intent}」意图 ${percent(model.intent_confidence)}，不走 FAQ）`;
    lines.push(el("p", { id: "preview-model" },
      `当前模型：${titleOf(model.entry_id)}，置信度 ${percent(model.confidence)}${intent}`));
    lines.push(el("p", { id: "preview-runner-up" },
      `第二候选：${model.runner_up ? `${titleOf(model.runner_up)}，置信度 ${percent(model.runner_up_confidence)}` : "无"}`));
  } else {
    lines.push(el("p", { class: "error" }, result.model_error));
  }
  const estimate = result.estimate_with_draft || result.estimate;
  const first = estimate[0], second = estimate[1];
  const label = result.estimate_with_draft ? "按当前表单估计（重新训练后以模型为准）" : "估计";
  lines.push(el("p", { id: "preview-estimate" }, `${label}：${first ? titleOf(first.entry_id) : "无"}` +
    (first ? ` 相似度 ${percent(first.score)}` : "") + (second ? `；第二：${titleOf(second.entry_id)} ${percent(second.score)}` : "")));
  $("preview-result").replaceChildren(...lines);
}

// --- proposals, backlog, audit -----------------------------------------------------------------
async function loadProposals() {
  try {
    const { proposals } = await api("/api/kb/proposals");
    $("proposal-count").textContent = proposals.length ? `(${proposals.length})` : "";
    const items = proposals.map(proposalCard);
    if (!items.length) items.push(el("li", { class: "empty" }, "没有待审的提议"));
    $("proposal-list").replaceChildren(...items);
  } catch (error) {
    status(error.message, true);
  }
}

function proposalCard(p) {
  const item = el("li", { class: "card" });
  const accept = el("button", { class: "btn btn--primary", type: "button" }, "采纳为新条目");
  const reject = el("button", { class: "btn", type: "button" }, "驳回");
  accept.addEventListener("click", () => {
    document.querySelector("[data-tab=entries]").click();
    newEntry({ questions: [p.question], answer: p.answer, proposalId: p.id, owner: "" });
  });
  reject.addEventListener("click", () => decideProposal(p.id, "rejected", ""));
  item.append(el("p", {}, `客户问：${p.question}`), el("p", {}, `客服答：${p.answer}`),
    el("small", {}, `${p.proposed_by} · ${new Date(p.created_at).toLocaleString("zh-CN")}`), accept, reject);
  return item;
}

async function decideProposal(id, decision, entryId, quiet) {
  try {
    await api(`/api/kb/proposals/${encodeURIComponent(id)}/decision`, { method: "POST",
      body: { status: decision, entry_id: entryId || "" } });
    if (!quiet) status(decision === "rejected" ? "已驳回" : "已采纳");
  } catch (error) {
    status(error.message, true);
  }
  await loadProposals();
}

async function loadBacklog() {
  try {
    const { groups } = await api("/api/kb/backlog");
    const items = groups.map((g) => {
      const item = el("li", { class: "card" });
      const write = el("button", { class: "btn", type: "button" }, "据此写新条目");
      write.addEventListener("click", () => {
        document.querySelector("[data-tab=entries]").click();
        newEntry({ questions: g.examples });
      });
      item.append(el("p", {}, `${g.question}（${g.count} 次）`),
        el("small", {}, `同类说法：${g.examples.join(" / ")}`),
        el("small", {}, `最接近的条目：${g.closest_entry ? `${titleOf(g.closest_entry)} ${percent(g.closest_score)}` : "无"}`),
        write);
      return item;
    });
    if (!items.length) items.push(el("li", { class: "empty" }, "近 30 天没有“没听懂”转人工的问题"));
    $("backlog-list").replaceChildren(...items);
  } catch (error) {
    status(error.message, true);
  }
}

async function loadAudit() {
  try {
    const records = await api("/api/kb/audit");
    const actions = { create: "新建", edit: "修改", retire: "下线", restore: "恢复" };
    const items = records.map((r) => el("li", { class: "card" },
      `${new Date(r.at).toLocaleString("zh-CN")} · ${r.who.name || r.who.username} · ${actions[r.action] || r.action} ` +
      `${r.entry_id}（${r.file}）${Object.keys(r.changes || {}).length ? " · 改了：" + Object.keys(r.changes).join("、") : ""}`));
    if (!items.length) items.push(el("li", { class: "empty" }, "还没有修改记录"));
    $("audit-list").replaceChildren(...items);
  } catch (error) {
    status(error.message, true);
  }
}

start();
