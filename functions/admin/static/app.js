// The operators' dashboard's entry module: ES modules loaded as they are (no build step, no dependencies). It talks
// only to /v1/admin on its own origin with the admin key the operator pastes (kept in sessionStorage: this tab
// only). The page is served under a strict CSP (no inline script or style, no eval). This module wires the
// sign-in, the language and the tabs to the views' modules.

import { ApiError, api, errorMessage, onUnauthorized } from "./api.js";
import { loadAudit, renderAudit } from "./audit.js";
import { loadStats, renderStats } from "./charts.js";
import { closeDetail, openDetail, renderDetail, stopWatching } from "./detail.js";
import { wireDialog } from "./dialog.js";
import { el, renderMessage, setMessage } from "./dom.js";
import { waitText } from "./format.js";
import { chooseLanguage, label, language, t } from "./i18n.js";
import { addView, showView } from "./nav.js";
import { ORDER_STATUSES, loadOrders, onOrderOpen, renderOrders } from "./orders.js";
import { loadAnomalies, loadReports, renderAnomalies, renderReports } from "./reports.js";
import { $, KEY_STORE, forgetSession, safeStorage, state } from "./state.js";

function applyStaticText() {
  document.documentElement.lang = language() === "zh_CN" ? "zh-CN" : "en";
  document.title = t("app.title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  const status = $("filter-status");
  const chosen = status.value;
  status.replaceChildren(
    el("option", { value: "" }, t("filter.any")),
    ...ORDER_STATUSES.map((s) => el("option", { value: s }, t(`status.${s}`))),
  );
  status.value = chosen;
  $("lang").value = language();
}

function setLanguage(lang) {
  chooseLanguage(lang);
  applyStaticText();
  renderAll();
}

async function signIn(key, { stored = false } = {}) {
  setMessage("signin-message", { kind: "info", key: "signin.checking" });
  state.key = key;
  try {
    state.me = await api("/me");
  } catch (error) {
    state.key = null;
    safeStorage(() => sessionStorage.removeItem(KEY_STORE));
    if (error instanceof ApiError && error.status === 401) {
      setMessage("signin-message", { kind: "error", key: stored ? "signin.expired" : "signin.refused" });
    }
    else if (error instanceof ApiError && error.status === 429) {
      setMessage("signin-message", { kind: "error", key: "signin.rateLimited", vars: { wait: waitText(error.retryAfter) } });
    } else setMessage("signin-message", errorMessage(error));
    $("signin-key").focus();
    return;
  }
  safeStorage(() => sessionStorage.setItem(KEY_STORE, key));
  setMessage("signin-message", null);
  $("signin-key").value = "";
  showApp();
}

function signOut(message = { kind: "info", key: "signin.signedOut" }) {
  safeStorage(() => sessionStorage.removeItem(KEY_STORE));
  stopWatching();
  forgetSession();
  for (const id of [...state.messages.keys()]) if (id !== "signin-message") state.messages.delete(id);
  const dialog = $("confirm");
  if (dialog.open) dialog.close("cancel");
  $("app").hidden = true;
  $("who").hidden = true;
  $("signin").hidden = false;
  renderAll();
  setMessage("signin-message", message);
  $("signin-key").focus();
}

function showApp() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  renderWho();
  showView(state.view);
  $("main").focus();
}

function renderWho() {
  if (!state.me) return;
  $("who-name").textContent = state.me.name;
  const role = $("who-role");
  role.textContent = label("role", state.me.role);
  role.dataset.role = state.me.role;
  role.className = `badge role-${state.me.role}`;
}

function renderAll() {
  renderWho();
  renderOrders();
  renderDetail();
  renderStats();
  renderReports();
  renderAnomalies();
  renderAudit();
  for (const id of state.messages.keys()) renderMessage(id);
}

function wire() {
  onUnauthorized(() => signOut({ kind: "error", key: "signin.expired" }));
  onOrderOpen(openDetail);
  addView("orders", () => loadOrders());
  addView("revenue", () => loadStats());
  addView("reports", () => loadReports());
  addView("anomalies", () => loadAnomalies());
  addView("audit", () => loadAudit());
  $("lang").addEventListener("change", (event) => setLanguage(event.target.value));
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("signin-key").value.trim();
    if (!key) {
      setMessage("signin-message", { kind: "error", key: "signin.empty" });
      $("signin-key").focus();
      return;
    }
    signIn(key);
  });
  $("sign-out").addEventListener("click", () => signOut());
  for (const button of document.querySelectorAll("nav.tabs button")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadOrders();
  });
  $("filters").addEventListener("reset", () => setTimeout(() => loadOrders(), 0));
  $("orders-more").addEventListener("click", () => loadOrders({ append: true }));
  $("stats-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadStats();
  });
  $("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit();
  });
  $("audit-more").addEventListener("click", () => loadAudit({ append: true }));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.detailId && !$("confirm").open && $("detail").contains(document.activeElement)) closeDetail();
  });
  wireDialog();
}

async function start() {
  applyStaticText();
  wire();
  for (const id of ["orders-message", "stats-message", "reports-message", "anomalies-message", "audit-message", "signin-message"]) renderMessage(id);
  if (state.key) await signIn(state.key, { stored: true });
  else $("signin-key").focus();
}

start();
