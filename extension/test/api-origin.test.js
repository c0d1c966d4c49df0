import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiClient, secureApiBase } from "../src/api.js";

describe("the API origin at run time", () => {
  it("is HTTPS in every build but a development one", () => {
    assert.equal(secureApiBase("https://pay.example.com/", "production"), "https://pay.example.com");
    assert.equal(secureApiBase("https://pay.example.com", undefined), "https://pay.example.com");
    assert.throws(() => secureApiBase("http://pay.example.com", "production"), /https/);
    assert.throws(() => secureApiBase("http://127.0.0.1:8080", "production"), /https/);
    assert.throws(() => secureApiBase("http://127.0.0.1:8080", undefined), /https/);
    assert.throws(() => secureApiBase("http://pay.example.com", "local"), /https/);
    assert.equal(secureApiBase("http://127.0.0.1:8080", "local"), "http://127.0.0.1:8080");
    assert.throws(() => secureApiBase("not a url", "local"), /not a URL/);
  });

  it("is checked before any request is made", async () => {
    let calls = 0;
    const fetch = async () => {
      calls += 1;
      throw new Error("no request expected");
    };
    assert.throws(() => new ApiClient({ fetch, apiBase: "http://pay.example.com", env: "production" }), /https/);
    const client = new ApiClient({ fetch, apiBase: "http://localhost:8080", env: "local" });
    assert.equal(client.apiBase, "http://localhost:8080");
    assert.equal(calls, 0);
  });
});
