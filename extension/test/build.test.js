import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { build, checkApiBase, checkPublicKeys } from "../build.mjs";

const KEY = "A".repeat(43);

describe("the build", () => {
  let out;
  before(async () => {
    out = join(await mkdtemp(join(tmpdir(), "ext-build-")), "dist");
  });
  after(() => rm(out, { recursive: true, force: true }));

  it("writes the environment's config and grants the API's origin, and only it", async () => {
    await build({ env: "production", out, apiBase: "https://pay.example.com/api/", publicKeys: { "prod-1": KEY } });

    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8"));
    assert.deepEqual(manifest.host_permissions, ["https://pay.example.com/*"]);
    assert.deepEqual(manifest.permissions, ["storage", "alarms", "notifications"]);
    assert.equal(manifest.manifest_version, 3);
    assert.match(manifest.content_security_policy.extension_pages, /script-src 'self'; .*connect-src https:\/\/pay\.example\.com$/);
    const { CONFIG } = await import(join(out, "config.js"));
    assert.deepEqual(CONFIG, { env: "production", apiBase: "https://pay.example.com/api", publicKeys: { "prod-1": KEY } });
    assert.ok(Object.isFrozen(CONFIG) && Object.isFrozen(CONFIG.publicKeys));
    assert.deepEqual((await readdir(out)).sort(), [
      "_locales", "checkout.html", "config.js", "icons", "manifest.json", "options.html", "popup.html", "src", "styles.css",
    ]);
  });

  it("refuses plain http except to this machine in a development build", async () => {
    assert.throws(() => checkApiBase("http://pay.example.com"), /https/);
    assert.throws(() => checkApiBase("http://pay.example.com", { development: true }), /https/);
    assert.throws(() => checkApiBase("http://127.0.0.1:8080"), /https/);
    assert.equal(checkApiBase("http://127.0.0.1:8080", { development: true }).origin, "http://127.0.0.1:8080");
    await assert.rejects(
      build({ env: "production", out, apiBase: "http://127.0.0.1:8080", publicKeys: { "prod-1": KEY } }),
      /https/,
    );
    assert.throws(() => checkApiBase("https://pay.example.com/?token=1"), /query/);
    assert.throws(() => checkApiBase("not a url"), /not a URL/);
  });

  it("refuses missing or malformed public keys", () => {
    assert.throws(() => checkPublicKeys({}), /empty/);
    assert.throws(() => checkPublicKeys({ "bad kid!": KEY }), /key id/);
    assert.throws(() => checkPublicKeys({ k1: "short" }), /32 bytes/);
    assert.deepEqual(checkPublicKeys({ k1: KEY }), { k1: KEY });
  });

  it("the production config must be completed before it builds", async () => {
    await assert.rejects(build({ env: "production", out }), /publicKeys is empty/);
  });
});
