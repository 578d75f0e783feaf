// One report on the operator desk: the facts, the reporter (unless anonymous), the timeline; the answer
// (in_progress or responded) sent with the version read, so that a change by someone else first is a clear
// 409 with a reload that keeps the typed answer; for admins, reassign and reject with a reason. The answer
// being typed is kept (sessionStorage) until sent: it survives a reload and signing in again. Attachments show
// with their thumbnails; operators never remove them, admins may hide one with a reason. "Laporan serupa": the
// open reports this one may duplicate (GET .../candidates), each in the caller's chain with "Gabungkan ke laporan
// ini" (a reason, then a confirm button); a merged report links the one it was merged into, and admins may undo it.
import { ApiError, api, desk } from "./api.js";
import { attachmentItem } from "./attachments.js";
import { drafts } from "./auth.js";
import { lang, t } from "./i18n.js";
import { bootDesk, call, daysLeft, isAdmin, problem } from "./desk.js";
import { el, formatDate } from "./ui.js";

await bootDesk();
const $ = (id) => document.getElementById(id);
const trackingId = decodeURIComponent(location.hash.slice(1)).trim().toUpperCase();
const AWAITING = ["submitted", "routed", "in_progress", "escalated"];
let view = null;
let zone = null;
let regionName = "";
let categories = [];
let agencies = [];
let similar = null; // {basis, radius_m, days, items}, or an error's text
let mergeInto = null; // the candidate the merge form names

function agencyName(id) {
  if (view && id === view.agency.id) return view.agency.name;
  const known = agencies.find((a) => a.id === id);
  return known ? known.name : id || t("event.agency.other");
}

function describe(event) {
  switch (event.type) {
    case "routed": case "reassigned": case "escalated":
      return t(`event.${event.type}`, { agency: agencyName(event.agency_id) });
    case "merged": case "unmerged":
      return t(`desk.event.${event.type}`, { id: event.into || "?" });
    case "feedback": case "reopened": case "closed":
      return t(`desk.event.${event.type}`, { rating: event.rating });
    default: {
      const key = `event.${event.type}`;
      return t(key) === key ? t("event.other") : t(key);
    }
  }
}

async function lookUpRegion(code) {
  const parent = code.includes(".") ? code.slice(0, code.lastIndexOf(".")) : undefined;
  try {
    const found = (await api.regions(parent)).items.find((r) => r.code === code);
    if (found) return { name: `${found.name} (${code})`, zone: { timezone: found.timezone, abbreviation: found.timezone_abbreviation } };
  } catch { /* each date's offset still names its zone */ }
  return { name: code, zone: null };
}

function categoryName(id) {
  const found = categories.find((c) => c.id === id);
  return found ? (lang() === "id" ? found.name_id : found.name_en) : id;
}

function reporterText() {
  if (view.privacy === "anonymous") return t("desk.report.anonymous");
  const who = view.reporter || {};
  const parts = [who.name, who.phone, who.email].filter(Boolean);
  return parts.length ? parts.join(" · ") : t("desk.report.no_identity");
}

// An admin's hide: a reason (the reporter sees it on the timeline), then the attachment leaves every other view.
function hideForm(a) {
  const id = `hide-${a.attachment_id}`;
  const reason = el("textarea", { id: `${id}-reason`, rows: 2, maxlength: 500, "aria-describedby": `${id}-error` });
  const error = el("p", { class: "error", id: `${id}-error` });
  const send = el("button", { type: "submit", class: "secondary", text: t("photos.desk.hide.send") });
  const form = el("form", { class: "hide-form", novalidate: true, hidden: true },
    el("div", { class: "field" }, el("label", { for: reason.id, text: t("photos.desk.hide.reason", { name: a.filename }) }),
      reason, error),
    send);
  const open = el("button", { type: "button", class: "link", "aria-expanded": "false" }, t("photos.desk.hide"),
    el("span", { class: "vh", text: ` ${a.filename}` }));
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) reason.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    error.textContent = text ? "" : t("err.required");
    reason.toggleAttribute("aria-invalid", !text);
    if (!text) return reason.focus();
    send.disabled = true;
    try {
      view = await call(desk.hideAttachment, trackingId, a.attachment_id, { reason: text, version: view.version });
      render();
      $("photos-status").textContent = t("photos.desk.hidden", { name: a.filename });
    } catch (failure) {
      send.disabled = false;
      error.textContent = problem(failure);
    }
  });
  return [open, form];
}

