// The dashboard's languages: the chosen one (kept in localStorage) and t(), which fills a text's {variables}.

import { EN } from "./messages-en.js";
import { ZH_CN } from "./messages-zh.js";
import { safeStorage } from "./state.js";

const LANG_STORE = "admin.lang";
const MESSAGES = { en: EN, zh_CN: ZH_CN };

let lang = initialLanguage();

function initialLanguage() {
  const saved = safeStorage(() => localStorage.getItem(LANG_STORE));
  if (saved && saved in MESSAGES) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh_CN" : "en";
}

export function language() {
  return lang;
}

export function chooseLanguage(wanted) {
  lang = wanted in MESSAGES ? wanted : "en";
  safeStorage(() => localStorage.setItem(LANG_STORE, lang));
}

export function t(key, vars = {}) {
  const template = MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key;
  // A variable may be a {prefix, value} pair: a status code, translated when the text is rendered.
  const text = (v) => (v !== null && typeof v === "object" && "prefix" in v ? label(v.prefix, v.value) : String(v));
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? text(vars[name]) : whole));
}

export function known(key) {
  return key in MESSAGES.en;
}

export function label(prefix, value) {
  return known(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : String(value);
}
