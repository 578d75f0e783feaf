// What the pages keep on this device (localStorage): the draft being written, the outbox of reports waiting
// for a connection, and receipts until their reader says the access code is saved.
const DRAFT = "lapor.draft";
const OUTBOX = "lapor.outbox";
const RECEIPTS = "lapor.receipts";
const DEVICE = "lapor.device";
const SUPPORTED = "lapor.supported";

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false; // storage full or blocked: the page still works, without surviving a reload
  }
}

// A random (version 4) UUID: the draft's Idempotency-Key. crypto.randomUUID needs a secure context (https,
// localhost); getRandomValues works everywhere and is as random.
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const draft = {
  load: () => read(DRAFT, null),
  save: (value) => write(DRAFT, value),
  clear: () => { try { localStorage.removeItem(DRAFT); } catch { /* nothing kept */ } },
};

export const outbox = {
  all: () => read(OUTBOX, []),
  // One entry per Idempotency-Key: queueing the same draft twice (a double tap) keeps one.
  add(entry) {
    const entries = outbox.all().filter((e) => e.key !== entry.key);
    entries.push(entry);
    return write(OUTBOX, entries);
  },
  update(key, changes) {
    write(OUTBOX, outbox.all().map((e) => (e.key === key ? { ...e, ...changes } : e)));
  },
  remove(key) {
    write(OUTBOX, outbox.all().filter((e) => e.key !== key));
  },
};

export const receipts = {
  all: () => read(RECEIPTS, {}),
  get: (trackingId) => read(RECEIPTS, {})[trackingId] || null,
  put(receipt) {
    const all = read(RECEIPTS, {});
    all[receipt.tracking_id] = receipt;
    write(RECEIPTS, all);
  },
  forget(trackingId) {
    const all = read(RECEIPTS, {});
    delete all[trackingId];
    write(RECEIPTS, all);
  },
};

// This device's key for "dukung" (an opaque random id, made once): the server counts a device once per report and
// keeps only a hash of it. Without storage a new one each time: supports still count, once per page.
export function deviceKey() {
  const kept = read(DEVICE, null);
  if (kept) return kept;
  const made = newKey();
  write(DEVICE, made);
  return made;
}

// The reports this device supported, so the form shows them as supported.
export const supported = {
  has: (trackingId) => read(SUPPORTED, []).includes(trackingId),
  add(trackingId) {
    const all = read(SUPPORTED, []).filter((t) => t !== trackingId);
    all.push(trackingId);
    write(SUPPORTED, all.slice(-200));
  },
};
