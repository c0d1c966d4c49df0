/**
 * The whole purchase as the extension lives it: products, an order and its QR, polling until paid (from the
 * checkout page, or from the service worker once the page is closed), the licence kept and verified offline, and
 * the user's own history. Everything it touches is injected, so that node's test runner drives it with fakes and
 * the pages and the service worker with the browser's own objects (see app.js).
 * @module
 */

import { ApiClient } from "./api.js";
import { backoffDelay } from "./lib/backoff.js";
import { encode } from "./lib/base64url.js";
import { LicenceBook } from "./licence-book.js";
import { LicenceVerifier } from "./licence-verifier.js";
import { nextStep } from "./next-step.js";
import { Store } from "./store.js";

/** After its QR expires an order is still polled this long: a payment in the last second is honoured (design §3). */
export const GRACE_MS = 120_000;
const ID_BYTES = 16; // 128 random bits, 22 base64url characters: an install id, an Idempotency-Key
const PAID_STATES = new Set(["PAID", "REFUNDING", "REFUNDED", "PARTIALLY_REFUNDED"]);
const TERMINAL = new Set(["paid", "closed", "refunded", "expired", "lost"]);

/**
 * @typedef {import("./store.js").PendingOrder} PendingOrder
 * @typedef {import("./store.js").StorageArea} StorageArea
 * @typedef {import("./lib/clock.js").Clock} Clock
 * @typedef {import("./licence-book.js").LicenceView} LicenceView
 * @typedef {import("./next-step.js").NextStep} NextStep
 *
 * @typedef {object} Config
 * @property {string} [env] the build environment: "local" allows http:// to localhost, every other HTTPS only
 * @property {string} apiBase e.g. "https://pay.example.com"
 * @property {Record<string, string>} publicKeys kid -> base64url raw Ed25519 public key
 *
 * @typedef {object} Product
 * @property {string} id
 * @property {string} title
 * @property {number} price_fen
 * @property {string} currency
 * @property {number | null} licence_days null: perpetual
 * @property {number} max_devices
 *
 * @typedef {PendingOrder & {qr_svg: string, code_url: string, idempotency_key: string}} Checkout
 *
 * @typedef {{state: "pending"} | {state: "waiting_licence", step: NextStep} | {state: "paid", licence: LicenceView}
 *   | {state: "closed" | "refunded" | "expired" | "lost", step: NextStep}
 *   | {state: "error", error: unknown, step: NextStep}} PollUpdate
 */

export class WeChatIntegration {
  /** @type {Promise<string> | null} */
  #installId = null;

  /**
   * @param {{fetch: typeof fetch, storage: StorageArea, clock: Clock, crypto: Crypto, config: Config,
   *   random?: () => number}} deps
   */
  constructor({ fetch, storage, clock, crypto, config, random = Math.random }) {
    this.clock = clock;
    this.crypto = crypto;
    this.random = random;
    this.store = new Store(storage);
    this.api = new ApiClient({ fetch, apiBase: config.apiBase, env: config.env });
    this.licenceBook = new LicenceBook({
      store: this.store,
      api: this.api,
      verifier: new LicenceVerifier({ subtle: crypto.subtle, publicKeys: config.publicKeys }),
      clock,
      subtle: crypto.subtle,
      installId: () => this.installId(),
    });
  }

