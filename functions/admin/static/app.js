// The operators' dashboard: one ES module, no build step, no dependencies. It talks only to /v1/admin on its own
// origin with the admin key the operator pastes (kept in sessionStorage: this tab only). The page is served under
// a strict CSP (no inline script or style, no eval), so the DOM is built with createElement and textContent only.

const API = "/v1/admin";
const KEY_STORE = "admin.key";
const LANG_STORE = "admin.lang";
const PAGE_SIZE = 50;
const AUDIT_PAGE_SIZE = 50;
const WATCH_EVERY_MS = 2000; // how often an order with a refund in flight is read again
const ORDER_STATUSES = ["PENDING", "PAID", "REFUNDING", "PARTIALLY_REFUNDED", "REFUNDED", "CLOSED"];
const REFUNDABLE_STATUSES = new Set(["PAID", "REFUNDING", "PARTIALLY_REFUNDED"]);
const UNSETTLED_STATUSES = new Set(["PENDING", "CLOSED"]);
const REFUND_COMMITTED = new Set(["REQUESTED", "PROCESSING", "SUCCESS", "ABNORMAL"]); // counts against the refundable
const REFUND_IN_FLIGHT = new Set(["REQUESTED", "PROCESSING", "ABNORMAL"]);
const MAX_REASON_LENGTH = 80;

