// The operator desk's session: an ID token kept in sessionStorage (this tab only, gone when it closes), got
// from the Cognito Hosted UI (authorization code with PKCE: a public client, no secret in the page) or, under
// lapor dev, from its local sign-in (/_dev/token). The API checks every token; what the page reads from it
// (role, agency, expiry) only decides what to show.
import { config } from "../config.js";
import { desk } from "./api.js";

const SESSION = "lapor.desk.session";
const NEXT = "lapor.desk.next";
const PKCE = "lapor.desk.pkce";
const DRAFTS = "lapor.desk.drafts";

function read(key, fallback = null) {
  try { return JSON.parse(sessionStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}
function write(key, value) {
  try { sessionStorage.setItem(key, JSON.stringify(value)); } catch { /* storage blocked: this page only */ }
}
function remove(key) {
  try { sessionStorage.removeItem(key); } catch { /* nothing kept */ }
}

export const mode = () => (config.signIn === "cognito" ? "cognito" : "local");

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// The claims of a JWT (read, not verified: the API verifies).
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const text = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
    return JSON.parse(text);
  } catch {
    return {};
  }
}

const ROLES = ["admin", "supervisor", "operator"];

function sessionFrom(idToken) {
  const claims = claimsOf(idToken);
  const groups = Array.isArray(claims["cognito:groups"]) ? claims["cognito:groups"] : [];
  return {
    idToken,
    role: ROLES.find((r) => groups.includes(r)) || null,
    agencyId: claims["custom:agency_id"] || null,
    name: claims.email || claims["cognito:username"] || "",
    expiresAt: (claims.exp || 0) * 1000,
  };
}

// The session, or null when there is none or its token has expired.
export function session() {
  const kept = read(SESSION);
  if (!kept || !kept.idToken) return null;
  if (kept.expiresAt && kept.expiresAt <= Date.now()) return null;
  return kept;
}

// The session's agency name, once the desk has read it (the header's): kept in the session itself, so that it
// goes with this sign-in (another sign-in in this tab writes a session of its own, without it) and it is not
// read again on every page. Only for the session it was read for: not if another sign-in replaced it meanwhile.
export function keepAgencyName(idToken, agencyId, name) {
  const kept = read(SESSION);
  if (!kept || kept.idToken !== idToken || kept.agencyId !== agencyId) return;
  write(SESSION, { ...kept, agencyName: name });
}

export function signedIn(idToken) {
  const made = sessionFrom(idToken);
  write(SESSION, made);
  return made;
}

// Forget the token (the API refused it, or the operator signs out). Drafts stay: they are restored after
// signing in again.
export function forget() {
  remove(SESSION);
}

// Where to come back to after signing in.
export function rememberNext(url = location.pathname + location.search + location.hash) {
  write(NEXT, url);
}
export const pendingNext = () => typeof read(NEXT) === "string";
export function takeNext() {
  const next = read(NEXT);
  remove(NEXT);
  // Only a page of the desk, on this origin.
  return typeof next === "string" && next.startsWith("/desk/") ? next : "/desk/";
}

export const signInPage = "/desk/signin.html";

// Answers being typed, by report: kept as they are typed, until sent.
export const drafts = {
  get: (trackingId) => read(DRAFTS, {})[trackingId] || null,
  put(trackingId, value) {
    const all = read(DRAFTS, {});
    all[trackingId] = value;
    write(DRAFTS, all);
  },
  clear(trackingId) {
    const all = read(DRAFTS, {});
    delete all[trackingId];
    write(DRAFTS, all);
  },
};

// lapor dev: a token of its issuer for the chosen role and agency.
export async function signInLocally(role, agencyId) {
  const reply = await desk.devToken(role, agencyId);
  return signedIn(reply.id_token);
}

function cognitoBase() {
  const domain = (config.cognito && config.cognito.domain) || "";
  return (domain.startsWith("https://") ? domain : `https://${domain}`).replace(/\/+$/, "");
}

function redirectUri() {
  return config.cognito.redirectUri || `${location.origin}${signInPage}`;
}

// Cognito Hosted UI: to its authorize endpoint with a fresh PKCE verifier (S256) and state.
export async function startCognito() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  write(PKCE, { verifier, state });
  const params = new URLSearchParams({
    response_type: "code", client_id: config.cognito.clientId, redirect_uri: redirectUri(),
    scope: "openid email profile", state, code_challenge: base64url(digest), code_challenge_method: "S256",
  });
  location.assign(`${cognitoBase()}/oauth2/authorize?${params}`);
}

// A reply this tab did not ask for: no sign-in started here, or another state (a stale link, a reload after
// the exchange, or someone else's sign-in pushed into this tab). Nothing is exchanged.
export class StateMismatch extends Error {}

// Back from the Hosted UI with ?code=&state=: the code and the verifier for the tokens (the ID token is kept).
// The verifier is used once: it leaves storage before anything else happens.
export async function finishCognito(search) {
  const params = new URLSearchParams(search);
  const pkce = read(PKCE);
  remove(PKCE);
  if (!pkce || !pkce.state || params.get("state") !== pkce.state) throw new StateMismatch("state_mismatch");
  if (params.get("error")) throw new Error(params.get("error"));
  if (!params.get("code")) throw new Error("no_code");
  const response = await fetch(`${cognitoBase()}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", client_id: config.cognito.clientId, code: params.get("code"),
      redirect_uri: redirectUri(), code_verifier: pkce.verifier,
    }),
  });
  if (!response.ok) throw new Error(`token_${response.status}`);
  const tokens = await response.json();
  if (typeof tokens.id_token !== "string" || !tokens.id_token) throw new Error("no_id_token");
  return signedIn(tokens.id_token);
}

export function signOut() {
  forget();
  if (mode() === "cognito" && config.cognito.domain) {
    const params = new URLSearchParams({
      client_id: config.cognito.clientId,
      logout_uri: config.cognito.logoutUri || `${location.origin}${signInPage}`,
    });
    location.assign(`${cognitoBase()}/logout?${params}`);
  } else {
    location.assign(signInPage);
  }
}
