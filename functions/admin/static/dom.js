// Element helpers. The page's CSP forbids inline script and style, so every node is built with createElement
// (or createElementNS for SVG) and text goes in as text nodes, never as HTML.

import { localTime } from "./format.js";
import { label, t } from "./i18n.js";
import { $, state } from "./state.js";

export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.setAttribute("class", value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "style") throw new Error("inline styles are not allowed by the page's CSP");
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function timeEl(seconds) {
  if (seconds === null || seconds === undefined) return document.createTextNode(t("none"));
  const node = el("time", { datetime: new Date(seconds * 1000).toISOString() }, localTime(seconds));
  node.title = new Date(seconds * 1000).toISOString();
  return node;
}

export function badge(prefix, value) {
  if (value === null || value === undefined) return document.createTextNode(t("none"));
  return el("span", { class: `badge state-${String(value).toLowerCase()}`, dataset: { state: value } }, label(prefix, value));
}

export function code(text) {
  return text === null || text === undefined || text === "" ? document.createTextNode(t("none")) : el("code", {}, text);
}

export function definitionList(rows) {
  return el(
    "dl",
    { class: "fields" },
    rows.map(([key, value]) => el("div", { dataset: { field: key } }, el("dt", {}, label("field", key)), el("dd", {}, value))),
  );
}

export function cell(content, attrs = {}) {
  return el("td", attrs, content);
}

export function setMessage(id, message) {
  if (message) state.messages.set(id, message);
  else state.messages.delete(id);
  renderMessage(id);
}

export function renderMessage(id) {
  const node = $(id);
  if (!node) return;
  const message = state.messages.get(id);
  node.hidden = !message;
  node.classList.toggle("error", message?.kind === "error");
  node.classList.toggle("ok", message?.kind === "ok");
  node.textContent = message ? message.text ?? t(message.key, message.vars) : "";
}
