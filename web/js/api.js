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
// "?a=1&b=2" from the values given (empty ones left out).
const query = (params) => {
  const given = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return given.length ? `?${given.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&")}` : "";
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
};