const MESSAGES = {
  en: {
    "skip": "Skip to content",
    "app.title": "Payments admin",
    "language": "Language",
    "lang.en": "English",
    "lang.zh_CN": "简体中文",
    "signout": "Sign out",
    "signin.title": "Sign in",
    "signin.hint": "Paste an admin API key. It is kept in this browser tab only, until you sign out or close the tab.",
    "signin.key": "Admin API key",
    "signin.submit": "Sign in",
    "signin.checking": "Checking the key…",
    "signin.empty": "Paste your admin API key first.",
    "signin.refused": "This key was not accepted: it is wrong, revoked or mistyped. Check it and try again.",
    "signin.expired": "Your key is no longer accepted (revoked or expired). Sign in again.",
    "signin.signedOut": "Signed out. The key was removed from this tab.",
    "signin.rateLimited": "Too many failed sign-ins from this address. Try again in {wait}.",
    "role.viewer": "viewer (read only)",
    "role.operator": "operator",
    "nav.label": "Sections",
    "nav.orders": "Orders",
    "nav.revenue": "Revenue",
    "nav.reports": "Reconciliation",
    "nav.anomalies": "Anomalies",
    "nav.audit": "Audit log",
    "orders.title": "Orders",
    "orders.caption": "Orders, newest first",
    "orders.count": "Orders shown: {n}.",
    "orders.countMore": "Orders shown: {n}; more are available.",
    "orders.none": "No orders match these filters.",
    "orders.open": "Open order {id}",
    "filter.status": "Status",
    "filter.any": "Any status",
    "filter.from": "From (day)",
    "filter.to": "To (day)",
    "filter.order": "Order id / out_trade_no",
    "filter.transaction": "Transaction id",
    "filter.product": "Product",
    "filter.search": "Search",
    "filter.clear": "Clear",
    "filter.days": "Days are China Standard Time (UTC+8) days; times are shown in your local time.",
    "filter.badRange": "The “from” day must not be after the “to” day.",
    "col.created": "Created",
    "col.order": "Order",
    "col.product": "Product",
    "col.amount": "Amount",
    "col.status": "Status",
    "col.paid": "Paid",
    "col.transaction": "Transaction id",
    "col.day": "Bill day",
    "col.checked": "Checked",
    "col.summary": "Summary",
    "col.actions": "Actions",
    "col.at": "When",
    "col.kind": "Kind",
    "col.reference": "Reference",
    "col.details": "Details",
    "col.actor": "Who",
    "col.action": "Action",
    "col.target": "Target",
    "col.outcome": "Outcome",
    "col.change": "Change",
    "col.refundNo": "Refund no.",
    "col.reason": "Reason",
    "col.requestedBy": "Requested by",
    "col.requestedAt": "Requested",
    "col.succeededAt": "Refunded at",
    "col.device": "Device (hash)",
    "col.activatedAt": "Activated",
    "col.id": "Id",
    "col.ours": "Ours",
    "col.theirs": "WeChat Pay",
    "more": "More",
    "show": "Show",
    "loading": "Loading…",
    "none": "—",
    "never": "Never",
    "cancel": "Cancel",
    "close": "Close",
    "refresh": "Refresh",
    "error.network": "The server cannot be reached. Check the connection and try again.",
    "error.forbidden": "Your key is read only (viewer): it cannot change anything.",
    "error.rateLimited": "Too many requests. Try again in {wait}.",
    "error.api": "{message} ({code})",
    "error.notFound": "Not found.",
    "wait.seconds": "{n} s",
    "wait.minutes": "{n} min",
    "status.PENDING": "Pending",
    "status.PAID": "Paid",
    "status.REFUNDING": "Refunding",
    "status.PARTIALLY_REFUNDED": "Partially refunded",
    "status.REFUNDED": "Refunded",
    "status.CLOSED": "Closed",
    "refundStatus.REQUESTED": "Requested",
    "refundStatus.PROCESSING": "Processing",
    "refundStatus.SUCCESS": "Refunded",
    "refundStatus.ABNORMAL": "Abnormal",
    "refundStatus.CLOSED": "Closed",
    "refundStatus.FAILED": "Failed",
    "licenceStatus.ACTIVE": "Active",
    "licenceStatus.REVOKED": "Revoked",
    "reportStatus.OK": "No differences",
    "reportStatus.DISCREPANCIES": "Differences found",
    "detail.title": "Order {id}",
    "detail.order": "Order",
    "detail.events": "Timeline",
    "detail.noEvents": "No events.",
    "detail.refunds": "Refunds",
    "detail.noRefunds": "No refunds.",
    "detail.licence": "Licence",
    "detail.noLicence": "No licence: one is issued when the order is paid.",
    "detail.activations": "Devices",
    "detail.noActivations": "No device has activated this licence.",
    "detail.actions": "Actions",
    "detail.viewerNote": "Your key is read only (viewer): these actions are disabled.",
    "detail.watching": "A refund is in progress: this panel refreshes by itself.",
    "detail.gone": "This order was not found.",
    "field.order_id": "Order id (out_trade_no)",
    "field.status": "Status",
    "field.product_id": "Product",
    "field.amount_fen": "Amount",
    "field.currency": "Currency",
    "field.description": "Description",
    "field.created_at": "Created",
    "field.expires_at": "Expires",
    "field.paid_at": "Paid",
    "field.closed_at": "Closed",
    "field.transaction_id": "Transaction id",
    "field.payer_hash": "Payer (hash)",
    "field.mchid": "Merchant id",
    "field.appid": "App id",
    "field.code_url": "QR code URL",
    "field.last_queried_at": "Last asked WeChat Pay",
    "field.updated_at": "Updated",
    "field.refunded": "Refunded",
    "field.refundable": "Refundable",
    "field.licence_id": "Licence id",
    "field.entitlements": "Entitlements",
    "field.max_devices": "Devices allowed",
    "field.issued_at": "Issued",
    "field.revoked_at": "Revoked",
    "field.revoke_reason": "Revocation reason",
    "field.refund_id": "WeChat refund id",
    "refund.legend": "Refund",
    "refund.amount": "Amount in ¥ (empty: all that is refundable, {amount})",
    "refund.reason": "Reason (the buyer sees it)",
    "refund.submit": "Refund…",
    "refund.badAmount": "Enter an amount such as 9.90, from ¥0.01 to {amount}.",
    "refund.noReason": "A reason is required (at most {n} characters).",
    "refund.nothing": "Nothing is left to refund on this order.",
    "refund.confirmTitle": "Refund {amount}?",
    "refund.confirmBody": "{amount} of order {order} goes back to the buyer through WeChat Pay. A refund cannot be undone.",
    "refund.confirmFull": "This is a full refund: the licence will be revoked.",
    "refund.confirmReason": "Reason: {reason}",
    "refund.confirm": "Refund {amount}",
    "refund.done": "Refund {no} of {amount} requested; WeChat Pay answered: {status}.",
    "confirmPaid.legend": "Payment",
    "confirmPaid.hint": "Ask WeChat Pay about this order and apply what it reports (safe to repeat).",
    "confirmPaid.button": "Confirm paid",
    "confirmPaid.done": "WeChat Pay answered: {outcome}. The order is {status}.",
    "outcome.PAID": "paid; the payment is recorded now",
    "outcome.ALREADY_PAID": "paid, already recorded; nothing changed",
    "outcome.CLOSED": "the order is closed",
    "outcome.NOT_PAID": "not paid yet",
    "outcome.UNKNOWN_ORDER": "it does not know this order (an anomaly is recorded)",
    "outcome.MISMATCH": "the payment disagrees with the order (an anomaly is recorded)",
    "licence.legend": "Licence",
    "licence.reason": "Reason",
    "licence.revoke": "Revoke…",
    "licence.reinstate": "Reinstate…",
    "licence.reset": "Reset devices…",
    "licence.noReason": "A reason is required.",
    "licence.revokeTitle": "Revoke licence {id}?",
    "licence.revokeBody": "The buyer's extension stops accepting it at its next check.",
    "licence.reinstateTitle": "Reinstate licence {id}?",
    "licence.reinstateBody": "The licence becomes valid again.",
    "licence.resetTitle": "Remove every device from licence {id}?",
    "licence.resetBody": "{n} device(s) will have to activate again.",
    "licence.revokeOk": "Revoke",
    "licence.reinstateOk": "Reinstate",
    "licence.resetOk": "Remove devices",
    "licence.revoked": "Licence revoked.",
    "licence.reinstated": "Licence reinstated.",
    "licence.resetDone": "{n} device(s) removed.",
    "revenue.title": "Revenue",
    "revenue.caption": "Revenue per day (successful payments), China Standard Time days",
    "revenue.asTable": "Show the figures as a table",
    "revenue.chartLabel": "Revenue per day from {from} to {to}; the highest day is {max}.",
    "revenue.empty": "No revenue in this period.",
    "totals.orders": "Orders",
    "totals.paid": "Paid",
    "totals.payments": "Payments",
    "totals.conversion": "Conversion",
    "totals.pending": "Pending now",
    "totals.revenue": "Revenue",
    "totals.refunded": "Refunded",
    "reports.title": "Reconciliation",
    "reports.hint": "Each day our books are compared with WeChat Pay's trade bill. Newest first.",
    "reports.none": "No reconciliation report yet.",
    "reports.details": "Details",
    "reports.detailsOf": "Details of {date}",
    "report.title": "Reconciliation of {date}",
    "report.missing_here": "At WeChat Pay, missing here",
    "report.missing_there": "Here, missing at WeChat Pay",
    "report.amount_mismatch": "Amounts differ",
    "report.state_mismatch": "States differ",
    "report.totals": "Totals",
    "report.ours": "Our books",
    "report.theirs": "WeChat Pay's bill",
    "report.nothing": "None.",
    "finding.kind": "Kind",
    "finding.id": "Id",
    "finding.order_id": "Order",
    "finding.amount_fen": "Amount",
    "finding.ours": "Ours",
    "finding.theirs": "WeChat Pay",
    "finding.ours_fen": "Ours",
    "finding.theirs_fen": "WeChat Pay",
    "finding.paid_at": "Paid",
    "finding.transaction_id": "Transaction id",
    "finding.payments": "Payments",
    "finding.payments_fen": "Paid in",
    "finding.refunds": "Refunds",
    "finding.refunds_fen": "Refunded",
    "findingKind.payment": "Payment",
    "findingKind.refund": "Refund",
    "anomalies.title": "Anomalies",
    "anomalies.hint": "Payments and refunds that disagreed with our records: never paid or licensed automatically.",
    "anomalies.none": "No anomalies.",
    "audit.title": "Audit log",
    "audit.target": "Target (e.g. order:ID, licence:ID)",
    "audit.none": "No entries.",
    "audit.before": "Before",
    "audit.after": "After",
    "audit.show": "Show",
  },
  zh_CN: {
    "skip": "跳到正文",
    "app.title": "支付管理后台",
    "language": "语言",
    "lang.en": "English",
    "lang.zh_CN": "简体中文",
    "signout": "退出",
    "signin.title": "登录",
    "signin.hint": "粘贴管理 API 密钥。密钥只保存在当前浏览器标签页中，退出或关闭标签页即清除。",
    "signin.key": "管理 API 密钥",
    "signin.submit": "登录",
    "signin.checking": "正在验证密钥…",
    "signin.empty": "请先粘贴管理 API 密钥。",
    "signin.refused": "密钥未被接受：密钥错误、已吊销或输入有误。请检查后重试。",
    "signin.expired": "密钥已不再有效（已吊销或过期），请重新登录。",
    "signin.signedOut": "已退出，密钥已从此标签页清除。",
    "signin.rateLimited": "此地址登录失败次数过多，请在 {wait} 后重试。",
    "role.viewer": "查看者（只读）",
    "role.operator": "操作员",
    "nav.label": "栏目",
    "nav.orders": "订单",
    "nav.revenue": "收入",
    "nav.reports": "对账",
    "nav.anomalies": "异常",
    "nav.audit": "审计日志",
    "orders.title": "订单",
    "orders.caption": "订单，最新在前",
    "orders.count": "共显示 {n} 个订单。",
    "orders.countMore": "已显示 {n} 个订单，还有更多。",
    "orders.none": "没有符合条件的订单。",
    "orders.open": "打开订单 {id}",
    "filter.status": "状态",
    "filter.any": "全部状态",
    "filter.from": "开始日期",
    "filter.to": "结束日期",
    "filter.order": "订单号 / 商户订单号",
    "filter.transaction": "微信支付单号",
    "filter.product": "商品",
    "filter.search": "查询",
    "filter.clear": "清除",
    "filter.days": "日期按北京时间（UTC+8）计算；时间以您的本地时间显示。",
    "filter.badRange": "开始日期不能晚于结束日期。",
    "col.created": "创建时间",
    "col.order": "订单",
    "col.product": "商品",
    "col.amount": "金额",
    "col.status": "状态",
    "col.paid": "支付时间",
    "col.transaction": "微信支付单号",
    "col.day": "账单日期",
    "col.checked": "对账时间",
    "col.summary": "摘要",
    "col.actions": "操作",
    "col.at": "时间",
    "col.kind": "类型",
    "col.reference": "来源",
    "col.details": "详情",
    "col.actor": "操作人",
    "col.action": "操作",
    "col.target": "对象",
    "col.outcome": "结果",
    "col.change": "变更",
    "col.refundNo": "退款单号",
    "col.reason": "原因",
    "col.requestedBy": "申请人",
    "col.requestedAt": "申请时间",
    "col.succeededAt": "退款成功时间",
    "col.device": "设备（哈希）",
    "col.activatedAt": "激活时间",
    "col.id": "编号",
    "col.ours": "我方",
    "col.theirs": "微信支付",
    "more": "加载更多",
    "show": "显示",
    "loading": "加载中…",
    "none": "—",
    "never": "永不",
    "cancel": "取消",
    "close": "关闭",
    "refresh": "刷新",
    "error.network": "无法连接服务器，请检查网络后重试。",
    "error.forbidden": "您的密钥为只读（查看者），不能进行修改。",
    "error.rateLimited": "请求过多，请在 {wait} 后重试。",
    "error.api": "{message}（{code}）",
    "error.notFound": "未找到。",
    "wait.seconds": "{n} 秒",
    "wait.minutes": "{n} 分钟",
    "status.PENDING": "待支付",
    "status.PAID": "已支付",
    "status.REFUNDING": "退款中",
    "status.PARTIALLY_REFUNDED": "部分退款",
    "status.REFUNDED": "已退款",
    "status.CLOSED": "已关闭",
    "refundStatus.REQUESTED": "已申请",
    "refundStatus.PROCESSING": "处理中",
    "refundStatus.SUCCESS": "退款成功",
    "refundStatus.ABNORMAL": "退款异常",
    "refundStatus.CLOSED": "已关闭",
    "refundStatus.FAILED": "失败",
    "licenceStatus.ACTIVE": "有效",
    "licenceStatus.REVOKED": "已吊销",
    "reportStatus.OK": "无差异",
    "reportStatus.DISCREPANCIES": "存在差异",
    "detail.title": "订单 {id}",
    "detail.order": "订单",
    "detail.events": "时间线",
    "detail.noEvents": "没有事件。",
    "detail.refunds": "退款",
    "detail.noRefunds": "没有退款。",
    "detail.licence": "许可证",
    "detail.noLicence": "没有许可证：订单支付后签发。",
    "detail.activations": "设备",
    "detail.noActivations": "还没有设备激活此许可证。",
    "detail.actions": "操作",
    "detail.viewerNote": "您的密钥为只读（查看者），以下操作不可用。",
    "detail.watching": "退款处理中：此面板会自动刷新。",
    "detail.gone": "未找到此订单。",
    "field.order_id": "订单号（商户订单号）",
    "field.status": "状态",
    "field.product_id": "商品",
    "field.amount_fen": "金额",
    "field.currency": "币种",
    "field.description": "描述",
    "field.created_at": "创建时间",
    "field.expires_at": "过期时间",
    "field.paid_at": "支付时间",
    "field.closed_at": "关闭时间",
    "field.transaction_id": "微信支付单号",
    "field.payer_hash": "付款人（哈希）",
    "field.mchid": "商户号",
    "field.appid": "AppID",
    "field.code_url": "二维码链接",
    "field.last_queried_at": "最近查询微信支付",
    "field.updated_at": "更新时间",
    "field.refunded": "已退款",
    "field.refundable": "可退款",
    "field.licence_id": "许可证编号",
    "field.entitlements": "权益",
    "field.max_devices": "设备上限",
    "field.issued_at": "签发时间",
    "field.revoked_at": "吊销时间",
    "field.revoke_reason": "吊销原因",
    "field.refund_id": "微信退款单号",
    "refund.legend": "退款",
    "refund.amount": "退款金额（元，留空则退全部可退金额 {amount}）",
    "refund.reason": "退款原因（买家可见）",
    "refund.submit": "退款…",
    "refund.badAmount": "请输入金额，如 9.90，范围 ¥0.01 至 {amount}。",
    "refund.noReason": "必须填写原因（最多 {n} 个字符）。",
    "refund.nothing": "此订单已没有可退金额。",
    "refund.confirmTitle": "确认退款 {amount}？",
    "refund.confirmBody": "订单 {order} 的 {amount} 将通过微信支付退还给买家。退款不可撤销。",
    "refund.confirmFull": "这是全额退款：许可证将被吊销。",
    "refund.confirmReason": "原因：{reason}",
    "refund.confirm": "退款 {amount}",
    "refund.done": "已申请退款 {no}，金额 {amount}；微信支付答复：{status}。",
    "confirmPaid.legend": "支付",
    "confirmPaid.hint": "向微信支付查询此订单并按其结果处理（可重复操作）。",
    "confirmPaid.button": "确认支付",
    "confirmPaid.done": "微信支付答复：{outcome}。订单状态：{status}。",
    "outcome.PAID": "已支付，现已入账",
    "outcome.ALREADY_PAID": "已支付，此前已入账，无变化",
    "outcome.CLOSED": "订单已关闭",
    "outcome.NOT_PAID": "尚未支付",
    "outcome.UNKNOWN_ORDER": "微信支付没有此订单（已记录异常）",
    "outcome.MISMATCH": "支付信息与订单不符（已记录异常）",
    "licence.legend": "许可证",
    "licence.reason": "原因",
    "licence.revoke": "吊销…",
    "licence.reinstate": "恢复…",
    "licence.reset": "重置设备…",
    "licence.noReason": "必须填写原因。",
    "licence.revokeTitle": "吊销许可证 {id}？",
    "licence.revokeBody": "买家的扩展将在下次校验时停止接受此许可证。",
    "licence.reinstateTitle": "恢复许可证 {id}？",
    "licence.reinstateBody": "许可证将重新生效。",
    "licence.resetTitle": "移除许可证 {id} 的所有设备？",
    "licence.resetBody": "{n} 台设备需要重新激活。",
    "licence.revokeOk": "吊销",
    "licence.reinstateOk": "恢复",
    "licence.resetOk": "移除设备",
    "licence.revoked": "许可证已吊销。",
    "licence.reinstated": "许可证已恢复。",
    "licence.resetDone": "已移除 {n} 台设备。",
    "revenue.title": "收入",
    "revenue.caption": "每日收入（成功支付），按北京时间计日",
    "revenue.asTable": "以表格显示数据",
    "revenue.chartLabel": "{from} 至 {to} 的每日收入；最高一天为 {max}。",
    "revenue.empty": "此期间没有收入。",
    "totals.orders": "订单",
    "totals.paid": "已支付",
    "totals.payments": "支付笔数",
    "totals.conversion": "转化率",
    "totals.pending": "当前待支付",
    "totals.revenue": "收入",
    "totals.refunded": "已退款",
    "reports.title": "对账",
    "reports.hint": "每天将我方账目与微信支付交易账单核对。最新在前。",
    "reports.none": "还没有对账报告。",
    "reports.details": "详情",
    "reports.detailsOf": "{date} 的详情",
    "report.title": "{date} 对账",
    "report.missing_here": "微信支付有、我方没有",
    "report.missing_there": "我方有、微信支付没有",
    "report.amount_mismatch": "金额不一致",
    "report.state_mismatch": "状态不一致",
    "report.totals": "合计",
    "report.ours": "我方账目",
    "report.theirs": "微信支付账单",
    "report.nothing": "无。",
    "finding.kind": "类型",
    "finding.id": "编号",
    "finding.order_id": "订单",
    "finding.amount_fen": "金额",
    "finding.ours": "我方",
    "finding.theirs": "微信支付",
    "finding.ours_fen": "我方",
    "finding.theirs_fen": "微信支付",
    "finding.paid_at": "支付时间",
    "finding.transaction_id": "微信支付单号",
    "finding.payments": "支付笔数",
    "finding.payments_fen": "收款",
    "finding.refunds": "退款笔数",
    "finding.refunds_fen": "退款金额",
    "findingKind.payment": "支付",
    "findingKind.refund": "退款",
    "anomalies.title": "异常",
    "anomalies.hint": "与我方记录不一致的支付和退款：不会自动入账或签发许可证。",
    "anomalies.none": "没有异常。",
    "audit.title": "审计日志",
    "audit.target": "对象（如 order:编号、licence:编号）",
    "audit.none": "没有记录。",
    "audit.before": "变更前",
    "audit.after": "变更后",
    "audit.show": "查看",
  },
};

