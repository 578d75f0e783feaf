// "Is this the same problem?" (design §4.2): while a report is written, the open public reports of its category
// within 250 m of its location, nearest first, each with "Dukung laporan ini" (support it) as the first action:
// supporting costs the agency nothing, a second report costs it an answer and a deadline. Sending a new report
// stays possible. Nothing is asked without a location and a category, nor offline.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { deviceKey, supported } from "./store.js";
import { el } from "./ui.js";

const RADIUS_M = 250;
const SHOWN = 5;
const WAIT_MS = 400; // after the last change of place or category, so a dragged pin asks once

let timer = null;
let pending = null; // the AbortController of the request under way
let shown = []; // the reports listed

const $ = (id) => document.getElementById(id);

// Ask again for `where` ({lat, lon} or null) and `category`; `onChange(count)` hears how many are listed.
export function check(where, category, onChange) {
  clearTimeout(timer);
  if (pending) pending.abort();
  if (!where || !category || navigator.onLine === false) {
    render([], onChange);
    return;
  }
  timer = setTimeout(async () => {
    pending = new AbortController();
    const { signal } = pending;
    try {
      const found = await api.nearby({ lat: where.lat, lon: where.lon, category, radius_m: RADIUS_M }, signal);
      render([...found.items].sort((a, b) => a.distance_m - b.distance_m).slice(0, SHOWN), onChange);
    } catch (error) {
      if (error.name !== "AbortError") render([], onChange); // a hint, not a step: no error shown for it
    }
  }, WAIT_MS);
}

// Draw the list again (after a change of language too).
export function redraw(onChange) {
  render(shown, onChange);
}

function render(items, onChange) {
  shown = items;
  const section = $("nearby");
  const list = $("nearby-list");
  list.replaceChildren(...items.map(item));
  section.hidden = items.length === 0;
  if (onChange) onChange(items.length);
}

function item(report) {
  const done = supported.has(report.tracking_id);
  const count = el("span", { class: "supporters" }, t("nearby.supporters", { count: report.supporters }));
  const button = el("button", { type: "button", class: done ? "secondary" : "" },
    t(done ? "nearby.supported" : "nearby.support"));
  button.disabled = done;
  const status = el("p", { class: "hint", role: "status" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = t("nearby.supporting");
    try {
      const result = await api.support(report.tracking_id, deviceKey());
      supported.add(report.tracking_id);
      report.supporters = result.supporters;
      count.textContent = t("nearby.supporters", { count: result.supporters });
      button.textContent = t("nearby.supported");
      button.className = "secondary";
      status.textContent = t("nearby.thanks", { id: report.tracking_id });
    } catch {
      button.disabled = false;
      status.textContent = t("nearby.failed");
    }
  });
  return el("li", {},
    el("p", { class: "title" }, report.title),
    el("p", { class: "hint" }, `${t(`status.${report.status}`)} · ${t("nearby.distance", { m: report.distance_m })} · `,
      count),
    el("div", { class: "actions" }, button),
    status);
}
