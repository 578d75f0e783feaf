// What every page shares: the header's language switch, the offline banner, the outbox (and the photos waiting
// for their report) running in the background, date formatting in a region's local time, and error messages in
// plain words.
import { apply, lang, locale, otherLang, setLang, t } from "./i18n.js";
import { ApiError, NetworkError } from "./api.js";
import * as sender from "./outbox.js";
import * as photos from "./photos.js";

// Indonesia's three time zones (no daylight saving): an ISO offset names its zone exactly.
const ZONES = {
  "+07:00": { timezone: "Asia/Jakarta", abbreviation: "WIB" },
  "+08:00": { timezone: "Asia/Makassar", abbreviation: "WITA" },
  "+09:00": { timezone: "Asia/Jayapura", abbreviation: "WIT" },
};

export function zoneOf(iso) {
  const offset = /([+-]\d\d:\d\d)$/.exec(iso || "");
  return (offset && ZONES[offset[1]]) || ZONES["+07:00"];
}

// "15 Januari 2027, 23:59 WITA": the instant in the region's own time zone (its /regions entry), or the zone
// the API's offset names.
export function formatDate(iso, zone) {
  const where = zone && zone.timezone ? zone : zoneOf(iso);
  const parts = new Intl.DateTimeFormat(locale(), {
    timeZone: where.timezone, day: "numeric", month: "long", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const part = (type) => (parts.find((p) => p.type === type) || {}).value;
  return `${part("day")} ${part("month")} ${part("year")}, ${part("hour")}:${part("minute")} ${where.abbreviation}`;
}

export function errorMessage(error) {
  if (error instanceof NetworkError) return t("err.network");
  if (error instanceof ApiError) {
    const key = `err.${error.code}`;
    if (t(key) !== key) return t(key);
    if (error.status === 429) return t("err.rate_limited");
    if (error.status >= 500) return t("err.server");
    return error.message;
  }
  return t("err.server");
}

// A small element builder: el("p", {class: "x", text: "..."}, child...). Text is always set as text.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function notice(text, link) {
  const box = document.getElementById("notices");
  if (!box) return;
  const item = el("p", { class: "notice" }, text);
  if (link) item.append(" ", el("a", { href: link.href, text: link.text }));
  box.append(item);
}

function showOffline() {
  const banner = document.getElementById("offline");
  if (banner) banner.hidden = navigator.onLine !== false;
}

function renderLangButton() {
  const button = document.getElementById("lang");
  button.lang = otherLang();
  button.textContent = t("lang.switch");
}

// Started by each page's module first thing.
export function boot() {
  apply();
  renderLangButton();
  document.getElementById("lang").addEventListener("click", () => {
    setLang(otherLang());
    renderLangButton();
  });
  window.addEventListener("online", showOffline);
  window.addEventListener("offline", showOffline);
  showOffline();
  document.addEventListener("lapor:sent", (event) => {
    if (sender.foreground.has(event.detail.entry.key)) return; // the form takes its reader to the receipt
    notice(t("outbox.sent", { title: event.detail.entry.body.title }),
      { href: `/receipt.html#${event.detail.created.tracking_id}`, text: t("outbox.receipt") });
  });
  sender.start();
  photos.start(); // photos of reports filed from the outbox are uploaded after them
  return lang();
}
