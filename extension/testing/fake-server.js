/**
 * The licensing server's v1 API in memory, behind a `fetch` function: enough of its rules (poll tokens,
 * idempotency, device limits, refresh, revocation) to drive WeChatIntegration, with tokens signed by a throwaway
 * Ed25519 key exactly as the real server signs them. Every request is recorded for assertions.
 * @module
 */

import { decode } from "../src/lib/base64url.js";
import { installHash, signToken, testKey } from "./tokens.js";

const DAY = 86_400;
export const PRODUCTS = [
  { id: "pro-monthly", title: "Pro, 30 days", price_fen: 990, currency: "CNY", licence_days: 30, max_devices: 2 },
  { id: "pro-lifetime", title: "Pro, lifetime", price_fen: 9900, currency: "CNY", licence_days: null, max_devices: 5 },
];
const QR = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><path d="M0 0h1v1H0z"/></svg>';

/**
 * @typedef {{method: string, url: string, path: string, headers: Record<string, string>, body: any}} Recorded
 * @typedef {{status?: number, code?: string, network?: boolean}} Failure
 */

export class FakeServer {
  /** @type {Recorded[]} */ requests = [];
  /** @type {Failure[]} the next requests fail like this, in order */ failures = [];
  /** @type {Map<string, any>} */ orders = new Map();
  /** @type {Map<string, string>} idempotency key -> order id */ replays = new Map();
  /** @type {Map<string, any>} licence key -> licence */ licences = new Map();
  serverOffsetMs = 0;
  ttlSeconds = 900;
  #sequence = 0;

  /**
   * @param {import("./fake-clock.js").VirtualClock} clock
   * @param {{kid: string, privateKey: CryptoKey, publicKey: string}} key
   */
  constructor(clock, key) {
    this.clock = clock;
    this.key = key;
    this.publicKeys = { [key.kid]: key.publicKey };
    this.fetch = this.fetch.bind(this);
  }

  /** @param {import("./fake-clock.js").VirtualClock} clock */
  static async create(clock) {
    return new FakeServer(clock, await testKey());
  }

  /** The server's clock, in seconds. */
  now() {
    return Math.floor((this.clock.now() + this.serverOffsetMs) / 1000);
  }

  /**
   * @param {string} url
   * @param {RequestInit} init
   */
  async fetch(url, init = {}) {
    const parsed = new URL(url);
    const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    this.requests.push({ method: init.method ?? "GET", url, path: parsed.pathname, headers, body });
    const failure = this.failures.shift();
    if (failure?.network) throw new TypeError("Failed to fetch");
    const [status, data] = failure
      ? this.#error(failure.status ?? 503, failure.code ?? "UNAVAILABLE")
      : await this.#route(init.method ?? "GET", parsed.pathname, headers, body);
    const date = new Date(this.now() * 1000).toUTCString();
    return new Response(JSON.stringify(data), { status, headers: { "Content-Type": "application/json", Date: date } });
  }

  /** The user pays in WeChat; the licence is issued unless `withLicence` is false (the server reconciles later). */
  async pay(orderId, { withLicence = true } = {}) {
    const order = this.orders.get(orderId);
    order.status = "PAID";
    order.paid_at = this.now();
    if (withLicence) await this.issue(order);
  }

  async issue(order) {
    const product = PRODUCTS.find((p) => p.id === order.product_id);
    const key = `KEY${String(++this.#sequence).padStart(2, "0")}-AAAAA-BBBBB-CCCCC-DDDDD`;
    const lexp = product.licence_days === null ? null : this.now() + product.licence_days * DAY;
    order.licence = { id: `L${order.order_id}`, key, product, lexp, status: "ACTIVE", devices: new Set() };
    order.licence.devices.add(order.install_id);
    this.licences.set(key, order.licence);
  }

  /** A token for `licence` on `installId`, as the server signs it; `overrides` change the payload. */
  async token(licence, installId, overrides = {}) {
    const now = this.now();
    const exp = licence.lexp === null ? now + 7 * DAY : Math.min(now + 7 * DAY, licence.lexp);
    const payload = {
      v: 1,
      kid: this.key.kid,
      lic: licence.id,
      sub: licence.product.id,
      ent: ["pro"],
      ins: await installHash(installId),
      iat: now,
      exp,
      lexp: licence.lexp,
      ord: licence.id.slice(1),
      max: licence.product.max_devices,
      ...overrides,
    };
    return signToken(this.key, payload);
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {Record<string, string>} headers
   * @param {any} body
   * @returns {Promise<[number, any]>}
   */
  async #route(method, path, headers, body) {
    if (method === "GET" && path === "/v1/products") return [200, { products: PRODUCTS }];
    if (method === "POST" && path === "/v1/orders") return this.#createOrder(headers, body);
    if (method === "GET" && path.startsWith("/v1/orders/")) return this.#orderStatus(path.slice(11), headers);
    if (method === "GET" && path === "/v1/history") return this.#history(headers["x-install-id"]);
    if (method === "POST" && path === "/v1/licenses/activate") return this.#activate(body);
    if (method === "POST" && path === "/v1/licenses/validate") return this.#validate(body);
    if (method === "POST" && path === "/v1/licenses/deactivate") return this.#deactivate(body);
    return this.#error(404, "NOT_FOUND");
  }

