// Track a report with its tracking id and access code: status, agency, deadline, answers, the timeline in
// plain words; rate the answer, and reopen once while the window is open; the attachments (remove one before the
// agency answers, add a photo while the report is open).
import { api } from "./api.js";
import { reporterPanel } from "./attachments.js";
import { t } from "./i18n.js";
import { receipts } from "./store.js";
import { boot, el, errorMessage, formatDate } from "./ui.js";

boot();

const $ = (id) => document.getElementById(id);
// Events whose message a person wrote for the reporter (a reason, the reporter's own comment); answers are
// listed on their own, and the system's notes say nothing the plain sentence does not.
const QUOTED = ["rejected", "reassigned", "feedback", "reopened"];
let view = null;
let accessCode = "";
let zone = null;
let regionName = "";
let panel = null;

// The report read again (or as a reply gave it): while an attachment is pending, and after a change.
async function reload(given) {
  if (!view) return;
  try {
    view = given || await api.report(view.tracking_id, accessCode);
  } catch { /* offline: what is shown stays */ }
  render();
}

function normalise(text) {
  return text.trim().toUpperCase().replace(/\s+/g, "");
}

function agencyName(agencyId, fallbackKey) {
  return view && agencyId === view.agency.id ? view.agency.name : t(fallbackKey);
}

function describe(event) {
  const vars = { rating: event.rating };
  switch (event.type) {
    case "routed": case "reassigned":
      return t(`event.${event.type}`, { agency: agencyName(event.agency_id, "event.agency.other") });
    case "escalated":
      return t("event.escalated", { agency: agencyName(event.agency_id, "event.agency.upper") });
    default: {
      const key = `event.${event.type}`;
      return t(key, vars) === key ? t("event.other") : t(key, vars);
    }
  }
}

async function lookUpRegion(code) {
  const parent = code.includes(".") ? code.slice(0, code.lastIndexOf(".")) : undefined;
  try {
    const found = (await api.regions(parent)).items.find((r) => r.code === code);
    if (found) return { name: found.name, zone: { timezone: found.timezone, abbreviation: found.timezone_abbreviation } };
  } catch { /* the offset of each date still names its zone */ }
  return { name: code, zone: null };
}

function lastAnswerIndex(timeline) {
  return timeline.map((e) => e.type).lastIndexOf("responded");
}

function render() {
  if (!view) return;
  const timeline = view.timeline || [];
  $("result").hidden = false;
  $("result-title").textContent = view.title || view.tracking_id;
  $("result-id").textContent = view.tracking_id;
  $("status").textContent = t(`status.${view.status}`);
  $("status").className = `badge status-${view.status}`;
  // Awaiting the agency: whether it is still within its deadline or past it (the sweep escalates it).
  const awaiting = ["submitted", "routed", "in_progress", "escalated"].includes(view.status);
  $("overdue").textContent = view.overdue ? t("track.overdue") : t("track.on_time");
  $("overdue").className = view.overdue ? "badge overdue" : "badge on-time";
  $("overdue").hidden = !(view.overdue || awaiting);
  $("final").hidden = !view.overdue_final;
  $("agency").textContent = view.agency.name;
  $("region").textContent = regionName;
  $("submitted").textContent = formatDate(view.submitted_at, zone);
  $("due").textContent = formatDate(view.due_at, zone);
  $("escalation").hidden = !view.escalation_level;
  $("escalation").textContent = t("track.escalation", { level: view.escalation_level });

  const answers = timeline.filter((e) => ["acknowledged", "responded"].includes(e.type) && e.message);
  $("answers").replaceChildren(...(answers.length ? answers.map((e) => el("li", {},
    el("p", { class: "meta", text: `${formatDate(e.at, zone)} · ${t(`event.${e.type}`)}` }),
    el("p", { class: "message", text: e.message }))) : [el("li", { text: t("track.no_answers") })]));

  $("timeline").replaceChildren(...timeline.map((e) => el("li", {},
    el("time", { datetime: e.at, text: formatDate(e.at, zone) }), " ",
    el("span", { text: describe(e) }),
    e.message && QUOTED.includes(e.type) ? el("q", { text: e.message }) : null)));

  const answered = ["responded", "closed"].includes(view.status) && lastAnswerIndex(timeline) >= 0;
  const rated = answered && timeline.slice(lastAnswerIndex(timeline) + 1).some((e) => ["feedback", "reopened"].includes(e.type));
  const canReopen = Boolean(view.reopen_until) && new Date(view.reopen_until) > new Date();
  $("feedback").hidden = !(answered && (!rated || canReopen));
  $("rate").hidden = rated;
  $("already-rated").hidden = !rated;
  $("reopen-box").hidden = !canReopen;
  if (canReopen) $("reopen").textContent = t("track.reopen", { until: formatDate(view.reopen_until, zone) });

  panel = panel || reporterPanel({ section: $("photos"), list: $("attachments"), status: $("photos-status"),
    trackingId: view.tracking_id, accessCode, reload,
    adder: { box: $("photo-add"), input: $("add-photo"), error: $("add-photo-error"), warning: $("add-photo-pdf") } });
  panel.show(view, accessCode);
}

async function show(trackingId, code) {
  $("lookup-error").textContent = "";
  $("show").disabled = true;
  try {
    view = await api.report(trackingId, code);
    accessCode = code;
    ({ name: regionName, zone } = await lookUpRegion(view.region_code));
    history.replaceState(null, "", `#${encodeURIComponent(view.tracking_id)}`);
    render();
    $("result-title").focus();
  } catch (error) {
    $("result").hidden = true;
    $("lookup-error").textContent = errorMessage(error);
  } finally {
    $("show").disabled = false;
  }
}

$("lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  const trackingId = normalise($("tracking").value);
  const code = normalise($("code").value);
  $("tracking-error").textContent = trackingId ? "" : t("err.required");
  $("code-error").textContent = code ? "" : t("err.required");
  $("tracking").toggleAttribute("aria-invalid", !trackingId);
  $("code").toggleAttribute("aria-invalid", !code);
  if (!trackingId) return $("tracking").focus();
  if (!code) return $("code").focus();
  show(trackingId, code);
});

$("feedback").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reopen = event.submitter && event.submitter.value === "reopen";
  const checked = document.querySelector('input[name="rating"]:checked');
  $("rating-error").textContent = "";
  $("feedback-status").textContent = "";
  if (!checked) {
    $("rating-error").textContent = t(reopen ? "track.reopen.need_rating" : "err.choose");
    document.getElementById("rating-1").focus();
    return;
  }
  const feedback = { rating: Number(checked.value), reopen };
  const comment = $("comment").value.trim();
  if (comment) feedback.comment = comment;
  for (const button of [$("rate"), $("reopen")]) button.disabled = true;
  try {
    view = await api.feedback(view.tracking_id, accessCode, feedback);
    $("feedback").reset();
    render();
    $("feedback-status").textContent = t(reopen ? "track.reopened" : "track.rated");
    if ($("feedback").hidden) document.getElementById("notices").append(el("p", { class: "notice", text: t(reopen ? "track.reopened" : "track.rated") }));
  } catch (error) {
    $("feedback-status").textContent = errorMessage(error);
  } finally {
    for (const button of [$("rate"), $("reopen")]) button.disabled = false;
  }
});

document.addEventListener("lapor:lang", render);

const fromHash = decodeURIComponent(window.location.hash.slice(1));
if (fromHash) {
  $("tracking").value = fromHash;
  const kept = receipts.get(fromHash);
  if (kept && kept.access_code) {
    $("code").value = kept.access_code;
  }
}
$("result-title").tabIndex = -1;
