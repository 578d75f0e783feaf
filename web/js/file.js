// The page that files a report: the form, its draft kept on the device, field errors beside the fields, and
// sending through the outbox (one Idempotency-Key per draft), which keeps it when there is no connection. Photos
// chosen are kept on the device with the draft (photos.js) and uploaded once the report is filed. The location is
// the device's position, or a pin on a map (map.js and Leaflet, fetched only when "Pilih di peta" is pressed):
// either sets the same `position`; the form never needs the map.
import { api, ApiError } from "./api.js";
import { forgetPreview, localItem } from "./attachments.js";
import { lang, t } from "./i18n.js";
import * as nearby from "./nearby.js";
import * as sender from "./outbox.js";
import * as photos from "./photos.js";
import { draft as drafts, newKey, outbox } from "./store.js";
import { boot, el, errorMessage } from "./ui.js";

boot();

const $ = (id) => document.getElementById(id);
const form = $("report");
const TEXT_FIELDS = ["title", "description", "name", "phone", "email"];
const SELECTS = ["category", "province", "regency", "district"];
// The API's limits (ReportIn): checked here too, so a report kept offline is one the API will take.
const LIMITS = { title: [5, 150], description: [10, 5000], name: [1, 100], phone: [5, 32], email: [3, 254] };
// Where each field of the API's 422 details is shown (loc without "body").
const FIELD_OF = {
  kind: "kind", category: "category", region_code: "regency", title: "title", description: "description",
  privacy: "privacy", location: "location", "location.lat": "location", "location.lon": "location",
  reporter: "identity", "reporter.name": "name", "reporter.phone": "phone", "reporter.email": "email",
};
const RADIO_GROUPS = ["kind", "privacy"];

let categories = [];
const regions = { province: [], regency: [], district: [] };
let current = drafts.load() || { key: newKey() };
let position = current.position || null;
let shownErrors = {};
let busy = false;
let chosen = []; // the draft's photos, kept on the device (photos.js)

// -- reference lists ------------------------------------------------------------------------------------------

function fill(select, items, value, label) {
  const keep = select.options[0];
  select.replaceChildren(keep, ...items.map((item) => el("option", { value: value(item), text: label(item) })));
}

function renderCategories() {
  const chosen = $("category").value;
  fill($("category"), categories, (c) => c.id, (c) => (lang() === "en" ? c.name_en : c.name_id));
  $("category").value = chosen;
  const category = categories.find((c) => c.id === chosen);
  $("category-hint").textContent = category ? (lang() === "en" ? category.description_en : category.description_id) : "";
}

async function loadRegions(level, parent) {
  const select = $(level);
  select.disabled = true;
  regions[level] = parent === undefined || parent ? (await api.regions(parent)).items : [];
  fill(select, regions[level], (r) => r.code, (r) => r.name);
  select.disabled = regions[level].length === 0;
}

async function loadReference() {
  $("form-error").hidden = true;
  try {
    const [list] = await Promise.all([api.categories(), loadRegions("province")]);
    categories = list.items;
    renderCategories();
    await restore();
  } catch (error) {
    const retry = el("button", { type: "button", class: "secondary", text: t("file.retry"), onclick: loadReference });
    $("form-error").replaceChildren(`${t("file.load.failed")} `, retry);
    $("form-error").hidden = false;
  }
}

$("category").addEventListener("change", renderCategories);
$("province").addEventListener("change", async () => {
  fill($("district"), [], null, null);
  $("district").disabled = true;
  await loadRegions("regency", $("province").value);
  save();
});
$("regency").addEventListener("change", async () => {
  await loadRegions("district", $("regency").value);
  save();
});

// -- the draft ------------------------------------------------------------------------------------------------

function radio(name) {
  const checked = form.querySelector(`input[name="${name}"]:checked`);
  return checked ? checked.value : "";
}

function collect() {
  const values = { kind: radio("kind"), privacy: radio("privacy") };
  for (const id of [...TEXT_FIELDS, ...SELECTS]) values[id] = $(id).value.trim();
  return values;
}

