// Maps, loaded only when a citizen asks for one: Leaflet (web/vendor/leaflet-1.9.4/, about 46 KB gzipped) is
// fetched by this module's loadLeaflet(), never by a page's first load, and this module itself is imported
// dynamically by the pages. Tiles come from the server web/config.js names (mapTiles), credited as its terms
// require; when tiles cannot load (no connection, a blocked server) the map still shows its markers or pin on a
// blank background, and every page keeps a way to do without it (the list, the device's position).
import { config } from "../config.js";
import { t } from "./i18n.js";

const LEAFLET = "/vendor/leaflet-1.9.4/";
// web/config.js's default (and lapor_cli.publish.DEFAULT_TILES), for a config.js written before mapTiles.
const DEFAULT_TILES = {
  url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
  attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
  maxZoom: 19,
};
// Indonesia, whole, on a phone.
export const INDONESIA = { center: [-2.5, 118], zoom: 4 };

let loading = null;

// Leaflet's script (a global L: no module build is vendored) and style sheet, once per page. Both from our own
// origin, as the pages' policy wants (script-src 'self', style-src 'self').
export function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = `${LEAFLET}leaflet.css`;
      const script = document.createElement("script");
      script.src = `${LEAFLET}leaflet.js`;
      let pending = 2;
      const done = () => { pending -= 1; if (!pending) resolve(window.L); };
      const failed = () => {
        loading = null; // asked again, tried again
        css.remove();
        script.remove();
        reject(new Error("leaflet"));
      };
      css.addEventListener("load", done);
      script.addEventListener("load", done);
      css.addEventListener("error", failed);
      script.addEventListener("error", failed);
      document.head.append(css, script);
    });
  }
  return loading;
}

function tiles() {
  const given = config.mapTiles || {};
  return { ...DEFAULT_TILES, ...given };
}

// A map in `container` (which carries its accessible name: role="region" and a label): the configured tiles,
// zoom buttons in the page's language, keyboard panning and zooming (Leaflet's, once the map has the focus).
export async function createMap(container, view = INDONESIA) {
  const L = await loadLeaflet();
  const { url, attribution, maxZoom } = tiles();
  // No zoom by the mouse wheel: a page scrolled past the map keeps scrolling (the buttons, +/- and a pinch zoom).
  const map = L.map(container, { zoomControl: false, scrollWheelZoom: false, maxZoom: Number(maxZoom) || 19 });
  let zoom = null;
  const controls = () => {
    if (zoom) zoom.remove();
    zoom = L.control.zoom({ zoomInTitle: t("map.zoom_in"), zoomOutTitle: t("map.zoom_out") }).addTo(map);
  };
  controls();
  document.addEventListener("lapor:lang", controls);
  if (url) {
    // A tile that fails is left blank (Leaflet's tileerror; no errorTileUrl): the markers stay usable. The pages
    // send no Referer (Referrer-Policy: no-referrer), but OpenStreetMap's tile usage policy asks for one: the tiles
    // send the site's origin only (never the page, whose address names the region looked at).
    L.tileLayer(url, { attribution, maxZoom: Number(maxZoom) || 19, referrerPolicy: "strict-origin" }).addTo(map);
  }
  map.setView(view.center, view.zoom);
  return { L, map };
}

// A marker's accessible name and tooltip (Leaflet makes a marker an <img role="button" tabindex="0">).
export function markerOptions(label, extra = {}) {
  return { alt: label, title: label, keyboard: true, ...extra };
}
