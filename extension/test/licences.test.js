import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { REFRESH_BEFORE_SECONDS } from "../src/licence-book.js";
import { anotherBrowser, harness } from "../testing/harness.js";

const DAY_MS = 86_400_000;

/** A browser that has bought `product` and holds its licence. */
async function buyer(product = "pro-monthly") {
  const h = await harness();
  const order = await h.integration.createOrder(product);
  await h.server.pay(order.order_id);
  await h.integration.pollOnce(order);
  const [view] = await h.integration.licences();
  return { ...h, order, view };
}

describe("keeping a licence fresh", () => {
  it("does not call the server while the token has more than two days left", async () => {
    const { clock, server, integration } = await buyer();
    clock.advance(4 * DAY_MS);
    assert.deepEqual(await integration.refreshDue(), { refreshed: 0, failed: 0 });
    assert.equal(server.calls("/v1/licenses/validate").length, 0);
  });

  it("refreshes the token when fewer than two days are left, sending the token itself", async () => {
    const { clock, server, integration, view } = await buyer();
    clock.advance(7 * DAY_MS - REFRESH_BEFORE_SECONDS * 1000 + 1000);

    assert.deepEqual(await integration.refreshDue(), { refreshed: 1, failed: 0 });

    const [call] = server.calls("/v1/licenses/validate");
    assert.deepEqual(call.body, { token: view.licence.token });
    const [fresh] = await integration.licences();
    assert.equal(fresh.state, "valid");
    assert.ok(fresh.payload.exp > view.payload.exp);
  });

  it("a token that expired while offline shows as needing a refresh, then is renewed by licence key", async () => {
    const { clock, server, integration, view } = await buyer();
    clock.advance(8 * DAY_MS);
    const [stale] = await integration.licences();
    assert.deepEqual([stale.state, stale.step.action], ["needs_refresh", "refresh"]);

    await integration.refreshDue();

    const calls = server.calls("/v1/licenses/validate").map((c) => Object.keys(c.body).sort().join());
    assert.deepEqual(calls, ["token", "install_id,license_key"]);
    assert.equal(server.calls("/v1/licenses/validate")[1].body.license_key, view.licence.license_key);
    assert.equal((await integration.licences())[0].state, "valid");
  });

  it("marks the licence revoked when the server says so (a refund), and stops refreshing it", async () => {
    const { clock, server, integration, order } = await buyer();
    server.orders.get(order.order_id).licence.status = "REVOKED";
    clock.advance(6 * DAY_MS);

    await integration.refreshDue();
    const [revoked] = await integration.licences();

    assert.equal(revoked.state, "revoked");
    assert.equal(revoked.step.message, "stepLicenceRevoked");
    assert.equal(await integration.hasEntitlement("pro"), false);
    await integration.refreshDue();
    assert.equal(server.calls("/v1/licenses/validate").length, 1);
  });

  it("checking every licence (the options page opening) learns of a refund at once, due or not", async () => {
    const { server, integration, order } = await buyer();
    server.orders.get(order.order_id).licence.status = "REVOKED";
    assert.deepEqual(await integration.refreshDue(), { refreshed: 0, failed: 0 }); // not due: still shown valid

    assert.deepEqual(await integration.refreshAll(), { refreshed: 1, failed: 0 });

    const [revoked] = await integration.licences();
    assert.deepEqual([revoked.state, revoked.licence.status], ["revoked", "REVOKED"]);
    assert.equal(await integration.hasEntitlement("pro"), false);
    assert.deepEqual(await integration.refreshAll(), { refreshed: 0, failed: 0 }); // revoked: not asked again
    assert.equal(server.calls("/v1/licenses/validate").length, 1);
  });

  it("checking every licence renews a valid one's token and keeps it when the server cannot be reached", async () => {
    const { clock, server, integration, view } = await buyer();
    clock.advance(DAY_MS);
    assert.deepEqual(await integration.refreshAll(), { refreshed: 1, failed: 0 });
    const [fresh] = await integration.licences();
    assert.equal(fresh.state, "valid");
    assert.ok(fresh.payload.exp > view.payload.exp);

    server.failures.push({ network: true });
    assert.deepEqual(await integration.refreshAll(), { refreshed: 0, failed: 1 });
    assert.equal((await integration.licences())[0].state, "valid");
  });

  it("a licence past its own end shows as expired with buying again as the next step", async () => {
    const { clock, integration } = await buyer("pro-monthly");
    clock.advance(31 * DAY_MS);
    const [expired] = await integration.licences();
    assert.deepEqual([expired.state, expired.step.action], ["expired", "buy"]);
  });

  it("keeps the current token when the server cannot be reached", async () => {
    const { clock, server, integration } = await buyer();
    clock.advance(6 * DAY_MS);
    server.failures.push({ network: true });
    assert.deepEqual(await integration.refreshDue(), { refreshed: 0, failed: 1 });
    assert.equal((await integration.licences())[0].state, "valid");
  });

  it("grants exactly the entitlements of a valid licence", async () => {
    const { integration } = await buyer();
    assert.equal(await integration.hasEntitlement("pro"), true);
    assert.equal(await integration.hasEntitlement("course-python"), false);
  });
});

