// The orders table: filters, pages of PAGE_SIZE, the selected row.

import { api, errorMessage } from "./api.js";
import { badge, cell, code, el, setMessage, timeEl } from "./dom.js";
import { money } from "./format.js";
import { t } from "./i18n.js";
import { $, state } from "./state.js";

const PAGE_SIZE = 50;
export const ORDER_STATUSES = ["PENDING", "PAID", "REFUNDING", "PARTIALLY_REFUNDED", "REFUNDED", "CLOSED"];

let openOrder = () => {};

// Opening an order belongs to detail.js, which imports this module to redraw the table: the entry module connects
// the two here rather than this module importing it back.
export function onOrderOpen(handler) {
  openOrder = handler;
}

function ordersQuery() {
  const form = new FormData($("filters"));
  const query = {};
  for (const name of ["status", "from", "to", "order_id", "transaction_id", "product_id"]) {
    const value = String(form.get(name) ?? "").trim();
    if (value) query[name] = value;
  }
  return query;
}

export async function loadOrders({ append = false } = {}) {
  if (!append) state.ordersQuery = ordersQuery();
  const query = state.ordersQuery;
  if (query.from && query.to && query.from > query.to) {
    setMessage("orders-message", { kind: "error", key: "filter.badRange" });
    return;
  }
  const seq = ++state.ordersSeq;
  setMessage("orders-message", { kind: "info", key: "loading" });
  $("orders-more").disabled = true;
  try {
    const page = await api("/orders", {
      params: { ...query, limit: PAGE_SIZE, cursor: append ? state.ordersNext : null },
    });
    if (seq !== state.ordersSeq) return;
    state.orders = append ? [...state.orders, ...page.orders] : page.orders;
    state.ordersNext = page.next_cursor ?? null;
    setMessage("orders-message", ordersCountMessage());
  } catch (error) {
    if (seq !== state.ordersSeq) return;
    setMessage("orders-message", errorMessage(error));
  } finally {
    if (seq === state.ordersSeq) $("orders-more").disabled = false;
  }
  renderOrders();
}

function ordersCountMessage() {
  if (!state.orders.length) return { kind: "info", key: "orders.none" };
  return { kind: "info", key: state.ordersNext ? "orders.countMore" : "orders.count", vars: { n: state.orders.length } };
}

export function renderOrders() {
  const body = $("orders-body");
  body.replaceChildren(...state.orders.map(orderRow));
  $("orders-more").hidden = !state.ordersNext;
}

function orderRow(order) {
  const open = el(
    "button",
    { type: "button", class: "link mono", "aria-label": t("orders.open", { id: order.order_id }), onclick: () => openOrder(order.order_id) },
    order.order_id,
  );
  const row = el(
    "tr",
    { dataset: { orderId: order.order_id }, class: order.order_id === state.detailId ? "selected" : null },
    cell(timeEl(order.created_at)),
    cell(open),
    cell(order.product_id),
    cell(money(order.amount_fen), { class: "num" }),
    cell(badge("status", order.status)),
    cell(timeEl(order.paid_at)),
    cell(code(order.transaction_id)),
  );
  if (order.order_id === state.detailId) row.setAttribute("aria-current", "true");
  return row;
}

export function updateOrderRow(order) {
  const index = state.orders.findIndex((o) => o.order_id === order.order_id);
  if (index < 0) return;
  state.orders[index] = order;
  renderOrders();
}
