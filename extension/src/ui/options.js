/**
 * The options page: every licence of this browser (verified offline, then checked online each time the page opens,
 * so that a refund shows here at once), deactivation, restoring a licence by key, and the purchase history.
 * @module
 */

import { createIntegration } from "../app.js";
import { nextStep } from "../next-step.js";
import { touchesLicences } from "../store.js";
import { byId, show } from "./dom.js";
import { renderHistory } from "./history-table.js";
import { localize, t } from "./i18n.js";
import { renderLicences } from "./licence-card.js";
import { COMMON_HANDLERS, renderStep } from "./next-step-view.js";

const integration = createIntegration();
const ui = {
  licences: byId("licences"),
  licencesStatus: byId("licences-status"),
  form: /** @type {HTMLFormElement} */ (byId("restore-form")),
  key: /** @type {HTMLInputElement} */ (byId("licence-key")),
  restoreResult: byId("restore-result"),
  history: byId("history"),
  historyProblem: byId("history-problem"),
};

const licenceHandlers = {
  ...COMMON_HANDLERS,
  restore: () => ui.key.focus(),
  refresh: () => refreshAll(),
};

async function showLicences() {
  renderLicences(ui.licences, await integration.licences(), { onDeactivate: deactivate, handlers: licenceHandlers });
}

async function refreshAll() {
  await integration.refreshAll();
  await showLicences();
}

/** @param {string} licenceId */
async function deactivate(licenceId) {
  const [view] = (await integration.licences()).filter((v) => v.licence.license_id === licenceId);
  try {
    await integration.deactivate(licenceId);
    ui.licencesStatus.textContent = t("deactivated", view?.licence.license_key ?? "");
  } catch (error) {
    renderStep(ui.restoreResult, nextStep(error), { retry: () => deactivate(licenceId) });
  }
  await showLicences();
}

/** @param {SubmitEvent} event */
async function restore(event) {
  event.preventDefault();
  const key = ui.key.value.trim();
  if (!key) return ui.key.focus();
  show(ui.restoreResult, false);
  try {
    await integration.restore(key);
    ui.key.value = "";
    ui.restoreResult.replaceChildren(t("restoreDone"));
    ui.restoreResult.dataset.action = "done";
    show(ui.restoreResult);
  } catch (error) {
    renderStep(ui.restoreResult, nextStep(error), { retry: () => ui.form.requestSubmit(), check_key: () => ui.key.focus() });
  }
  await showLicences();
  await showHistory();
}

async function showHistory() {
  show(ui.historyProblem, false);
  try {
    renderHistory(ui.history, await integration.history());
  } catch (error) {
    renderStep(ui.historyProblem, nextStep(error), { retry: showHistory });
  }
}

localize();
ui.form.addEventListener("submit", restore);
byId("buy").addEventListener("click", COMMON_HANDLERS.buy);
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && touchesLicences(changes)) showLicences();
});
await showLicences();
showHistory();
refreshAll().catch(() => {}); // offline: the stored tokens still verify until they expire
