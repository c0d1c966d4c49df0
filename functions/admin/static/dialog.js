// The confirmation dialog: one <dialog> in the page, answered with true (confirmed) or false.

import { el } from "./dom.js";
import { $ } from "./state.js";

let settleDialog = null;

export function confirmDialog({ title, body, ok, danger = true }) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-body").replaceChildren(...body.map((line) => el("p", {}, line)));
  const okButton = $("confirm-ok");
  okButton.textContent = ok;
  okButton.className = danger ? "danger" : "primary";
  return new Promise((resolve) => {
    settleDialog?.(false);
    settleDialog = (answer) => {
      settleDialog = null;
      resolve(answer);
    };
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

export function wireDialog() {
  const dialog = $("confirm");
  $("confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    dialog.close("ok");
  });
  $("confirm-cancel").addEventListener("click", () => dialog.close("cancel"));
  dialog.addEventListener("close", () => settleDialog?.(dialog.returnValue === "ok"));
}