function renderAttachments() {
  const listed = view.attachments || [];
  // The list is drawn again every 3 s while an attachment is pending: a hide form being filled in stays open,
  // with its reason and the focus.
  const kept = new Map([...document.querySelectorAll("#attachments .hide-form")].map((form) => {
    const reason = form.querySelector("textarea");
    return [reason.id, { open: !form.hidden, text: reason.value, focused: document.activeElement === reason }];
  }));
  $("photos").hidden = !listed.length;
  $("attachments").replaceChildren(...listed.map((a) => attachmentItem(a,
    ...(isAdmin() && a.status !== "hidden" ? hideForm(a) : []))));
  for (const [id, state] of kept) {
    const reason = document.getElementById(id);
    if (!reason) continue;
    reason.value = state.text;
    const form = reason.closest("form");
    form.hidden = !state.open;
    form.previousElementSibling?.setAttribute("aria-expanded", String(state.open));
    if (state.focused) reason.focus();
  }
  // MediaFunction works in the background: read the report again while an attachment is pending.
  clearTimeout(renderAttachments.timer);
  if (listed.some((a) => a.status === "pending")) renderAttachments.timer = setTimeout(load, 3000);
}

function render() {
  if (!view) return;
  $("report").hidden = false;
  $("report-title").textContent = view.title || view.tracking_id;
  $("status").textContent = t(`status.${view.status}`);
  $("status").className = `badge status-${view.status}`;
  const awaiting = AWAITING.includes(view.status);
  $("overdue").textContent = view.overdue ? t("track.overdue") : awaiting ? t("track.on_time") : "";
  $("overdue").className = view.overdue ? "badge overdue" : "badge on-time";
  $("days").textContent = daysLeft(view.working_days_left);
  $("final").hidden = !view.overdue_final;
  $("tracking-id").textContent = view.tracking_id;
  $("agency").textContent = view.agency.name;
  $("category").textContent = categoryName(view.category);
  $("region").textContent = regionName;
  $("privacy").textContent = t(`privacy.${view.privacy}`);
  $("submitted").textContent = formatDate(view.submitted_at, zone);
  $("due").textContent = formatDate(view.due_at, zone);
  $("reporter").textContent = reporterText();
  $("description").textContent = view.description || "";
  $("supporters").textContent = String(view.supporters || 0);
  $("absorbed").hidden = !view.absorbed;
  $("absorbed").textContent = view.absorbed ? t("desk.absorbed", { count: view.absorbed }) : "";
  const merged = view.merged_into;
  $("merged").hidden = !merged;
  if (merged) {
    $("merged-link").textContent = merged.tracking_id;
    $("merged-link").href = `/desk/report.html#${encodeURIComponent(merged.tracking_id)}`;
    $("merged-title").textContent = merged.title ? ` — ${merged.title}` : "";
  }
  $("unmerge-box").hidden = !(merged && isAdmin());
  renderSimilar();
  renderAttachments();
  $("answer").hidden = !awaiting;
  $("admin-actions").hidden = !(isAdmin() && awaiting);
  $("timeline").replaceChildren(...(view.timeline || []).map((e) => el("li", {},
    el("time", { datetime: e.at, text: formatDate(e.at, zone) }), " ",
    el("span", { text: describe(e) }),
    e.actor_role && e.actor_role !== "system" ? el("span", { class: "meta", text: ` (${t(`desk.actor.${e.actor_role}`)})` }) : null,
    e.message && e.actor_role !== "system" ? el("q", { text: e.message }) : null)));  // what a person wrote
}

