// Recent public reports of a region (everything below it included), newest first, from GET /reports:
// confidential and anonymous reports are never listed by the API, and no reporter is named. The list is the
// page; "Tampilkan peta" adds a map of the listed reports that have a location (map.js and Leaflet are fetched
// then, never on the first load), each marker's popup naming the report, its status and a link to track it.
import { api } from "./api.js";
import { lang, locale, t } from "./i18n.js";
import { Places } from "./places.js";
import { boot, el, errorMessage, formatDate } from "./ui.js";

boot();

const $ = (id) => document.getElementById(id);
let categories = [];
let shown = [];
let cursor = null;
let asked = 0;
let atlas = null; // the map, once asked for: {L, map, layer, markerOptions, INDONESIA}

const places = new Places([{ select: $("province"), allKey: "stats.province.all" },
  { select: $("regency"), allKey: "stats.regency.all" },
  { select: $("district"), allKey: "recent.district.all" }], () => load());

function categoryName(id) {
  const found = categories.find((c) => c.id === id);
  return found ? (lang() === "en" ? found.name_en : found.name_id) : id;
}

function line(report) {
  const region = places.name(report.region_code);
  return el("li", {},
    el("h3", { text: report.title }),
    el("p", {}, el("span", { class: `badge status-${report.status}`, text: t(`status.${report.status}`) }),
      report.overdue ? " " : null, report.overdue ? el("span", { class: "badge overdue", text: t("track.overdue") }) : null),
    el("p", { class: "meta", text: `${categoryName(report.category)} · ${region}` }),
    el("p", { class: "meta", text: `${t("track.agency")}: ${report.agency.name}` }),
    el("p", { class: "meta" }, el("time", { datetime: report.submitted_at,
      text: t("recent.submitted", { date: formatDate(report.submitted_at) }) })),
    el("p", { class: "meta", text: report.tracking_id }));
}

function popup(report) {
  return el("div", { class: "popup" },
    el("p", {}, el("strong", { text: report.title })),
    el("p", {}, el("span", { class: `badge status-${report.status}`, text: t(`status.${report.status}`) })),
    el("p", { class: "meta", text: report.tracking_id }),
    el("p", {}, el("a", { href: `/track.html#${encodeURIComponent(report.tracking_id)}`, text: t("recent.map.track") })));
}

// The listed reports that have a location, one marker each (named by its title: a focusable button), the map
// fitted to them; the note says how many, and that the list holds them all.
function drawMarkers() {
  if (!atlas || $("map-panel").hidden) return;
  const { L, map, layer, markerOptions, INDONESIA } = atlas;
  const located = shown.filter((r) => r.location && Number.isFinite(r.location.lat) && Number.isFinite(r.location.lon));
  layer.clearLayers();
  for (const report of located) {
    L.marker([report.location.lat, report.location.lon], markerOptions(report.title))
      .bindPopup(() => popup(report)).addTo(layer);
  }
  const format = (n) => new Intl.NumberFormat(locale()).format(n);
  $("map-note").textContent = t("recent.map.count", { count: format(located.length), total: format(shown.length) });
  map.invalidateSize();
  if (located.length) {
    map.fitBounds(L.latLngBounds(located.map((r) => [r.location.lat, r.location.lon])), { maxZoom: 15, padding: [24, 24] });
  } else {
    map.setView(INDONESIA.center, INDONESIA.zoom);
  }
}

async function toggleMap() {
  const open = $("map-panel").hidden;
  $("map-panel").hidden = !open;
  $("show-map").setAttribute("aria-expanded", String(open));
  $("show-map").textContent = t(open ? "recent.map.hide" : "recent.map.show");
  if (!open || atlas) return drawMarkers();
  $("map-error").hidden = true;
  $("map-note").textContent = t("loading");
  try {
    const { createMap, markerOptions, INDONESIA } = await import("./map.js");
    const { L, map } = await createMap($("map"), INDONESIA);
    atlas = { L, map, layer: L.layerGroup().addTo(map), markerOptions, INDONESIA };
  } catch {
    $("map-note").textContent = "";
    $("map-error").textContent = t("map.failed");
    $("map-error").hidden = false;
    return;
  }
  drawMarkers();
}

function render() {
  $("reports").replaceChildren(...shown.map(line));
  $("empty").hidden = shown.length > 0;
  $("count").textContent = shown.length ? t("recent.count", { count: new Intl.NumberFormat(locale()).format(shown.length) }) : "";
  $("more").hidden = !cursor;
  $("show-map").hidden = shown.length === 0;
  if (!shown.length && !$("map-panel").hidden) {
    $("map-panel").hidden = true; // nothing to map: closed, to open again on demand
    $("show-map").setAttribute("aria-expanded", "false");
    $("show-map").textContent = t("recent.map.show");
  }
  drawMarkers();
}

async function load(more = false) {
  const region = places.code();
  history.replaceState(null, "", region ? `#${region}` : location.pathname);
  $("to-stats").href = region ? `/stats.html#${region.split(".").slice(0, 2).join(".")}` : "/stats.html";
  $("choose").hidden = Boolean(region);
  $("results").hidden = !region;
  $("error").hidden = true;
  if (!region) return;
  const ticket = ++asked;
  if (!more) { shown = []; cursor = null; }
  $("status").textContent = t("loading");
  try {
    // Names of the regions below the one chosen, so each line names its kecamatan.
    const [page] = await Promise.all([
      api.publicReports({ region_code: region, category: $("category").value, status: $("status-filter").value,
        cursor: more ? cursor : null, limit: 20 }),
      region.split(".").length < 3 ? places.childNames(region) : null]);
    if (ticket !== asked) return;
    shown = shown.concat(page.items);
    cursor = page.next_cursor;
    render();
    $("status").textContent = "";
  } catch (error) {
    if (ticket !== asked) return;
    $("status").textContent = "";
    $("error").textContent = `${t("recent.load.failed")} (${errorMessage(error)})`;
    $("error").hidden = false;
  }
}

$("category").addEventListener("change", () => load());
$("status-filter").addEventListener("change", () => load());
$("more").addEventListener("click", () => load(true));
$("show-map").addEventListener("click", toggleMap);
document.addEventListener("lapor:lang", async () => {
  await places.start(places.code());
  fillCategories($("category").value);
  $("show-map").textContent = t($("map-panel").hidden ? "recent.map.show" : "recent.map.hide");
  render();
});

function fillCategories(chosen = "") {
  $("category").replaceChildren(new Option(t("recent.category.all"), ""),
    ...categories.map((c) => new Option(lang() === "en" ? c.name_en : c.name_id, c.id)));
  $("category").value = chosen;
}

(async () => {
  try {
    categories = (await api.categories()).items;
    fillCategories();
    await places.start(decodeURIComponent(location.hash.slice(1)));
  } catch (error) {
    $("error").textContent = `${t("recent.load.failed")} (${errorMessage(error)})`;
    $("error").hidden = false;
  }
  await load();
})();
