// Reports waiting to be sent. Each keeps the Idempotency-Key of its draft, so sending it again after a lost
// reply, a retry or a second tab returns the one report the server filed, never a second one (design §4.3).
import { api, ApiError, NetworkError } from "./api.js";
import { outbox, receipts } from "./store.js";

const inFlight = new Map();
// Keys whose sending a page is watching itself (the form, right after "send"): no background notice for them.
export const foreground = new Set();
const RETRY_SECONDS = [3, 10, 30, 60];
let failures = 0;
let timer = null;

function emit(name, detail) {
  document.dispatchEvent(new CustomEvent(name, { detail }));
}

// Worth sending again with the same key: no reply, a server error (it may or may not have filed: the key makes
// the retry safe), the same key still in progress, or too many requests.
function retryable(error) {
  return error instanceof NetworkError
    || (error instanceof ApiError && (error.status >= 500 || error.status === 429 || error.code === "request_in_progress"));
}

// Send one entry: {status: "sent", created} | {status: "waiting", error} | {status: "refused", error}.
export function send(entry) {
  if (!inFlight.has(entry.key)) {
    const attempt = (async () => {
      try {
        const created = await api.fileReport(entry.body, entry.key);
        // The draft's key too: the photos kept with it on this device (photos.js) find their report by it.
        receipts.put({ ...created, title: entry.body.title, zone: entry.zone, region_name: entry.regionName, key: entry.key });
        outbox.remove(entry.key);
        failures = 0;
        emit("lapor:sent", { entry, created });
        return { status: "sent", created };
      } catch (error) {
        if (retryable(error)) {
          schedule();
          emit("lapor:waiting", { entry, error });
          return { status: "waiting", error };
        }
        // Refused (a 4xx): nothing was filed; it goes back to the form with the reasons.
        outbox.update(entry.key, { refused: { status: error.status, code: error.code, details: error.details } });
        emit("lapor:refused", { entry, error });
        return { status: "refused", error };
      } finally {
        inFlight.delete(entry.key);
      }
    })();
    inFlight.set(entry.key, attempt);
  }
  return inFlight.get(entry.key);
}

export function waiting() {
  return outbox.all().filter((e) => !e.refused);
}

export async function flush() {
  clearTimeout(timer);
  timer = null;
  for (const entry of waiting()) await send(entry);
}

function schedule() {
  if (timer) return;
  const seconds = RETRY_SECONDS[Math.min(failures, RETRY_SECONDS.length - 1)];
  failures += 1;
  timer = setTimeout(() => { timer = null; if (navigator.onLine !== false) flush(); }, seconds * 1000);
}

export function queue(entry) {
  outbox.add(entry);
  emit("lapor:queued", { entry });
}

export function start() {
  window.addEventListener("online", () => { failures = 0; flush(); });
  if (waiting().length) flush();
}
