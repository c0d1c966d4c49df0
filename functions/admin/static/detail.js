// The order panel: the order with its refunds, licence and timeline, read again after every action and, while a
// refund is in flight, every WATCH_EVERY_MS.

import { actionsSection, licenceActions, refundableFen, refundedFen } from "./actions.js";
import { ApiError, api, errorMessage } from "./api.js";
import { badge, cell, code, definitionList, el, renderMessage, timeEl } from "./dom.js";
import { compactJson, money } from "./format.js";
import { t } from "./i18n.js";
import { showView } from "./nav.js";
import { loadOrders, renderOrders, updateOrderRow } from "./orders.js";
import { $, state } from "./state.js";

const WATCH_EVERY_MS = 2000; // how often an order with a refund in flight is read again
const REFUND_IN_FLIGHT = new Set(["REQUESTED", "PROCESSING", "ABNORMAL"]);

export async function openDetail(orderId) {
  if (state.detailId !== orderId) {
    state.detailMessage = null;
    state.refundRequestKey = null;
  }
  state.detailId = orderId;
  state.detail = null;
  renderOrders();
  renderDetail();
  $("detail").focus();
  await reloadDetail();
}

async function reloadDetail({ keepInputs = true } = {}) {
  const orderId = state.detailId;
  if (!orderId) return;
  stopWatching();
  try {
    const detail = await api(`/orders/${encodeURIComponent(orderId)}`);
    if (state.detailId !== orderId) return;
    state.detail = detail;
    updateOrderRow(detail.order);
  } catch (error) {
    if (state.detailId !== orderId) return;
    if (error instanceof ApiError && error.status === 404) state.detail = { missing: true };
    else state.detailMessage = errorMessage(error);
  }
  renderDetail({ keepInputs });
  watchIfInFlight();
}

function refundInFlight(detail) {
  return detail?.order?.status === "REFUNDING" || (detail?.refunds ?? []).some((r) => REFUND_IN_FLIGHT.has(r.status));
}

function watchIfInFlight() {
  if (!refundInFlight(state.detail)) return;
  state.detailTimer = setTimeout(() => {
    state.detailTimer = null;
    if (document.visibilityState === "hidden") watchIfInFlight();
    else reloadDetail();
  }, WATCH_EVERY_MS);
}

export function stopWatching() {
  if (state.detailTimer) clearTimeout(state.detailTimer);
  state.detailTimer = null;
}

export function closeDetail() {
  const orderId = state.detailId;
  stopWatching();
  state.detailId = null;
  state.detail = null;
  state.detailMessage = null;
  renderOrders();
  renderDetail();
  document.querySelector(`#orders-body tr[data-order-id="${CSS.escape(orderId ?? "")}"] button`)?.focus();
}

export function renderDetail({ keepInputs = true } = {}) {
  const panel = $("detail");
  const typed = keepInputs ? [...panel.querySelectorAll("input[id]")].map((input) => [input.id, input.value]) : [];
  const focused = panel.contains(document.activeElement) ? document.activeElement.id || "detail" : null;
  $("orders-layout").classList.toggle("with-detail", Boolean(state.detailId));
  panel.hidden = !state.detailId;
  if (!state.detailId) {
    panel.replaceChildren();
    return;
  }
  const order = state.detail?.order;
  const header = el(
    "div",
    { class: "detail-head" },
    el("h3", { id: "detail-title" }, t("detail.title", { id: state.detailId })),
    order ? badge("status", order.status) : null,
    el("span", { class: "spacer" }),
    el("button", { type: "button", id: "detail-refresh", onclick: () => reloadDetail() }, t("refresh")),
    el("button", { type: "button", id: "detail-close", onclick: closeDetail }, t("close")),
  );
  const message = el("p", { id: "detail-message", class: "message", role: "status", tabindex: "-1" });
  const parts = [header, message];
  if (!state.detail) parts.push(el("p", { class: "hint" }, t("loading")));
  else if (state.detail.missing) parts.push(el("p", { class: "hint" }, t("detail.gone")));
  else {
    const { events = [], refunds = [], licence = null } = state.detail;
    if (refundInFlight(state.detail)) parts.push(el("p", { class: "hint watching" }, t("detail.watching")));
    parts.push(
      orderSection(order, refunds),
      actionsSection(order, refunds, act),
      refundsSection(refunds),
      licenceSection(licence),
      eventsSection(events),
    );
  }
  panel.replaceChildren(...parts);
  state.messages.set("detail-message", state.detailMessage);
  if (!state.detailMessage) state.messages.delete("detail-message");
  renderMessage("detail-message");
  for (const [id, value] of typed) {
    const input = $(id);
    if (input && panel.contains(input)) input.value = value;
  }
  if (focused) $(focused)?.focus();
}

const ORDER_FIELDS = [
  ["order_id", (o) => code(o.order_id)],
  ["status", (o) => badge("status", o.status)],
  ["product_id", (o) => o.product_id],
  ["amount_fen", (o) => money(o.amount_fen)],
  ["description", (o) => o.description],
  ["created_at", (o) => timeEl(o.created_at)],
  ["expires_at", (o) => timeEl(o.expires_at)],
  ["paid_at", (o) => timeEl(o.paid_at)],
  ["closed_at", (o) => timeEl(o.closed_at)],
  ["transaction_id", (o) => code(o.transaction_id)],
  ["payer_hash", (o) => code(o.payer_hash)],
  ["mchid", (o) => code(o.mchid)],
  ["appid", (o) => code(o.appid)],
  ["currency", (o) => o.currency],
  ["last_queried_at", (o) => timeEl(o.last_queried_at)],
  ["updated_at", (o) => timeEl(o.updated_at)],
];

