// Public statistics as charts: reports by status, category and region, the share answered on time and the
// median working days to the first answer, and the support citizens gave ("dukung"), for a region (or the whole country) and a period, from GET /stats.
import { api } from "./api.js";
import { lang, locale, t } from "./i18n.js";
import { barChart, shareBar } from "./charts.js";
import { Places } from "./places.js";
import { boot, errorMessage } from "./ui.js";

boot();

const $ = (id) => document.getElementById(id);
const STATUSES = ["submitted", "routed", "in_progress", "escalated", "responded", "closed", "rejected"];
let categories = [];
let figures = null;
let asked = 0;

const format = {
  number: (n) => new Intl.NumberFormat(locale()).format(n),
  percent: (share) => new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(share),
  day: (iso) => new Intl.DateTimeFormat(locale(), { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" })
    .format(new Date(`${iso}T00:00:00Z`)),
};
const labels = () => ({ what: t("stats.col.what"), count: t("stats.col.count"), share: t("stats.col.share"),
  table: t("stats.table") });

const places = new Places([{ select: $("province"), allKey: "stats.province.all" },
  { select: $("regency"), allKey: "stats.regency.all" }], () => load());

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

async function load() {
  const region = places.code();
  history.replaceState(null, "", region ? `#${region}` : location.pathname);
  const to = new Date();
  const from = new Date(to.getTime() - Number($("period").value) * 86400000);
  const query = { region, from: isoDay(from), to: isoDay(to) };
  const ticket = ++asked;
  $("status").textContent = t("loading");
  $("error").hidden = true;
  try {
    const [found] = await Promise.all([api.stats(query), places.childNames(region)]);
    if (ticket !== asked) return; // a later choice is on its way
    figures = found;
    render();
    $("status").textContent = "";
  } catch (error) {
    if (ticket !== asked) return;
    $("status").textContent = "";
    $("error").textContent = `${t("stats.load.failed")} (${errorMessage(error)})`;
    $("error").hidden = false;
  }
}

function categoryName(id) {
  const found = categories.find((c) => c.id === id);
  return found ? (lang() === "en" ? found.name_en : found.name_id) : id;
}

function render() {
  if (!figures) return;
  const f = figures;
  $("figures").hidden = false;
  $("range").textContent = t("stats.range", { from: format.day(f.from_date), to: format.day(f.to_date),
    where: f.region ? places.name(f.region) : t("stats.province.all") });
  $("total").textContent = format.number(f.total);
  $("answered").textContent = format.number(f.answered);
  $("on-time").textContent = f.answered_on_time_rate === null ? "—" : format.percent(f.answered_on_time_rate);
  $("median").textContent = f.median_working_days_to_first_response === null ? "—"
    : t("stats.median.value", { days: format.number(f.median_working_days_to_first_response) });
  $("supporters").textContent = format.number(f.supporters || 0);
  $("empty").hidden = f.total > 0;
  const charts = [];
  if (f.total > 0) {
    charts.push(barChart({ caption: t("stats.by_status"), labels: labels(), format,
      rows: STATUSES.filter((s) => f.by_status[s]).map((s) => ({ label: t(`status.${s}`), value: f.by_status[s], key: s })) }));
    charts.push(barChart({ caption: t("stats.by_category"), labels: labels(), format,
      rows: Object.entries(f.by_category).sort((a, b) => b[1] - a[1])
        .map(([id, value]) => ({ label: categoryName(id), value })) }));
    const regions = Object.entries(f.by_region).sort((a, b) => b[1] - a[1]);
    if (regions.length) {
      charts.push(barChart({ caption: t("stats.by_region"), labels: labels(), format,
        rows: regions.map(([code, value]) => ({ label: places.name(code), value })) }));
    }
    if (f.answered) {
      const onTime = Math.round((f.answered_on_time_rate || 0) * f.answered);
      charts.push(shareBar({ caption: t("stats.on_time.chart"), labels: labels(), format, parts: [
        { label: t("stats.on_time.yes"), value: onTime, key: "on-time" },
        { label: t("stats.on_time.no"), value: f.answered - onTime, key: "late" }] }));
    }
  }
  $("charts").replaceChildren(...charts);
}

$("period").addEventListener("change", () => load());
document.addEventListener("lapor:lang", async () => {
  const region = places.code();
  await places.start(region); // the "all" options in the new language
  render();
});

(async () => {
  try {
    categories = (await api.categories()).items;
    await places.start(decodeURIComponent(location.hash.slice(1)));
  } catch (error) {
    $("error").textContent = `${t("stats.load.failed")} (${errorMessage(error)})`;
    $("error").hidden = false;
  }
  await load();
})();


