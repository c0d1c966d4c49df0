/**
 * `chrome.storage.local` in memory: same promise API, values copied in and out as Chrome serialises them.
 * @module
 */

export class MemoryStorage {
  /** @type {Map<string, unknown>} */
  items = new Map();
  /** @type {((changes: Record<string, {oldValue?: unknown, newValue?: unknown}>) => void)[]} */
  listeners = [];

  /** @param {string | string[] | null} [keys] */
  async get(keys = null) {
    const wanted = keys === null ? [...this.items.keys()] : [keys].flat();
    /** @type {Record<string, any>} */
    const result = {};
    for (const key of wanted) if (this.items.has(key)) result[key] = structuredClone(this.items.get(key));
    return result;
  }

  /** @param {Record<string, unknown>} values */
  async set(values) {
    const changes = {};
    for (const [key, value] of Object.entries(values)) {
      changes[key] = { oldValue: this.items.get(key), newValue: structuredClone(value) };
      this.items.set(key, structuredClone(value));
    }
    this.#emit(changes);
  }

  /** @param {string | string[]} keys */
  async remove(keys) {
    const changes = {};
    for (const key of [keys].flat()) {
      if (!this.items.has(key)) continue;
      changes[key] = { oldValue: this.items.get(key) };
      this.items.delete(key);
    }
    this.#emit(changes);
  }

  /** @param {Record<string, {oldValue?: unknown, newValue?: unknown}>} changes */
  #emit(changes) {
    if (Object.keys(changes).length) for (const listener of this.listeners) listener(changes);
  }
}
