/**
 * A virtual clock: `sleep` returns at once and moves time forward, and remembers how long it was asked to wait.
 * @module
 */

export class VirtualClock {
  /** @param {number} [start] ms since the epoch */
  constructor(start = Date.UTC(2026, 0, 15, 4, 0, 0)) {
    this.t = start;
    /** @type {number[]} */
    this.sleeps = [];
    /** @type {((clock: VirtualClock) => void) | null} called before each sleep returns: a test's "meanwhile" */
    this.onSleep = null;
  }

  now() {
    return this.t;
  }

  /**
   * @param {number} ms
   * @param {AbortSignal} [signal]
   */
  async sleep(ms, signal) {
    if (signal?.aborted) return;
    this.sleeps.push(ms);
    this.t += Math.max(0, ms);
    this.onSleep?.(this);
  }

  /** @param {number} ms */
  advance(ms) {
    this.t += ms;
  }
}
