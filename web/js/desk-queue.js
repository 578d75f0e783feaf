// The operator desk's queue: the agency's reports, soonest deadline first (or most supported first, as the API
// sorts them: sort=supporters), overdue marked, the working days left (the API's working_days_left), citizens'
// support, filtered by status, deadline and (supervisors, admins) agency.
import { desk } from "./api.js";
import { t } from "./i18n.js";
import { bootDesk, call, daysLeft, isAdmin, problem } from "./desk.js";
import { el, formatDate } from "./ui.js";

const me = await bootDesk();
const $ = (id) => document.getElementById(id);
const PAGES_AT_ONCE = 5; // up to 500 reports sorted together; "more" fetches the rest
let items = [];
let cursor = null;
let loads = 0; // the latest load: an earlier one still under way (filters applied again meanwhile) is dropped

function filters() {
  return {
    status: $("status").value,
    overdue: $("overdue").value,
    agency_id: $("agency").value.trim() || (me.agencyId ? undefined : ""),
    sort: $("sort").value || undefined,
  };
}

function byDue(a, b) {
  return new Date(a.due_at) - new Date(b.due_at) || a.tracking_id.localeCompare(b.tracking_id);
}

function line(item) {
  const awaiting = item.working_days_left !== null && item.working_days_left !== undefined;
  return el("li", { class: item.overdue ? "item overdue" : "item" },
    el("a", { href: `/desk/report.html#${encodeURIComponent(item.tracking_id)}`, class: "title", text: item.title || item.tracking_id }),
    el("p", { class: "meta", text: `${item.tracking_id} · ${item.agency.name}` }),
    el("p", { class: "badges" },
      el("span", { class: `badge status-${item.status}`, text: t(`status.${item.status}`) }), " ",
      item.overdue ? el("span", { class: "badge overdue", text: t("track.overdue") }) : null, " ",
      awaiting ? el("span", { class: item.overdue ? "badge overdue" : "badge", text: daysLeft(item.working_days_left) }) : null, " ",
      item.supporters ? el("span", { class: "badge", text: t("desk.supporters", { count: item.supporters }) }) : null),
    el("p", { class: "meta", text: `${t("track.due")}: ${formatDate(item.due_at)}` }));
}

function render() {
  const bySupport = $("sort").value === "supporters";
  if (!bySupport) items.sort(byDue); // most supported: in the API's order, across every page
  $("queue").replaceChildren(...items.map(line));
  $("queue-status").textContent = items.length
    ? t(bySupport ? "desk.queue.count.supporters" : "desk.queue.count", { count: items.length }) : t("desk.queue.empty");
  $("more").hidden = !cursor;
}

async function load(more = false) {
  const run = ++loads;
  $("queue-error").textContent = "";
  if (!more) { items = []; cursor = null; }
  const wanted = filters();
  if (!wanted.agency_id && !me.agencyId) {
    $("queue-error").textContent = t("desk.filter.agency.required");
    render();
    $("agency").focus();
    return;
  }
  $("queue-status").textContent = t("loading");
  $("apply").disabled = true;
  $("more").disabled = true;
  try {
    for (let page = 0; page < PAGES_AT_ONCE; page += 1) {
      const reply = await call(desk.queue, { ...wanted, limit: 100, cursor: cursor || undefined });
      if (run !== loads) return;
      items.push(...reply.items);
      cursor = reply.next_cursor || null;
      if (!cursor) break;
    }
    render();
  } catch (error) {
    if (run !== loads) return;
    $("queue-status").textContent = "";
    $("queue-error").textContent = problem(error);
  } finally {
    if (run === loads) {
      $("apply").disabled = false;
      $("more").disabled = false;
    }
  }
}

function keepInAddress() {
  const wanted = new URLSearchParams();
  for (const id of ["status", "overdue", "sort", "agency"]) if ($(id).value.trim()) wanted.set(id, $(id).value.trim());
  history.replaceState(null, "", `${location.pathname}${wanted.size ? `?${wanted}` : ""}`);
}

async function agencyChoices() {
  // Admins pick from every agency; supervisors type one of their chain (their own by default).
  if (!isAdmin()) return;
  try {
    const reply = await call(desk.agencies);
    $("agency-options").replaceChildren(...reply.items.map((a) => el("option", { value: a.id, label: a.name })));
  } catch { /* the field still takes an agency id */ }
}

const given = new URLSearchParams(location.search);
for (const id of ["status", "overdue", "sort", "agency"]) if (given.get(id)) $(id).value = given.get(id);
$("agency-field").hidden = me.role === "operator";
if (!$("agency").value && me.agencyId && me.role !== "operator") $("agency").value = me.agencyId;

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  keepInAddress();
  load();
});
$("more").addEventListener("click", () => load(true));
document.addEventListener("lapor:lang", render);
agencyChoices();
load();
