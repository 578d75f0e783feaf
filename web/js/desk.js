// What every page of the operator desk shares: the session check, the header (who is signed in, the admin
// link, sign out), API calls with the token, and the one answer to a refused token (401): say the session
// ended and offer to sign in again, keeping whatever is being typed (drafts live in sessionStorage).
import { ApiError, desk } from "./api.js";
import { t } from "./i18n.js";
import * as auth from "./auth.js";
import { boot, el, errorMessage } from "./ui.js";

export class SessionExpired extends Error {}

let current = null;

function who() {
  const label = document.getElementById("who");
  if (!label || !current) return;
  label.textContent = t("desk.who", {
    role: t(`desk.role.${current.role || "operator"}`),
    // The agency's name once it is known, its id until then (and for good if it cannot be read).
    agency: current.agencyId ? current.agencyName || current.agencyId : t("desk.agency.all"),
  });
}

// The header's agency name (GET /agency/me, any desk role), read in the background: the page never waits for it.
// Not through call(): a refused token is for the page's own calls to say (one "session ended" box, not a second
// one from here), and any failure (offline, 401, 403, 5xx) only leaves the id showing. Once read, it is kept with
// the session (auth.js): read once per sign-in, not on every page.
async function nameAgency() {
  const { idToken, agencyId, agencyName } = current;
  if (!agencyId || agencyName) return;
  let agency;
  try {
    ({ agency } = await desk.me(idToken));
  } catch {
    return;
  }
  if (!agency || agency.id !== agencyId || agency.name === agencyId) return; // nothing better than the id
  auth.keepAgencyName(idToken, agencyId, agency.name);
  if (current && current.idToken === idToken) {
    current.agencyName = agency.name;
    who();
  }
}

// Start a desk page: the language switch, then the session. Without one: to the sign-in page (and back here
// after), and the page's module waits for ever (`await bootDesk()` never returns) rather than run signed out.
export async function bootDesk() {
  boot();
  current = auth.session();
  if (!current) {
    auth.rememberNext();
    location.replace(auth.signInPage);
    return new Promise(() => {});
  }
  const adminLink = document.getElementById("nav-admin");
  if (adminLink) adminLink.hidden = current.role !== "admin";
  document.getElementById("signout").addEventListener("click", () => auth.signOut());
  document.addEventListener("lapor:lang", who);
  who();
  nameAgency();
  return current;
}

export const isAdmin = () => Boolean(current && current.role === "admin");
export const session = () => current;

function showExpired() {
  const box = document.getElementById("session-expired");
  if (!box) return;
  box.replaceChildren(
    el("p", { text: t("desk.session.expired") }),
    el("p", {}, el("a", { class: "button", href: auth.signInPage, id: "signin-again", text: t("desk.session.signin") })),
  );
  box.hidden = false;
  box.focus();
}

// An operator call with the session's token; a 401 (expired or refused token) ends the session here.
export async function call(fn, ...args) {
  current = auth.session(); // the stored session, read at each call: it is the one source of the token
  if (!current) {
    auth.rememberNext();
    showExpired();
    throw new SessionExpired("signed out");
  }
  try {
    return await fn(current.idToken, ...args);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      auth.forget();
      auth.rememberNext();
      current = null;
      showExpired();
      throw new SessionExpired("token refused");
    }
    throw error;
  }
}

// The message for a failed call (nothing when the session ended: that box says it already).
export function problem(error) {
  return error instanceof SessionExpired ? "" : errorMessage(error);
}

// "12 hari kerja lagi", "jatuh tempo hari ini", "lewat 3 hari kerja": the API's working_days_left in words.
export function daysLeft(days) {
  if (days === null || days === undefined) return "";
  if (days > 0) return t("desk.days.left", { days });
  if (days === 0) return t("desk.days.today");
  return t("desk.days.past", { days: -days });
}
