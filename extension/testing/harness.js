/**
 * A WeChatIntegration wired to fakes: a virtual clock, in-memory storage and the fake server.
 * @module
 */

import { WeChatIntegration } from "../src/wechat-integration.js";
import { VirtualClock } from "./fake-clock.js";
import { FakeServer } from "./fake-server.js";
import { MemoryStorage } from "./memory-storage.js";

export const API_BASE = "https://pay.example.test";

/**
 * @param {{storage?: MemoryStorage, clock?: VirtualClock, server?: FakeServer, random?: () => number}} [parts]
 */
export async function harness(parts = {}) {
  const clock = parts.clock ?? new VirtualClock();
  const server = parts.server ?? (await FakeServer.create(clock));
  const storage = parts.storage ?? new MemoryStorage();
  const integration = new WeChatIntegration({
    fetch: server.fetch,
    storage,
    clock,
    crypto: globalThis.crypto,
    config: { apiBase: API_BASE, publicKeys: server.publicKeys },
    random: parts.random ?? (() => 0.5), // the middle of the jitter band: exactly 1 s, 2 s, 4 s...
  });
  return { clock, server, storage, integration };
}

/** A second browser of the same user: its own storage and install id, the same server. */
export function anotherBrowser(first) {
  return harness({ clock: first.clock, server: first.server });
}