function hasContent(values) {
  return Object.entries(values).some(([name, value]) => name !== "key" && value);
}

function save() {
  const values = collect();
  if (!hasContent(values) && !position && !chosen.length) {
    drafts.clear();
    return;
  }
  drafts.save({ ...values, key: current.key, position });
}

async function restore() {
  const saved = current;
  if (!hasContent({ ...saved, position: null }) && !saved.position) return;
  for (const name of RADIO_GROUPS) {
    const input = form.querySelector(`input[name="${name}"][value="${CSS.escape(saved[name] || "")}"]`);
    if (input) input.checked = true;
  }
  for (const id of TEXT_FIELDS) $(id).value = saved[id] || "";
  $("category").value = saved.category || "";
  renderCategories();
  if (saved.province) {
    $("province").value = saved.province;
    await loadRegions("regency", saved.province);
    if (saved.regency) {
      $("regency").value = saved.regency;
      await loadRegions("district", saved.regency);
      $("district").value = saved.district || "";
    }
  }
  renderPrivacy();
  renderCounter();
  renderPosition();
  if (saved.refused) showErrors(apiErrors(Object.assign(new ApiError(saved.refused.status, null), saved.refused)));
  else $("send-status").textContent = t("file.draft.restored");
}

form.addEventListener("input", () => { renderCounter(); save(); });
form.addEventListener("change", () => { renderPrivacy(); save(); });

$("clear").addEventListener("click", () => {
  form.reset();
  // The photos go with the draft, unless it is waiting in the outbox: then they wait with it.
  if (!outbox.all().some((e) => e.key === current.key)) for (const record of chosen) discardPhoto(record);
  chosen = [];
  renderPhotos();
  current = { key: newKey() };
  position = null;
  drafts.clear();
  for (const id of ["regency", "district"]) { fill($(id), [], null, null); $(id).disabled = true; }
  clearErrors();
  renderPrivacy();
  renderCounter();
  renderPosition();
  $("send-status").textContent = "";
});

// -- what the fields show ------------------------------------------------------------------------------------

function renderCounter() {
  $("description-counter").textContent = t("file.counter", { count: $("description").value.length, max: 5000 });
}

function renderPrivacy() {
  const anonymous = radio("privacy") === "anonymous";
  $("identity").hidden = anonymous;
  $("photos-pdf").hidden = !(anonymous && chosen.some((r) => r.type === "application/pdf"));
  if (anonymous) for (const id of ["name", "phone", "email"]) $(id).value = ""; // nothing about them kept
}

function renderPosition(message) {
  $("unlocate").hidden = !position;
  const coordinates = position && { lat: position.lat.toFixed(5), lon: position.lon.toFixed(5) };
  $("location-status").textContent = message || (!position ? "" : Number.isFinite(position.accuracy)
    ? t("file.location.set", { ...coordinates, accuracy: position.accuracy })
    : t("file.location.pinned", coordinates));
  showPin();
  checkNearby();
}

// -- "is this the same problem?" --------------------------------------------------------------------------------

let nearbyCount = 0;

// With reports of this category near the pin, supporting one is the first action and sending a new one the
// second: the submit button says so, and looks secondary.
function renderSubmit() {
  const button = $("send");
  if (busy) return;
  button.textContent = t(nearbyCount ? "file.submit.anyway" : "file.submit");
  button.classList.toggle("secondary", nearbyCount > 0);
}

function nearbyChanged(count) {
  nearbyCount = count;
  renderSubmit();
}

function checkNearby() {
  nearby.check(position, $("category").value, nearbyChanged);
}

// -- the map, when asked for ----------------------------------------------------------------------------------

let picker = null; // {L, map, pin, markerOptions}
const round6 = (x) => Math.round(x * 1e6) / 1e6;

// The pin where `position` is (the device's position moves it too), draggable; none without a position.
function showPin() {
  if (!picker) return;
  if (!position) {
    if (picker.pin) picker.pin.remove();
    picker.pin = null;
    return;
  }
  const at = [position.lat, position.lon];
  if (picker.pin) {
    picker.pin.setLatLng(at);
    return;
  }
  picker.pin = picker.L.marker(at, picker.markerOptions(t("file.map.pin"), { draggable: true, autoPan: true }))
    .addTo(picker.map);
  picker.pin.on("dragend", () => pinAt(picker.pin.getLatLng()));
}

