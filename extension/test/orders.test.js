import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { harness } from "../testing/harness.js";

describe("creating an order", () => {
  it("sends the install id in the body and an Idempotency-Key header, never either in the URL", async () => {
    const { server, integration } = await harness();
    const order = await integration.createOrder("pro-monthly");

    const [request] = server.calls("/v1/orders");
    const installId = await integration.installId();
    assert.equal(request.method, "POST");
    assert.deepEqual(request.body, { product_id: "pro-monthly", install_id: installId });
    assert.match(request.headers["idempotency-key"], /^[A-Za-z0-9_-]{22}$/);
    assert.equal(request.headers["idempotency-key"], order.idempotency_key);
    for (const { url } of server.requests) {
      assert.ok(!url.includes(installId) && !url.includes(order.idempotency_key), url);
    }
    assert.ok(order.qr_svg.startsWith("<svg") && order.order_id && order.poll_token);
  });

  it("creates a random 128-bit install id once and keeps it in storage", async () => {
    const { storage, integration } = await harness();
    const [first, second] = await Promise.all([integration.installId(), integration.installId()]);
    assert.match(first, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(first, second);
    assert.equal((await storage.get("installId")).installId, first);
    const other = await harness();
    assert.notEqual(await other.integration.installId(), first);
  });

  it("retrying with the same Idempotency-Key after a network failure converges on one order", async () => {
    const { server, integration } = await harness();
    server.failures.push({ network: true });
    await assert.rejects(integration.createOrder("pro-monthly", { idempotencyKey: "retry-key-0001" }), {
      kind: "network",
      code: "NETWORK",
    });
    const first = await integration.createOrder("pro-monthly", { idempotencyKey: "retry-key-0001" });
    const again = await integration.createOrder("pro-monthly", { idempotencyKey: "retry-key-0001" });
    assert.equal(first.order_id, again.order_id);
    assert.equal(server.orders.size, 1);
  });

  it("remembers the order for polling, with its expiry on the browser's clock even when that clock is wrong", async () => {
    const { clock, server, integration } = await harness();
    server.serverOffsetMs = -3_600_000; // this PC is an hour fast
    const order = await integration.createOrder("pro-monthly");
    assert.equal(integration.timeLeft(order), 900_000);
    const [pending] = await integration.pendingOrders();
    assert.equal(pending.order_id, order.order_id);
    assert.equal(pending.deadline, clock.now() + 900_000);
    assert.equal("qr_svg" in pending, false);
  });

  it("lists the products of the catalogue", async () => {
    const { integration } = await harness();
    const products = await integration.listProducts();
    assert.deepEqual(
      products.map((p) => p.id),
      ["pro-monthly", "pro-lifetime"],
    );
  });
});