  /**
   * This install's secret id, created on first use (normally at install) and kept in storage.
   * @returns {Promise<string>}
   */
  installId() {
    this.#installId ??= (async () => {
      const existing = await this.store.installId();
      if (existing) return existing;
      const created = this.newId();
      await this.store.setInstallId(created);
      return created;
    })();
    return this.#installId;
  }

  /** A fresh random 128-bit id (base64url). */
  newId() {
    return encode(this.crypto.getRandomValues(new Uint8Array(ID_BYTES)));
  }

  /** @returns {Promise<Product[]>} */
  async listProducts() {
    return (await this.api.products()).data.products;
  }

  /**
   * Create an order and remember it for polling. Retrying after a failure with the same `idempotencyKey` can never
   * make a second order; a fresh QR for an expired one is a new key.
   * @param {string} productId
   * @param {{idempotencyKey?: string}} [options]
   * @returns {Promise<Checkout>}
   */
  async createOrder(productId, { idempotencyKey = this.newId() } = {}) {
    const { data, serverTime } = await this.api.createOrder(productId, await this.installId(), idempotencyKey);
    const now = this.clock.now();
    // The QR expires on the server's clock; a browser whose clock is off must still count down correctly.
    const skew = serverTime === null ? 0 : serverTime - now;
    /** @type {PendingOrder} */
    const order = {
      order_id: data.order_id,
      poll_token: data.poll_token,
      product_id: productId,
      description: data.description,
      amount_fen: data.amount_fen,
      currency: data.currency,
      expires_at: data.expires_at,
      deadline: data.expires_at * 1000 - skew,
      created_local: now,
    };
    await this.store.putOrder(order);
    return { ...order, qr_svg: data.qr_svg, code_url: data.code_url, idempotency_key: idempotencyKey };
  }

  /**
   * @param {PendingOrder} order
   * @returns {number} milliseconds until its QR expires (negative after)
   */
  timeLeft(order) {
    return order.deadline - this.clock.now();
  }

  /**
   * Ask the server once; keep the licence when it has come, forget the order when it is over.
   * @param {PendingOrder} order
   * @returns {Promise<PollUpdate>}
   * @throws {import("./api.js").ApiError} when the server could not answer (try again later)
   */
  async pollOnce(order) {
    let view;
    try {
      view = (await this.api.orderStatus(order.order_id, order.poll_token)).data;
    } catch (error) {
      const code = /** @type {any} */ (error)?.code;
      if (code !== "INVALID_POLL_TOKEN" && code !== "ORDER_NOT_FOUND") throw error;
      await this.store.removeOrder(order.order_id);
      return { state: "lost", step: nextStep(code) };
    }
    if (view.license) {
      const licence = await this.licenceBook.save({
        license_id: view.license.license_id,
        license_key: view.license.license_key,
        token: view.license.token,
        product_id: order.product_id,
        title: order.description,
        order_id: order.order_id,
        status: view.license.status,
      });
      await this.store.removeOrder(order.order_id);
      return { state: "paid", licence };
    }
    if (PAID_STATES.has(view.status) && view.status !== "REFUNDED") {
      return { state: "waiting_licence", step: nextStep("WAITING_LICENCE") };
    }
    if (view.status === "CLOSED" || view.status === "REFUNDED") {
      await this.store.removeOrder(order.order_id);
      return view.status === "CLOSED"
        ? { state: "closed", step: nextStep("ORDER_CLOSED") }
        : { state: "refunded", step: nextStep("ORDER_REFUNDED") };
    }
    return { state: "pending" };
  }

  /**
   * Poll with backoff until the order is paid (licence kept), over, or its QR has expired — then once more, so that
   * a payment made in the last second still counts. Network trouble is reported and retried, never fatal.
   * @param {PendingOrder} order
   * @param {{onUpdate?: (update: PollUpdate) => void, signal?: AbortSignal}} [options]
   * @returns {Promise<PollUpdate | {state: "aborted"}>}
   */
  async watch(order, { onUpdate = () => {}, signal } = {}) {
    for (let attempt = 0; !signal?.aborted; attempt += 1) {
      const polled = await this.#pollSafely(order);
      const left = this.timeLeft(order);
      const unpaid = polled.state === "pending" || polled.state === "error";
      const update = unpaid && left <= 0 ? { state: "expired", step: nextStep("QR_EXPIRED") } : polled;
      if (signal?.aborted) break;
      onUpdate(/** @type {PollUpdate} */ (update));
      if (TERMINAL.has(update.state)) return /** @type {PollUpdate} */ (update);
      const delay = backoffDelay(attempt, this.random);
      await this.clock.sleep(unpaid ? Math.min(delay, left) : delay, signal);
    }
    return { state: "aborted" };
  }

  /**
   * One round over the remembered orders (the service worker's job), but those in `skip` (an open checkout page is
   * polling them). Orders whose QR expired more than GRACE_MS ago are forgotten.
   * @param {{skip?: Set<string>}} [options]
   * @returns {Promise<{paid: {order: PendingOrder, licence: LicenceView}[], remaining: number}>} remaining: orders
   *   still to poll, `skip` excluded
   */
  async pollPending({ skip = new Set() } = {}) {
    const paid = [];
    for (const order of await this.store.pendingOrders()) {
      if (skip.has(order.order_id)) continue;
      const update = await this.#pollSafely(order);
      if (update.state === "paid") paid.push({ order, licence: update.licence });
      const unpaid = update.state === "pending" || update.state === "error";
      if (unpaid && this.timeLeft(order) < -GRACE_MS) await this.store.removeOrder(order.order_id);
    }
    const remaining = (await this.store.pendingOrders()).filter((order) => !skip.has(order.order_id));
    return { paid, remaining: remaining.length };
  }

  /** @returns {Promise<PendingOrder[]>} */
  pendingOrders() {
    return this.store.pendingOrders();
  }

  /** @returns {Promise<LicenceView[]>} every licence of this install, verified offline now */
  licences() {
    return this.licenceBook.list();
  }

  /** @param {string} entitlement */
  hasEntitlement(entitlement) {
    return this.licenceBook.hasEntitlement(entitlement);
  }

  refreshDue() {
    return this.licenceBook.refreshDue();
  }

  refreshAll() {
    return this.licenceBook.refreshAll();
  }

  /** @param {string} licenceId */
  refresh(licenceId) {
    return this.licenceBook.refresh(licenceId);
  }

  /** @param {string} licenceKey */
  restore(licenceKey) {
    return this.licenceBook.restore(licenceKey);
  }

  /** @param {string} licenceId */
  deactivate(licenceId) {
    return this.licenceBook.deactivate(licenceId);
  }

  /** The install's own orders, newest first; the install id travels in a header, never in the URL. */
  async history() {
    return (await this.api.history(await this.installId())).data.orders;
  }

  /**
   * @param {PendingOrder} order
   * @returns {Promise<PollUpdate>}
   */
  async #pollSafely(order) {
    try {
      return await this.pollOnce(order);
    } catch (error) {
      return { state: "error", error, step: nextStep(error) };
    }
  }
}
