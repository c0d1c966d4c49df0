/**
 * The licences of this install: kept with their tokens, verified offline on every read, refreshed online before
 * the token expires (so that a refund or revocation reaches offline copies, design §4), restored on another browser
 * by licence key, deactivated to free a device slot.
 * @module
 */

import { installHashOf } from "./licence-verifier.js";
import { nextStep } from "./next-step.js";

/** Refresh a token when fewer than this many seconds are left (tokens live 7 days). */
export const REFRESH_BEFORE_SECONDS = 2 * 86_400;
const SERVER_PROBLEMS = new Set(["REVOKED", "EXPIRED", "NOT_ACTIVATED"]);

/**
 * @typedef {import("./store.js").Store} Store
 * @typedef {import("./store.js").StoredLicence} StoredLicence
 * @typedef {import("./api.js").ApiClient} ApiClient
 * @typedef {import("./licence-verifier.js").LicenceVerifier} LicenceVerifier
 * @typedef {import("./licence-verifier.js").Verification} Verification
 * @typedef {import("./licence-verifier.js").LicencePayload} LicencePayload
 * @typedef {import("./lib/clock.js").Clock} Clock
 * @typedef {import("./next-step.js").NextStep} NextStep
 *
 * @typedef {"valid" | "expired" | "revoked" | "not_activated" | "needs_refresh" | "invalid"} LicenceState
 * @typedef {object} LicenceView
 * @property {StoredLicence} licence
 * @property {LicenceState} state
 * @property {Verification} verification
 * @property {LicencePayload | undefined} payload the verified payload (entitlements, expiry), when genuine
 * @property {NextStep | null} step what to do when the state is not "valid"
 */

export class LicenceBook {
  /** @type {Promise<string> | null} */
  #installHash = null;

  /**
   * @param {{store: Store, api: ApiClient, verifier: LicenceVerifier, clock: Clock, subtle: SubtleCrypto,
   *   installId: () => Promise<string>}} parts
   */
  constructor({ store, api, verifier, clock, subtle, installId }) {
    this.store = store;
    this.api = api;
    this.verifier = verifier;
    this.clock = clock;
    this.subtle = subtle;
    this.installId = installId;
  }

  /**
   * Keep a licence the server just issued (paid order, activation, refresh).
   * @param {Omit<StoredLicence, "problem" | "updated_at">} licence
   * @returns {Promise<LicenceView>}
   */
  async save(licence) {
    const stored = { ...licence, problem: null, updated_at: this.clock.now() };
    await this.store.putLicence(stored);
    return this.view(stored);
  }

  /** @returns {Promise<LicenceView[]>} */
  async list() {
    const views = await Promise.all((await this.store.licences()).map((licence) => this.view(licence)));
    return views.sort((a, b) => a.licence.license_id.localeCompare(b.licence.license_id));
  }

