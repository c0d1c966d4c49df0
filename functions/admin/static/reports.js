// Reconciliation reports (our books against WeChat Pay's trade bill) and the anomalies they and the gateway record.

import { api, errorMessage } from "./api.js";
import { jumpToOrder } from "./detail.js";
import { badge, cell, code, el, setMessage, timeEl } from "./dom.js";
import { compactJson, money } from "./format.js";
import { known, label, t } from "./i18n.js";
import { $, state } from "./state.js";

// Reports and anomalies are each one list, newest first: the same path, state field, message and "none" text.
async function loadList(name, limit, render) {
  const message = `${name}-message`;
  setMessage(message, { kind: "info", key: "loading" });
  try {
    state[name] = (await api(`/${name}`, { params: { limit } }))[name] ?? [];
    setMessage(message, state[name].length ? null : { kind: "info", key: `${name}.none` });
  } catch (error) {
    setMessage(message, errorMessage(error));
  }
  render();
}

export function loadReports() {
  return loadList("reports", 60, renderReports);
}

function summaryNodes(summary) {
  if (summary === null || summary === undefined) return [t("none")];
  if (typeof summary !== "object") return [String(summary)];
  const nodes = [];
  if (summary.status) nodes.push(badge("reportStatus", summary.status), " ");
  for (const [key, value] of Object.entries(summary)) {
    if (key === "status" || (key === "totals" && typeof value === "object")) continue; // totals: in the details
    const name = known(`report.${key}`) ? t(`report.${key}`) : label("finding", key);
    const shown = typeof value === "number" && /_fen$/.test(key) ? money(value) : compactJson(value);
    nodes.push(el("span", { class: "pair" }, `${name}: ${shown}`), " ");
  }
  return nodes;
}

export function renderReports() {
  const body = $("reports-body");
  body.replaceChildren(
    ...(state.reports ?? []).map((report) =>
      el(
        "tr",
        { dataset: { date: report.date } },
        cell(report.date),
        cell(timeEl(report.at)),
        cell(summaryNodes(report.summary)),
        cell(el("button", { type: "button", "aria-label": t("reports.detailsOf", { date: report.date }), onclick: () => openReport(report.date) }, t("reports.details"))),
      ),
    ),
  );
  renderReport();
}

async function openReport(date) {
  state.report = { date, loading: true };
  renderReport();
  $("report").focus();
  try {
    state.report = { date, body: await api(`/reports/${encodeURIComponent(date)}`) };
  } catch (error) {
    state.report = { date, error: errorMessage(error) };
  }
  renderReport();
}

const FINDING_ORDER = ["kind", "id", "order_id", "amount_fen", "ours", "theirs", "ours_fen", "theirs_fen"];

function findingsTable(items) {
  if (!items?.length) return el("p", { class: "hint" }, t("report.nothing"));
  const rank = (key) => (FINDING_ORDER.includes(key) ? FINDING_ORDER.indexOf(key) : FINDING_ORDER.length);
  const keys = [...new Set(items.flatMap((item) => Object.keys(item)))].sort((a, b) => rank(a) - rank(b));
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "data compact" },
      el("thead", {}, el("tr", {}, keys.map((k) => el("th", { scope: "col" }, label("finding", k))))),
      el("tbody", {}, items.map((item) => el("tr", {}, keys.map((k) => cell(findingValue(k, item[k], item)))))),
    ),
  );
}

function findingValue(key, value, item) {
  if (value === undefined || value === null) return t("none");
  if (key === "kind") return label("findingKind", value);
  const orderId = key === "order_id" || (key === "id" && item.kind === "payment");
  if (orderId && typeof value === "string") {
    return el("button", { type: "button", class: "link mono", onclick: () => jumpToOrder(value) }, value);
  }
  if (typeof value === "number" && /_fen$/.test(key)) return money(value);
  if (typeof value === "number" && /_at$/.test(key)) return timeEl(value);
  return compactJson(value);
}

function renderReport() {
  const panel = $("report");
  const report = state.report;
  panel.hidden = !report;
  if (!report) return panel.replaceChildren();
  const parts = [
    el(
      "div",
      { class: "detail-head" },
      el("h3", { id: "report-title" }, t("report.title", { date: report.date })),
      report.body?.status ? badge("reportStatus", report.body.status) : null,
      el("span", { class: "spacer" }),
      el("button", { type: "button", onclick: () => { state.report = null; renderReport(); } }, t("close")),
    ),
  ];
  if (report.loading) parts.push(el("p", { class: "hint" }, t("loading")));
  else if (report.error) parts.push(el("p", { class: "message error" }, report.error.text ?? t(report.error.key, report.error.vars)));
  else {
    const body = report.body ?? {};
    for (const kind of ["missing_here", "missing_there", "amount_mismatch", "state_mismatch"]) {
      parts.push(el("h4", {}, t(`report.${kind}`), ` (${body[kind]?.length ?? 0})`), findingsTable(body[kind]));
    }
    if (body.totals) {
      const sides = ["ours", "theirs"].map((side) =>
        el("div", {}, el("dt", {}, t(`report.${side}`)), el("dd", {}, summaryNodes(body.totals[side]))),
      );
      parts.push(el("h4", {}, t("report.totals")), el("dl", { class: "fields" }, sides));
    }
  }
  panel.replaceChildren(...parts);
}

export function loadAnomalies() {
  return loadList("anomalies", 200, renderAnomalies);
}

export function renderAnomalies() {
  $("anomalies-body").replaceChildren(
    ...(state.anomalies ?? []).map((a) =>
      el(
        "tr",
        {},
        cell(timeEl(a.at)),
        cell(el("strong", {}, a.kind ?? t("none"))),
        cell(a.order_id ? el("button", { type: "button", class: "link mono", onclick: () => jumpToOrder(a.order_id) }, a.order_id) : t("none")),
        cell(code(a.reference)),
        cell(code(compactJson(a.details))),
      ),
    ),
  );
}
