// Admins: the deadline sweep (a dry run first, showing what would happen; then the run itself on confirm,
// followed by polling GET /admin/sweeps/{id} until it is no longer running) and Open311 API keys.
import { desk } from "./api.js";
import { t } from "./i18n.js";
import { bootDesk, call, isAdmin, problem } from "./desk.js";
import { el, formatDate } from "./ui.js";

await bootDesk();
const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const COUNTS = ["scanned", "escalated", "flagged_final", "closed", "skipped", "failed"];
let preview = null;

function counts(target, run, dry) {
  $(target).replaceChildren(...COUNTS.flatMap((name) => [
    el("dt", { text: t(`desk.sweep.${dry ? "would" : "did"}.${name}`) }),
    el("dd", { id: `${target}-${name}`, text: String(run[name] ?? 0) }),
  ]));
}

// What the dry run would escalate (at most 200: the API says when more would): tracking id, agency, where to.
function listing(run) {
  const entries = run.would_escalate || [];
  const key = !entries.length ? "desk.sweep.listed.none" : run.would_escalate_truncated ? "desk.sweep.listed.more" : "desk.sweep.listed";
  $("sweep-preview-listed").textContent = t(key, { count: entries.length });
  $("sweep-preview-list").replaceChildren(...entries.map((e) => {
    const from = e.agency_name || e.agency_id;
    const to = e.to_agency_id
      ? t("desk.sweep.item.to", { from, to: e.to_agency_name || e.to_agency_id, level: t(`desk.sweep.level.${e.to_level}`) })
      : t("desk.sweep.item.final", { from });
    return el("li", {}, el("strong", { class: "tracking-id", text: e.tracking_id }), el("br"), document.createTextNode(to),
      el("br"), el("span", { class: "meta", text: t("desk.sweep.item.due", { due: formatDate(e.due_at) }) }));
  }));
}

function showRun(run) {
  $("sweep-run").hidden = false;
  const done = run.shards ? `${run.shards_done} / ${run.shards}` : "";
  $("sweep-state").textContent = t(`desk.sweep.state.${run.status}`, { done });
  $("sweep-progress").max = Math.max(run.shards || 1, 1);
  $("sweep-progress").value = run.status === "finished" ? $("sweep-progress").max : run.shards_done || 0;
  counts("sweep-run-counts", run, false);
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Until the run is no longer running (finished, failed, stalled).
async function follow(run, onUpdate) {
  let current = run;
  onUpdate(current);
  while (current.status === "running") {
    await pause(POLL_MS);
    current = await call(desk.sweep, current.id);
    onUpdate(current);
  }
  return current;
}

$("dry-run").addEventListener("click", async () => {
  $("sweep-error").textContent = "";
  $("sweep-preview").hidden = true;
  $("sweep-run").hidden = true;
  $("dry-run").disabled = true;
  try {
    const started = await call(desk.startSweep, { dry_run: true });
    preview = await follow(started, () => {});
    counts("sweep-preview-counts", preview, true);
    listing(preview);
    $("sweep-preview").hidden = false;
    $("sweep-preview-heading").textContent = t("desk.sweep.preview", { as_of: formatDate(preview.as_of) });
    $("sweep-preview-heading").focus();
  } catch (error) {
    $("sweep-error").textContent = problem(error);
  } finally {
    $("dry-run").disabled = false;
  }
});

$("sweep-cancel").addEventListener("click", () => {
  preview = null;
  $("sweep-preview").hidden = true;
  $("dry-run").focus();
});

// The run the dry run showed: the same instant (as_of), for real.
$("sweep-confirm").addEventListener("click", async () => {
  if (!preview) return;
  $("sweep-error").textContent = "";
  $("sweep-confirm").disabled = true;
  $("dry-run").disabled = true;
  try {
    const started = await call(desk.startSweep, { as_of: preview.as_of });
    $("sweep-preview").hidden = true;
    await follow(started, showRun);
  } catch (error) {
    $("sweep-error").textContent = problem(error);
  } finally {
    preview = null;
    $("sweep-confirm").disabled = false;
    $("dry-run").disabled = false;
  }
});

function keyLine(key) {
  const state = key.revoked_at
    ? t("desk.keys.revoked", { at: formatDate(key.revoked_at) })
    : t("desk.keys.active", { at: formatDate(key.created_at) });
  const revoke = key.revoked_at ? null : el("button", {
    type: "button", class: "secondary", "data-key": key.id, text: t("desk.keys.revoke"),
    "aria-label": t("desk.keys.revoke.named", { name: key.name }),
    onclick: () => revokeKey(key),
  });
  return el("li", { class: key.revoked_at ? "key revoked" : "key" },
    el("p", { class: "title", text: key.name }),
    el("p", { class: "meta", text: `${key.id} · ${state}` }), revoke);
}

async function listKeys() {
  try {
    const reply = await call(desk.apiKeys);
    $("key-list").replaceChildren(...reply.items.map(keyLine));
    if (!reply.items.length) $("key-list").replaceChildren(el("li", { text: t("desk.keys.none") }));
  } catch (error) {
    $("keys-error").textContent = problem(error);
  }
}

async function revokeKey(key) {
  if (!window.confirm(t("desk.keys.revoke.confirm", { name: key.name }))) return;
  $("keys-error").textContent = "";
  try {
    await call(desk.revokeApiKey, key.id);
    $("keys-status").textContent = t("desk.keys.revoked.done", { name: key.name });
    await listKeys();
  } catch (error) {
    $("keys-error").textContent = problem(error);
  }
}

$("issue").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("key-name").value.trim();
  $("key-name-error").textContent = name ? "" : t("err.required");
  $("key-name").toggleAttribute("aria-invalid", !name);
  if (!name) return $("key-name").focus();
  $("keys-error").textContent = "";
  $("issue-key").disabled = true;
  try {
    const created = await call(desk.issueApiKey, name);
    $("new-key-value").textContent = created.key;
    $("new-key").hidden = false;
    $("new-key-heading").textContent = t("desk.keys.new", { name: created.name });
    $("new-key-heading").focus();
    $("issue").reset();
    await listKeys();
  } catch (error) {
    $("keys-error").textContent = problem(error);
  } finally {
    $("issue-key").disabled = false;
  }
});

if (isAdmin()) {
  listKeys();
} else {
  $("not-admin").hidden = false;
  $("sweep").hidden = true;
  $("keys").hidden = true;
}
