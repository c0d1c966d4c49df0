// What the dashboard's modules share: the signed-in key and caller, the data each view shows and the messages
// on screen (re-rendered on a language switch). The language itself lives in i18n.js.

export const KEY_STORE = "admin.key";

export function safeStorage(action) {
  try {
    return action();
  } catch {
    return null;
  }
}

function readKey() {
  return safeStorage(() => sessionStorage.getItem(KEY_STORE));
}

// What a signed-in session has read and shown; a sign-out puts it back (forgetSession).
function sessionData() {
  return {
    me: null,
    orders: [],
    ordersNext: null,
    detailId: null,
    detail: null,
    detailMessage: null,
    stats: null,
    reports: null,
    report: null,
    anomalies: null,
    audit: [],
    auditNext: null,
  };
}

export const state = {
  key: readKey(),
  view: "orders",
  loaded: new Set(), // views whose data was fetched since sign-in
  messages: new Map(), // element id -> {kind, key, vars} | {kind, text}: re-rendered on a language switch
  ordersQuery: {},
  ordersSeq: 0,
  detailTimer: null,
  refundRequestKey: null,
  auditTarget: "",
  ...sessionData(),
};

export function forgetSession() {
  Object.assign(state, { key: null, ...sessionData() });
  state.loaded.clear();
}

export const $ = (id) => document.getElementById(id);

export function canOperate() {
  return state.me?.role === "operator";
}