function orderSection(order, refunds) {
  const rows = ORDER_FIELDS.filter(([key]) => key in order).map(([key, render]) => [key, render(order)]);
  rows.splice(4, 0, ["refunded", money(refundedFen(refunds))], ["refundable", money(refundableFen(order, refunds))]);
  const shown = new Set(ORDER_FIELDS.map(([key]) => key).concat("code_url"));
  for (const [key, value] of Object.entries(order)) {
    if (!shown.has(key)) rows.push([key, /_at$/.test(key) && typeof value === "number" ? timeEl(value) : compactJson(value)]);
  }
  return el("section", { class: "part", "aria-labelledby": "detail-order" }, el("h4", { id: "detail-order" }, t("detail.order")), definitionList(rows));
}

// One mutating call: buttons disabled meanwhile; afterwards the detail is read again and the outcome is shown.
async function act(path, body, describe) {
  const panel = $("detail");
  const buttons = [...panel.querySelectorAll("button")];
  for (const button of buttons) button.disabled = true;
  let succeeded = false;
  try {
    const answer = await api(path, { method: "POST", body });
    state.detailMessage = describe(answer);
    succeeded = true;
  } catch (error) {
    if (!state.me) return;
    state.detailMessage = errorMessage(error);
  }
  await reloadDetail({ keepInputs: !succeeded });
  $("detail-message")?.focus();
}

function refundsSection(refunds) {
  const content = refunds.length
    ? el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "data compact", id: "refunds-table" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["col.refundNo", "col.amount", "col.status", "col.reason", "col.requestedBy", "col.requestedAt", "col.succeededAt"].map((k) =>
                el("th", { scope: "col", class: k === "col.amount" ? "num" : null }, t(k)),
              ),
            ),
          ),
          el(
            "tbody",
            {},
            refunds.map((r) =>
              el(
                "tr",
                { dataset: { refund: r.out_refund_no } },
                cell(code(r.out_refund_no)),
                cell(money(r.amount_fen), { class: "num" }),
                cell(badge("refundStatus", r.status)),
                cell(r.reason),
                cell(r.requested_by),
                cell(timeEl(r.requested_at)),
                cell(timeEl(r.success_at)),
              ),
            ),
          ),
        ),
      )
    : el("p", { class: "hint" }, t("detail.noRefunds"));
  return el("section", { class: "part", "aria-labelledby": "detail-refunds" }, el("h4", { id: "detail-refunds" }, t("detail.refunds")), content);
}

function licenceSection(licence) {
  const heading = el("h4", { id: "detail-licence" }, t("detail.licence"));
  if (!licence) return el("section", { class: "part", "aria-labelledby": "detail-licence" }, heading, el("p", { class: "hint" }, t("detail.noLicence")));
  const rows = [
    ["licence_id", code(licence.licence_id)],
    ["status", badge("licenceStatus", licence.status)],
    ["product_id", licence.product_id],
    ["entitlements", (licence.entitlements ?? []).join(", ") || t("none")],
    ["max_devices", String(licence.max_devices)],
    ["issued_at", timeEl(licence.issued_at)],
    ["expires_at", licence.expires_at === null ? t("never") : timeEl(licence.expires_at)],
  ];
  if (licence.revoked_at) rows.push(["revoked_at", timeEl(licence.revoked_at)], ["revoke_reason", licence.revoke_reason ?? t("none")]);
  const activations = licence.activations ?? [];
  const devices = activations.length
    ? el(
        "ul",
        { class: "devices", id: "activations" },
        activations.map((a) => el("li", {}, code(a.install_hash), " ", timeEl(a.activated_at))),
      )
    : el("p", { class: "hint" }, t("detail.noActivations"));
  return el(
    "section",
    { class: "part", id: "licence", "aria-labelledby": "detail-licence", dataset: { state: licence.status } },
    heading,
    definitionList(rows),
    el("h5", {}, t("detail.activations"), ` (${activations.length}/${licence.max_devices})`),
    devices,
    licenceActions(licence, act),
  );
}

function eventsSection(events) {
  const content = events.length
    ? el(
        "ol",
        { class: "timeline", id: "timeline" },
        events.map((e) =>
          el(
            "li",
            { dataset: { kind: e.kind } },
            timeEl(e.at),
            " ",
            el("strong", {}, e.kind),
            e.details && Object.keys(e.details).length ? el("code", { class: "details" }, compactJson(e.details)) : null,
          ),
        ),
      )
    : el("p", { class: "hint" }, t("detail.noEvents"));
  return el("section", { class: "part", "aria-labelledby": "detail-events" }, el("h4", { id: "detail-events" }, t("detail.events")), content);
}

export function jumpToOrder(orderId) {
  const form = $("filters");
  for (const field of form.elements) if (field.name) field.value = "";
  form.elements.order_id.value = orderId;
  showView("orders");
  loadOrders();
  openDetail(orderId);
}
