/**
 * A problem as the user sees it: the message, and a button for the next step when there is one to press.
 * @module
 */

import { el } from "./dom.js";
import { t } from "./i18n.js";

/** @type {Record<string, string>} */
const BUTTON_LABELS = {
  retry: "actionRetry",
  new_qr: "actionNewQr",
  refresh: "actionRefresh",
  restore: "actionRestore",
  buy: "actionBuy",
  deactivate_elsewhere: "actionOpenOptions",
};

/**
 * @typedef {import("../next-step.js").NextStep} NextStep
 * @typedef {Partial<Record<import("../next-step.js").Action, () => void>>} Handlers
 */

/** Handlers every page shares: buying opens the checkout tab, restoring opens the options page. */
export const COMMON_HANDLERS = {
  buy: () => chrome.tabs.create({ url: chrome.runtime.getURL("checkout.html") }),
  restore: () => chrome.runtime.openOptionsPage(),
  deactivate_elsewhere: () => chrome.runtime.openOptionsPage(),
};

/**
 * @param {HTMLElement} container emptied and filled
 * @param {NextStep} step
 * @param {Handlers} handlers
 */
export function renderStep(container, step, handlers) {
  const message = el("p", { className: "step-message", text: t(step.message) });
  const handler = handlers[step.action];
  const label = BUTTON_LABELS[step.action];
  container.replaceChildren(message);
  if (handler && label) {
    const button = el("button", { className: "step-action", text: t(label), attrs: { type: "button" } });
    button.addEventListener("click", handler, { once: true });
    container.append(button);
  }
  container.dataset.action = step.action;
  container.hidden = false;
}
