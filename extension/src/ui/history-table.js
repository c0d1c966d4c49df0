/**
 * The user's own orders, newest first, as a table.
 * @module
 */

import { el } from "./dom.js";
import { formatDate, formatPrice } from "./format.js";
import { t } from "./i18n.js";

/**
 * @param {HTMLElement} container
 * @param {any[]} orders as GET /v1/history returns them
 */
export function renderHistory(container, orders) {
  if (!orders.length) {
    container.replaceChildren(el("p", { className: "empty", text: t("historyEmpty") }));
    return;
  }
  const head = el(
    "tr",
    {},
    ...["historyDate", "productLabel", "amountLabel", "historyStatus", "orderLabel"].map((key) =>
      el("th", { text: t(key), attrs: { scope: "col" } }),
    ),
  );
  const rows = orders.map((order) =>
    el(
      "tr",
      { attrs: { "data-order-id": String(order.order_id), "data-status": String(order.status) } },
      el("td", { text: formatDate(order.paid_at ?? order.created_at) }),
      el("td", { text: String(order.description ?? order.product_id) }),
      el("td", { text: formatPrice(order.amount_fen, order.currency) }),
      el("td", { text: t(`orderStatus${order.status}`) }),
      el("td", {}, el("code", { text: String(order.order_id) })),
    ),
  );
  container.replaceChildren(
    el(
      "table",
      { className: "history" },
      el("caption", { className: "visually-hidden", text: t("historyHeading") }),
      el("thead", {}, head),
      el("tbody", {}, ...rows),
    ),
  );
}