// -- state ------------------------------------------------------------------------------------------------------

const state = {
  lang: initialLanguage(),
  key: readKey(),
  me: null,
  view: "orders",
  loaded: new Set(), // views whose data was fetched since sign-in
  messages: new Map(), // element id -> {kind, key, vars} | {kind, text}: re-rendered on a language switch
  orders: [],
  ordersNext: null,
  ordersQuery: {},
  ordersSeq: 0,
  detailId: null,
  detail: null,
  detailMessage: null,
  detailTimer: null,
  refundRequestKey: null,
  stats: null,
  reports: null,
  report: null,
  anomalies: null,
  audit: [],
  auditNext: null,
  auditTarget: "",
};

const $ = (id) => document.getElementById(id);

// -- i18n -------------------------------------------------------------------------------------------------------

function initialLanguage() {
  const saved = safeStorage(() => localStorage.getItem(LANG_STORE));
  if (saved && saved in MESSAGES) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh_CN" : "en";
}

function t(key, vars = {}) {
  const template = MESSAGES[state.lang][key] ?? MESSAGES.en[key] ?? key;
  // A variable may be a {prefix, value} pair: a status code, translated when the text is rendered.
  const text = (v) => (v !== null && typeof v === "object" && "prefix" in v ? label(v.prefix, v.value) : String(v));
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? text(vars[name]) : whole));
}

