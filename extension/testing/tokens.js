/**
 * Licence tokens signed exactly as the server signs them (shared/licensing/tokens.py): compact JSON with sorted
 * keys, base64url without padding, Ed25519 over the ASCII bytes of the first part. TEST KEYS ONLY.
 * @module
 */

import { encode, utf8 } from "../src/lib/base64url.js";

const { subtle } = globalThis.crypto;

/** @returns {Promise<{kid: string, privateKey: CryptoKey, publicKey: string}>} a throwaway key pair */
export async function testKey(kid = "test-1") {
  const pair = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]));
  const raw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  return { kid, privateKey: pair.privateKey, publicKey: encode(raw) };
}

/**
 * @param {unknown} value
 * @returns {string} JSON as Python's json.dumps(sort_keys=True, separators=(",", ":"))
 */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(/** @type {any} */ (value)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * @param {{privateKey: CryptoKey}} key
 * @param {Record<string, unknown>} payload
 */
export async function signToken(key, payload) {
  const first = encode(utf8(canonicalJson(payload)));
  const signature = await subtle.sign({ name: "Ed25519" }, key.privateKey, utf8(first));
  return `${first}.${encode(new Uint8Array(signature))}`;
}

/** @param {string} installId */
export async function installHash(installId) {
  return encode(new Uint8Array(await subtle.digest("SHA-256", utf8(installId))));
}
