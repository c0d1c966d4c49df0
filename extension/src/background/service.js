/**
 * What the service worker does. It polls every remembered order with backoff and notifies the user when one is
 * paid — except an order an open checkout page is watching itself (the page says which over a port), so that
 * closing the tab after scanning hands that order over at once, and an order left behind (an expired QR that might
 * still be paid in its last second, a tab closed long ago) is never orphaned. An alarm wakes the worker if Chrome
 * stopped it mid-loop; another refreshes licences before their tokens expire.
 * @module
 */

import { backoffDelay } from "../lib/backoff.js";

export const CHECKOUT_PORT = "checkout";
export const POLL_ALARM = "poll-orders";
export const REFRESH_ALARM = "refresh-licences";
const POLL_ALARM_MINUTES = 0.5; // Chrome's shortest period
const REFRESH_ALARM_MINUTES = 360;
export const NOTIFICATION_ICON = "icons/icon-128.png";

/**
 * @typedef {import("../wechat-integration.js").WeChatIntegration} WeChatIntegration
 * @typedef {import("../store.js").PendingOrder} PendingOrder
 */

/** The message a checkout page sends when it starts (an order id) or stops (null) watching an order. */
export const WATCHING = "watching";

export class BackgroundService {
  /** @type {Map<chrome.runtime.Port, string | null>} checkout pages and the order each is watching */
  #pages = new Map();
  /** @type {Promise<void> | null} */
  #polling = null;
  #wake = new AbortController();

  /**
   * @param {{chrome: typeof chrome, integration: WeChatIntegration,
   *   sleep: (ms: number, signal?: AbortSignal) => Promise<void>, random?: () => number}} deps
   */
  constructor({ chrome, integration, sleep, random = Math.random }) {
    this.chrome = chrome;
    this.integration = integration;
    this.sleep = sleep;
    this.random = random;
  }

  start() {
    const { runtime, alarms, notifications } = this.chrome;
    runtime.onInstalled.addListener(() => this.installed());
    runtime.onStartup.addListener(() => this.resume());
    runtime.onConnect.addListener((port) => this.connected(port));
    alarms.onAlarm.addListener((alarm) => this.alarm(alarm));
    notifications.onClicked.addListener(() => runtime.openOptionsPage());
  }

  async installed() {
    await this.integration.installId();
    await this.#scheduleRefresh();
    await this.pollInBackground();
  }

  /** After a browser restart: refresh what is due, pick up orders left unpaid. */
  async resume() {
    await this.#scheduleRefresh();
    await Promise.allSettled([this.integration.refreshDue(), this.pollInBackground()]);
  }

  /** @param {chrome.runtime.Port} port */
  connected(port) {
    if (port.name !== CHECKOUT_PORT) return;
    this.#pages.set(port, null);
    port.onMessage.addListener((/** @type {any} */ message) => {
      if (message?.type !== WATCHING) return;
      this.#pages.set(port, typeof message.orderId === "string" ? message.orderId : null);
      this.pollInBackground({ wake: true });
    });
    port.onDisconnect.addListener(() => {
      this.#pages.delete(port);
      this.pollInBackground({ wake: true });
    });
  }

  /** @param {chrome.alarms.Alarm} alarm */
  async alarm(alarm) {
    if (alarm.name === POLL_ALARM) await this.pollInBackground();
    if (alarm.name === REFRESH_ALARM) await this.integration.refreshDue();
  }

  /**
   * Poll remembered orders no page is watching, until none is left. One loop at a time; `wake` cuts its current
   * wait short and restarts the backoff (a tab just closed: the user is paying right now).
   * @param {{wake?: boolean}} [options]
   */
  pollInBackground({ wake = false } = {}) {
    if (this.#polling && wake) this.#wake.abort();
    this.#polling ??= this.#pollLoop().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  /** @returns {Set<string>} the orders open checkout pages are polling themselves */
  #watched() {
    return new Set([...this.#pages.values()].filter((id) => id !== null));
  }

  async #pollLoop() {
    const { alarms } = this.chrome;
    const skip = this.#watched();
    if (!(await this.integration.pendingOrders()).some((order) => !skip.has(order.order_id))) return;
    await alarms.create(POLL_ALARM, { periodInMinutes: POLL_ALARM_MINUTES });
    for (let attempt = 0; ; attempt += 1) {
      const round = await this.integration.pollPending({ skip: this.#watched() });
      for (const { order } of round.paid) await this.#notifyPaid(order);
      if (round.remaining === 0) {
        await alarms.clear(POLL_ALARM);
        return;
      }
      this.#wake = new AbortController();
      await this.sleep(backoffDelay(attempt, this.random), this.#wake.signal);
      if (this.#wake.signal.aborted) attempt = -1;
    }
  }

  /**
   * The licence is already kept: a notification that cannot be shown (notifications turned off) changes nothing.
   * @param {PendingOrder} order
   */
  async #notifyPaid(order) {
    const { i18n, notifications, runtime } = this.chrome;
    try {
      await notifications.create(`paid:${order.order_id}`, {
        type: "basic",
        iconUrl: runtime.getURL(NOTIFICATION_ICON), // a relative URL fails to load from a module service worker
        title: i18n.getMessage("notificationPaidTitle"),
        message: i18n.getMessage("notificationPaidMessage", [order.description]),
        priority: 2,
      });
    } catch (error) {
      console.warn("paid notification not shown", error);
    }
  }

  async #scheduleRefresh() {
    const { alarms } = this.chrome;
    if (!(await alarms.get(REFRESH_ALARM))) {
      await alarms.create(REFRESH_ALARM, { delayInMinutes: 1, periodInMinutes: REFRESH_ALARM_MINUTES });
    }
  }
}
