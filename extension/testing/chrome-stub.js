/**
 * The few `chrome.*` APIs the service worker uses, in memory: events a test can fire, alarms and notifications it
 * can inspect. Not a browser: the messaging contract itself is tested in real Chromium (tests/browser).
 * @module
 */

import { MemoryStorage } from "./memory-storage.js";

export class FakeEvent {
  /** @type {Function[]} */
  listeners = [];

  /** @param {Function} listener */
  addListener(listener) {
    this.listeners.push(listener);
  }

  /** @param {...unknown} args */
  dispatch(...args) {
    return Promise.all(this.listeners.map((listener) => listener(...args)));
  }
}

/** A `chrome.runtime.Port` whose other end a test can close. */
export function fakePort(name) {
  return { name, onDisconnect: new FakeEvent(), onMessage: new FakeEvent(), postMessage() {} };
}

export function chromeStub() {
  /** @type {Map<string, object>} */
  const alarms = new Map();
  /** @type {Map<string, object>} */
  const notifications = new Map();
  let optionsOpened = 0;
  return {
    alarmsSet: alarms,
    notificationsShown: notifications,
    get optionsOpened() {
      return optionsOpened;
    },
    runtime: {
      onInstalled: new FakeEvent(),
      onStartup: new FakeEvent(),
      onConnect: new FakeEvent(),
      getURL: (path) => `chrome-extension://test-id/${path}`,
      openOptionsPage: async () => {
        optionsOpened += 1;
      },
    },
    alarms: {
      onAlarm: new FakeEvent(),
      create: async (name, info) => void alarms.set(name, { name, ...info }),
      get: async (name) => alarms.get(name),
      clear: async (name) => alarms.delete(name),
    },
    notifications: {
      onClicked: new FakeEvent(),
      create: async (id, options) => void notifications.set(id, options),
    },
    i18n: {
      getMessage: (key, subs = []) => [key, ...[subs].flat()].join(":"),
    },
    storage: { local: new MemoryStorage() },
  };
}
