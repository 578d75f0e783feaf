// Photos and documents of a report (design §4.1), kept on the device (IndexedDB: localStorage is too small for
// them) from the moment they are chosen until S3 has them. A draft's photos wait under the draft's key; when the
// report is filed (at once, or later from the outbox) they take its tracking id and access code and are uploaded
// one at a time: POST /reports/{id}/attachments gives a presigned POST, then the file goes straight to S3. A
// failure (no connection, a 5xx) is retried later, the presigned POST kept while it is valid, so a retry never
// asks for a second attachment; a Web Lock per photo keeps two tabs from sending the same one.
import { api, ApiError, NetworkError } from "./api.js";
import { receipts } from "./store.js";

export const MAX_FILES = 5;
export const MAX_BYTES = 10 * 1024 * 1024;
export const TYPES = ["image/jpeg", "image/png", "image/webp", "application/pdf"];
const BY_EXTENSION = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", pdf: "application/pdf" };
const LONGEST_SIDE = 2048;
const QUALITY = 0.85;
const RETRY_SECONDS = [3, 10, 30, 60];
const S3_REFUSALS = 3; // a presigned POST refused this often (policy, expiry): the photo is given up, with a reason

// What each photo is doing now, for the pages: id -> {state: waiting|starting|uploading|failed, fraction}.
export const progress = new Map();

function emit(record, state, fraction = 0) {
  if (state === "uploaded" || state === "refused") progress.delete(record.id);
  else progress.set(record.id, { state, fraction });
  document.dispatchEvent(new CustomEvent("lapor:photo", { detail: { id: record.id, tracking_id: record.tracking_id, state } }));
}

// -- IndexedDB (or memory, where it is blocked: the page still works, without surviving a reload) --------------

const memory = new Map();
let opened = null;

