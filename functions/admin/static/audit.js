// The audit log: who did what to which target, newest first, in pages of AUDIT_PAGE_SIZE.

import { api, errorMessage } from "./api.js";
import { cell, code, el, setMessage, timeEl } from "./dom.js";
import { compactJson } from "./format.js";
import { label, t } from "./i18n.js";
import { $, state } from "./state.js";

const AUDIT_PAGE_SIZE = 50;

export async function loadAudit({ append = false } = {}) {
  if (!append) state.auditTarget = String(new FormData($("audit-form")).get("target") ?? "").trim();
  setMessage("audit-message", { kind: "info", key: "loading" });
  $("audit-more").disabled = true;
  try {
    const page = await api("/audit", {
      params: { target: state.auditTarget, limit: AUDIT_PAGE_SIZE, before: append ? state.auditNext : null },
    });
    state.audit = append ? [...state.audit, ...page.entries] : page.entries;
    state.auditNext = page.next_before ?? null;
    setMessage("audit-message", state.audit.length ? null : { kind: "info", key: "audit.none" });
  } catch (error) {
    setMessage("audit-message", errorMessage(error));
  } finally {
    $("audit-more").disabled = false;
  }
  renderAudit();
}

export function renderAudit() {
  $("audit-body").replaceChildren(
    ...state.audit.map((entry) =>
      el(
        "tr",
        { dataset: { audit: entry.audit_id } },
        cell(timeEl(entry.at)),
        cell([entry.actor_name ?? "", " ", el("small", {}, `${entry.actor ?? ""} · ${label("role", entry.role)}`)]),
        cell(el("code", {}, entry.action ?? "")),
        cell(code(entry.target)),
        cell(el("span", { class: `badge ${entry.outcome === "ok" ? "state-ok" : "state-error"}` }, entry.outcome ?? "")),
        cell(changeDetails(entry)),
      ),
    ),
  );
  $("audit-more").hidden = !state.auditNext;
}

function changeDetails(entry) {
  if (!entry.before && !entry.after) return t("none");
  return el(
    "details",
    {},
    el("summary", {}, t("audit.show")),
    el("p", {}, el("strong", {}, t("audit.before")), " ", el("code", { class: "details" }, compactJson(entry.before))),
    el("p", {}, el("strong", {}, t("audit.after")), " ", el("code", { class: "details" }, compactJson(entry.after))),
  );
}
