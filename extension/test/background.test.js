import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { BackgroundService, CHECKOUT_PORT, POLL_ALARM, REFRESH_ALARM, WATCHING } from "../src/background/service.js";
import { chromeStub, fakePort } from "../testing/chrome-stub.js";
import { harness } from "../testing/harness.js";

async function worker() {
  const chrome = chromeStub();
  const h = await harness({ storage: chrome.storage.local });
  const service = new BackgroundService({
    chrome: /** @type {any} */ (chrome),
    integration: h.integration,
    sleep: (ms) => h.clock.sleep(ms),
    random: () => 0.5,
  });
  service.start();
  return { chrome, service, ...h };
}

describe("the service worker", () => {
  it("on install creates the install id and schedules the licence refresh", async () => {
    const { chrome, storage } = await worker();
    await chrome.runtime.onInstalled.dispatch({ reason: "install" });
    assert.match((await storage.get("installId")).installId, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(chrome.alarmsSet.get(REFRESH_ALARM).periodInMinutes, 360);
  });

  it("leaves the order a checkout page watches to it, polls the others, and takes over when the tab closes", async () => {
    const { chrome, service, server, integration, clock } = await worker();
    const left = await integration.createOrder("pro-lifetime"); // an earlier order, its tab long closed
    const order = await integration.createOrder("pro-monthly");
    const port = fakePort(CHECKOUT_PORT);
    await chrome.runtime.onConnect.dispatch(port);
    await port.onMessage.dispatch({ type: WATCHING, orderId: order.order_id });
    await server.pay(left.order_id);

    await service.pollInBackground();

    assert.equal(server.calls(`/v1/orders/${order.order_id}`).length, 0);
    assert.equal(server.calls(`/v1/orders/${left.order_id}`).length, 1);
    assert.ok(chrome.notificationsShown.has(`paid:${left.order_id}`));
    assert.equal(chrome.alarmsSet.has(POLL_ALARM), false, "nothing left for the worker");

    clock.onSleep = () => clock.sleeps.length === 2 && server.pay(order.order_id);
    await port.onDisconnect.dispatch();
    await service.pollInBackground();

    assert.deepEqual(clock.sleeps, [1000, 2000]);
    assert.equal(server.calls(`/v1/orders/${order.order_id}`).length, 3);
    assert.equal((await integration.licences()).length, 2);
    const shown = chrome.notificationsShown.get(`paid:${order.order_id}`);
    assert.equal(shown.title, "notificationPaidTitle");
    assert.equal(shown.message, "notificationPaidMessage:pro-monthly");
    assert.equal(shown.iconUrl, "chrome-extension://test-id/icons/icon-128.png");
    assert.equal(chrome.alarmsSet.has(POLL_ALARM), false);
  });

  it("a page that stops watching (its QR expired) hands the order back to the worker at once", async () => {
    const { chrome, service, server, integration, clock } = await worker();
    const order = await integration.createOrder("pro-monthly");
    const port = fakePort(CHECKOUT_PORT);
    await chrome.runtime.onConnect.dispatch(port);
    await port.onMessage.dispatch({ type: WATCHING, orderId: order.order_id });
    await port.onMessage.dispatch({ type: "something else" });
    assert.equal(server.calls(`/v1/orders/${order.order_id}`).length, 0);

    clock.onSleep = () => clock.sleeps.length === 1 && server.pay(order.order_id);
    await port.onMessage.dispatch({ type: WATCHING, orderId: null });
    await service.pollInBackground();

    assert.equal((await integration.licences()).length, 1);
  });

  it("a closing tab wakes the worker from a long wait and restarts its backoff", async () => {
    const { chrome, service, server, integration } = await worker();
    await integration.createOrder("pro-lifetime");
    const order = await integration.createOrder("pro-monthly");
    const port = fakePort(CHECKOUT_PORT);
    await chrome.runtime.onConnect.dispatch(port);
    await port.onMessage.dispatch({ type: WATCHING, orderId: order.order_id });
    const waits = [];
    service.sleep = (ms, signal) => {
      waits.push(ms);
      if (waits.length === 5) return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
      if (waits.length === 6) server.pay(order.order_id);
      if (waits.length === 7) for (const o of server.orders.values()) o.status = "CLOSED";
      return Promise.resolve();
    };
    const loop = service.pollInBackground();
    await new Promise((resolve) => setTimeout(resolve, 20));

    await port.onDisconnect.dispatch();
    await loop;

    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 10000, 1000, 2000]);
    assert.ok((await integration.licences()).some((v) => v.licence.order_id === order.order_id));
  });

  it("keeps a wake-up alarm while orders are pending, and resumes from it", async () => {
    const { chrome, service, server, integration, clock } = await worker();
    const order = await integration.createOrder("pro-monthly");
    let alarmWhileWaiting;
    clock.onSleep = () => {
      alarmWhileWaiting = chrome.alarmsSet.get(POLL_ALARM);
      service.sleep = () => new Promise(() => {}); // Chrome stops the worker in the middle of a wait
    };
    service.pollInBackground();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(alarmWhileWaiting.periodInMinutes, 0.5);

    await server.pay(order.order_id);
    const restarted = new BackgroundService({ chrome, integration, sleep: (ms) => clock.sleep(ms), random: () => 0.5 });
    await restarted.alarm({ name: POLL_ALARM });
    assert.equal((await integration.licences()).length, 1);
    assert.equal(chrome.alarmsSet.has(POLL_ALARM), false);
  });

  it("polls orders left unpaid when the browser starts again, and opens the options page from a notification", async () => {
    const { chrome, server, integration } = await worker();
    const order = await integration.createOrder("pro-monthly");
    await server.pay(order.order_id);

    await chrome.runtime.onStartup.dispatch();
    assert.equal((await integration.licences()).length, 1);
    await chrome.notifications.onClicked.dispatch(`paid:${order.order_id}`);
    assert.equal(chrome.optionsOpened, 1);
  });

  it("refreshes licences on the refresh alarm", async () => {
    const { chrome, server, integration, clock } = await worker();
    const order = await integration.createOrder("pro-monthly");
    await server.pay(order.order_id);
    await integration.pollOnce(order);
    clock.advance(6 * 86_400_000);
    await chrome.alarms.onAlarm.dispatch({ name: REFRESH_ALARM });
    assert.equal(server.calls("/v1/licenses/validate").length, 1);
  });
});
