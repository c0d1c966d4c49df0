import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { backoffDelay, MAX_DELAY_MS } from "../src/lib/backoff.js";
import { GRACE_MS } from "../src/wechat-integration.js";
import { harness } from "../testing/harness.js";

describe("polling an order", () => {
  it("backs off 1 s, 2 s, 4 s, 8 s, then every 10 s, with at most ±20 % jitter", () => {
    const middle = Array.from({ length: 7 }, (_, attempt) => backoffDelay(attempt, () => 0.5));
    assert.deepEqual(middle, [1000, 2000, 4000, 8000, 10000, 10000, 10000]);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const low = backoffDelay(attempt, () => 0);
      const high = backoffDelay(attempt, () => 0.999999);
      assert.ok(low >= 0.8 * Math.min(2 ** attempt * 1000, MAX_DELAY_MS) && high <= MAX_DELAY_MS);
    }
  });

  it("polls with the poll token as a bearer and stops when paid, the licence kept and verified", async () => {
    const { clock, server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    clock.onSleep = () => clock.sleeps.length === 3 && server.pay(order.order_id);
    const updates = [];

    const result = await integration.watch(order, { onUpdate: (u) => updates.push(u.state) });

    assert.equal(result.state, "paid");
    assert.deepEqual(updates, ["pending", "pending", "pending", "paid"]);
    assert.deepEqual(clock.sleeps, [1000, 2000, 4000]);
    const polls = server.calls(`/v1/orders/${order.order_id}`);
    assert.equal(polls.length, 4);
    assert.ok(polls.every((p) => p.headers.authorization === `Bearer ${order.poll_token}`));
    const [licence] = await integration.licences();
    assert.equal(licence.state, "valid");
    assert.deepEqual(licence.payload.ent, ["pro"]);
    assert.deepEqual(await integration.pendingOrders(), []);
  });

  it("keeps polling after the payment until the licence is issued, telling the user it is on its way", async () => {
    const { clock, server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    await server.pay(order.order_id, { withLicence: false });
    clock.onSleep = () => clock.sleeps.length === 2 && server.issue(server.orders.get(order.order_id));
    const updates = [];

    const result = await integration.watch(order, { onUpdate: (u) => updates.push(u) });

    assert.equal(result.state, "paid");
    assert.deepEqual(
      updates.map((u) => u.state),
      ["waiting_licence", "waiting_licence", "paid"],
    );
    assert.deepEqual(updates[0].step, { message: "stepWaitingLicence", action: "wait" });
  });

  it("stops at CLOSED and offers a new QR", async () => {
    const { server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    server.orders.get(order.order_id).status = "CLOSED";
    const result = await integration.watch(order);
    assert.equal(result.state, "closed");
    assert.equal(result.step.action, "new_qr");
    assert.deepEqual(await integration.pendingOrders(), []);
  });

  it("stops at the QR's expiry after one last poll, and never sleeps past the expiry", async () => {
    const { clock, server, integration } = await harness();
    server.ttlSeconds = 60;
    const order = await integration.createOrder("pro-monthly");

    const result = await integration.watch(order);

    assert.equal(result.state, "expired");
    assert.deepEqual(result.step, { message: "stepQrExpired", action: "new_qr" });
    assert.deepEqual(clock.sleeps, [1000, 2000, 4000, 8000, 10000, 10000, 10000, 10000, 5000]);
    const lastPoll = server.calls(`/v1/orders/${order.order_id}`).length;
    assert.equal(lastPoll, clock.sleeps.length + 1);
  });

  it("honours a payment seen by the last poll after expiry", async () => {
    const { clock, server, integration } = await harness();
    server.ttlSeconds = 60;
    const order = await integration.createOrder("pro-monthly");
    clock.onSleep = () => integration.timeLeft(order) <= 0 && server.pay(order.order_id);
    assert.equal((await integration.watch(order)).state, "paid");
  });

  it("a fresh QR after expiry is a new order with a new Idempotency-Key", async () => {
    const { server, integration } = await harness();
    server.ttlSeconds = 60;
    const first = await integration.createOrder("pro-monthly");
    assert.equal((await integration.watch(first)).state, "expired");

    const fresh = await integration.createOrder("pro-monthly");

    assert.notEqual(fresh.order_id, first.order_id);
    assert.notEqual(fresh.idempotency_key, first.idempotency_key);
    assert.equal(integration.timeLeft(fresh), 60_000);
  });

  it("reports network trouble with a retry step and keeps polling", async () => {
    const { clock, server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    server.failures.push({ network: true }, { status: 503, code: "STORAGE_UNAVAILABLE" });
    clock.onSleep = () => clock.sleeps.length === 2 && server.pay(order.order_id);
    const updates = [];

    const result = await integration.watch(order, { onUpdate: (u) => updates.push(u) });

    assert.equal(result.state, "paid");
    assert.deepEqual(
      updates.map((u) => u.state),
      ["error", "error", "paid"],
    );
    assert.deepEqual(updates[0].step, { message: "stepNetwork", action: "retry" });
    assert.deepEqual(updates[1].step, { message: "stepServer", action: "retry" });
  });

  it("stops when aborted (the page went away) and leaves the order for the service worker", async () => {
    const { clock, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    const controller = new AbortController();
    clock.onSleep = () => clock.sleeps.length === 2 && controller.abort();
    assert.equal((await integration.watch(order, { signal: controller.signal })).state, "aborted");
    assert.equal((await integration.pendingOrders()).length, 1);
  });

  it("an order whose poll token is refused is forgotten, with a new QR as the next step", async () => {
    const { server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    server.orders.get(order.order_id).poll_token = "rotated";
    const result = await integration.watch(order);
    assert.deepEqual([result.state, result.step], ["lost", { message: "stepOrderLost", action: "new_qr" }]);
    assert.deepEqual(await integration.pendingOrders(), []);
  });

  it("an order the server no longer knows is forgotten exactly as one whose poll token is refused", async () => {
    const { server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    server.orders.delete(order.order_id);
    const result = await integration.watch(order);
    assert.deepEqual([result.state, result.step], ["lost", { message: "stepOrderLost", action: "new_qr" }]);
    assert.deepEqual(await integration.pendingOrders(), []);
  });

  it("the fake server answers a wrong poll token as the real one does: the 404 of an unknown order", async () => {
    const { server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");
    const poll = async (orderId, token) => {
      const answer = await server.fetch(`https://api.example.test/v1/orders/${orderId}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      return [answer.status, await answer.text()];
    };
    const wrongToken = await poll(order.order_id, "not-the-token");
    const unknownOrder = await poll("o999999999999999999999", order.poll_token);
    assert.deepEqual(wrongToken, unknownOrder);
    assert.equal(wrongToken[0], 404);
    assert.equal(JSON.parse(wrongToken[1]).error.code, "ORDER_NOT_FOUND");
  });
});

describe("polling in the background (service worker)", () => {
  it("polls every remembered order once, keeps the licences of the paid ones and forgets them", async () => {
    const { server, integration } = await harness();
    const paid = await integration.createOrder("pro-monthly");
    const unpaid = await integration.createOrder("pro-lifetime");
    await server.pay(paid.order_id);

    const round = await integration.pollPending();

    assert.deepEqual(
      round.paid.map((p) => p.order.order_id),
      [paid.order_id],
    );
    assert.equal(round.remaining, 1);
    assert.equal((await integration.pendingOrders())[0].order_id, unpaid.order_id);
    assert.equal((await integration.licences())[0].state, "valid");
  });

  it("forgets an unpaid order once its QR expired more than the grace period ago", async () => {
    const { clock, integration } = await harness();
    await integration.createOrder("pro-monthly");
    clock.advance(900_000 + GRACE_MS / 2);
    assert.equal((await integration.pollPending()).remaining, 1);
    clock.advance(GRACE_MS);
    assert.equal((await integration.pollPending()).remaining, 0);
  });
});
