// Supervisors' dashboard: fetches /api/dashboard/summary and draws it with plain SVG.
// Every value from the server goes on the page through textContent or an attribute, never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const CHANNELS = [["app", "App/网页", "#2f6bd8"], ["wechat", "微信公众号", "#1f9d60"],
                  ["telegram", "Telegram", "#8e5bd8"]];
const $ = (id) => document.getElementById(id);

// --- formatting ------------------------------------------------------------------------------
function pct(rate) { return rate === null || rate === undefined ? "—" : (rate * 100).toFixed(1) + "%"; }
function num(value) { return value === null || value === undefined ? "—" : String(value); }
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return seconds + " 秒";
  if (seconds < 3600) return Math.floor(seconds / 60) + " 分 " + (seconds % 60) + " 秒";
  return Math.floor(seconds / 3600) + " 小时 " + Math.floor((seconds % 3600) / 60) + " 分";
}

// --- tiny DOM and SVG helpers ----------------------------------------------------------------
function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}
function tip(node, text) { node.appendChild(svgEl("title", {}, text)); return node; }
function place(id, ...nodes) { $(id).replaceChildren(...nodes); }
function empty(id, text) { place(id, el("p", { class: "empty" }, text || "所选范围内没有数据")); }

// Horizontal bars: one row per item, label left, value right. items: [{label, value, text}]
function barChart(id, items, color) {
  if (!items.length) return empty(id);
  const width = 560, row = 24, labelWidth = 170, valueWidth = 200;
  const max = Math.max(...items.map((item) => item.value), 1);
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${items.length * row + 4}`, role: "img" });
  items.forEach((item, i) => {
    const y = i * row + 2, barWidth = ((width - labelWidth - valueWidth) * item.value) / max;
    svg.appendChild(svgEl("text", { x: 0, y: y + 15, class: "label" }, item.label));
    svg.appendChild(tip(svgEl("rect", { x: labelWidth, y: y + 3, width: Math.max(barWidth, 1),
      height: row - 8, rx: 3, fill: color || "#2f6bd8", "data-label": item.label,
      "data-value": item.value }), `${item.label}: ${item.text || item.value}`));
    svg.appendChild(svgEl("text", { x: labelWidth + barWidth + 6, y: y + 15, class: "value" },
                          item.text || String(item.value)));
  });
  place(id, svg);
}

// Columns per day, stacked by series. days: [{day, parts: [{value, color, name}]}]
function stackedColumns(id, days, legend) {
  const width = 1100, height = 200, top = 16, bottom = 24, left = 30;
  const totals = days.map((d) => d.parts.reduce((sum, part) => sum + part.value, 0));
  const max = Math.max(...totals, 1), step = (width - left) / days.length;
  const scale = (height - top - bottom) / max;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.appendChild(svgEl("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, class: "axis" }));
  days.forEach((d, i) => {
    const x = left + i * step + step * 0.15, w = step * 0.7;
    let y = height - bottom;
    for (const part of d.parts) {
      const h = part.value * scale;
      y -= h;
      svg.appendChild(tip(svgEl("rect", { x, y, width: w, height: h, fill: part.color,
        "data-day": d.day, "data-series": part.name, "data-value": part.value }),
        `${d.day} ${part.name}: ${part.value}`));
    }
    svg.appendChild(svgEl("text", { x: x + w / 2, y: y - 4, "text-anchor": "middle", class: "total" },
                          String(totals[i])));
    svg.appendChild(svgEl("text", { x: x + w / 2, y: height - 8, "text-anchor": "middle", class: "muted" },
                          d.day.slice(5)));
  });
  const key = el("div", { class: "legend" });
  for (const [name, color] of legend) {
    const item = el("span", {}, name);
    item.prepend(el("i", { style: `background:${color}` }));
    key.appendChild(item);
  }
  place(id, svg, key);
}

// A line over the days; points without a value (null) leave a gap. format: value -> text
function lineChart(id, points, max, format, color) {
  if (!points.some((p) => p.value !== null)) return empty(id);
  const width = 560, height = 180, top = 20, bottom = 24, left = 30, right = 30;
  const step = (width - left - right) / Math.max(points.length - 1, 1);
  const y = (value) => top + (height - top - bottom) * (1 - value / max);
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.appendChild(svgEl("line", { x1: 0, x2: width, y1: height - bottom, y2: height - bottom, class: "axis" }));
  let path = "", pen = false;  // a day without a value lifts the pen
  points.forEach((p, i) => {
    const x = points.length === 1 ? width / 2 : left + i * step;
    svg.appendChild(svgEl("text", { x, y: height - 8, "text-anchor": "middle", class: "muted" }, p.day.slice(5)));
    if (p.value === null) { pen = false; return; }
    path += (pen ? " L" : " M") + `${x} ${y(p.value)}`;
    pen = true;
    svg.appendChild(tip(svgEl("circle", { cx: x, cy: y(p.value), r: 4, fill: color,
      "data-day": p.day, "data-value": p.value }), `${p.day}: ${format(p.value)}`));
    svg.appendChild(svgEl("text", { x, y: y(p.value) - 8, "text-anchor": "middle" }, format(p.value)));
  });
  svg.insertBefore(svgEl("path", { d: path.trim(), fill: "none", stroke: color, "stroke-width": 2 }),
                   svg.children[1]);
  place(id, svg);
}

function table(id, headers, rows) {
  const head = el("tr");
  headers.forEach(([text, cls]) => head.appendChild(el("th", cls ? { class: cls } : {}, text)));
  const body = el("tbody");
  for (const cells of rows) {
    const tr = el("tr");
    for (const [text, cls] of cells) tr.appendChild(el("td", cls ? { class: cls } : {}, text));
    body.appendChild(tr);
  }
  const thead = el("thead");
  thead.appendChild(head);
  const node = el("table");
  node.append(thead, body);
  place(id, node);
}

// --- the board -------------------------------------------------------------------------------
function render(board) {
  $("range-label").textContent = `${board.range.from} 至 ${board.range.to}，${board.range.channel_label}`;
  const t = board.totals;
  $("kpi-conversations").textContent = num(t.conversations);
  $("kpi-containment").textContent = pct(t.containment_rate);
  $("kpi-handoff").textContent = pct(t.handoff_rate);
  $("kpi-fallback").textContent = pct(t.fallback_rate);
  $("kpi-satisfaction").textContent = t.satisfaction_average === null ? "—" : t.satisfaction_average.toFixed(2);

  const shown = CHANNELS.filter(([code]) => board.range.channel === "all" || board.range.channel === code);
  stackedColumns("chart-conversations", board.daily.map((d) => ({
    day: d.day, parts: shown.map(([code, name, color]) => ({ name, color, value: d.by_channel[code] })),
  })), shown.map(([, name, color]) => [name, color]));
  lineChart("chart-containment", board.daily.map((d) => ({ day: d.day, value: d.containment_rate })), 1, pct, "#1f9d60");
  lineChart("chart-fallback", board.daily.map((d) => ({ day: d.day, value: d.fallback_rate })), 1, pct, "#cf4b3c");
  lineChart("chart-satisfaction", board.daily.map((d) => ({ day: d.day, value: d.satisfaction_average })), 5,
            (v) => v.toFixed(2), "#c98a05");
  barChart("chart-reasons", board.handoff_reasons.map((r) => ({
    label: r.label, value: r.count, text: `${r.count}（${pct(r.rate)}）` })), "#cf4b3c");
  table("table-channels", [["渠道"], ["会话", "num"], ["自助解决率", "num"], ["转人工", "num"], ["满意度", "num"]],
        board.channels.map((c) => [[c.label], [num(c.conversations), "num"], [pct(c.containment_rate), "num"],
                                   [num(c.handoffs), "num"],
                                   [c.satisfaction_average === null ? "—" : c.satisfaction_average.toFixed(2), "num"]]));
  renderIntents(board.intents);
  renderWaits(board.waits);
  renderSla(board);
  renderProducts(board.products);
}

function renderIntents(intents) {
  if (!intents.available) {
    empty("chart-intents", "暂无意图数据：Rasa 的事件记录（event broker）尚未写入数据库");
    empty("chart-faq", "暂无 FAQ 数据");
    return;
  }
  barChart("chart-intents", intents.top.map((i) => ({ label: i.label, value: i.count,
    text: `${i.count}（${pct(i.share)}）` })), "#2f6bd8");
  barChart("chart-faq", intents.faq.map((f) => ({ label: f.title, value: f.count })), "#2b7a78");
}

function renderWaits(waits) {
  const items = [];
  for (const row of waits.tiers) {
    for (const key of ["p50_seconds", "p90_seconds"]) {
      if (row[key] === null) continue;
      items.push({ label: `${row.label} ${key.slice(0, 3)}`, value: row[key],
                   text: `${duration(row[key])}（目标 ${duration(row.target_seconds)}）` });
    }
  }
  barChart("chart-waits", items, "#8e5bd8");
}

function renderSla(board) {
  const rows = [];
  const add = (title, list) => {
    for (const r of list) {
      rows.push([[title], [r.label], [num(r.count), "num"], [duration(r.p50_seconds), "num"],
                 [duration(r.p90_seconds), "num"], [duration(r.target_seconds), "num"],
                 [num(r.breaches), r.breaches ? "num late" : "num"],
                 [r.overdue_open === undefined ? "" : num(r.overdue_open), r.overdue_open ? "num late" : "num"]]);
    }
  };
  add("排队等待", board.waits.tiers);
  add("首次响应（在线）", board.first_response.live);
  add("首次响应（工单）", board.first_response.tickets);
  add("解决时长（在线）", board.resolution);
  table("table-sla", [["指标"], ["客户等级"], ["数量", "num"], ["p50", "num"], ["p90", "num"],
                      ["目标", "num"], ["超时", "num"], ["逾期未回复", "num"]], rows);
}

function renderProducts(products) {
  if (!products.available) {
    empty("chart-skus", products.message);
    empty("chart-return-reasons", products.message);
    return;
  }
  barChart("chart-skus", products.skus.map((p) => ({
    label: `${p.sku} ${p.name}`, value: p.returns + p.exchanges + p.quality_cases,
    text: `退货 ${p.returns} · 换货 ${p.exchanges} · 质量 ${p.quality_cases}` })), "#c98a05");
  barChart("chart-return-reasons", products.reasons.map((r) => ({ label: r.reason, value: r.count })), "#c98a05");
}

// --- loading -----------------------------------------------------------------------------------
function query() {
  const params = new URLSearchParams();
  if ($("from").value) params.set("from", $("from").value);
  if ($("to").value) params.set("to", $("to").value);
  params.set("channel", $("channel").value);
  return params;
}

function status(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

async function load(params) {
  status("加载中…");
  let answer;
  try {
    answer = await fetch("/api/dashboard/summary?" + params, { credentials: "same-origin" });
  } catch (error) {
    return status("无法连接服务，请稍后重试");
  }
  if (answer.status === 401) {
    $("board").hidden = true;
    status("请先登录：在客服工作台（/console）用主管账号登录后再打开本页");
    return;
  }
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) return status((body.error && body.error.message) || "加载失败，请稍后重试");
  $("from").value = body.range.from;
  $("to").value = body.range.to;
  $("channel").value = body.range.channel;
  $("export").href = "/api/dashboard/export.csv?" + query();
  render(body);
  $("board").hidden = false;
  status("");
  document.body.dataset.loaded = `${body.range.from}_${body.range.to}_${body.range.channel}`;
}

$("filter").addEventListener("submit", (event) => {
  event.preventDefault();
  load(query());
});
load(new URLSearchParams(location.search));
