// A report's attachments as the receipt, the track page and the desk show them: a thumbnail, the status in plain
// words, a link to the whole file; and the photos of this device still on their way, with their progress. The
// reporter's panel reads the report again every few seconds while anything is pending (MediaFunction works in
// the background), removes an attachment before the agency answers, and adds a photo while the report is open.
import { ApiError, api } from "./api.js";
import { t } from "./i18n.js";
import * as photos from "./photos.js";
import { el, errorMessage } from "./ui.js";

const POLL_MS = 2000;
const POLL_FOR_MS = 5 * 60 * 1000;
const OPEN = ["submitted", "routed", "in_progress", "escalated", "responded"];
const previews = new Map(); // record id -> object URL of its blob

function reason(code) {
  const key = `photos.reason.${code}`;
  return t(key) === key ? t("photos.reason.other") : t(key);
}

function refusal(code) {
  const key = `photos.refused.${code}`;
  return t(key) === key ? t("photos.refused.other") : t(key);
}

export function statusText(a) {
  if (a.status === "rejected") return t("photos.status.rejected", { reason: reason(a.reason) });
  if (a.status === "hidden") return t("photos.status.hidden", { reason: a.reason || "" });
  return t(`photos.status.${a.status}`);
}

// A small square: the thumbnail, or what the file is when there is none (yet).
function thumb(src, name, isImage) {
  if (src) return el("img", { class: "thumb", src, alt: t("photos.thumb.alt", { name }), width: 80, height: 80 });
  return el("span", { class: "thumb doc", "aria-hidden": "true", text: isImage ? "…" : "PDF" });
}

// A named button or link: the visible word, and the file's name for a screen reader.
function named(text, name) {
  return [text, el("span", { class: "vh", text: ` ${name}` })];
}

// One attachment the API lists; `actions` (buttons, forms) go under it.
export function attachmentItem(a, ...actions) {
  const isImage = a.content_type.startsWith("image/");
  return el("li", { class: `attachment status-${a.status}`, "data-attachment": a.attachment_id },
    thumb(a.thumbnail_url, a.filename, isImage),
    el("div", { class: "about" },
      el("p", { class: "name", text: a.filename }),
      el("p", { class: "meta", text: statusText(a) }),
      a.url ? el("a", { href: a.url, target: "_blank", rel: "noopener" },
        ...named(t(isImage ? "photos.open.image" : "photos.open.document"), a.filename)) : null,
      ...actions));
}

function localText(record) {
  if (record.refused) return t("photos.local.refused", { reason: refusal(record.refused) });
  const now = photos.progress.get(record.id);
  if (navigator.onLine === false) return t("photos.local.waiting");
  if (!now) return t("photos.local.queued");
  return t(`photos.local.${now.state}`, { percent: Math.round(now.fraction * 100) });
}

export function previewOf(record) {
  if (!record.type.startsWith("image/")) return null;
  if (!previews.has(record.id)) previews.set(record.id, URL.createObjectURL(record.blob));
  return previews.get(record.id);
}

export function forgetPreview(id) {
  if (previews.has(id)) URL.revokeObjectURL(previews.get(id));
  previews.delete(id);
}

// One photo of this device on its way to the report (or given up, with why).
export function localItem(record, ...actions) {
  const now = photos.progress.get(record.id);
  return el("li", { class: "attachment local", "data-photo": record.id },
    thumb(previewOf(record), record.name, record.type.startsWith("image/")),
    el("div", { class: "about" },
      el("p", { class: "name", text: record.name }),
      el("p", { class: "meta", "data-photo-text": record.id, text: localText(record) }),
      record.refused ? null : el("progress", { max: 100, value: Math.round(((now && now.fraction) || 0) * 100),
        "data-photo-bar": record.id, "aria-label": t("photos.local.progress", { name: record.name }) }),
      ...actions));
}

// Progress of one upload, in place (a full render per progress event would reload every thumbnail).
function showProgress(id) {
  const text = document.querySelector(`[data-photo-text="${CSS.escape(id)}"]`);
  const bar = document.querySelector(`[data-photo-bar="${CSS.escape(id)}"]`);
  const now = photos.progress.get(id);
  if (text && now) text.textContent = t(`photos.local.${now.state}`, { percent: Math.round(now.fraction * 100) });
  if (bar && now) bar.value = Math.round(now.fraction * 100);
}

