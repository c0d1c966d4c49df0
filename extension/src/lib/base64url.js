/**
 * Unpadded base64url (RFC 4648 §5), as the server writes keys, signatures and install hashes.
 * @module
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function encode(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * @param {string} text unpadded base64url
 * @returns {Uint8Array<ArrayBuffer>}
 * @throws {TypeError} when `text` is not base64url
 */
export function decode(text) {
  if (typeof text !== "string" || !ALPHABET.test(text) || text.length % 4 === 1) {
    throw new TypeError("not base64url");
  }
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * @param {string} text
 * @returns {Uint8Array<ArrayBuffer>} the UTF-8 bytes of `text`
 */
export function utf8(text) {
  return /** @type {Uint8Array<ArrayBuffer>} */ (new TextEncoder().encode(text));
}
