/**
 * One licence: its state as verified offline just now, what it unlocks, until when, its key, and what to do next.
 * @module
 */

import { el } from "./dom.js";
import { formatDate } from "./format.js";
import { t } from "./i18n.js";
import { renderStep } from "./next-step-view.js";

/** @type {Record<import("../licence-book.js").LicenceState, string>} */
const STATE_LABELS = {
  valid: "licenceStateValid",
  expired: "licenceStateExpired",
  revoked: "licenceStateRevoked",
  not_activated: "licenceStateNotActivated",
  needs_refresh: "licenceStateNeedsRefresh",
  invalid: "licenceStateInvalid",
};

/**
 * @param {import("../licence-book.js").LicenceView} view
 * @param {{onDeactivate?: (id: string) => void, handlers?: import("./next-step-view.js").Handlers,
 *   compact?: boolean}} [options] compact: the popup's short form
 * @returns {HTMLElement}
 */
export function licenceCard(view, { onDeactivate, handlers = {}, compact = false } = {}) {
  const { licence, payload, state } = view;
  const title = licence.title ?? payload?.sub ?? licence.product_id ?? licence.license_id;
  const facts = el("dl", { className: "facts" });
  const fact = (/** @type {string} */ label, /** @type {string | Node} */ value) =>
    facts.append(el("dt", { text: t(label) }), el("dd", {}, value));
  if (payload) {
    fact("licenceEntitlements", payload.ent.join(", "));
    fact("licenceExpires", payload.lexp == null ? t("licencePerpetual") : formatDate(payload.lexp));
    if (state === "valid" && !compact) fact("licenceNextCheck", formatDate(payload.exp));
  }
  fact("licenceKey", el("code", { className: "licence-key", text: licence.license_key }));

  const card = el(
    "article",
    { className: `licence licence-${state}`, attrs: { "data-licence-id": licence.license_id, "data-state": state } },
    el("h3", { text: title }),
    el("p", { className: `badge badge-${state}`, text: t(STATE_LABELS[state]) }),
    facts,
  );
  if (!compact) card.append(el("p", { className: "hint", text: t("licenceKeyHint") }));
  if (view.step) {
    const box = el("div", { className: "step", attrs: { role: "status" } });
    renderStep(box, view.step, handlers);
    card.append(box);
  }
  if (onDeactivate) {
    const button = el("button", { className: "secondary", text: t("deactivateButton"), attrs: { type: "button" } });
    button.addEventListener("click", () => onDeactivate(licence.license_id));
    card.append(button);
  }
  return card;
}

/**
 * @param {HTMLElement} container
 * @param {import("../licence-book.js").LicenceView[]} views
 * @param {Parameters<typeof licenceCard>[1]} [options]
 */
export function renderLicences(container, views, options) {
  container.replaceChildren(
    ...(views.length
      ? views.map((view) => licenceCard(view, options))
      : [el("p", { className: "empty", text: t("licenceNone") })]),
  );
}
