/**
 * Offline licence verification (design §4): `base64url(payload JSON) "." base64url(Ed25519 signature)`, the
 * signature over the ASCII bytes of the first part exactly as received, checked with WebCrypto against the public
 * keys embedded at build time, picked by the payload's `kid`. The same checks, in the same order, as the server's
 * `shared/licensing/tokens.py`, plus the two only the extension can make: the token names this install, and it
 * grants something.
 * @module
 */

import { decode, encode, utf8 } from "./lib/base64url.js";

export const TOKEN_VERSION = 1;
export const MAX_TOKEN_LENGTH = 4096;
export const LEEWAY_SECONDS = 60;
const SIGNATURE_BYTES = 64;
const PUBLIC_KEY_BYTES = 32;

/**
 * @typedef {object} LicencePayload
 * @property {number} v
 * @property {string} kid
 * @property {string} lic licence id
 * @property {string} sub product id
 * @property {string[]} ent entitlements
 * @property {string} ins base64url(SHA-256(install id))
 * @property {number} iat
 * @property {number} exp the token's expiry (seconds)
 * @property {number | null} lexp the licence's own expiry, null when perpetual
 * @property {string} ord order id
 * @property {number} max device limit
 */

/**
 * @typedef {"MALFORMED" | "UNSUPPORTED_VERSION" | "UNKNOWN_KEY" | "BAD_SIGNATURE" | "EXPIRED" | "OTHER_INSTALL"
 *   | "NO_ENTITLEMENTS" | "UNSUPPORTED"} InvalidReason
 * @typedef {{valid: true, payload: LicencePayload} | {valid: false, reason: InvalidReason, payload?: LicencePayload}}
 *   Verification
 */

/**
 * @param {SubtleCrypto} subtle
 * @param {string} installId
 * @returns {Promise<string>} what a token's `ins` must be for this install
 */
export async function installHashOf(subtle, installId) {
  return encode(new Uint8Array(await subtle.digest("SHA-256", utf8(installId))));
}

export class LicenceVerifier {
  /** @type {Map<string, Promise<CryptoKey | null>>} */
  #keys = new Map();

  /**
   * @param {{subtle: SubtleCrypto, publicKeys: Record<string, string>}} options kid -> base64url raw public key
   */
  constructor({ subtle, publicKeys }) {
    this.subtle = subtle;
    this.publicKeys = publicKeys;
  }

  /**
   * @param {string} token
   * @param {{installHash: string, now: number}} expected `now` in seconds
   * @returns {Promise<Verification>}
   */
  async verify(token, { installHash, now }) {
    const parts = split(token);
    if (!parts) return { valid: false, reason: "MALFORMED" };
    const payload = decodePayload(parts.first);
    if (!payload) return { valid: false, reason: "MALFORMED" };
    if (payload.v !== TOKEN_VERSION) return { valid: false, reason: "UNSUPPORTED_VERSION" };
    if (typeof payload.kid !== "string") return { valid: false, reason: "MALFORMED" };
    let key;
    try {
      key = await this.#key(payload.kid);
    } catch {
      return { valid: false, reason: "UNSUPPORTED" }; // a browser without WebCrypto Ed25519 (before Chrome 137)
    }
    if (!key) return { valid: false, reason: "UNKNOWN_KEY" };
    const genuine = await this.subtle.verify({ name: "Ed25519" }, key, parts.signature, utf8(parts.first));
    if (!genuine) return { valid: false, reason: "BAD_SIGNATURE" };
    if (!Number.isInteger(payload.exp) || !isStringList(payload.ent)) return { valid: false, reason: "MALFORMED" };
    // From here on the payload is the server's: show it even when it no longer unlocks anything.
    if (now >= payload.exp + LEEWAY_SECONDS) return { valid: false, reason: "EXPIRED", payload };
    if (Number.isInteger(payload.lexp) && now >= payload.lexp + LEEWAY_SECONDS) {
      return { valid: false, reason: "EXPIRED", payload };
    }
    if (payload.ins !== installHash) return { valid: false, reason: "OTHER_INSTALL", payload };
    if (payload.ent.length === 0) return { valid: false, reason: "NO_ENTITLEMENTS", payload };
    return { valid: true, payload };
  }

  /**
   * @param {string} kid
   * @returns {Promise<CryptoKey | null>}
   */
  #key(kid) {
    if (!Object.hasOwn(this.publicKeys, kid)) return Promise.resolve(null);
    let key = this.#keys.get(kid);
    if (!key) {
      key = importPublicKey(this.subtle, this.publicKeys[kid]);
      this.#keys.set(kid, key);
    }
    return key;
  }
}

/**
 * @param {SubtleCrypto} subtle
 * @param {string} encoded
 * @returns {Promise<CryptoKey | null>} null for a key that is not 32 bytes of base64url (a broken build)
 */
async function importPublicKey(subtle, encoded) {
  let raw;
  try {
    raw = decode(encoded);
  } catch {
    return null;
  }
  if (raw.length !== PUBLIC_KEY_BYTES) return null;
  return subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

/**
 * @param {unknown} token
 * @returns {{first: string, signature: Uint8Array<ArrayBuffer>} | null}
 */
function split(token) {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split(".");
  if (parts.length !== 2 || !parts[0]) return null;
  try {
    const signature = decode(parts[1]);
    return signature.length === SIGNATURE_BYTES ? { first: parts[0], signature } : null;
  } catch {
    return null;
  }
}

/**
 * @param {string} first
 * @returns {any} the payload object, or null
 */
function decodePayload(first) {
  try {
    const payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(decode(first)));
    return payload !== null && typeof payload === "object" && !Array.isArray(payload) ? payload : null;
  } catch {
    return null;
  }
}

/** @param {unknown} value */
function isStringList(value) {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