// The reports this one may duplicate: only while it is open (a closed or merged one is merged nowhere).
function renderSimilar() {
  const open = AWAITING.includes(view.status) && !view.merged_into;
  $("similar").hidden = !open || similar === null;
  if ($("similar").hidden) return;
  if (typeof similar === "string") {
    $("similar-hint").textContent = similar;
    $("similar-list").replaceChildren();
    return;
  }
  const mergeable = !view.absorbed;
  $("similar-hint").textContent = !mergeable ? t("desk.similar.absorbed")
    : !similar.items.length ? t("desk.similar.none")
      : t(`desk.similar.hint.${similar.basis}`, { radius: similar.radius_m, days: similar.days });
  $("similar-list").replaceChildren(...similar.items.map((c) => {
    const meta = [c.tracking_id, c.distance_m === null ? null : t("desk.similar.distance", { m: c.distance_m }),
      t(`status.${c.status}`), t("nearby.supporters", { count: c.supporters }),
      c.privacy === "public" ? null : t(`privacy.${c.privacy}`), c.in_scope ? null : t("desk.similar.out_of_scope")];
    let button = null;
    if (mergeable && c.in_scope) {
      button = el("button", { type: "button", class: "secondary" }, t("desk.merge.open"),
        el("span", { class: "vh", text: ` ${c.tracking_id}` }));
      button.addEventListener("click", () => openMerge(c));
    }
    return el("li", { "data-id": c.tracking_id },
      el("p", { class: "title" }, el("a", { href: `/desk/report.html#${encodeURIComponent(c.tracking_id)}`, text: c.title || c.tracking_id })),
      el("p", { class: "meta", text: meta.filter(Boolean).join(" · ") }),
      button);
  }));
  if (mergeInto) $("merge-heading").textContent = t("desk.merge.heading", { id: view.tracking_id, into: mergeInto });
}

function openMerge(candidate) {
  mergeInto = candidate.tracking_id;
  $("merge").hidden = false;
  $("merge-status").textContent = "";
  $("merge-heading").textContent = t("desk.merge.heading", { id: view.tracking_id, into: mergeInto });
  $("merge-reason").focus();
}

function closeMerge() {
  mergeInto = null;
  $("merge").hidden = true;
  fieldError("merge-reason", "");
}

async function loadSimilar() {
  if (!AWAITING.includes(view.status) || view.merged_into) return;
  try {
    similar = await call(desk.candidates, trackingId);
  } catch (error) {
    similar = problem(error);
  }
  render();
}

async function load() {
  $("load-error").textContent = "";
  try {
    view = await call(desk.report, trackingId);
    if (!regionName) ({ name: regionName, zone } = await lookUpRegion(view.region_code));
    render();
    loadSimilar();
    return true;
  } catch (error) {
    $("load-error").textContent = problem(error);
    return false;
  }
}

// The answer being typed, kept as it is typed.
function keepDraft() {
  const status = document.querySelector('input[name="answer-status"]:checked');
  drafts.put(trackingId, { message: $("message").value, status: status ? status.value : "responded" });
}

function restoreDraft() {
  const kept = drafts.get(trackingId);
  if (!kept) return;
  $("message").value = kept.message || "";
  const radio = document.querySelector(`input[name="answer-status"][value="${kept.status}"]`);
  if (radio) radio.checked = true;
  if (kept.message) $("answer-status").textContent = t("desk.answer.restored");
}

function fieldError(id, text) {
  $(`${id}-error`).textContent = text || "";
  $(id).toggleAttribute("aria-invalid", Boolean(text));
  if (text) $(id).setAttribute("aria-invalid", "true");
}

function conflict(error) {
  const current = error.details && error.details.current_version;
  $("conflict-text").textContent = t("desk.conflict", { version: current ?? "?" });
  $("conflict").hidden = false;
  $("conflict").focus();
}

$("answer").addEventListener("input", keepDraft);
$("answer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = $("message").value.trim();
  fieldError("message", message ? "" : t("err.required"));
  $("answer-status").textContent = "";
  if (!message) return $("message").focus();
  keepDraft();
  const status = document.querySelector('input[name="answer-status"]:checked').value;
  $("send").disabled = true;
  try {
    view = await call(desk.respond, trackingId, { message, status, version: view.version });
    drafts.clear(trackingId);
    $("message").value = "";
    $("conflict").hidden = true;
    render();
    $("answer-status").textContent = t(status === "responded" ? "desk.answer.sent" : "desk.answer.noted");
  } catch (error) {
    if (error instanceof ApiError && error.code === "stale_version") conflict(error);
    else if (error instanceof ApiError && error.status === 422 && error.details) fieldError("message", t("err.invalid"));
    else $("answer-status").textContent = problem(error);
  } finally {
    $("send").disabled = false;
  }
});

