/**
 * How long to wait before the next poll: 1 s, 2 s, 4 s, 8 s, then 10 s, each ±20 % so that many browsers that
 * started together (a flash sale) do not poll in step.
 * @module
 */

export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 10_000;
export const JITTER = 0.2;

/**
 * @param {number} attempt 0 for the first wait
 * @param {() => number} [random] uniform in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 10));
  const jittered = base * (1 - JITTER + 2 * JITTER * random());
  return Math.round(Math.min(MAX_DELAY_MS, jittered));
}
