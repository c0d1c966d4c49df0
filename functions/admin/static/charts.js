// Revenue: the period's totals and an SVG bar chart per day, with the same figures as a table.

import { api, errorMessage } from "./api.js";
import { cell, el, setMessage } from "./dom.js";
import { compactJson, money, percent } from "./format.js";
import { t } from "./i18n.js";
import { $, state } from "./state.js";

export async function loadStats() {
  const form = new FormData($("stats-form"));
  const params = { from: String(form.get("from") ?? ""), to: String(form.get("to") ?? "") };
  if (params.from && params.to && params.from > params.to) {
    setMessage("stats-message", { kind: "error", key: "filter.badRange" });
    return;
  }
  setMessage("stats-message", { kind: "info", key: "loading" });
  try {
    state.stats = await api("/stats", { params });
    setMessage("stats-message", null);
  } catch (error) {
    setMessage("stats-message", errorMessage(error));
  }
  renderStats();
}

function pendingText(pending) {
  if (pending === null || pending === undefined) return t("none");
  if (typeof pending === "number") return String(pending);
  if (typeof pending === "object" && "orders" in pending) {
    return "amount_fen" in pending ? `${pending.orders} (${money(pending.amount_fen)})` : String(pending.orders);
  }
  return compactJson(pending);
}

export function renderStats() {
  const stats = state.stats;
  const totals = $("totals");
  const chart = $("chart");
  if (!stats) {
    totals.replaceChildren();
    chart.replaceChildren();
    return;
  }
  const sums = stats.totals ?? {};
  const figures = [
    ["orders", sums.orders_created],
    ["paid", sums.orders_paid],
    ["conversion", percent(sums.conversion)],
    ["pending", pendingText(stats.pending)],
    ["revenue", money(sums.revenue_fen)],
    ["refunded", money(sums.refunded_fen)],
  ];
  totals.replaceChildren(
    ...figures.map(([key, value]) =>
      el("div", { class: "figure", dataset: { total: key } }, el("dt", {}, t(`totals.${key}`)), el("dd", {}, value ?? t("none"))),
    ),
  );
  const days = stats.days ?? [];
  const form = $("stats-form");
  form.elements.from.value ||= stats.from ?? days[0]?.date ?? "";
  form.elements.to.value ||= stats.to ?? days[days.length - 1]?.date ?? "";
  chart.replaceChildren(revenueChart(days), daysTable(days));
}

function niceCeiling(value) {
  if (value <= 0) return 100;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value) ?? 10;
  return step * magnitude;
}

function revenueChart(days) {
  const width = 860;
  const height = 280;
  const margin = { top: 16, right: 12, bottom: 34, left: 84 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const highest = Math.max(0, ...days.map((d) => d.revenue_fen ?? 0));
  const top = niceCeiling(highest);
  const slot = plotW / Math.max(days.length, 1);
  const barW = Math.max(1, Math.min(40, slot * 0.72));
  const y = (fen) => margin.top + plotH - (fen / top) * plotH;
  const svg = el("svg:svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "bars",
    role: "img",
    "aria-labelledby": "chart-title",
    preserveAspectRatio: "xMidYMid meet",
  });
  const first = days[0]?.date ?? "";
  const last = days[days.length - 1]?.date ?? "";
  svg.append(el("svg:title", { id: "chart-title" }, highest ? t("revenue.chartLabel", { from: first, to: last, max: money(highest) }) : t("revenue.empty")));
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const at = y(top * fraction);
    svg.append(
      el("svg:line", { x1: margin.left, x2: width - margin.right, y1: at, y2: at, class: fraction ? "grid" : "axis" }),
      el("svg:text", { x: margin.left - 8, y: at + 4, class: "tick", "text-anchor": "end" }, money(top * fraction)),
    );
  }
  const every = Math.max(1, Math.ceil(days.length / 10));
  days.forEach((day, index) => {
    const x = margin.left + index * slot + (slot - barW) / 2;
    const fen = day.revenue_fen ?? 0;
    const bar = el("svg:rect", { x, y: y(fen), width: barW, height: Math.max(0, margin.top + plotH - y(fen)), class: "bar", dataset: { date: day.date, revenue: fen } });
    bar.append(el("svg:title", {}, `${day.date}: ${money(fen)} · ${t("totals.payments")} ${day.payments ?? 0} · ${t("totals.refunded")} ${money(day.refunded_fen ?? 0)}`));
    svg.append(bar);
    if (index % every === 0 || index === days.length - 1) {
      svg.append(el("svg:text", { x: x + barW / 2, y: height - 12, class: "tick", "text-anchor": "middle" }, day.date.slice(5)));
    }
  });
  if (!highest) svg.append(el("svg:text", { x: margin.left + plotW / 2, y: margin.top + plotH / 2, class: "empty-note", "text-anchor": "middle" }, t("revenue.empty")));
  return svg;
}

function daysTable(days) {
  const columns = [
    ["col.day", (d) => d.date],
    ["totals.orders", (d) => d.orders_created],
    ["totals.paid", (d) => d.orders_paid],
    ["totals.payments", (d) => d.payments],
    ["totals.revenue", (d) => money(d.revenue_fen)],
    ["totals.refunded", (d) => money(d.refunded_fen)],
  ];
  return el(
    "details",
    { class: "as-table" },
    el("summary", {}, t("revenue.asTable")),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "data compact" },
        el("thead", {}, el("tr", {}, columns.map(([k], i) => el("th", { scope: "col", class: i ? "num" : null }, t(k))))),
        el("tbody", {}, days.map((d) => el("tr", {}, columns.map(([, value], i) => cell(value(d) ?? t("none"), { class: i ? "num" : null }))))),
      ),
    ),
  );
}