function known(key) {
  return key in MESSAGES.en;
}

function label(prefix, value) {
  return known(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : String(value);
}

function applyStaticText() {
  document.documentElement.lang = state.lang === "zh_CN" ? "zh-CN" : "en";
  document.title = t("app.title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  const status = $("filter-status");
  const chosen = status.value;
  status.replaceChildren(
    el("option", { value: "" }, t("filter.any")),
    ...ORDER_STATUSES.map((s) => el("option", { value: s }, t(`status.${s}`))),
  );
  status.value = chosen;
  $("lang").value = state.lang;
}

function setLanguage(lang) {
  state.lang = lang in MESSAGES ? lang : "en";
  safeStorage(() => localStorage.setItem(LANG_STORE, state.lang));
  applyStaticText();
  renderAll();
}

// -- formatting -------------------------------------------------------------------------------------------------

function money(fen) {
  if (fen === null || fen === undefined || fen === "") return t("none");
  const value = Number(fen);
  if (!Number.isFinite(value)) return String(fen);
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(Math.round(value));
  const yuan = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}¥${yuan}.${String(abs % 100).padStart(2, "0")}`;
}

function parseYuan(text) {
  const match = /^\s*¥?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

function pad(n) {
  return String(n).padStart(2, "0");
}

function localTime(seconds) {
  const date = new Date(seconds * 1000);
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return `${day} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function timeEl(seconds) {
  if (seconds === null || seconds === undefined) return document.createTextNode(t("none"));
  const node = el("time", { datetime: new Date(seconds * 1000).toISOString() }, localTime(seconds));
  node.title = new Date(seconds * 1000).toISOString();
  return node;
}

function waitText(seconds) {
  const n = Math.max(1, Math.ceil(Number(seconds) || 0));
  return n < 120 ? t("wait.seconds", { n }) : t("wait.minutes", { n: Math.ceil(n / 60) });
}

function percent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(Number(ratio))) return t("none");
  const value = Number(ratio);
  return `${(value <= 1 ? value * 100 : value).toFixed(1)}%`;
}

function compactJson(value) {
  if (value === null || value === undefined) return t("none");
  if (typeof value !== "object") return String(value);
  return JSON.stringify(value);
}

// -- DOM helpers ------------------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
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

function badge(prefix, value) {
  if (value === null || value === undefined) return document.createTextNode(t("none"));
  return el("span", { class: `badge state-${String(value).toLowerCase()}`, dataset: { state: value } }, label(prefix, value));
}

function code(text) {
  return text === null || text === undefined || text === "" ? document.createTextNode(t("none")) : el("code", {}, text);
}

function definitionList(rows) {
  return el(
    "dl",
    { class: "fields" },
    rows.map(([key, value]) => el("div", { dataset: { field: key } }, el("dt", {}, label("field", key)), el("dd", {}, value))),
  );
}

function cell(content, attrs = {}) {
  return el("td", attrs, content);
}

function emptyRow(columns, text) {
  return el("tr", { class: "empty" }, el("td", { colspan: columns }, text));
}

function setMessage(id, message) {
  if (message) state.messages.set(id, message);
  else state.messages.delete(id);
  renderMessage(id);
}

function renderMessage(id) {
  const node = $(id);
  if (!node) return;
  const message = state.messages.get(id);
  node.hidden = !message;
  node.classList.toggle("error", message?.kind === "error");
  node.classList.toggle("ok", message?.kind === "ok");
  node.textContent = message ? message.text ?? t(message.key, message.vars) : "";
}

function errorMessage(error) {
  if (!(error instanceof ApiError)) return { kind: "error", text: String(error?.message ?? error) };
  if (error.status === 0) return { kind: "error", key: "error.network" };
  // Every 401 carries one message whatever was wrong with the key: the dashboard words it itself.
  if (error.status === 401) return { kind: "error", key: "signin.expired" };
  if (error.status === 403) return { kind: "error", key: "error.forbidden" };
  if (error.status === 429) return { kind: "error", key: "error.rateLimited", vars: { wait: waitText(error.retryAfter) } };
  return { kind: "error", key: "error.api", vars: { message: error.message, code: error.code } };
}

function safeStorage(action) {
  try {
    return action();
  } catch {
    return null;
  }
}

function readKey() {
  return safeStorage(() => sessionStorage.getItem(KEY_STORE));
}

// -- the API ----------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message, retryAfter = null, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details;
  }
}

async function api(path, { method = "GET", params = {}, body } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json", Authorization: `Bearer ${state.key ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "NETWORK", "network error");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const error = payload?.error ?? {};
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    const failure = new ApiError(
      response.status,
      error.code ?? `HTTP_${response.status}`,
      error.message ?? response.statusText,
      retryAfter,
      error.details ?? null,
    );
    if (response.status === 401 && state.me) signOut({ kind: "error", key: "signin.expired" });
    throw failure;
  }
  return payload;
}

// -- sign-in ----------------------------------------------------------------------------------------------------

async function signIn(key, { stored = false } = {}) {
  setMessage("signin-message", { kind: "info", key: "signin.checking" });
  state.key = key;
  try {
    state.me = await api("/me");
  } catch (error) {
    state.key = null;
    safeStorage(() => sessionStorage.removeItem(KEY_STORE));
    if (error instanceof ApiError && error.status === 401) {
      setMessage("signin-message", { kind: "error", key: stored ? "signin.expired" : "signin.refused" });
    }
    else if (error instanceof ApiError && error.status === 429) {
      setMessage("signin-message", { kind: "error", key: "signin.rateLimited", vars: { wait: waitText(error.retryAfter) } });
    } else setMessage("signin-message", errorMessage(error));
    $("signin-key").focus();
    return;
  }
  safeStorage(() => sessionStorage.setItem(KEY_STORE, key));
  setMessage("signin-message", null);
  $("signin-key").value = "";
  showApp();
}

function signOut(message = { kind: "info", key: "signin.signedOut" }) {
  safeStorage(() => sessionStorage.removeItem(KEY_STORE));
  stopWatching();
  Object.assign(state, {
    key: null,
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
  });
  state.loaded.clear();
  for (const id of [...state.messages.keys()]) if (id !== "signin-message") state.messages.delete(id);
  const dialog = $("confirm");
  if (dialog.open) dialog.close("cancel");
  $("app").hidden = true;
  $("who").hidden = true;
  $("signin").hidden = false;
  renderAll();
  setMessage("signin-message", message);
  $("signin-key").focus();
}

function showApp() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  renderWho();
  showView(state.view);
  $("main").focus();
}

