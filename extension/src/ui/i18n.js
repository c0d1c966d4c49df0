/**
 * Strings come from `_locales/<lang>/messages.json` through chrome.i18n (zh_CN by default, English otherwise).
 * @module
 */

/**
 * @param {string} key
 * @param {string | string[]} [substitutions]
 * @returns {string} the message, or the key itself when it is missing (visible, never blank)
 */
export function t(key, substitutions) {
  return chrome.i18n.getMessage(key, substitutions) || key;
}

/**
 * Fill every `data-i18n` element's text and `data-i18n-placeholder` input's placeholder; set the page language.
 * @param {ParentNode} root
 */
export function localize(root = document) {
  document.documentElement.lang = t("langTag");
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.textContent = t(/** @type {HTMLElement} */ (node).dataset.i18n ?? "");
  }
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    /** @type {HTMLInputElement} */ (node).placeholder = t(/** @type {HTMLElement} */ (node).dataset.i18nPlaceholder ?? "");
  }
}
