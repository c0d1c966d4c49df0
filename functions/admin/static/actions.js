// What an operator can do to an order and its licence: refund, confirm paid, revoke, reinstate, reset devices.
// Each form confirms in the dialog, then hands its call to `act` (detail.js), which reads the order again.

import { confirmDialog } from "./dialog.js";
import { el } from "./dom.js";
import { money, parseYuan } from "./format.js";
import { t } from "./i18n.js";
import { canOperate, state } from "./state.js";

const REFUNDABLE_STATUSES = new Set(["PAID", "REFUNDING", "PARTIALLY_REFUNDED"]);
const UNSETTLED_STATUSES = new Set(["PENDING", "CLOSED"]);
const REFUND_COMMITTED = new Set(["REQUESTED", "PROCESSING", "SUCCESS", "ABNORMAL"]); // counts against the refundable
const MAX_REASON_LENGTH = 80;

export function refundedFen(refunds) {
  return refunds.filter((r) => r.status === "SUCCESS").reduce((sum, r) => sum + r.amount_fen, 0);
}

export function refundableFen(order, refunds) {
  const committed = refunds.filter((r) => REFUND_COMMITTED.has(r.status)).reduce((sum, r) => sum + r.amount_fen, 0);
  return Math.max(0, order.amount_fen - committed);
}

export function actionsSection(order, refunds, act) {
  const operator = canOperate();
  const forms = [];
  if (REFUNDABLE_STATUSES.has(order.status)) forms.push(refundForm(order, refunds, act));
  if (UNSETTLED_STATUSES.has(order.status)) forms.push(confirmPaidForm(order, act));
  if (!forms.length) return document.createTextNode("");
  for (const form of forms) form.querySelector("fieldset").disabled = !operator;
  return el(
    "section",
    { class: "part actions", "aria-labelledby": "detail-actions" },
    el("h4", { id: "detail-actions" }, t("detail.actions")),
    operator ? null : el("p", { class: "hint", id: "viewer-note" }, t("detail.viewerNote")),
    forms,
  );
}

// Every action is a form around one fieldset, so a viewer's key can disable it whole.
function actionForm(id, legend, ...children) {
  return el("form", { id, class: "action", novalidate: true }, el("fieldset", {}, el("legend", {}, legend), ...children));
}

function refundForm(order, refunds, act) {
  const refundable = refundableFen(order, refunds);
  const amount = el("input", { id: "refund-amount", name: "amount", type: "text", inputmode: "decimal", autocomplete: "off", placeholder: money(refundable).slice(1) });
  const reason = el("input", { id: "refund-reason", name: "reason", type: "text", required: true, maxlength: MAX_REASON_LENGTH, autocomplete: "off" });
  const problem = el("p", { class: "message error", id: "refund-problem", role: "alert", hidden: true });
  const invalidate = () => {
    state.refundRequestKey = null;
    problem.hidden = true;
  };
  amount.addEventListener("input", invalidate);
  reason.addEventListener("input", invalidate);
  const form = actionForm(
    "refund-form",
    t("refund.legend"),
    el("label", { for: "refund-amount" }, t("refund.amount", { amount: money(refundable) })),
    amount,
    el("label", { for: "refund-reason" }, t("refund.reason")),
    reason,
    problem,
    el("button", { type: "submit", id: "refund-submit", class: "danger" }, t("refund.submit")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refund(order, refundable, amount, reason, problem, act);
  });
  return form;
}

function formProblem(node, text, focus) {
  node.textContent = text;
  node.hidden = false;
  focus.focus();
}