function renderWho() {
  if (!state.me) return;
  $("who-name").textContent = state.me.name;
  const role = $("who-role");
  role.textContent = label("role", state.me.role);
  role.dataset.role = state.me.role;
  role.className = `badge role-${state.me.role}`;
}

function canOperate() {
  return state.me?.role === "operator";
}

// -- navigation -------------------------------------------------------------------------------------------------

const LOADERS = {
  orders: () => loadOrders(),
  revenue: () => loadStats(),
  reports: () => loadReports(),
  anomalies: () => loadAnomalies(),
  audit: () => loadAudit(),
};

function showView(view) {
  state.view = view;
  for (const button of document.querySelectorAll("nav.tabs button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  if (!state.loaded.has(view)) {
    state.loaded.add(view);
    LOADERS[view]();
  }
}

// -- orders -----------------------------------------------------------------------------------------------------

function ordersQuery() {
  const form = new FormData($("filters"));
  const query = {};
  for (const name of ["status", "from", "to", "order_id", "transaction_id", "product_id"]) {
    const value = String(form.get(name) ?? "").trim();
    if (value) query[name] = value;
  }
  return query;
}

async function loadOrders({ append = false } = {}) {
  if (!append) state.ordersQuery = ordersQuery();
  const query = state.ordersQuery;
  if (query.from && query.to && query.from > query.to) {
    setMessage("orders-message", { kind: "error", key: "filter.badRange" });
    return;
  }
  const seq = ++state.ordersSeq;
  setMessage("orders-message", { kind: "info", key: "loading" });
  $("orders-more").disabled = true;
  try {
    const page = await api("/orders", {
      params: { ...query, limit: PAGE_SIZE, cursor: append ? state.ordersNext : null },
    });
    if (seq !== state.ordersSeq) return;
    state.orders = append ? [...state.orders, ...page.orders] : page.orders;
    state.ordersNext = page.next_cursor ?? null;
    setMessage("orders-message", ordersCountMessage());
  } catch (error) {
    if (seq !== state.ordersSeq) return;
    setMessage("orders-message", errorMessage(error));
  } finally {
    if (seq === state.ordersSeq) $("orders-more").disabled = false;
  }
  renderOrders();
}

function ordersCountMessage() {
  if (!state.orders.length) return { kind: "info", key: "orders.none" };
  return { kind: "info", key: state.ordersNext ? "orders.countMore" : "orders.count", vars: { n: state.orders.length } };
}

function renderOrders() {
  const body = $("orders-body");
  body.replaceChildren(...state.orders.map(orderRow));
  $("orders-more").hidden = !state.ordersNext;
}

function orderRow(order) {
  const open = el(
    "button",
    { type: "button", class: "link mono", "aria-label": t("orders.open", { id: order.order_id }), onclick: () => openDetail(order.order_id) },
    order.order_id,
  );
  const row = el(
    "tr",
    { dataset: { orderId: order.order_id }, class: order.order_id === state.detailId ? "selected" : null },
    cell(timeEl(order.created_at)),
    cell(open),
    cell(order.product_id),
    cell(money(order.amount_fen), { class: "num" }),
    cell(badge("status", order.status)),
    cell(timeEl(order.paid_at)),
    cell(code(order.transaction_id)),
  );
  if (order.order_id === state.detailId) row.setAttribute("aria-current", "true");
  return row;
}

function updateOrderRow(order) {
  const index = state.orders.findIndex((o) => o.order_id === order.order_id);
  if (index < 0) return;
  state.orders[index] = order;
  renderOrders();
}

// -- the order's detail -----------------------------------------------------------------------------------------

async function openDetail(orderId) {
  if (state.detailId !== orderId) {
    state.detailMessage = null;
    state.refundRequestKey = null;
  }
  state.detailId = orderId;
  state.detail = null;
  renderOrders();
  renderDetail();
  $("detail").focus();
  await reloadDetail();
}

async function reloadDetail({ keepInputs = true } = {}) {
  const orderId = state.detailId;
  if (!orderId) return;
  stopWatching();
  try {
    const detail = await api(`/orders/${encodeURIComponent(orderId)}`);
    if (state.detailId !== orderId) return;
    state.detail = detail;
    updateOrderRow(detail.order);
  } catch (error) {
    if (state.detailId !== orderId) return;
    if (error instanceof ApiError && error.status === 404) state.detail = { missing: true };
    else state.detailMessage = errorMessage(error);
  }
  renderDetail({ keepInputs });
  watchIfInFlight();
}

function refundInFlight(detail) {
  return detail?.order?.status === "REFUNDING" || (detail?.refunds ?? []).some((r) => REFUND_IN_FLIGHT.has(r.status));
}

function watchIfInFlight() {
  if (!refundInFlight(state.detail)) return;
  state.detailTimer = setTimeout(() => {
    state.detailTimer = null;
    if (document.visibilityState === "hidden") watchIfInFlight();
    else reloadDetail();
  }, WATCH_EVERY_MS);
}

function stopWatching() {
  if (state.detailTimer) clearTimeout(state.detailTimer);
  state.detailTimer = null;
}

function closeDetail() {
  const orderId = state.detailId;
  stopWatching();
  state.detailId = null;
  state.detail = null;
  state.detailMessage = null;
  renderOrders();
  renderDetail();
  document.querySelector(`#orders-body tr[data-order-id="${CSS.escape(orderId ?? "")}"] button`)?.focus();
}

function refundedFen(refunds) {
  return refunds.filter((r) => r.status === "SUCCESS").reduce((sum, r) => sum + r.amount_fen, 0);
}

function refundableFen(order, refunds) {
  const committed = refunds.filter((r) => REFUND_COMMITTED.has(r.status)).reduce((sum, r) => sum + r.amount_fen, 0);
  return Math.max(0, order.amount_fen - committed);
}

function renderDetail({ keepInputs = true } = {}) {
  const panel = $("detail");
  const typed = keepInputs ? [...panel.querySelectorAll("input[id]")].map((input) => [input.id, input.value]) : [];
  const focused = panel.contains(document.activeElement) ? document.activeElement.id || "detail" : null;
  $("orders-layout").classList.toggle("with-detail", Boolean(state.detailId));
  panel.hidden = !state.detailId;
  if (!state.detailId) {
    panel.replaceChildren();
    return;
  }
  const order = state.detail?.order;
  const header = el(
    "div",
    { class: "detail-head" },
    el("h3", { id: "detail-title" }, t("detail.title", { id: state.detailId })),
    order ? badge("status", order.status) : null,
    el("span", { class: "spacer" }),
    el("button", { type: "button", id: "detail-refresh", onclick: () => reloadDetail() }, t("refresh")),
    el("button", { type: "button", id: "detail-close", onclick: closeDetail }, t("close")),
  );
  const message = el("p", { id: "detail-message", class: "message", role: "status", tabindex: "-1" });
  const parts = [header, message];
  if (!state.detail) parts.push(el("p", { class: "hint" }, t("loading")));
  else if (state.detail.missing) parts.push(el("p", { class: "hint" }, t("detail.gone")));
  else {
    const { events = [], refunds = [], licence = null } = state.detail;
    if (refundInFlight(state.detail)) parts.push(el("p", { class: "hint watching" }, t("detail.watching")));
    parts.push(
      orderSection(order, refunds),
      actionsSection(order, refunds),
      refundsSection(refunds),
      licenceSection(licence),
      eventsSection(events),
    );
  }
  panel.replaceChildren(...parts);
  state.messages.set("detail-message", state.detailMessage);
  if (!state.detailMessage) state.messages.delete("detail-message");
  renderMessage("detail-message");
  for (const [id, value] of typed) {
    const input = $(id);
    if (input && panel.contains(input)) input.value = value;
  }
  if (focused) $(focused)?.focus();
}

const ORDER_FIELDS = [
  ["order_id", (o) => code(o.order_id)],
  ["status", (o) => badge("status", o.status)],
  ["product_id", (o) => o.product_id],
  ["amount_fen", (o) => money(o.amount_fen)],
  ["description", (o) => o.description],
  ["created_at", (o) => timeEl(o.created_at)],
  ["expires_at", (o) => timeEl(o.expires_at)],
  ["paid_at", (o) => timeEl(o.paid_at)],
  ["closed_at", (o) => timeEl(o.closed_at)],
  ["transaction_id", (o) => code(o.transaction_id)],
  ["payer_hash", (o) => code(o.payer_hash)],
  ["mchid", (o) => code(o.mchid)],
  ["appid", (o) => code(o.appid)],
  ["currency", (o) => o.currency],
  ["last_queried_at", (o) => timeEl(o.last_queried_at)],
  ["updated_at", (o) => timeEl(o.updated_at)],
];

function orderSection(order, refunds) {
  const rows = ORDER_FIELDS.filter(([key]) => key in order).map(([key, render]) => [key, render(order)]);
  rows.splice(4, 0, ["refunded", money(refundedFen(refunds))], ["refundable", money(refundableFen(order, refunds))]);
  const shown = new Set(ORDER_FIELDS.map(([key]) => key).concat("code_url"));
  for (const [key, value] of Object.entries(order)) {
    if (!shown.has(key)) rows.push([key, /_at$/.test(key) && typeof value === "number" ? timeEl(value) : compactJson(value)]);
  }
  return el("section", { class: "part", "aria-labelledby": "detail-order" }, el("h4", { id: "detail-order" }, t("detail.order")), definitionList(rows));
}

function actionsSection(order, refunds) {
  const operator = canOperate();
  const forms = [];
  if (REFUNDABLE_STATUSES.has(order.status)) forms.push(refundForm(order, refunds));
  if (UNSETTLED_STATUSES.has(order.status)) forms.push(confirmPaidForm(order));
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

function refundForm(order, refunds) {
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
  const form = el(
    "form",
    { id: "refund-form", class: "action", novalidate: true },
    el(
      "fieldset",
      {},
      el("legend", {}, t("refund.legend")),
      el("label", { for: "refund-amount" }, t("refund.amount", { amount: money(refundable) })),
      amount,
      el("label", { for: "refund-reason" }, t("refund.reason")),
      reason,
      problem,
      el("button", { type: "submit", id: "refund-submit", class: "danger" }, t("refund.submit")),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refund(order, refundable, amount, reason, problem);
  });
  return form;
}

function formProblem(node, text, focus) {
  node.textContent = text;
  node.hidden = false;
  focus.focus();
}

async function refund(order, refundable, amountInput, reasonInput, problem) {
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

function confirmPaidForm(order) {
  const form = el(
    "form",
    { id: "confirm-paid-form", class: "action", novalidate: true },
    el(
      "fieldset",
      {},
      el("legend", {}, t("confirmPaid.legend")),
      el("p", { class: "hint" }, t("confirmPaid.hint")),
      el("button", { type: "submit", id: "confirm-paid" }, t("confirmPaid.button")),
    ),
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

// One mutating call: buttons disabled meanwhile; afterwards the detail is read again and the outcome is shown.
async function act(path, body, describe) {
  const panel = $("detail");
  const buttons = [...panel.querySelectorAll("button")];
  for (const button of buttons) button.disabled = true;
  let succeeded = false;
  try {
    const answer = await api(path, { method: "POST", body });
    state.detailMessage = describe(answer);
    succeeded = true;
  } catch (error) {
    if (!state.me) return;
    state.detailMessage = errorMessage(error);
  }
  await reloadDetail({ keepInputs: !succeeded });
  $("detail-message")?.focus();
}

function refundsSection(refunds) {
  const content = refunds.length
    ? el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "data compact", id: "refunds-table" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["col.refundNo", "col.amount", "col.status", "col.reason", "col.requestedBy", "col.requestedAt", "col.succeededAt"].map((k) =>
                el("th", { scope: "col", class: k === "col.amount" ? "num" : null }, t(k)),
              ),
            ),
          ),
          el(
            "tbody",
            {},
            refunds.map((r) =>
              el(
                "tr",
                { dataset: { refund: r.out_refund_no } },
                cell(code(r.out_refund_no)),
                cell(money(r.amount_fen), { class: "num" }),
                cell(badge("refundStatus", r.status)),
                cell(r.reason),
                cell(r.requested_by),
                cell(timeEl(r.requested_at)),
                cell(timeEl(r.success_at)),
              ),
            ),
          ),
        ),
      )
    : el("p", { class: "hint" }, t("detail.noRefunds"));
  return el("section", { class: "part", "aria-labelledby": "detail-refunds" }, el("h4", { id: "detail-refunds" }, t("detail.refunds")), content);
}

function licenceSection(licence) {
  const heading = el("h4", { id: "detail-licence" }, t("detail.licence"));
  if (!licence) return el("section", { class: "part", "aria-labelledby": "detail-licence" }, heading, el("p", { class: "hint" }, t("detail.noLicence")));
  const rows = [
    ["licence_id", code(licence.licence_id)],
    ["status", badge("licenceStatus", licence.status)],
    ["product_id", licence.product_id],
    ["entitlements", (licence.entitlements ?? []).join(", ") || t("none")],
    ["max_devices", String(licence.max_devices)],
    ["issued_at", timeEl(licence.issued_at)],
    ["expires_at", licence.expires_at === null ? t("never") : timeEl(licence.expires_at)],
  ];
  if (licence.revoked_at) rows.push(["revoked_at", timeEl(licence.revoked_at)], ["revoke_reason", licence.revoke_reason ?? t("none")]);
  const activations = licence.activations ?? [];
  const devices = activations.length
    ? el(
        "ul",
        { class: "devices", id: "activations" },
        activations.map((a) => el("li", {}, code(a.install_hash), " ", timeEl(a.activated_at))),
      )
    : el("p", { class: "hint" }, t("detail.noActivations"));
  return el(
    "section",
    { class: "part", id: "licence", "aria-labelledby": "detail-licence", dataset: { state: licence.status } },
    heading,
    definitionList(rows),
    el("h5", {}, t("detail.activations"), ` (${activations.length}/${licence.max_devices})`),
    devices,
    licenceActions(licence),
  );
}

function licenceActions(licence) {
  const revoked = licence.status === "REVOKED";
  const reason = el("input", { id: "licence-reason", name: "reason", type: "text", required: true, maxlength: 200, autocomplete: "off" });
  const problem = el("p", { class: "message error", role: "alert", hidden: true });
  const change = el("button", { type: "submit", id: revoked ? "licence-reinstate" : "licence-revoke", class: revoked ? null : "danger" }, t(revoked ? "licence.reinstate" : "licence.revoke"));
  const reset = el("button", { type: "button", id: "licence-reset", disabled: !(licence.activations ?? []).length }, t("licence.reset"));
  const fieldset = el(
    "fieldset",
    {},
    el("legend", {}, t("licence.legend")),
    el("label", { for: "licence-reason" }, t("licence.reason")),
    reason,
    problem,
    el("div", { class: "buttons" }, change, reset),
  );
  const form = el("form", { id: "licence-form", class: "action", novalidate: true }, fieldset);
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
  fieldset.disabled = !canOperate();
  return form;
}

function eventsSection(events) {
  const content = events.length
    ? el(
        "ol",
        { class: "timeline", id: "timeline" },
        events.map((e) =>
          el(
            "li",
            { dataset: { kind: e.kind } },
            timeEl(e.at),
            " ",
            el("strong", {}, e.kind),
            e.details && Object.keys(e.details).length ? el("code", { class: "details" }, compactJson(e.details)) : null,
          ),
        ),
      )
    : el("p", { class: "hint" }, t("detail.noEvents"));
  return el("section", { class: "part", "aria-labelledby": "detail-events" }, el("h4", { id: "detail-events" }, t("detail.events")), content);
}

// -- the confirmation dialog ------------------------------------------------------------------------------------

let settleDialog = null;

function confirmDialog({ title, body, ok, danger = true }) {
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

function wireDialog() {
  const dialog = $("confirm");
  $("confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    dialog.close("ok");
  });
  $("confirm-cancel").addEventListener("click", () => dialog.close("cancel"));
  dialog.addEventListener("close", () => settleDialog?.(dialog.returnValue === "ok"));
}

// -- revenue ----------------------------------------------------------------------------------------------------

async function loadStats() {
  const form = new FormData($("stats-form"));
  const params = { from: String(form.get("from") ?? ""), to: String(form.get("to") ?? "") };
  if (params.from && params.to && params.from > params.to) {
    setMessage("stats-message", { kind: "error", key: "filter.badRange" });
    return;
  }
  setMessage("stats-message", { kind: "info", key: "loading" });
  try {
    state.stats = await api("/stats", { params });
    setMessage("stats-message", null);
  } catch (error) {
    setMessage("stats-message", errorMessage(error));
  }
  renderStats();
}

function pendingText(pending) {
  if (pending === null || pending === undefined) return t("none");
  if (typeof pending === "number") return String(pending);
  if (typeof pending === "object" && "orders" in pending) {
    return "amount_fen" in pending ? `${pending.orders} (${money(pending.amount_fen)})` : String(pending.orders);
  }
  return compactJson(pending);
}

function renderStats() {
  const stats = state.stats;
  const totals = $("totals");
  const chart = $("chart");
  if (!stats) {
    totals.replaceChildren();
    chart.replaceChildren();
    return;
  }
  const sums = stats.totals ?? {};
  const figures = [
    ["orders", sums.orders_created],
    ["paid", sums.orders_paid],
    ["conversion", percent(sums.conversion)],
    ["pending", pendingText(stats.pending)],
    ["revenue", money(sums.revenue_fen)],
    ["refunded", money(sums.refunded_fen)],
  ];
  totals.replaceChildren(
    ...figures.map(([key, value]) =>
      el("div", { class: "figure", dataset: { total: key } }, el("dt", {}, t(`totals.${key}`)), el("dd", {}, value ?? t("none"))),
    ),
  );
  const days = stats.days ?? [];
  const form = $("stats-form");
  form.elements.from.value ||= stats.from ?? days[0]?.date ?? "";
  form.elements.to.value ||= stats.to ?? days[days.length - 1]?.date ?? "";
  chart.replaceChildren(revenueChart(days), daysTable(days));
}

function niceCeiling(value) {
  if (value <= 0) return 100;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value) ?? 10;
  return step * magnitude;
}

