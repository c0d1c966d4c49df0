import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError } from "../src/api.js";
import { nextStep } from "../src/next-step.js";

describe("every problem has a next step", () => {
  const cases = [
    ["an expired QR", "QR_EXPIRED", "new_qr"],
    ["a closed order", "ORDER_CLOSED", "new_qr"],
    ["paid, licence not yet issued", "WAITING_LICENCE", "wait"],
    ["no network", new ApiError("network"), "retry"],
    ["rate limited", new ApiError("http", { status: 429, code: "RATE_LIMITED" }), "retry"],
    ["WeChat Pay unavailable", new ApiError("http", { status: 503, code: "WECHATPAY_UNAVAILABLE" }), "retry"],
    ["an unknown 5xx", new ApiError("bad_response", { status: 502, code: "HTTP_502" }), "retry"],
    ["the device limit", new ApiError("http", { status: 409, code: "DEVICE_LIMIT_REACHED" }), "deactivate_elsewhere"],
    ["a wrong licence key", new ApiError("http", { status: 404, code: "LICENSE_NOT_FOUND" }), "check_key"],
    ["a revoked licence", "REVOKED", "contact_support"],
    ["an expired licence", "EXPIRED", "buy"],
    ["a licence deactivated here", "NOT_ACTIVATED", "restore"],
    ["a token expired offline", "NEEDS_REFRESH", "refresh"],
    ["a browser without WebCrypto Ed25519", "UNSUPPORTED", "contact_support"],
    ["anything else", new ApiError("http", { status: 400, code: "SOMETHING_NEW" }), "retry"],
  ];
  for (const [name, problem, action] of cases) {
    it(`${name} → ${action}`, () => {
      const step = nextStep(problem);
      assert.equal(step.action, action);
      assert.match(step.message, /^step[A-Z]\w+$/);
    });
  }
});
