// The admin API on this origin: every call carries the operator's key as a Bearer token; a failure becomes an
// ApiError, and errorMessage() words it for the page.

import { waitText } from "./format.js";
import { state } from "./state.js";

const API = "/v1/admin";

let unauthorized = () => {};

// Called when a signed-in caller's key stops being accepted (a 401): the entry module signs out.
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details;
  }
}

export async function api(path, { method = "GET", params = {}, body } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json", Authorization: `Bearer ${state.key ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "NETWORK", "network error");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const error = payload?.error ?? {};
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    const failure = new ApiError(
      response.status,
      error.code ?? `HTTP_${response.status}`,
      error.message ?? response.statusText,
      retryAfter,
      error.details ?? null,
    );
    if (response.status === 401 && state.me) unauthorized();
    throw failure;
  }
  return payload;
}

export function errorMessage(error) {
  if (!(error instanceof ApiError)) return { kind: "error", text: String(error?.message ?? error) };
  if (error.status === 0) return { kind: "error", key: "error.network" };
  // Every 401 carries one message whatever was wrong with the key: the dashboard words it itself.
  if (error.status === 401) return { kind: "error", key: "signin.expired" };
  if (error.status === 403) return { kind: "error", key: "error.forbidden" };
  if (error.status === 429) return { kind: "error", key: "error.rateLimited", vars: { wait: waitText(error.retryAfter) } };
  return { kind: "error", key: "error.api", vars: { message: error.message, code: error.code } };
}
