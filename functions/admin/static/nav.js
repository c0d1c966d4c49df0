// The tabs: one view shown at a time, its data loaded the first time it is shown after sign-in.

import { state } from "./state.js";

const loaders = new Map();

export function addView(view, load) {
  loaders.set(view, load);
}

export function showView(view) {
  state.view = view;
  for (const button of document.querySelectorAll("nav.tabs button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  if (!state.loaded.has(view)) {
    state.loaded.add(view);
    loaders.get(view)();
  }
}
