/**
 * What the service worker does. A checkout page polls its own order while it is open and holds a port to this
 * worker; when the last such port closes (the user closed the tab after scanning), the worker polls every
 * remembered order with the same backoff and notifies the user when one is paid. An alarm wakes the worker if
 * Chrome stopped it in the middle; another refreshes licences before their tokens expire.
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

export class BackgroundService {
  #checkouts = 0;
  /** @type {Promise<void> | null} */
  #polling = null;

  /**
   * @param {{chrome: typeof chrome, integration: WeChatIntegration, sleep: (ms: number) => Promise<void>,
   *   random?: () => number}} deps
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
    this.#checkouts += 1;
    port.onDisconnect.addListener(() => {
      this.#checkouts -= 1;
      if (this.#checkouts === 0) this.pollInBackground();
    });
  }

  /** @param {chrome.alarms.Alarm} alarm */
  async alarm(alarm) {
    if (alarm.name === POLL_ALARM) await this.pollInBackground();
    if (alarm.name === REFRESH_ALARM) await this.integration.refreshDue();
  }

  /** Poll remembered orders until none is left, unless a checkout page is doing it. One loop at a time. */
  pollInBackground() {
    if (this.#checkouts > 0) return Promise.resolve();
    this.#polling ??= this.#pollLoop().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  async #pollLoop() {
    const { alarms } = this.chrome;
    if ((await this.integration.pendingOrders()).length === 0) return;
    await alarms.create(POLL_ALARM, { periodInMinutes: POLL_ALARM_MINUTES });
    for (let attempt = 0; this.#checkouts === 0; attempt += 1) {
      const round = await this.integration.pollPending();
      for (const { order } of round.paid) await this.#notifyPaid(order);
      if (round.remaining === 0) {
        await alarms.clear(POLL_ALARM);
        return;
      }
      await this.sleep(backoffDelay(attempt, this.random));
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
