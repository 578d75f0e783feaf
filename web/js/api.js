// The one client of Lapor's public HTTP API (design §4): every page talks to the API through these functions.
import { config } from "../config.js";

// A reply the API refused: status, the error's code and message, and its details (422: [{loc, msg, type}]).
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || (body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 404 ? "not_found" : `http_${status}`);
    this.details = error.details;
  }
}

// No reply at all (offline, connection dropped, DNS): the request may or may not have reached the server.
export class NetworkError extends Error {}

export async function request(method, path, { body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal, cache: "no-store" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(config.apiBase + path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new NetworkError(error.message);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const enc = encodeURIComponent;
const bearer = (token) => ({ Authorization: `Bearer ${token}` });
// "?a=1&b=2" from the values given (empty ones left out).
const query = (params) => {
  const given = Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return given.length ? `?${new URLSearchParams(given)}` : "";
};

export const api = {
  categories: () => request("GET", "/categories"),
  regions: (parent) => request("GET", parent ? `/regions?parent=${enc(parent)}` : "/regions"),
  // One Idempotency-Key per draft: the same key and body give the same report, never a second one.
  fileReport: (report, idempotencyKey) =>
    request("POST", "/reports", { body: report, headers: { "Idempotency-Key": idempotencyKey } }),
  report: (trackingId, accessCode) =>
    request("GET", `/reports/${enc(trackingId)}`, { headers: accessCode ? { "X-Access-Code": accessCode } : {} }),
  feedback: (trackingId, accessCode, feedback) =>
    request("POST", `/reports/${enc(trackingId)}/feedback`, { body: feedback, headers: { "X-Access-Code": accessCode } }),
  // Public pages: the statistics ({region, from, to}) and the public reports of a region
  // ({region_code, category, status, cursor, limit}).
  stats: (params) => request("GET", `/stats${query(params)}`),
  publicReports: (params) => request("GET", `/reports${query(params)}`),
  // Open public reports near a point ({lat, lon, category, radius_m}) and a device's support of one ("dukung"):
  // {tracking_id, supporters, added}; a device key supports a report once, however often it is sent.
  nearby: (params, signal) => request("GET", `/reports/nearby${query(params)}`, { signal }),
  support: (trackingId, deviceKey) =>
    request("POST", `/reports/${enc(trackingId)}/supporters`, { body: { device_key: deviceKey } }),
  // Attachments (design §4.1): a presigned POST to upload one file straight to S3 ({attachment_id, upload:
  // {url, fields}, expires_at}); removing one the reporter uploaded, before the agency answers.
  startAttachment: (trackingId, accessCode, file) =>
    request("POST", `/reports/${enc(trackingId)}/attachments`, { body: file, headers: { "X-Access-Code": accessCode } }),
  removeAttachment: (trackingId, accessCode, attachmentId) =>
    request("DELETE", `/reports/${enc(trackingId)}/attachments/${enc(attachmentId)}`, { headers: { "X-Access-Code": accessCode } }),
};

// The operator desk: the operator routes with the signed-in operator's ID token (design §4, operators).
export const desk = {
  queue: (token, params) => request("GET", `/agency/reports${query(params)}`, { headers: bearer(token) }),
  report: (token, trackingId) => request("GET", `/agency/reports/${enc(trackingId)}`, { headers: bearer(token) }),
  // {message, status: in_progress|responded, version}: 409 stale_version when someone changed it first.
  respond: (token, trackingId, answer) =>
    request("POST", `/reports/${enc(trackingId)}/responses`, { body: answer, headers: bearer(token) }),
  reassign: (token, trackingId, change) =>
    request("POST", `/reports/${enc(trackingId)}/reassign`, { body: change, headers: bearer(token) }),
  reject: (token, trackingId, change) =>
    request("POST", `/reports/${enc(trackingId)}/reject`, { body: change, headers: bearer(token) }),
  // {reason, version?}: admins only; operators never remove nor hide attachments.
  hideAttachment: (token, trackingId, attachmentId, change) =>
    request("POST", `/reports/${enc(trackingId)}/attachments/${enc(attachmentId)}/hide`, { body: change, headers: bearer(token) }),
  // Merging duplicates: the open reports this one may duplicate ({basis, radius_m, days, items}); {into, reason,
  // version} closes it as a duplicate of `into`; an admin undoes it.
  candidates: (token, trackingId) =>
    request("GET", `/agency/reports/${enc(trackingId)}/candidates`, { headers: bearer(token) }),
  merge: (token, trackingId, change) =>
    request("POST", `/reports/${enc(trackingId)}/merge`, { body: change, headers: bearer(token) }),
  unmerge: (token, trackingId) => request("DELETE", `/reports/${enc(trackingId)}/merge`, { headers: bearer(token) }),
  // Who is signed in: {role, agency: {id, name} | null} (the header names the agency).
  me: (token) => request("GET", "/agency/me", { headers: bearer(token) }),
  agencies: (token) => request("GET", "/admin/agencies", { headers: bearer(token) }),
  startSweep: (token, sweep) => request("POST", "/admin/sweeps", { body: sweep, headers: bearer(token) }),
  sweep: (token, runId) => request("GET", `/admin/sweeps/${enc(runId)}`, { headers: bearer(token) }),
  apiKeys: (token) => request("GET", "/admin/apikeys", { headers: bearer(token) }),
  issueApiKey: (token, name) => request("POST", "/admin/apikeys", { body: { name }, headers: bearer(token) }),
  revokeApiKey: (token, keyId) =>
    request("POST", `/admin/apikeys/${enc(keyId)}/revoke`, { headers: bearer(token) }),
  // lapor dev only (lapor_cli/devsignin.py): the local sign-in's agencies and tokens.
  devAgencies: () => request("GET", "/_dev/agencies"),
  devToken: (role, agencyId) => request("POST", "/_dev/token", { body: { role, agency_id: agencyId || undefined } }),
};