// Someone else changed the report first: read it again (the typed answer stays), then send again.
$("reload").addEventListener("click", async () => {
  if (await load()) {
    $("conflict").hidden = true;
    $("answer-status").textContent = t("desk.conflict.reloaded");
    $("message").focus();
  }
});

async function adminChange(form, send, body) {
  const status = $(`${form}-status`);
  status.textContent = "";
  $(`${form}-send`).disabled = true;
  try {
    view = await call(send, trackingId, { ...body, version: view.version });
    $(form).reset();
    render();
    status.textContent = t(`desk.${form}.done`);
  } catch (error) {
    status.textContent = problem(error);
  } finally {
    $(`${form}-send`).disabled = false;
  }
}

$("reassign").addEventListener("submit", (event) => {
  event.preventDefault();
  const agencyId = $("reassign-agency").value;
  const reason = $("reassign-reason").value.trim();
  fieldError("reassign-agency", agencyId ? "" : t("err.choose"));
  fieldError("reassign-reason", reason ? "" : t("err.required"));
  if (!agencyId) return $("reassign-agency").focus();
  if (!reason) return $("reassign-reason").focus();
  adminChange("reassign", desk.reassign, { agency_id: agencyId, reason });
});

$("reject").addEventListener("submit", (event) => {
  event.preventDefault();
  const reason = $("reject-reason").value.trim();
  fieldError("reject-reason", reason ? "" : t("err.required"));
  if (!reason) return $("reject-reason").focus();
  adminChange("reject", desk.reject, { reason });
});

$("merge").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reason = $("merge-reason").value.trim();
  fieldError("merge-reason", reason ? "" : t("err.required"));
  if (!reason) return $("merge-reason").focus();
  const into = mergeInto;
  $("merge-send").disabled = true;
  try {
    view = await call(desk.merge, trackingId, { into, reason, version: view.version });
    $("merge").reset();
    closeMerge();
    render();
    $("merged-status").textContent = t("desk.merge.done", { into });
    $("merged").focus();
  } catch (error) {
    $("merge-status").textContent = problem(error);
  } finally {
    $("merge-send").disabled = false;
  }
});
$("merge-cancel").addEventListener("click", closeMerge);

$("unmerge").addEventListener("click", () => {
  $("unmerge-confirm").hidden = false;
  $("unmerge-yes").focus();
});
$("unmerge-no").addEventListener("click", () => {
  $("unmerge-confirm").hidden = true;
  $("unmerge").focus();
});
$("unmerge-yes").addEventListener("click", async () => {
  $("unmerge-yes").disabled = true;
  try {
    view = await call(desk.unmerge, trackingId);
    $("unmerge-confirm").hidden = true;
    similar = null;
    render();
    $("answer-status").textContent = t("desk.unmerge.done");
    loadSimilar();
  } catch (error) {
    $("merged-status").textContent = problem(error);
  } finally {
    $("unmerge-yes").disabled = false;
  }
});

// Another report's page (a candidate's or the master's link): the page reads its tracking id once.
window.addEventListener("hashchange", () => location.reload());

async function adminChoices() {
  if (!isAdmin()) return;
  try {
    agencies = (await call(desk.agencies)).items;
  } catch { return; }
  $("reassign-agency").replaceChildren(el("option", { value: "", text: t("desk.reassign.choose") }),
    ...agencies.map((a) => el("option", { value: a.id, text: a.name })));
  render();
}

document.addEventListener("lapor:lang", render);
restoreDraft();
api.categories().then((reply) => { categories = reply.items; render(); }).catch(() => {});
if (!trackingId) {
  $("load-error").textContent = t("err.not_found");
} else {
  load().then((found) => { if (found) $("report-title").focus(); });
  adminChoices();
}
