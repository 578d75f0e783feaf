// The receipt: the tracking id and the access code (shown once: kept on this device only until its reader says
// it is saved), the agency, the due date in the region's own time; the photos sent with it, as they upload and
// as MediaFunction makes them ready.
import { api } from "./api.js";
import { reporterPanel } from "./attachments.js";
import { t } from "./i18n.js";
import { receipts } from "./store.js";
import { boot, formatDate } from "./ui.js";

boot();

const $ = (id) => document.getElementById(id);
const trackingId = decodeURIComponent(window.location.hash.slice(1));

function render() {
  const receipt = trackingId && receipts.get(trackingId);
  $("receipt").hidden = !receipt;
  $("missing").hidden = Boolean(receipt);
  const track = `/track.html#${encodeURIComponent(trackingId)}`;
  $("missing-track").href = track;
  if (!receipt) return;
  $("tracking-id").textContent = receipt.tracking_id;
  $("access-code").textContent = receipt.access_code || "";
  $("code-box").hidden = !receipt.access_code;
  $("report-title").textContent = receipt.title || "";
  $("agency").textContent = receipt.agency ? receipt.agency.name : "";
  $("due").textContent = formatDate(receipt.due_at, receipt.zone);
  $("submitted").textContent = formatDate(receipt.submitted_at, receipt.zone);
  $("track-link").href = track;
  $("forget").hidden = !receipt.access_code;
}

// The attachments, read with the access code while this device keeps it (else only the photos still uploading).
let panel = null;
async function loadAttachments(given) {
  const receipt = trackingId && receipts.get(trackingId);
  if (!receipt) return;
  const code = receipt.access_code;
  panel = panel || reporterPanel({ section: $("photos"), list: $("attachments"), status: $("photos-status"),
    trackingId, accessCode: code, reload: loadAttachments });
  let view = given || null;
  if (!view && code) {
    try { view = await api.report(trackingId, code); } catch { view = null; /* offline: the uploads still show */ }
  }
  await panel.show(view);
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Older browsers, or no permission: select the text so a long press can copy it.
    return false;
  }
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const source = $(button.dataset.copy);
    const copied = await copy(source.textContent);
    if (!copied) window.getSelection().selectAllChildren(source);
    $("copy-status").textContent = t(copied ? "receipt.copied" : "receipt.copy.failed");
  });
}

$("print").addEventListener("click", () => window.print());

$("forget").addEventListener("click", () => {
  const receipt = receipts.get(trackingId);
  if (receipt) receipts.put({ ...receipt, access_code: null });
  render();
loadAttachments();
  $("copy-status").textContent = t("receipt.forgotten");
});

document.addEventListener("lapor:lang", render);
window.addEventListener("hashchange", () => window.location.reload());
render();
loadAttachments();
