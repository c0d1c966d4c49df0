/**
 * The licensing server's public v1 API (README "The public API"), one method per route. Secrets travel in headers
 * and bodies only: the install id and the poll token never appear in a URL.
 * @module
 */

const TIMEOUT_MS = 15_000;
/** The build environments where plain http:// to this machine is allowed (`make dev`); every other is HTTPS only. */
export const DEVELOPMENT_ENVS = Object.freeze(["local"]);
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The API base URL if this build may talk to it: https:// always; http:// only to this machine in a development
 * build. A production build never sends an install id, a poll token or a licence key over plain HTTP.
 * @param {string} apiBase
 * @param {string | undefined} env the build environment (config.js `env`)
 * @returns {string}
 */
export function secureApiBase(apiBase, env) {
  let url;
  try {
    url = new URL(apiBase);
  } catch {
    throw new Error(`apiBase ${JSON.stringify(apiBase)} is not a URL`);
  }
  const development = env !== undefined && DEVELOPMENT_ENVS.includes(env);
  if (url.protocol !== "https:" && !(development && url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new Error(`apiBase must be https:// outside development builds (http:// only to localhost), not ${url.origin}`);
  }
  return apiBase.replace(/\/+$/, "");
}

/** A failed call: `kind` "network" (no answer), "http" (an error answer) or "bad_response" (not our JSON). */
export class ApiError extends Error {
  /**
   * @param {"network" | "http" | "bad_response"} kind
   * @param {{status?: number, code?: string, message?: string, details?: unknown, cause?: unknown}} [info]
   */
  constructor(kind, info = {}) {
    super(info.message || kind, { cause: info.cause });
    this.name = "ApiError";
    this.kind = kind;
    this.status = info.status ?? 0;
    this.code = info.code ?? (kind === "network" ? "NETWORK" : "UNKNOWN");
    this.details = info.details;
  }
}

/**
 * @typedef {object} Answer
 * @property {any} data the JSON body
 * @property {number | null} serverTime the server's clock from the Date header (ms), when it sent one
 */

export class ApiClient {
  /**
   * @param {{fetch: typeof fetch, apiBase: string, env?: string}} options
   */
  constructor({ fetch, apiBase, env }) {
    this.fetch = fetch;
    this.apiBase = secureApiBase(apiBase, env);
  }

  products() {
    return this.#call("GET", "/v1/products");
  }

  /**
   * @param {string} productId
   * @param {string} installId
   * @param {string} idempotencyKey
   */
  createOrder(productId, installId, idempotencyKey) {
    return this.#call("POST", "/v1/orders", {
      body: { product_id: productId, install_id: installId },
      headers: { "Idempotency-Key": idempotencyKey },
    });
  }

  /**
   * @param {string} orderId
   * @param {string} pollToken
   */
  orderStatus(orderId, pollToken) {
    return this.#call("GET", `/v1/orders/${encodeURIComponent(orderId)}`, {
      headers: { Authorization: `Bearer ${pollToken}` },
    });
  }

  /** @param {string} installId */
  history(installId) {
    return this.#call("GET", "/v1/history", { headers: { "X-Install-Id": installId } });
  }

  /**
   * @param {string} licenceKey
   * @param {string} installId
   */
  activate(licenceKey, installId) {
    return this.#call("POST", "/v1/licenses/activate", { body: { license_key: licenceKey, install_id: installId } });
  }

  /** @param {{token: string} | {license_key: string, install_id: string}} body */
  validate(body) {
    return this.#call("POST", "/v1/licenses/validate", { body });
  }

  /**
   * @param {string} licenceKey
   * @param {string} installId
   */
  deactivate(licenceKey, installId) {
    return this.#call("POST", "/v1/licenses/deactivate", { body: { license_key: licenceKey, install_id: installId } });
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{body?: object, headers?: Record<string, string>}} [options]
   * @returns {Promise<Answer>}
   */
  async #call(method, path, { body, headers = {} } = {}) {
    /** @type {Record<string, string>} */
    const allHeaders = { Accept: "application/json", ...headers };
    if (body !== undefined) allHeaders["Content-Type"] = "application/json";
    /** @type {RequestInit} */
    const init = { method, headers: allHeaders, signal: AbortSignal.timeout(TIMEOUT_MS), cache: "no-store" };
    if (body !== undefined) init.body = JSON.stringify(body);
    let response;
    try {
      response = await this.fetch(this.apiBase + path, init);
    } catch (cause) {
      throw new ApiError("network", { message: "the server could not be reached", cause });
    }
    const data = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = data?.error ?? {};
      throw new ApiError(data ? "http" : "bad_response", {
        status: response.status,
        code: typeof error.code === "string" ? error.code : `HTTP_${response.status}`,
        message: typeof error.message === "string" ? error.message : response.statusText,
        details: error.details,
      });
    }
    if (data === undefined || data === null || typeof data !== "object") {
      throw new ApiError("bad_response", { status: response.status, message: "the answer is not JSON" });
    }
    const date = Date.parse(response.headers.get("date") ?? "");
    return { data, serverTime: Number.isNaN(date) ? null : date };
  }
}