// The reporter's attachments: `reload()` reads the report again (and calls show with it); `adder` is the
// add-a-photo control ({input, error, warning}) or null.
export function reporterPanel({ section, list, status, trackingId, accessCode, reload, adder = null }) {
  let view = null;
  let local = [];
  let timer = null;
  const since = Date.now();

  const answered = () => Boolean(view && (view.timeline || []).some((e) => e.type === "responded"));
  const open = () => Boolean(view && OPEN.includes(view.status));
  const counted = () => ((view && view.attachments) || []).filter((a) => ["pending", "ready"].includes(a.status)).length
    + local.filter((r) => !r.refused).length;

  async function remove(a, button) {
    button.disabled = true;
    status.textContent = "";
    try {
      const updated = await api.removeAttachment(trackingId, accessCode, a.attachment_id);
      status.textContent = t("photos.removed", { name: a.filename });
      await reload(updated);
    } catch (error) {
      button.disabled = false;
      status.textContent = error instanceof ApiError && ["already_answered", "not_own_attachment"].includes(error.code)
        ? t(`photos.err.${error.code}`) : errorMessage(error);
      if (error instanceof ApiError && error.code === "already_answered") await reload();
    }
  }

  async function dismiss(record) {
    await photos.discard(record.id);
    forgetPreview(record.id);
    render();
  }

  async function render() {
    local = await photos.ofReport(trackingId);
    const listed = (view && view.attachments) || [];
    const removable = Boolean(view && accessCode) && !answered();
    const items = [
      ...listed.map((a) => {
        const button = removable && a.status !== "hidden"
          ? el("button", { type: "button", class: "link" }, ...named(t("photos.remove"), a.filename)) : null;
        if (button) button.addEventListener("click", () => remove(a, button));
        return attachmentItem(a, button);
      }),
      ...local.map((r) => {
        const button = r.refused ? el("button", { type: "button", class: "link" }, ...named(t("photos.dismiss"), r.name)) : null;
        if (button) button.addEventListener("click", () => dismiss(r));
        return localItem(r, button);
      }),
    ];
    list.replaceChildren(...(items.length ? items : [el("li", { class: "none", text: t("photos.none") })]));
    if (section) section.hidden = !items.length && !(adder && open());
    if (adder) {
      adder.box.hidden = !(open() && accessCode && counted() < photos.MAX_FILES);
      adder.warning.hidden = !(view && view.privacy === "anonymous");
    }
    const busy = listed.some((a) => a.status === "pending") || local.some((r) => !r.refused);
    clearTimeout(timer);
    if (busy && Date.now() - since < POLL_FOR_MS) timer = setTimeout(() => reload(), POLL_MS);
  }

  if (adder) {
    adder.input.addEventListener("change", async () => {
      const files = [...adder.input.files];
      adder.input.value = "";
      adder.error.textContent = "";
      const problems = [];
      for (const file of files) {
        if (counted() >= photos.MAX_FILES) { problems.push(t("photos.err.limit", { max: photos.MAX_FILES })); break; }
        const prepared = await photos.prepare(file);
        if (prepared.error) { problems.push(t(prepared.error, prepared.vars)); continue; }
        local.push(await photos.keep(prepared, { trackingId, accessCode }));
      }
      adder.error.textContent = problems.join(" ");
      await render();
      photos.upload();
    });
  }

  document.addEventListener("lapor:photo", (event) => {
    if (event.detail.tracking_id !== trackingId) return;
    if (event.detail.state === "uploading") return showProgress(event.detail.id);
    if (event.detail.state === "uploaded") return reload();
    render();
  });
  window.addEventListener("online", () => render());
  window.addEventListener("offline", () => render());
  document.addEventListener("lapor:lang", () => render());

  return {
    show(next, code = accessCode) {
      if (next && next.tracking_id !== trackingId) status.textContent = "";
      if (next) trackingId = next.tracking_id;
      accessCode = code;
      view = next;
      return render();
    },
  };
}