function revenueChart(days) {
  const width = 860;
  const height = 280;
  const margin = { top: 16, right: 12, bottom: 34, left: 84 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const highest = Math.max(0, ...days.map((d) => d.revenue_fen ?? 0));
  const top = niceCeiling(highest);
  const slot = plotW / Math.max(days.length, 1);
  const barW = Math.max(1, Math.min(40, slot * 0.72));
  const y = (fen) => margin.top + plotH - (fen / top) * plotH;
  const svg = el("svg:svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "bars",
    role: "img",
    "aria-labelledby": "chart-title",
    preserveAspectRatio: "xMidYMid meet",
  });
  const first = days[0]?.date ?? "";
  const last = days[days.length - 1]?.date ?? "";
  svg.append(el("svg:title", { id: "chart-title" }, highest ? t("revenue.chartLabel", { from: first, to: last, max: money(highest) }) : t("revenue.empty")));
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const at = y(top * fraction);
    svg.append(
      el("svg:line", { x1: margin.left, x2: width - margin.right, y1: at, y2: at, class: fraction ? "grid" : "axis" }),
      el("svg:text", { x: margin.left - 8, y: at + 4, class: "tick", "text-anchor": "end" }, money(top * fraction)),
    );
  }
  const every = Math.max(1, Math.ceil(days.length / 10));
  days.forEach((day, index) => {
    const x = margin.left + index * slot + (slot - barW) / 2;
    const fen = day.revenue_fen ?? 0;
    const bar = el("svg:rect", { x, y: y(fen), width: barW, height: Math.max(0, margin.top + plotH - y(fen)), class: "bar", dataset: { date: day.date, revenue: fen } });
    bar.append(el("svg:title", {}, `${day.date}: ${money(fen)} · ${t("totals.payments")} ${day.payments ?? 0} · ${t("totals.refunded")} ${money(day.refunded_fen ?? 0)}`));
    svg.append(bar);
    if (index % every === 0 || index === days.length - 1) {
      svg.append(el("svg:text", { x: x + barW / 2, y: height - 12, class: "tick", "text-anchor": "middle" }, day.date.slice(5)));
    }
  });
  if (!highest) svg.append(el("svg:text", { x: margin.left + plotW / 2, y: margin.top + plotH / 2, class: "empty-note", "text-anchor": "middle" }, t("revenue.empty")));
  return svg;
}

