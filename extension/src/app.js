/**
 * The composition root of the pages and the service worker: the browser's own fetch, storage, clock and WebCrypto,
 * and the configuration the build wrote (config.js: API base URL and public keys of this environment).
 * @module
 */

import { CONFIG } from "../config.js";
import { systemClock } from "./lib/clock.js";
import { WeChatIntegration } from "./wechat-integration.js";

/** @returns {WeChatIntegration} */
export function createIntegration() {
  return new WeChatIntegration({
    fetch: (url, init) => fetch(url, init),
    storage: chrome.storage.local,
    clock: systemClock,
    crypto: globalThis.crypto,
    config: CONFIG,
  });
}