  #createOrder(headers, body) {
    const key = headers["idempotency-key"];
    const replayed = key && this.replays.get(`${body.install_id}:${key}`);
    if (replayed) return [200, this.orders.get(replayed).created];
    const orderId = `o${String(++this.#sequence).padStart(21, "0")}`;
    const created = {
      order_id: orderId,
      status: "PENDING",
      amount_fen: PRODUCTS.find((p) => p.id === body.product_id).price_fen,
      currency: "CNY",
      description: body.product_id,
      code_url: `weixin://wxpay/bizpayurl?pr=${orderId}`,
      qr_svg: QR,
      expires_at: this.now() + this.ttlSeconds,
      poll_token: `poll-${orderId}`,
    };
    this.orders.set(orderId, { ...created, created, product_id: body.product_id, install_id: body.install_id });
    if (key) this.replays.set(`${body.install_id}:${key}`, orderId);
    return [201, created];
  }

  async #orderStatus(orderId, headers) {
    const order = this.orders.get(orderId);
    // As the real server: a wrong or missing poll token gets the very answer an unknown order gets.
    if (!order || headers.authorization !== `Bearer ${order.poll_token}`) return this.#error(404, "ORDER_NOT_FOUND");
    const licence = order.licence && {
      license_key: order.licence.key,
      license_id: order.licence.id,
      status: order.licence.status,
      token: await this.token(order.licence, order.install_id),
      expires_at: order.licence.lexp,
    };
    return [200, { order_id: orderId, status: order.status, paid_at: order.paid_at ?? null, license: licence ?? null }];
  }

  #history(installId) {
    if (!installId) return this.#error(401, "INVALID_INSTALL_ID");
    const mine = [...this.orders.values()].filter((o) => o.install_id === installId);
    return [200, { orders: mine.map((o) => ({ order_id: o.order_id, status: o.status, license_key: o.licence?.key })) }];
  }

  async #activate({ license_key: key, install_id: installId }) {
    const licence = this.licences.get(key);
    if (!licence) return this.#error(404, "LICENSE_NOT_FOUND");
    if (licence.status === "REVOKED") return this.#error(409, "LICENSE_REVOKED");
    if (!licence.devices.has(installId) && licence.devices.size >= licence.product.max_devices) {
      return this.#error(409, "DEVICE_LIMIT_REACHED", { max_devices: licence.product.max_devices });
    }
    licence.devices.add(installId);
    const token = await this.token(licence, installId);
    return [200, { token, license_id: licence.id, product_id: licence.product.id, status: licence.status }];
  }

  async #validate(body) {
    if (body.token) {
      const payload = JSON.parse(new TextDecoder().decode(decode(body.token.split(".")[0])));
      if (this.now() >= payload.exp + 60) return [200, { valid: false, status: null, reason: "EXPIRED" }];
      const licence = [...this.licences.values()].find((l) => l.id === payload.lic);
      for (const installId of licence.devices) {
        if ((await installHash(installId)) === payload.ins) return this.#refresh(licence, installId);
      }
      return this.#refresh(licence, null);
    }
    const licence = this.licences.get(body.license_key);
    if (!licence) return this.#error(404, "LICENSE_NOT_FOUND");
    return this.#refresh(licence, body.install_id);
  }

  async #refresh(licence, installId) {
    if (licence.status === "REVOKED") return [200, { valid: false, status: "REVOKED", reason: "REVOKED" }];
    if (!licence.devices.has(installId)) return [200, { valid: false, status: licence.status, reason: "NOT_ACTIVATED" }];
    return [200, { valid: true, status: "ACTIVE", reason: null, token: await this.token(licence, installId) }];
  }

  #deactivate({ license_key: key, install_id: installId }) {
    const licence = this.licences.get(key);
    if (!licence) return this.#error(404, "LICENSE_NOT_FOUND");
    return [200, { deactivated: licence.devices.delete(installId) }];
  }

  /** @returns {[number, any]} */
  #error(status, code, details) {
    return [status, { error: { code, message: code.toLowerCase(), details } }];
  }

  /** The requests to `path`. */
  calls(path) {
    return this.requests.filter((r) => r.path === path);
  }
}
