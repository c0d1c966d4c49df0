/**
 * Every failure the user can meet, mapped to a message (a `_locales` key) and the one thing to do next.
 * @module
 */

/**
 * @typedef {"retry" | "new_qr" | "wait" | "deactivate_elsewhere" | "check_key" | "restore" | "buy" | "refresh"
 *   | "contact_support"} Action
 * @typedef {{message: string, action: Action}} NextStep
 */

/** @type {Record<string, NextStep>} by error code or flow state */
const STEPS = {
  // flow states
  QR_EXPIRED: { message: "stepQrExpired", action: "new_qr" },
  ORDER_CLOSED: { message: "stepOrderClosed", action: "new_qr" },
  WAITING_LICENCE: { message: "stepWaitingLicence", action: "wait" },
  ORDER_REFUNDED: { message: "stepOrderRefunded", action: "buy" },
  // answers of the server
  NETWORK: { message: "stepNetwork", action: "retry" },
  RATE_LIMITED: { message: "stepRateLimited", action: "retry" },
  WECHATPAY_REFUSED: { message: "stepUpstream", action: "retry" },
  WECHATPAY_UNAVAILABLE: { message: "stepUpstream", action: "retry" },
  INVALID_POLL_TOKEN: { message: "stepOrderLost", action: "new_qr" },
  ORDER_NOT_FOUND: { message: "stepOrderLost", action: "new_qr" },
  UNKNOWN_PRODUCT: { message: "stepUnknownProduct", action: "retry" },
  DEVICE_LIMIT_REACHED: { message: "stepDeviceLimit", action: "deactivate_elsewhere" },
  INVALID_LICENSE_KEY: { message: "stepCheckKey", action: "check_key" },
  LICENSE_NOT_FOUND: { message: "stepCheckKey", action: "check_key" },
  LICENSE_REVOKED: { message: "stepLicenceRevoked", action: "contact_support" },
  LICENSE_EXPIRED: { message: "stepLicenceExpired", action: "buy" },
  // a stored licence that stopped working
  REVOKED: { message: "stepLicenceRevoked", action: "contact_support" },
  EXPIRED: { message: "stepLicenceExpired", action: "buy" },
  NOT_ACTIVATED: { message: "stepNotActivated", action: "restore" },
  NEEDS_REFRESH: { message: "stepNeedsRefresh", action: "refresh" },
  OTHER_INSTALL: { message: "stepOtherInstall", action: "restore" },
  UNSUPPORTED: { message: "stepBrowserTooOld", action: "contact_support" },
};

/** @type {NextStep} */
const FALLBACK = { message: "stepUnknown", action: "retry" };
/** @type {NextStep} */
const SERVER_TROUBLE = { message: "stepServer", action: "retry" };

/**
 * @param {unknown} problem an ApiError, anything with a `code`, or a flow state's code
 * @returns {NextStep}
 */
export function nextStep(problem) {
  const code = typeof problem === "string" ? problem : /** @type {any} */ (problem)?.code;
  if (typeof code === "string" && Object.hasOwn(STEPS, code)) return STEPS[code];
  const status = /** @type {any} */ (problem)?.status;
  if (status === 429) return STEPS.RATE_LIMITED;
  if (typeof status === "number" && status >= 500) return SERVER_TROUBLE;
  return FALLBACK;
}
