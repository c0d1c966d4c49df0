import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { BackgroundService, CHECKOUT_PORT, POLL_ALARM, REFRESH_ALARM } from "../src/background/service.js";
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

  it("leaves polling to an open checkout page, and takes over when its tab closes", async () => {
    const { chrome, service, server, integration, clock } = await worker();
    const order = await integration.createOrder("pro-monthly");
    const port = fakePort(CHECKOUT_PORT);
    await chrome.runtime.onConnect.dispatch(port);

    await service.pollInBackground();
    assert.equal(server.calls(`/v1/orders/${order.order_id}`).length, 0);

    clock.onSleep = () => clock.sleeps.length === 2 && server.pay(order.order_id);
    await port.onDisconnect.dispatch();
    await service.pollInBackground();

    assert.deepEqual(clock.sleeps, [1000, 2000]);
    assert.equal(server.calls(`/v1/orders/${order.order_id}`).length, 3);
    assert.equal((await integration.licences())[0].state, "valid");
    const shown = chrome.notificationsShown.get(`paid:${order.order_id}`);
    assert.equal(shown.title, "notificationPaidTitle");
    assert.equal(shown.iconUrl, "chrome-extension://test-id/icons/icon-128.png");
    assert.equal(chrome.alarmsSet.has(POLL_ALARM), false);
  });

  it("keeps a wake-up alarm while orders are pending, and resumes from it", async () => {
    const { chrome, service, server, integration, clock } = await worker();
    const order = await integration.createOrder("pro-monthly");
    const port = fakePort(CHECKOUT_PORT);
    await chrome.runtime.onConnect.dispatch(port);
    await chrome.runtime.onConnect.dispatch(fakePort("something-else"));
    clock.onSleep = () => {
      assert.equal(chrome.alarmsSet.get(POLL_ALARM).periodInMinutes, 0.5);
      chrome.runtime.onConnect.dispatch(fakePort(CHECKOUT_PORT)); // the user opened checkout again
    };
    await port.onDisconnect.dispatch();
    await service.pollInBackground();
    assert.equal(chrome.alarmsSet.has(POLL_ALARM), true);

    await server.pay(order.order_id);
    await chrome.alarms.onAlarm.dispatch({ name: POLL_ALARM }); // a checkout page is open: it polls, not us
    assert.equal((await integration.licences()).length, 0);
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