async function refund(order, refundable, amountInput, reasonInput, problem, act) {
  if (refundable <= 0) return formProblem(problem, t("refund.nothing"), amountInput);
  const typed = amountInput.value.trim();
  const amountFen = typed ? parseYuan(typed) : refundable;
  if (amountFen === null || amountFen < 1 || amountFen > refundable) {
    return formProblem(problem, t("refund.badAmount", { amount: money(refundable) }), amountInput);
  }
  const reason = reasonInput.value.trim();
  if (!reason || reason.length > MAX_REASON_LENGTH) {
    return formProblem(problem, t("refund.noReason", { n: MAX_REASON_LENGTH }), reasonInput);
  }
  const shown = money(amountFen);
  const body = [t("refund.confirmBody", { amount: shown, order: order.order_id }), t("refund.confirmReason", { reason })];
  if (amountFen === refundable) body.push(t("refund.confirmFull"));
  const confirmed = await confirmDialog({
    title: t("refund.confirmTitle", { amount: shown }),
    body,
    ok: t("refund.confirm", { amount: shown }),
  });
  if (!confirmed) return;
  state.refundRequestKey ??= `dash-${crypto.randomUUID()}`;
  const request = { reason, request_key: state.refundRequestKey };
  if (typed) request.amount_fen = amountFen;
  await act(`/orders/${encodeURIComponent(order.order_id)}/refund`, request, (answer) => {
    state.refundRequestKey = null;
    return {
      kind: "ok",
      key: "refund.done",
      vars: {
        no: answer.out_refund_no,
        amount: money(answer.amount_fen),
        status: { prefix: "refundStatus", value: answer.status },
      },
    };
  });
}

function confirmPaidForm(order, act) {
  const form = actionForm(
    "confirm-paid-form",
    t("confirmPaid.legend"),
    el("p", { class: "hint" }, t("confirmPaid.hint")),
    el("button", { type: "submit", id: "confirm-paid" }, t("confirmPaid.button")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(`/orders/${encodeURIComponent(order.order_id)}/confirm-paid`, {}, (answer) => ({
      kind: "ok",
      key: "confirmPaid.done",
      vars: {
        outcome: { prefix: "outcome", value: answer.outcome },
        status: { prefix: "status", value: answer.order?.status },
      },
    }));
  });
  return form;
}

export function licenceActions(licence, act) {
  const revoked = licence.status === "REVOKED";
  const reason = el("input", { id: "licence-reason", name: "reason", type: "text", required: true, maxlength: 200, autocomplete: "off" });
  const problem = el("p", { class: "message error", role: "alert", hidden: true });
  const change = el("button", { type: "submit", id: revoked ? "licence-reinstate" : "licence-revoke", class: revoked ? null : "danger" }, t(revoked ? "licence.reinstate" : "licence.revoke"));
  const reset = el("button", { type: "button", id: "licence-reset", disabled: !(licence.activations ?? []).length }, t("licence.reset"));
  const form = actionForm(
    "licence-form",
    t("licence.legend"),
    el("label", { for: "licence-reason" }, t("licence.reason")),
    reason,
    problem,
    el("div", { class: "buttons" }, change, reset),
  );
  const base = `/licences/${encodeURIComponent(licence.licence_id)}`;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const why = reason.value.trim();
    if (!why) return formProblem(problem, t("licence.noReason"), reason);
    const verb = revoked ? "reinstate" : "revoke";
    const confirmed = await confirmDialog({
      title: t(`licence.${verb}Title`, { id: licence.licence_id }),
      body: [t(`licence.${verb}Body`), t("refund.confirmReason", { reason: why })],
      ok: t(`licence.${verb}Ok`),
      danger: !revoked,
    });
    if (!confirmed) return;
    await act(`${base}/${verb}`, { reason: why }, () => ({ kind: "ok", key: revoked ? "licence.reinstated" : "licence.revoked" }));
  });
  reset.addEventListener("click", async () => {
    const confirmed = await confirmDialog({
      title: t("licence.resetTitle", { id: licence.licence_id }),
      body: [t("licence.resetBody", { n: (licence.activations ?? []).length })],
      ok: t("licence.resetOk"),
    });
    if (!confirmed) return;
    await act(`${base}/reset-devices`, {}, (answer) => ({ kind: "ok", key: "licence.resetDone", vars: { n: answer.removed } }));
  });
  form.querySelector("fieldset").disabled = !canOperate();
  return form;
}