function database() {
  if (!opened) {
    opened = new Promise((resolve) => {
      try {
        const request = indexedDB.open("lapor", 1);
        request.onupgradeneeded = () => request.result.createObjectStore("photos", { keyPath: "id" });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
  }
  return opened;
}

async function all() {
  const db = await database();
  if (!db) return [...memory.values()];
  return new Promise((resolve) => {
    const request = db.transaction("photos").objectStore("photos").getAll();
    request.onsuccess = () => resolve(request.result.sort((a, b) => (a.id < b.id ? -1 : 1)));
    request.onerror = () => resolve([]);
  });
}

async function get(id) {
  return (await all()).find((r) => r.id === id) || null;
}

// Written once the transaction commits: a page may leave right after.
async function write(put = [], remove = []) {
  const db = await database();
  if (!db) {
    for (const record of put) memory.set(record.id, record);
    for (const id of remove) memory.delete(id);
    return;
  }
  await new Promise((resolve, reject) => {
    const transaction = db.transaction("photos", "readwrite");
    const store = transaction.objectStore("photos");
    for (const record of put) store.put(record);
    for (const id of remove) store.delete(id);
    transaction.oncomplete = resolve;
    transaction.onerror = transaction.onabort = () => reject(transaction.error);
  });
}

function newId() {
  const random = [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${Date.now().toString(36).padStart(9, "0")}-${random}`;
}

// -- choosing -------------------------------------------------------------------------------------------------

function typeOf(file) {
  if (TYPES.includes(file.type)) return file.type;
  if (file.type) return null;
  const extension = (file.name || "").split(".").pop().toLowerCase();
  return BY_EXTENSION[extension] || null;
}

// A photo larger than 2048 px on its longest side, drawn again at that size as a JPEG (the canvas keeps the
// pixels only, turned upright); null when it is small enough already or cannot be decoded here.
async function downscale(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return null;
  }
  const longest = Math.max(bitmap.width, bitmap.height);
  if (longest <= LONGEST_SIDE) {
    bitmap.close();
    return null;
  }
  const scale = LONGEST_SIDE / longest;
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; // a transparent PNG's background, as JPEG has none
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
  canvas.width = canvas.height = 0; // give the memory back at once (cheap phones)
  return blob;
}

// A chosen file, ready to keep: {name, type, size, blob, original_size} or {error: key, vars}.
export async function prepare(file) {
  let type = typeOf(file);
  if (!type) return { error: "photos.err.type", vars: { name: file.name } };
  let blob = file;
  let name = file.name || "foto";
  if (type !== "application/pdf") {
    const smaller = await downscale(file);
    if (smaller && smaller.size < file.size) {
      blob = smaller;
      type = "image/jpeg";
      name = name.replace(/\.[^.]*$/, "") + ".jpg";
    }
  }
  if (blob.size > MAX_BYTES) return { error: "photos.err.too_large", vars: { name: file.name, size: megabytes(file.size) } };
  if (blob.size === 0) return { error: "photos.err.empty", vars: { name: file.name } };
  return { name: name.slice(-200), type, size: blob.size, blob, original_size: file.size };
}

export function megabytes(bytes) {
  return (bytes / (1024 * 1024)).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "id-ID",
    { maximumFractionDigits: 1, minimumFractionDigits: bytes < 1024 * 1024 ? 1 : 0 });
}

// -- the device's photos --------------------------------------------------------------------------------------

// Keep a prepared file: for a draft (its Idempotency-Key), or for a filed report (tracking id and access code).
export async function keep(prepared, { key = null, trackingId = null, accessCode = null } = {}) {
  const record = { ...prepared, id: newId(), key, tracking_id: trackingId, access_code: accessCode,
    added_at: new Date().toISOString() };
  await write([record]);
  return record;
}

export async function ofDraft(key) {
  return (await all()).filter((r) => r.key === key && !r.tracking_id);
}

export async function ofReport(trackingId) {
  return (await all()).filter((r) => r.tracking_id === trackingId);
}

export async function discard(id) {
  progress.delete(id);
  await write([], [id]);
}

// Photos of drafts that no longer exist (no draft, report waiting or receipt has their key): gone.
export async function discardOrphans(liveKeys) {
  const known = new Set([...liveKeys, ...Object.values(receipts.all()).map((r) => r.key).filter(Boolean)]);
  const orphans = (await all()).filter((r) => !r.tracking_id && !known.has(r.key));
  if (orphans.length) await write([], orphans.map((r) => r.id));
}

// The draft's photos belong to the report now filed: they are uploaded with its tracking id and code.
export async function bind(key, created) {
  const records = (await all()).filter((r) => r.key === key && !r.tracking_id);
  if (!records.length) return 0;
  await write(records.map((r) => ({ ...r, tracking_id: created.tracking_id, access_code: created.access_code || null })));
  return records.length;
}

// -- uploading ------------------------------------------------------------------------------------------------

let running = null;
let timer = null;
let failures = 0;
// Keys a page is sending itself and will leave right after (the form, to the receipt): bound, not uploaded there.
export const deferred = new Set();

function retryable(error) {
  return error instanceof NetworkError
    || (error instanceof ApiError && (error.status >= 500 || error.status === 429 || error.code === "request_in_progress"));
}

function send(record) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(record.upload.fields)) form.append(name, value);
    form.append("file", record.blob, record.name); // the file last, as S3 requires
    const xhr = new XMLHttpRequest(); // fetch cannot report an upload's progress
    xhr.open("POST", record.upload.url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) emit(record, "uploading", event.loaded / event.total);
    };
    xhr.onload = () => resolve(xhr.status);
    xhr.onerror = xhr.ontimeout = xhr.onabort = () => reject(new NetworkError("upload interrupted"));
    xhr.send(form);
  });
}

async function uploadOne(id) {
  let record = await get(id);
  if (!record || !record.tracking_id || record.refused) return "done"; // another tab sent it meanwhile
  try {
    const expired = !record.upload || Date.parse(record.expires_at) - 30_000 < Date.now();
    if (expired) {
      if (!record.access_code) throw Object.assign(new ApiError(403, null), { code: "no_code" });
      emit(record, "starting");
      const started = await api.startAttachment(record.tracking_id, record.access_code,
        { filename: record.name, content_type: record.type, size: record.size });
      record = { ...record, attachment_id: started.attachment_id, upload: started.upload, expires_at: started.expires_at };
      await write([record]); // before the upload: a retry reuses this presigned POST, never asks for another
    }
    emit(record, "uploading", 0);
    const status = await send(record);
    if (status >= 200 && status < 300) {
      await write([], [record.id]);
      failures = 0;
      emit(record, "uploaded");
      return "done";
    }
    if (status >= 500) throw new NetworkError(`S3 ${status}`);
    // S3 refused this presigned POST (expired, or outside its policy): ask for a new one, a few times.
    const refusals = (record.s3_refusals || 0) + 1;
    const refused = refusals >= S3_REFUSALS ? "upload_refused" : null;
    record = { ...record, upload: null, expires_at: null, s3_refusals: refusals, refused };
    await write([record]);
    if (refused) { emit(record, "refused"); return "done"; }
    return "again";
  } catch (error) {
    if (retryable(error)) {
      emit(record, "failed");
      return "retry";
    }
    await write([{ ...record, refused: error.code || "refused" }]);
    emit(record, "refused");
    return "done";
  }
}

function locked(id, work) {
  if (!navigator.locks) return work();
  return navigator.locks.request(`lapor.photo.${id}`, { ifAvailable: true }, (lock) => (lock ? work() : "busy"));
}

function schedule() {
  if (timer) return;
  const seconds = RETRY_SECONDS[Math.min(failures, RETRY_SECONDS.length - 1)];
  failures += 1;
  timer = setTimeout(() => { timer = null; if (navigator.onLine !== false) upload(); }, seconds * 1000);
}

// Upload every photo of a filed report kept on this device, one at a time (a slow network shares nothing).
export function upload() {
  if (!running) {
    running = (async () => {
      try {
        let again = true;
        while (again) {
          again = false;
          for (const record of await all()) {
            if (!record.tracking_id || record.refused || deferred.has(record.key)) continue;
            if (navigator.onLine === false) { emit(record, "waiting"); continue; }
            const outcome = await locked(record.id, () => uploadOne(record.id));
            if (outcome === "again") again = true;
            if (outcome === "retry") { schedule(); return; }
          }
        }
      } finally {
        running = null;
      }
    })();
  }
  return running;
}

// Photos whose report was filed while no page was watching (the receipt has the draft's key): theirs now.
async function adopt() {
  for (const receipt of Object.values(receipts.all())) {
    if (receipt.key && receipt.access_code) await bind(receipt.key, receipt);
  }
}

// Started on every page (ui.js boot): a report filed from the outbox takes its photos along.
export function start() {
  document.addEventListener("lapor:sent", async (event) => {
    await bind(event.detail.entry.key, event.detail.created);
    upload();
  });
  window.addEventListener("online", () => { failures = 0; upload(); });
  adopt().then(upload);
}