function pinAt(latlng) {
  const where = latlng.wrap(); // a world copy east or west of the first: the same longitudes
  position = { lat: round6(where.lat), lon: round6(where.lng) };
  renderPosition();
  save();
}

async function togglePicker() {
  const open = $("pick-panel").hidden;
  $("pick-panel").hidden = !open;
  $("pick").setAttribute("aria-expanded", String(open));
  $("pick").textContent = t(open ? "file.location.pick.hide" : "file.location.pick");
  if (!open) return;
  $("pick-error").hidden = true;
  if (!picker) {
    try {
      const { createMap, markerOptions, INDONESIA } = await import("./map.js");
      const { L, map } = await createMap($("pick-map"), INDONESIA);
      picker = { L, map, pin: null, markerOptions };
      map.on("click", (event) => pinAt(event.latlng));
      // Enter on the map itself (after panning it with the arrow keys) puts the pin at its centre.
      $("pick-map").addEventListener("keydown", (event) => {
        if (event.key === "Enter" && event.target === $("pick-map")) pinAt(map.getCenter());
      });
    } catch {
      $("pick-panel").hidden = true;
      $("pick").setAttribute("aria-expanded", "false");
      $("pick").textContent = t("file.location.pick");
      $("pick-error").textContent = t("file.map.failed");
      $("pick-error").hidden = false;
      return;
    }
  }
  picker.map.invalidateSize();
  if (position) picker.map.setView([position.lat, position.lon], Math.max(picker.map.getZoom(), 15));
  showPin();
}

$("category").addEventListener("change", checkNearby);
$("pick").addEventListener("click", togglePicker);
$("pin-center").addEventListener("click", () => picker && pinAt(picker.map.getCenter()));

