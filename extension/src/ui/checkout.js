/**
 * The checkout tab: choose a product, scan the QR, watch the payment arrive, see the licence. The tab holds a port
 * to the service worker while it is open; closing it hands polling over to the worker.
 * @module
 */

import { createIntegration } from "../app.js";
import { CHECKOUT_PORT, WATCHING } from "../background/service.js";
import { nextStep } from "../next-step.js";
import { byId, el, show } from "./dom.js";
import { formatCountdown, formatPrice } from "./format.js";
import { localize, t } from "./i18n.js";
import { licenceCard } from "./licence-card.js";
import { COMMON_HANDLERS, renderStep } from "./next-step-view.js";
import { safeSvgDataUrl } from "./qr.js";

/**
 * @typedef {import("../wechat-integration.js").Product} Product
 * @typedef {import("../wechat-integration.js").Checkout} Checkout
 * @typedef {import("../wechat-integration.js").PollUpdate} PollUpdate
 */

const integration = createIntegration();
const ui = {
  products: byId("products"),
  productList: byId("product-list"),
  productsStatus: byId("products-status"),
  payment: byId("payment"),
  qr: /** @type {HTMLImageElement} */ (byId("qr")),
  payProduct: byId("pay-product"),
  payAmount: byId("pay-amount"),
  payOrder: byId("pay-order"),
  countdown: byId("countdown"),
  payStatus: byId("pay-status"),
  problem: byId("problem"),
  done: byId("done"),
  doneLicence: byId("done-licence"),
};

/** @type {{watch: AbortController | null, timer: ReturnType<typeof setInterval> | undefined}} */
const current = { watch: null, timer: undefined };

/** The service worker polls every remembered order but the one this page is watching: the port tells it which. */
const worker = { port: /** @type {chrome.runtime.Port | null} */ (null), watching: /** @type {string | null} */ (null) };

function holdServiceWorkerPort() {
  worker.port = chrome.runtime.connect({ name: CHECKOUT_PORT });
  worker.port.onDisconnect.addListener(holdServiceWorkerPort); // Chrome restarted the worker: tell the new one
  if (worker.watching) announce(worker.watching);
}

/** @param {string | null} orderId */
function announce(orderId) {
  worker.watching = orderId;
  worker.port?.postMessage({ type: WATCHING, orderId });
}

async function loadProducts() {
  show(ui.problem, false);
  show(ui.productsStatus);
  ui.productsStatus.textContent = t("productsLoading");
  try {
    const products = await integration.listProducts();
    ui.productList.replaceChildren(...products.map(productItem));
    show(ui.productsStatus, false);
  } catch (error) {
    show(ui.productsStatus, false);
    renderStep(ui.problem, nextStep(error), { retry: loadProducts });
  }
}

/** @param {Product} product */
function productItem(product) {
  const term = product.licence_days == null ? t("productPerpetual") : t("productDays", String(product.licence_days));
  const button = el("button", { text: t("buyButton"), attrs: { type: "button", "data-product-id": product.id } });
  button.addEventListener("click", () => buy(product));
  return el(
    "li",
    { className: "product" },
    el("h3", { text: product.title }),
    el("p", { className: "price", text: formatPrice(product.price_fen, product.currency) }),
    el("p", { className: "terms", text: `${term} · ${t("productDevices", String(product.max_devices))}` }),
    button,
  );
}

/**
 * @param {Product} product
 * @param {string} [idempotencyKey] the same key when retrying after a failure: never two orders for one click
 */
async function buy(product, idempotencyKey = integration.newId()) {
  stopWatching();
  show(ui.problem, false);
  show(ui.products, false);
  show(ui.payment);
  ui.payment.removeAttribute("data-order-id");
  ui.qr.removeAttribute("src");
  ui.countdown.textContent = "";
  ui.payStatus.textContent = t("statusCreating");
  let order;
  try {
    order = await integration.createOrder(product.id, { idempotencyKey });
  } catch (error) {
    ui.payStatus.textContent = "";
    renderStep(ui.problem, nextStep(error), {
      retry: () => buy(product, idempotencyKey),
      new_qr: () => buy(product),
    });
    return;
  }
  showOrder(order);
  watch(order, product);
}

/** @param {Checkout} order */
function showOrder(order) {
  ui.payment.dataset.orderId = order.order_id;
  ui.payment.classList.remove("expired");
  const src = safeSvgDataUrl(order.qr_svg);
  if (src) ui.qr.src = src;
  ui.qr.alt = t("qrAlt", order.order_id);
  ui.payProduct.textContent = order.description;
  ui.payAmount.textContent = formatPrice(order.amount_fen, order.currency);
  ui.payOrder.textContent = order.order_id;
  ui.payStatus.textContent = t("statusWaitingPayment");
  const tick = () => {
    const left = integration.timeLeft(order);
    ui.countdown.textContent = left > 0 ? t("expiresIn", formatCountdown(left)) : t("qrExpiredShort");
    if (left <= 0) ui.payment.classList.add("expired");
  };
  tick();
  current.timer = setInterval(tick, 1000);
}

/**
 * @param {Checkout} order
 * @param {Product} product
 */
async function watch(order, product) {
  const controller = new AbortController();
  current.watch = controller;
  announce(order.order_id);
  const retryNow = () => {
    controller.abort();
    watch(order, product);
  };
  const result = await integration.watch(order, {
    signal: controller.signal,
    onUpdate: (update) => progress(update, retryNow),
  });
  if (controller.signal.aborted) return;
  if (result.state === "paid") return finish(result);
  stopWatching();
  if (result.state === "expired" || result.state === "closed" || result.state === "lost") {
    ui.payment.classList.add("expired");
    ui.countdown.textContent = t("qrExpiredShort");
  }
  if ("step" in result) {
    ui.payStatus.textContent = "";
    renderStep(ui.problem, result.step, { new_qr: () => buy(product), buy: chooseAgain });
  }
}

/**
 * @param {PollUpdate} update
 * @param {() => void} retryNow
 */
function progress(update, retryNow) {
  if (update.state === "pending") {
    ui.payStatus.textContent = t("statusWaitingPayment");
    show(ui.problem, false);
  } else if (update.state === "waiting_licence") {
    ui.payStatus.textContent = "";
    clearInterval(current.timer);
    ui.countdown.textContent = "";
    renderStep(ui.problem, update.step, {});
  } else if (update.state === "error") {
    ui.payStatus.textContent = t("statusRetrying");
    renderStep(ui.problem, update.step, { retry: retryNow });
  }
}

/** @param {{state: "paid", licence: import("../licence-book.js").LicenceView}} result */
function finish(result) {
  stopWatching();
  show(ui.payment, false);
  show(ui.problem, false);
  ui.doneLicence.replaceChildren(licenceCard(result.licence, { handlers: COMMON_HANDLERS }));
  show(ui.done);
  byId("done-heading").focus();
}

function chooseAgain() {
  stopWatching();
  show(ui.payment, false);
  show(ui.problem, false);
  show(ui.products);
}

function stopWatching() {
  current.watch?.abort();
  current.watch = null;
  clearInterval(current.timer);
  announce(null); // an order left unpaid (an expired QR paid in its last second) is the worker's again
}

localize();
holdServiceWorkerPort();
byId("choose-again").addEventListener("click", chooseAgain);
loadProducts();
