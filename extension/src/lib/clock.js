/**
 * Time as the integration sees it; tests inject a virtual clock.
 * @module
 */

/**
 * @typedef {object} Clock
 * @property {() => number} now milliseconds since the epoch
 * @property {(ms: number, signal?: AbortSignal) => Promise<void>} sleep resolves after `ms`, or early on abort
 */

/** @type {Clock} */
export const systemClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
    }),
};
