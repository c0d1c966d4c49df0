import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import { decode, encode, utf8 } from "../src/lib/base64url.js";
import { installHashOf, LicenceVerifier } from "../src/licence-verifier.js";
import { canonicalJson, installHash, signToken, testKey } from "../testing/tokens.js";

const NOW = 1_800_000_000;
const INSTALL_ID = "Zm9vYmFyYmF6cXV4MDEyMzQ1";

describe("offline licence verification (WebCrypto Ed25519)", () => {
  let key, other, verifier, payload, expected;

  before(async () => {
    key = await testKey("k1");
    other = await testKey("k2");
    verifier = new LicenceVerifier({
      subtle: crypto.subtle,
      publicKeys: { k1: key.publicKey, k2: other.publicKey },
    });
    payload = {
      v: 1,
      kid: "k1",
      lic: "Lo123",
      sub: "pro-monthly",
      ent: ["pro"],
      ins: await installHash(INSTALL_ID),
      iat: NOW - 10,
      exp: NOW + 7 * 86400,
      lexp: NOW + 30 * 86400,
      ord: "o123",
      max: 3,
    };
    expected = { installHash: payload.ins, now: NOW };
  });

  const verify = (token, options = expected) => verifier.verify(token, options);

  it("accepts a genuine token signed as the server signs it, and returns its payload", async () => {
    const result = await verify(await signToken(key, payload));
    assert.equal(result.valid, true);
    assert.deepEqual(result.payload, payload);
  });

  it("hashes the install id as the server does: base64url(SHA-256) without padding", async () => {
    assert.equal(await installHashOf(crypto.subtle, INSTALL_ID), payload.ins);
    assert.equal(payload.ins.length, 43);
  });

  it("signs the canonical JSON the server writes (sorted keys, no spaces)", () => {
    assert.equal(canonicalJson({ b: [1, "x"], a: null }), '{"a":null,"b":[1,"x"]}');
  });

  it("rejects a tampered payload", async () => {
    const token = await signToken(key, payload);
    const forged = encode(utf8(canonicalJson({ ...payload, ent: ["pro", "course-python"] })));
    assert.deepEqual(await verify(`${forged}.${token.split(".")[1]}`), { valid: false, reason: "BAD_SIGNATURE" });
  });

  it("rejects a flipped signature bit", async () => {
    const [first, second] = (await signToken(key, payload)).split(".");
    const signature = decode(second);
    signature[10] ^= 1;
    assert.equal((await verify(`${first}.${encode(signature)}`)).reason, "BAD_SIGNATURE");
  });

  it("rejects an unknown kid, and a kid switched to another published key", async () => {
    assert.equal((await verify(await signToken(key, { ...payload, kid: "k9" }))).reason, "UNKNOWN_KEY");
    assert.equal((await verify(await signToken(key, { ...payload, kid: "k2" }))).reason, "BAD_SIGNATURE");
    assert.equal((await verify(await signToken(other, { ...payload, kid: "k2" }))).valid, true);
  });

  it("rejects an expired token (past exp plus 60 s leeway) but still shows what it was", async () => {
    const token = await signToken(key, payload);
    assert.equal((await verify(token, { ...expected, now: payload.exp + 59 })).valid, true);
    const late = await verify(token, { ...expected, now: payload.exp + 60 });
    assert.deepEqual([late.valid, late.reason, late.payload.sub], [false, "EXPIRED", "pro-monthly"]);
  });

  it("rejects a token past its licence's own expiry", async () => {
    const token = await signToken(key, { ...payload, lexp: NOW - 120 });
    assert.equal((await verify(token)).reason, "EXPIRED");
  });

  it("rejects a token issued to another install", async () => {
    const result = await verify(await signToken(key, payload), { ...expected, installHash: await installHash("x".repeat(22)) });
    assert.equal(result.reason, "OTHER_INSTALL");
  });

  it("rejects a token that grants nothing", async () => {
    assert.equal((await verify(await signToken(key, { ...payload, ent: [] }))).reason, "NO_ENTITLEMENTS");
    assert.equal((await verify(await signToken(key, { ...payload, ent: "pro" }))).reason, "MALFORMED");
  });

  it("rejects malformed tokens and other versions without throwing", async () => {
    const token = await signToken(key, payload);
    for (const bad of ["", "abc", `${token}.x`, `.${token.split(".")[1]}`, `${token.split(".")[0]}.AAAA`, "a".repeat(5000), 42]) {
      assert.equal((await verify(bad)).reason, "MALFORMED", String(bad).slice(0, 30));
    }
    const notJson = `${encode(utf8("[1,2]"))}.${token.split(".")[1]}`;
    assert.equal((await verify(notJson)).reason, "MALFORMED");
    assert.equal((await verify(await signToken(key, { ...payload, v: 2 }))).reason, "UNSUPPORTED_VERSION");
  });

  it("says so when the browser has no WebCrypto Ed25519", async () => {
    const subtle = { importKey: () => Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError")) };
    const old = new LicenceVerifier({ subtle: /** @type {any} */ (subtle), publicKeys: { k1: key.publicKey } });
    assert.deepEqual(await old.verify(await signToken(key, payload), expected), { valid: false, reason: "UNSUPPORTED" });
  });

  it("treats a broken embedded key as unknown", async () => {
    const broken = new LicenceVerifier({ subtle: crypto.subtle, publicKeys: { k1: "too-short" } });
    const result = await broken.verify(await signToken(key, payload), expected);
    assert.equal(result.reason, "UNKNOWN_KEY");
  });
});

describe("a token signed by the server's own Python code (known answer)", () => {
  it("verifies, names the fixture's install, and fails once a byte changes", async () => {
    const { readFile } = await import("node:fs/promises");
    const fixture = JSON.parse(await readFile(new URL("./fixtures/server-token.json", import.meta.url), "utf8"));
    const verifier = new LicenceVerifier({ subtle: crypto.subtle, publicKeys: fixture.public_keys });
    const options = { installHash: await installHashOf(crypto.subtle, fixture.install_id), now: fixture.now };

    const result = await verifier.verify(fixture.token, options);

    assert.equal(result.valid, true);
    assert.deepEqual(result.payload, fixture.payload);
    const tampered = fixture.token.replace(/^(.{20})(.)/, (_, head, c) => head + (c === "A" ? "B" : "A"));
    assert.equal((await verifier.verify(tampered, options)).valid, false);
  });
});
