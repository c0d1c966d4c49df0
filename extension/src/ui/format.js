/**
 * Money, dates and countdowns for people.
 * @module
 */

/**
 * @param {number} fen
 * @param {string} currency
 */
export function formatPrice(fen, currency) {
  const amount = (fen / 100).toFixed(2);
  return currency === "CNY" ? `¥${amount}` : `${amount} ${currency}`;
}

/**
 * @param {number} seconds since the epoch
 * @param {string} [locale]
 */
export function formatDate(seconds, locale = chrome.i18n.getUILanguage()) {
  return new Date(seconds * 1000).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

/** @param {number} ms */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}
