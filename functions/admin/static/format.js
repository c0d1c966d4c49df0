// Numbers, money and times as the dashboard writes them.

import { t } from "./i18n.js";

export function money(fen) {
  if (fen === null || fen === undefined || fen === "") return t("none");
  const value = Number(fen);
  if (!Number.isFinite(value)) return String(fen);
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(Math.round(value));
  const yuan = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}¥${yuan}.${String(abs % 100).padStart(2, "0")}`;
}

export function parseYuan(text) {
  const match = /^\s*¥?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

function pad(n) {
  return String(n).padStart(2, "0");
}

export function localTime(seconds) {
  const date = new Date(seconds * 1000);
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return `${day} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function waitText(seconds) {
  const n = Math.max(1, Math.ceil(Number(seconds) || 0));
  return n < 120 ? t("wait.seconds", { n }) : t("wait.minutes", { n: Math.ceil(n / 60) });
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(Number(ratio))) return t("none");
  const value = Number(ratio);
  return `${(value <= 1 ? value * 100 : value).toFixed(1)}%`;
}

export function compactJson(value) {
  if (value === null || value === undefined) return t("none");
  if (typeof value !== "object") return String(value);
  return JSON.stringify(value);
}