describe("moving a licence to another browser", () => {
  it("restores by licence key with this browser's install id, and the token verifies here", async () => {
    const first = await buyer();
    const second = await anotherBrowser(first);

    const restored = await second.integration.restore(`  ${first.view.licence.license_key.toLowerCase()} `);

    assert.equal(restored.state, "valid");
    assert.equal(restored.licence.title, "Pro, 30 days");
    const [call] = first.server.calls("/v1/licenses/activate");
    assert.deepEqual(call.body, {
      license_key: first.view.licence.license_key,
      install_id: await second.integration.installId(),
    });
    assert.notEqual(restored.payload.ins, first.view.payload.ins);
  });

  it("a token copied from another browser does not verify here", async () => {
    const first = await buyer();
    const second = await anotherBrowser(first);
    await second.storage.set({ [`licence:${first.view.licence.license_id}`]: first.view.licence });
    const [copied] = await second.integration.licences();
    assert.deepEqual([copied.state, copied.verification.reason, copied.step.action], ["invalid", "OTHER_INSTALL", "restore"]);
  });

  it("at the device limit, explains and offers deactivation elsewhere; after it, restoring works", async () => {
    const first = await buyer(); // pro-monthly: 2 devices in the fake catalogue
    const key = first.view.licence.license_key;
    await (await anotherBrowser(first)).integration.restore(key);
    const third = await anotherBrowser(first);

    const refused = await third.integration.restore(key).catch((error) => error);

    assert.equal(refused.code, "DEVICE_LIMIT_REACHED");
    const { nextStep } = await import("../src/next-step.js");
    assert.deepEqual(nextStep(refused), { message: "stepDeviceLimit", action: "deactivate_elsewhere" });

    await first.integration.deactivate(first.view.licence.license_id);
    assert.deepEqual(await first.integration.licences(), []);
    assert.equal((await third.integration.restore(key)).state, "valid");
    const [call] = first.server.calls("/v1/licenses/deactivate");
    assert.deepEqual(call.body, { license_key: key, install_id: await first.integration.installId() });
  });

  it("a mistyped key asks the user to check it", async () => {
    const { integration } = await harness();
    const error = await integration.restore("NOPE0-NOPE0-NOPE0-NOPE0-NOPE0").catch((e) => e);
    assert.equal(error.code, "LICENSE_NOT_FOUND");
    const { nextStep } = await import("../src/next-step.js");
    assert.equal(nextStep(error).action, "check_key");
  });
});

describe("history", () => {
  it("sends the install id in the X-Install-Id header only", async () => {
    const { server, integration, order } = await buyer();
    const orders = await integration.history();
    assert.deepEqual(
      orders.map((o) => [o.order_id, o.status]),
      [[order.order_id, "PAID"]],
    );
    const [call] = server.calls("/v1/history");
    const installId = await integration.installId();
    assert.equal(call.headers["x-install-id"], installId);
    assert.ok(!call.url.includes(installId));
  });
});