function daysTable(days) {
  const columns = [
    ["col.day", (d) => d.date],
    ["totals.orders", (d) => d.orders_created],
    ["totals.paid", (d) => d.orders_paid],
    ["totals.payments", (d) => d.payments],
    ["totals.revenue", (d) => money(d.revenue_fen)],
    ["totals.refunded", (d) => money(d.refunded_fen)],
  ];
  return el(
    "details",
    { class: "as-table" },
    el("summary", {}, t("revenue.asTable")),
    el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "data compact" },
        el("thead", {}, el("tr", {}, columns.map(([k], i) => el("th", { scope: "col", class: i ? "num" : null }, t(k))))),
        el("tbody", {}, days.map((d) => el("tr", {}, columns.map(([, value], i) => cell(value(d) ?? t("none"), { class: i ? "num" : null }))))),
      ),
    ),
  );
}

// -- reconciliation ---------------------------------------------------------------------------------------------

async function loadReports() {
  setMessage("reports-message", { kind: "info", key: "loading" });
  try {
    state.reports = (await api("/reports", { params: { limit: 60 } })).reports ?? [];
    setMessage("reports-message", state.reports.length ? null : { kind: "info", key: "reports.none" });
  } catch (error) {
    setMessage("reports-message", errorMessage(error));
  }
  renderReports();
}

function summaryNodes(summary) {
  if (summary === null || summary === undefined) return [t("none")];
  if (typeof summary !== "object") return [String(summary)];
  const nodes = [];
  if (summary.status) nodes.push(badge("reportStatus", summary.status), " ");
  for (const [key, value] of Object.entries(summary)) {
    if (key === "status" || (key === "totals" && typeof value === "object")) continue; // totals: in the details
    const name = known(`report.${key}`) ? t(`report.${key}`) : label("finding", key);
    const shown = typeof value === "number" && /_fen$/.test(key) ? money(value) : compactJson(value);
    nodes.push(el("span", { class: "pair" }, `${name}: ${shown}`), " ");
  }
  return nodes;
}

function renderReports() {
  const body = $("reports-body");
  body.replaceChildren(
    ...(state.reports ?? []).map((report) =>
      el(
        "tr",
        { dataset: { date: report.date } },
        cell(report.date),
        cell(timeEl(report.at)),
        cell(summaryNodes(report.summary)),
        cell(el("button", { type: "button", "aria-label": t("reports.detailsOf", { date: report.date }), onclick: () => openReport(report.date) }, t("reports.details"))),
      ),
    ),
  );
  renderReport();
}

