#!/usr/bin/env node
/**
 * Build the unpacked extension for one environment:
 *
 *   node extension/build.mjs --env local|production [--out DIR] [--api-base URL] [--public-keys JSON]
 *                            [--fetch-keys]
 *
 * Copies the extension's files to DIR (default extension/dist), writes `config.js` (the API base URL and the
 * licence public keys, from config/<env>.json unless overridden) and a manifest whose `host_permissions` and
 * `connect-src` name only the API's origin. `--fetch-keys` reads the keys from the running API's
 * `GET /v1/licenses/keys` now, at build time: the extension never loads keys (or code) at run time.
 */

import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const COPIED = ["_locales", "icons", "src", "checkout.html", "popup.html", "options.html", "styles.css"];
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const RAW_KEY = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url without padding
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const DEVELOPMENT_ENVS = new Set(["local"]); // as src/api.js: plain http:// to localhost in these builds only

/**
 * @param {unknown} apiBase
 * @param {{development?: boolean}} [options] a development build (`--env local`) may use http:// to localhost
 * @returns {URL}
 */
export function checkApiBase(apiBase, { development = false } = {}) {
  let url;
  try {
    url = new URL(String(apiBase));
  } catch {
    throw new Error(`apiBase ${JSON.stringify(apiBase)} is not a URL`);
  }
  if (url.protocol !== "https:" && !(development && url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new Error(`apiBase must be https:// (http:// only to localhost, in a development build), not ${url.origin}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new Error("apiBase must not carry a query, a fragment or credentials");
  }
  return url;
}

/**
 * @param {unknown} keys
 * @returns {Record<string, string>}
 */
export function checkPublicKeys(keys) {
  if (keys === null || typeof keys !== "object" || Array.isArray(keys) || Object.keys(keys).length === 0) {
    throw new Error("publicKeys is empty: put GET /v1/licenses/keys of this environment there, or use --fetch-keys");
  }
  for (const [kid, key] of Object.entries(keys)) {
    if (!KID.test(kid)) throw new Error(`publicKeys: ${JSON.stringify(kid)} is not a key id`);
    if (typeof key !== "string" || !RAW_KEY.test(key)) {
      throw new Error(`publicKeys: the key of ${kid} is not base64url of 32 bytes`);
    }
  }
  return /** @type {Record<string, string>} */ (keys);
}

/**
 * @param {string} apiBase
 * @returns {Promise<Record<string, string>>}
 */
async function fetchKeys(apiBase) {
  const url = `${apiBase.replace(/\/+$/, "")}/v1/licenses/keys`;
  let answer;
  try {
    answer = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).json();
  } catch (error) {
    throw new Error(`cannot read ${url} (is the API running? \`make dev\` locally): ${error}`);
  }
  if (answer?.algorithm !== "Ed25519" || !Array.isArray(answer.keys)) throw new Error(`${url}: not a key list`);
  return Object.fromEntries(answer.keys.map((k) => [k.kid, k.public_key]));
}

/**
 * @param {{env: string, out: string, apiBase?: string, publicKeys?: Record<string, string>, fetchKeys?: boolean}}
 *   options
 * @returns {Promise<{out: string, origin: string, kids: string[]}>}
 */
export async function build({ env, out, apiBase, publicKeys, fetchKeys: fetchThem = false }) {
  const config = JSON.parse(await readFile(join(HERE, "config", `${env}.json`), "utf8"));
  const url = checkApiBase(apiBase ?? config.apiBase, { development: DEVELOPMENT_ENVS.has(env) });
  const base = url.href.replace(/\/+$/, "");
  const keys = checkPublicKeys(publicKeys ?? (fetchThem ? await fetchKeys(base) : config.publicKeys));

  const manifest = JSON.parse(await readFile(join(HERE, "manifest.json"), "utf8"));
  manifest.host_permissions = [`${url.origin}/*`];
  manifest.content_security_policy = {
    extension_pages: `script-src 'self'; object-src 'none'; base-uri 'none'; connect-src ${url.origin}`,
  };

  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const name of COPIED) await cp(join(HERE, name), join(out, name), { recursive: true });
  await writeFile(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const frozen = JSON.stringify({ env, apiBase: base, publicKeys: keys }, null, 2);
  await writeFile(
    join(out, "config.js"),
    `// Written by build.mjs for the "${env}" environment. Do not edit: rebuild.\n` +
      `export const CONFIG = Object.freeze(${frozen});\nObject.freeze(CONFIG.publicKeys);\n`,
  );
  return { out, origin: url.origin, kids: Object.keys(keys) };
}

async function main() {
  const { values } = parseArgs({
    options: {
      env: { type: "string", default: "local" },
      out: { type: "string", default: join(HERE, "dist") },
      "api-base": { type: "string" },
      "public-keys": { type: "string" },
      "fetch-keys": { type: "boolean", default: false },
    },
  });
  const built = await build({
    env: values.env,
    out: resolve(values.out),
    apiBase: values["api-base"],
    publicKeys: values["public-keys"] ? JSON.parse(values["public-keys"]) : undefined,
    fetchKeys: values["fetch-keys"],
  });
  console.log(`built ${built.out} for ${built.origin} with key ids ${built.kids.join(", ")}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`build.mjs: ${error.message}`);
    process.exit(1);
  });
}