$("locate").addEventListener("click", () => {
  if (!navigator.geolocation) return renderPosition(t("file.location.unsupported"));
  renderPosition(t("file.location.finding"));
  navigator.geolocation.getCurrentPosition((found) => {
    const round = (x) => Math.round(x * 1e6) / 1e6;
    position = { lat: round(found.coords.latitude), lon: round(found.coords.longitude),
      accuracy: Math.round(found.coords.accuracy) };
    renderPosition();
    save();
  }, (error) => {
    renderPosition(t(error.code === 1 ? "file.location.denied" : "file.location.unavailable"));
  }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
});

$("unlocate").addEventListener("click", () => {
  position = null;
  renderPosition();
  save();
  $("locate").focus();
});

// -- photos ---------------------------------------------------------------------------------------------------

function discardPhoto(record) {
  forgetPreview(record.id);
  photos.discard(record.id);
}

function sizeText(record) {
  const size = photos.megabytes(record.size);
  return record.original_size > record.size
    ? t("photos.size.resized", { size, original: photos.megabytes(record.original_size) }) : t("photos.size", { size });
}

function renderPhotos() {
  $("photo-list").replaceChildren(...chosen.map((record) => {
    const remove = el("button", { type: "button", class: "link" }, t("photos.remove"),
      el("span", { class: "vh", text: ` ${record.name}` }));
    remove.addEventListener("click", () => {
      chosen = chosen.filter((r) => r.id !== record.id);
      discardPhoto(record);
      renderPhotos();
      save();
      $("photo-files").focus();
    });
    const item = localItem(record, remove);
    item.querySelector("progress")?.remove(); // not on its way yet: its size instead
    item.querySelector(".meta").textContent = sizeText(record);
    return item;
  }));
  const full = chosen.length >= photos.MAX_FILES;
  for (const id of ["photo-camera", "photo-files"]) $(id).disabled = full;
  renderPrivacy();
}

async function choosePhotos(input) {
  const files = [...input.files];
  input.value = "";
  const problems = [];
  for (const file of files) {
    if (chosen.length >= photos.MAX_FILES) { problems.push(t("photos.err.limit", { max: photos.MAX_FILES })); break; }
    const prepared = await photos.prepare(file);
    if (prepared.error) { problems.push(t(prepared.error, prepared.vars)); continue; }
    try {
      chosen.push(await photos.keep(prepared, { key: current.key }));
    } catch {
      problems.push(t("photos.err.storage"));
    }
  }
  $("photos-error").textContent = problems.join(" ");
  renderPhotos();
  save();
}

for (const id of ["photo-camera", "photo-files"]) $(id).addEventListener("change", (event) => choosePhotos(event.target));

async function loadPhotos() {
  await photos.discardOrphans([current.key, ...outbox.all().map((e) => e.key)]);
  chosen = await photos.ofDraft(current.key);
  renderPhotos();
}

// -- errors beside the fields ---------------------------------------------------------------------------------

function validate(values) {
  const errors = {};
  for (const name of ["kind", "privacy"]) if (!values[name]) errors[name] = ["err.choose"];
  if (!values.category) errors.category = ["err.choose"];
  if (!values.province) errors.province = ["err.choose"];
  else if (!values.regency) errors.regency = ["err.choose"];
  for (const [name, [min, max]] of Object.entries(LIMITS)) {
    const value = values[name];
    const optional = !["title", "description"].includes(name);
    if (!value) { if (!optional) errors[name] = ["err.required"]; continue; }
    if (value.length < min) errors[name] = ["err.too_short", { min }];
    else if (value.length > max) errors[name] = ["err.too_long", { max }];
  }
  if (values.email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(values.email) && !errors.email) errors.email = ["err.email"];
  return errors;
}

// The API's 422 (or another refusal) as field errors: {field: [key, vars]}, "form" for the rest.
function apiErrors(error) {
  const errors = {};
  const details = Array.isArray(error.details) ? error.details : [];
  for (const detail of details) {
    const loc = (detail.loc || []).filter((part) => part !== "body").join(".");
    const field = FIELD_OF[loc] || FIELD_OF[loc.split(".")[0]];
    if (!field) continue;
    const type = error.code === "validation_error" ? detail.type : error.code;
    const [min, max] = LIMITS[field] || [];
    errors[field] = {
      missing: ["err.required"], string_too_short: ["err.too_short", { min }],
      string_too_long: ["err.too_long", { max }], literal_error: ["err.choose"], enum: ["err.choose"],
      unknown_region: ["err.unknown_region"], unknown_category: ["err.unknown_category"],
      identity_not_allowed: ["err.identity_not_allowed"],
      string_pattern_mismatch: [field === "email" ? "err.email" : "err.invalid"],
    }[type] || ["err.invalid"];
  }
  if (!Object.keys(errors).length) errors.form = [null, { message: errorMessage(error) }];
  return errors;
}

function controlsOf(field) {
  if (RADIO_GROUPS.includes(field)) return [...form.querySelectorAll(`input[name="${field}"]`)];
  if (field === "identity" || field === "location") return [$(field)];
  return [$(field)];
}

function clearErrors() {
  shownErrors = {};
  for (const node of form.querySelectorAll(".error")) { node.textContent = ""; }
  $("form-error").hidden = true;
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function renderErrors() {
  for (const node of form.querySelectorAll("p.error[id$='-error']")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  let first = null;
  for (const [field, [key, vars]] of Object.entries(shownErrors)) {
    if (field === "form") continue;
    $(`${field}-error`).textContent = t(key, vars);
    for (const control of controlsOf(field)) {
      control.setAttribute("aria-invalid", "true");
      first = first || control;
    }
  }
  const formMessage = shownErrors.form ? shownErrors.form[1].message : (first ? t("file.fix") : "");
  $("form-error").textContent = formMessage;
  $("form-error").hidden = !formMessage;
  return first;
}

function showErrors(errors) {
  shownErrors = errors;
  const first = renderErrors();
  if (first && first.focus) first.focus();
}

// -- sending --------------------------------------------------------------------------------------------------

function body(values) {
  const report = {
    kind: values.kind, category: values.category, region_code: values.district || values.regency || values.province,
    title: values.title, description: values.description, privacy: values.privacy,
  };
  if (position) report.location = { lat: position.lat, lon: position.lon };
  if (values.privacy !== "anonymous") {
    const reporter = Object.fromEntries(["name", "phone", "email"].filter((k) => values[k]).map((k) => [k, values[k]]));
    if (Object.keys(reporter).length) report.reporter = reporter;
  }
  return report;
}

function chosenRegion(values) {
  const province = regions.province.find((r) => r.code === values.province);
  const regency = regions.regency.find((r) => r.code === values.regency);
  const district = regions.district.find((r) => r.code === values.district);
  const where = district || regency || province;
  return {
    zone: where ? { timezone: where.timezone, abbreviation: where.timezone_abbreviation } : null,
    name: [district, regency, province].filter(Boolean).map((r) => r.name).join(", "),
  };
}

function renderWaiting() {
  const count = sender.waiting().length;
  $("send-status").textContent = count ? `${t("outbox.waiting", { count })} ${navigator.onLine === false
    ? t("file.queued") : t("file.retrying")}` : "";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (busy) return; // a double tap sends once
  const values = collect();
  const errors = validate(values);
  if (Object.keys(errors).length) return showErrors(errors);
  clearErrors();
  busy = true;
  const button = $("send");
  button.disabled = true;
  button.textContent = t("file.sending");
  const region = chosenRegion(values);
  const entry = { key: current.key, body: body(values), zone: region.zone, regionName: region.name,
    draft: { ...values, key: current.key, position }, queued_at: new Date().toISOString() };
  // In the outbox before the first try: a reload, a lost reply or a dropped connection still sends it, with its key.
  sender.queue(entry);
  sender.foreground.add(entry.key);
  photos.deferred.add(entry.key); // uploaded from the receipt page, not from this one about to be left
  const result = await sender.send(entry);
  sender.foreground.delete(entry.key);
  if (result.status !== "sent") photos.deferred.delete(entry.key);
  busy = false;
  button.disabled = false;
  renderSubmit();
  if (result.status === "sent") {
    drafts.clear();
    await photos.bind(entry.key, result.created); // the receipt page uploads them
    window.location.assign(`/receipt.html#${encodeURIComponent(result.created.tracking_id)}`);
  } else if (result.status === "waiting") {
    // Kept in the outbox (its photos with it); the form starts a new draft with a new key.
    drafts.clear();
    $("clear").click();
    renderWaiting();
  } else {
    outbox.remove(entry.key); // nothing was filed: the draft (same key) stays in the form, to be fixed
    showErrors(apiErrors(result.error));
  }
});

// A report refused while sent in the background comes back to an empty form, with the reasons.
function takeBackRefused() {
  if (hasContent(collect()) || busy) return;
  const refused = outbox.all().find((e) => e.refused);
  if (!refused) return;
  outbox.remove(refused.key);
  current = { ...refused.draft, refused: refused.refused };
  position = current.position || null;
  drafts.save({ ...refused.draft });
  restore();
  loadPhotos();
}

document.addEventListener("lapor:queued", renderWaiting);
document.addEventListener("lapor:waiting", renderWaiting);
document.addEventListener("lapor:sent", renderWaiting);
document.addEventListener("lapor:refused", takeBackRefused);
window.addEventListener("online", renderWaiting);
window.addEventListener("offline", renderWaiting);
document.addEventListener("lapor:lang", () => {
  renderCategories();
  renderCounter();
  if (picker && picker.pin) { picker.pin.remove(); picker.pin = null; } // drawn again, named in the language
  renderPosition();
  renderErrors();
  renderWaiting();
  renderPhotos();
  nearby.redraw(nearbyChanged);
  $("pick").textContent = t($("pick-panel").hidden ? "file.location.pick" : "file.location.pick.hide");
});

renderCounter();
renderPrivacy();
renderWaiting();
loadPhotos();
loadReference().then(takeBackRefused).then(checkNearby);