  /**
   * @param {StoredLicence} licence
   * @returns {Promise<LicenceView>}
   */
  async view(licence) {
    const now = this.#nowSeconds();
    const verification = await this.verifier.verify(licence.token, { installHash: await this.#hash(), now });
    const state = stateOf(licence, verification, now);
    const problem = state === "invalid" && !verification.valid ? verification.reason : state.toUpperCase();
    return {
      licence,
      state,
      verification,
      payload: verification.payload,
      step: state === "valid" ? null : nextStep(problem),
    };
  }

  /**
   * Whether a valid licence grants `entitlement`: what a feature of the extension asks before it unlocks.
   * @param {string} entitlement
   */
  async hasEntitlement(entitlement) {
    return (await this.list()).some((view) => view.state === "valid" && view.payload?.ent.includes(entitlement));
  }

  /**
   * Refresh every licence whose token expires within REFRESH_BEFORE_SECONDS or no longer verifies; a failure
   * (offline) leaves the current token in place for the next alarm.
   * @returns {Promise<{refreshed: number, failed: number}>}
   */
  refreshDue() {
    return this.#refreshWhere((view) => isDue(view, this.#nowSeconds()));
  }

  /**
   * Ask the server about every licence it has not already refused (revoked, expired), due or not: what the options
   * page does when the user opens it, so that a refund or revocation shows there at once, not at the next refresh
   * of the token (up to five days later). A failure (offline) leaves the current token in place.
   * @returns {Promise<{refreshed: number, failed: number}>}
   */
  refreshAll() {
    return this.#refreshWhere((view) => view.state !== "revoked" && view.state !== "expired");
  }

  /**
   * @param {(view: LicenceView) => boolean} wanted
   * @returns {Promise<{refreshed: number, failed: number}>}
   */
  async #refreshWhere(wanted) {
    const counts = { refreshed: 0, failed: 0 };
    for (const view of await this.list()) {
      if (!wanted(view)) continue;
      try {
        await this.refresh(view.licence.license_id);
        counts.refreshed += 1;
      } catch {
        counts.failed += 1;
      }
    }
    return counts;
  }

  /**
   * Ask the server for a fresh token; mark the licence revoked, expired or not activated when it says so.
   * @param {string} licenceId
   * @returns {Promise<LicenceView | null>}
   */
  async refresh(licenceId) {
    const licence = await this.store.licence(licenceId);
    if (!licence) return null;
    let answer = (await this.api.validate({ token: licence.token })).data;
    if (!answer.valid && answer.status == null) {
      // The token itself was refused (expired offline, signing key rotated out): the licence key still speaks.
      answer = (await this.api.validate({ license_key: licence.license_key, install_id: await this.installId() }))
        .data;
    }
    const updated = { ...licence, updated_at: this.clock.now() };
    if (answer.valid && typeof answer.token === "string") {
      Object.assign(updated, { token: answer.token, status: "ACTIVE", problem: null });
    } else if (SERVER_PROBLEMS.has(answer.reason)) {
      updated.problem = answer.reason;
      if (answer.reason === "REVOKED") updated.status = "REVOKED";
    }
    await this.store.putLicence(updated);
    return this.view(updated);
  }

  /**
   * Activate a licence bought elsewhere on this install (the device limit applies).
   * @param {string} licenceKey as the user typed it
   * @returns {Promise<LicenceView>}
   */
  async restore(licenceKey) {
    const key = licenceKey.trim().toUpperCase();
    const { data } = await this.api.activate(key, await this.installId());
    return this.save({
      license_id: data.license_id,
      license_key: key,
      token: data.token,
      product_id: data.product_id,
      title: await this.#titleOf(data.product_id),
      status: data.status,
    });
  }

  /**
   * Free this install's device slot and forget the licence here (it can be restored later by key).
   * @param {string} licenceId
   */
  async deactivate(licenceId) {
    const licence = await this.store.licence(licenceId);
    if (!licence) return;
    try {
      await this.api.deactivate(licence.license_key, await this.installId());
    } catch (error) {
      if (/** @type {any} */ (error)?.code !== "LICENSE_NOT_FOUND") throw error;
    }
    await this.store.removeLicence(licenceId);
  }

  /**
   * @param {string} productId
   * @returns {Promise<string | undefined>} its title in the catalogue; nothing when that cannot be read now
   */
  async #titleOf(productId) {
    try {
      return (await this.api.products()).data.products.find((/** @type {any} */ p) => p.id === productId)?.title;
    } catch {
      return undefined;
    }
  }

  #nowSeconds() {
    return Math.floor(this.clock.now() / 1000);
  }

  #hash() {
    this.#installHash ??= this.installId().then((id) => installHashOf(this.subtle, id));
    return this.#installHash;
  }
}

/**
 * @param {StoredLicence} licence
 * @param {Verification} verification
 * @param {number} now seconds
 * @returns {LicenceState}
 */
export function stateOf(licence, verification, now) {
  if (licence.status === "REVOKED" || licence.problem === "REVOKED") return "revoked";
  if (licence.problem === "EXPIRED") return "expired";
  if (licence.problem === "NOT_ACTIVATED") return "not_activated";
  if (verification.valid) return "valid";
  if (verification.reason === "EXPIRED") {
    const lexp = verification.payload?.lexp;
    return Number.isInteger(lexp) && now >= /** @type {number} */ (lexp) ? "expired" : "needs_refresh";
  }
  return "invalid";
}

/**
 * @param {LicenceView} view
 * @param {number} now seconds
 */
function isDue(view, now) {
  if (view.state === "revoked" || view.state === "expired") return false;
  const exp = view.payload?.exp;
  return view.state !== "valid" || typeof exp !== "number" || exp - now < REFRESH_BEFORE_SECONDS;
}