async function openReport(date) {
  state.report = { date, loading: true };
  renderReport();
  $("report").focus();
  try {
    state.report = { date, body: await api(`/reports/${encodeURIComponent(date)}`) };
  } catch (error) {
    state.report = { date, error: errorMessage(error) };
  }
  renderReport();
}

const FINDING_ORDER = ["kind", "id", "order_id", "amount_fen", "ours", "theirs", "ours_fen", "theirs_fen"];

function findingsTable(items) {
  if (!items?.length) return el("p", { class: "hint" }, t("report.nothing"));
  const rank = (key) => (FINDING_ORDER.includes(key) ? FINDING_ORDER.indexOf(key) : FINDING_ORDER.length);
  const keys = [...new Set(items.flatMap((item) => Object.keys(item)))].sort((a, b) => rank(a) - rank(b));
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "data compact" },
      el("thead", {}, el("tr", {}, keys.map((k) => el("th", { scope: "col" }, label("finding", k))))),
      el("tbody", {}, items.map((item) => el("tr", {}, keys.map((k) => cell(findingValue(k, item[k], item)))))),
    ),
  );
}

function findingValue(key, value, item) {
  if (value === undefined || value === null) return t("none");
  if (key === "kind") return label("findingKind", value);
  const orderId = key === "order_id" || (key === "id" && item.kind === "payment");
  if (orderId && typeof value === "string") {
    return el("button", { type: "button", class: "link mono", onclick: () => jumpToOrder(value) }, value);
  }
  if (typeof value === "number" && /_fen$/.test(key)) return money(value);
  if (typeof value === "number" && /_at$/.test(key)) return timeEl(value);
  return compactJson(value);
}

function renderReport() {
  const panel = $("report");
  const report = state.report;
  panel.hidden = !report;
  if (!report) return panel.replaceChildren();
  const parts = [
    el(
      "div",
      { class: "detail-head" },
      el("h3", { id: "report-title" }, t("report.title", { date: report.date })),
      report.body?.status ? badge("reportStatus", report.body.status) : null,
      el("span", { class: "spacer" }),
      el("button", { type: "button", onclick: () => { state.report = null; renderReport(); } }, t("close")),
    ),
  ];
  if (report.loading) parts.push(el("p", { class: "hint" }, t("loading")));
  else if (report.error) parts.push(el("p", { class: "message error" }, report.error.text ?? t(report.error.key, report.error.vars)));
  else {
    const body = report.body ?? {};
    for (const kind of ["missing_here", "missing_there", "amount_mismatch", "state_mismatch"]) {
      parts.push(el("h4", {}, t(`report.${kind}`), ` (${body[kind]?.length ?? 0})`), findingsTable(body[kind]));
    }
    if (body.totals) {
      const sides = ["ours", "theirs"].map((side) =>
        el("div", {}, el("dt", {}, t(`report.${side}`)), el("dd", {}, summaryNodes(body.totals[side]))),
      );
      parts.push(el("h4", {}, t("report.totals")), el("dl", { class: "fields" }, sides));
    }
  }
  panel.replaceChildren(...parts);
}

// -- anomalies --------------------------------------------------------------------------------------------------

async function loadAnomalies() {
  setMessage("anomalies-message", { kind: "info", key: "loading" });
  try {
    state.anomalies = (await api("/anomalies", { params: { limit: 200 } })).anomalies ?? [];
    setMessage("anomalies-message", state.anomalies.length ? null : { kind: "info", key: "anomalies.none" });
  } catch (error) {
    setMessage("anomalies-message", errorMessage(error));
  }
  renderAnomalies();
}

function renderAnomalies() {
  $("anomalies-body").replaceChildren(
    ...(state.anomalies ?? []).map((a) =>
      el(
        "tr",
        {},
        cell(timeEl(a.at)),
        cell(el("strong", {}, a.kind ?? t("none"))),
        cell(a.order_id ? el("button", { type: "button", class: "link mono", onclick: () => jumpToOrder(a.order_id) }, a.order_id) : t("none")),
        cell(code(a.reference)),
        cell(code(compactJson(a.details))),
      ),
    ),
  );
}

function jumpToOrder(orderId) {
  const form = $("filters");
  for (const field of form.elements) if (field.name) field.value = "";
  form.elements.order_id.value = orderId;
  showView("orders");
  loadOrders();
  openDetail(orderId);
}

// -- audit log --------------------------------------------------------------------------------------------------

async function loadAudit({ append = false } = {}) {
  if (!append) state.auditTarget = String(new FormData($("audit-form")).get("target") ?? "").trim();
  setMessage("audit-message", { kind: "info", key: "loading" });
  $("audit-more").disabled = true;
  try {
    const page = await api("/audit", {
      params: { target: state.auditTarget, limit: AUDIT_PAGE_SIZE, before: append ? state.auditNext : null },
    });
    state.audit = append ? [...state.audit, ...page.entries] : page.entries;
    state.auditNext = page.next_before ?? null;
    setMessage("audit-message", state.audit.length ? null : { kind: "info", key: "audit.none" });
  } catch (error) {
    setMessage("audit-message", errorMessage(error));
  } finally {
    $("audit-more").disabled = false;
  }
  renderAudit();
}

function renderAudit() {
  $("audit-body").replaceChildren(
    ...state.audit.map((entry) =>
      el(
        "tr",
        { dataset: { audit: entry.audit_id } },
        cell(timeEl(entry.at)),
        cell([entry.actor_name ?? "", " ", el("small", {}, `${entry.actor ?? ""} · ${label("role", entry.role)}`)]),
        cell(el("code", {}, entry.action ?? "")),
        cell(code(entry.target)),
        cell(el("span", { class: `badge ${entry.outcome === "ok" ? "state-ok" : "state-error"}` }, entry.outcome ?? "")),
        cell(changeDetails(entry)),
      ),
    ),
  );
  $("audit-more").hidden = !state.auditNext;
}

function changeDetails(entry) {
  if (!entry.before && !entry.after) return t("none");
  return el(
    "details",
    {},
    el("summary", {}, t("audit.show")),
    el("p", {}, el("strong", {}, t("audit.before")), " ", el("code", { class: "details" }, compactJson(entry.before))),
    el("p", {}, el("strong", {}, t("audit.after")), " ", el("code", { class: "details" }, compactJson(entry.after))),
  );
}

// -- wiring -----------------------------------------------------------------------------------------------------

function renderAll() {
  renderWho();
  renderOrders();
  renderDetail();
  renderStats();
  renderReports();
  renderAnomalies();
  renderAudit();
  for (const id of state.messages.keys()) renderMessage(id);
}

function wire() {
  $("lang").addEventListener("change", (event) => setLanguage(event.target.value));
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("signin-key").value.trim();
    if (!key) {
      setMessage("signin-message", { kind: "error", key: "signin.empty" });
      $("signin-key").focus();
      return;
    }
    signIn(key);
  });
  $("sign-out").addEventListener("click", () => signOut());
  for (const button of document.querySelectorAll("nav.tabs button")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadOrders();
  });
  $("filters").addEventListener("reset", () => setTimeout(() => loadOrders(), 0));
  $("orders-more").addEventListener("click", () => loadOrders({ append: true }));
  $("stats-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadStats();
  });
  $("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit();
  });
  $("audit-more").addEventListener("click", () => loadAudit({ append: true }));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.detailId && !$("confirm").open && $("detail").contains(document.activeElement)) closeDetail();
  });
  wireDialog();
}

async function start() {
  applyStaticText();
  wire();
  for (const id of ["orders-message", "stats-message", "reports-message", "anomalies-message", "audit-message", "signin-message"]) renderMessage(id);
  if (state.key) await signIn(state.key, { stored: true });
  else $("signin-key").focus();
}

start();
