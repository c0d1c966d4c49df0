import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const load = async (locale) => JSON.parse(await readFile(join(ROOT, "_locales", locale, "messages.json"), "utf8"));

async function sources(folder) {
  const entries = await readdir(join(ROOT, folder), { withFileTypes: true, recursive: true });
  return Promise.all(
    entries
      .filter((e) => e.isFile() && e.name.endsWith(".js"))
      .map((e) => readFile(join(e.parentPath ?? e.path, e.name), "utf8")),
  );
}

describe("locales", () => {
  it("zh_CN (the default) and en have the same messages with the same placeholders", async () => {
    const [zh, en] = [await load("zh_CN"), await load("en")];
    assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
    for (const key of Object.keys(zh)) {
      assert.deepEqual(Object.keys(zh[key].placeholders ?? {}), Object.keys(en[key].placeholders ?? {}), key);
      for (const name of Object.keys(zh[key].placeholders ?? {})) {
        assert.ok(zh[key].message.includes(`$${name.toUpperCase()}$`), `${key} (zh_CN) lacks $${name}$`);
        assert.ok(en[key].message.includes(`$${name.toUpperCase()}$`), `${key} (en) lacks $${name}$`);
      }
    }
  });

  it("every message the pages and scripts ask for exists", async () => {
    const messages = await load("zh_CN");
    const pages = await Promise.all(
      ["checkout.html", "popup.html", "options.html", "manifest.json"].map((f) => readFile(join(ROOT, f), "utf8")),
    );
    const asked = new Set();
    for (const page of pages) {
      for (const [, key] of page.matchAll(/data-i18n(?:-placeholder)?="(\w+)"/g)) asked.add(key);
      for (const [, key] of page.matchAll(/__MSG_(\w+)__/g)) asked.add(key);
    }
    for (const source of await sources("src")) {
      for (const [, key] of source.matchAll(/\bt\(\s*"(\w+)"/g)) asked.add(key);
      for (const [, key] of source.matchAll(/getMessage\(\s*"(\w+)"/g)) asked.add(key);
      for (const [, key] of source.matchAll(/message: "(step\w+)"/g)) asked.add(key);
      for (const [, key] of source.matchAll(/: "((?:action|licenceState)\w+)"/g)) asked.add(key);
    }
    for (const status of ["PENDING", "PAID", "REFUNDING", "REFUNDED", "PARTIALLY_REFUNDED", "CLOSED"]) {
      asked.add(`orderStatus${status}`);
    }
    const missing = [...asked].filter((key) => !(key in messages));
    assert.deepEqual(missing, []);
    assert.ok(asked.size > 60, `only ${asked.size} keys found: the scan is broken`);
  });
});
