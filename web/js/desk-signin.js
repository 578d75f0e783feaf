// Sign in to the operator desk: the Cognito Hosted UI (authorization code with PKCE) when web/config.js says
// signIn: "cognito", and lapor dev's local sign-in (a role and an agency, from its own issuer) when it says
// "local". Afterwards, back to the page that asked (an answer being typed there is restored).
import { desk } from "./api.js";
import * as auth from "./auth.js";
import { t } from "./i18n.js";
import { boot, el, errorMessage } from "./ui.js";

boot();
const $ = (id) => document.getElementById(id);
let agencies = [];

function fillAgencies() {
  const role = document.querySelector('input[name="role"]:checked').value;
  const chosen = $("signin-agency").value;
  $("signin-agency").replaceChildren(
    ...(role === "admin" ? [el("option", { value: "", text: t("desk.agency.all") })] : []),
    ...agencies.map((a) => el("option", { value: a.id, text: `${a.name} (${a.id})` })));
  if (chosen && [...$("signin-agency").options].some((o) => o.value === chosen)) $("signin-agency").value = chosen;
}

async function local() {
  $("local").hidden = false;
  try {
    agencies = (await desk.devAgencies()).items;
    fillAgencies();
  } catch (error) {
    $("signin-error").textContent = errorMessage(error);
  }
  for (const radio of document.querySelectorAll('input[name="role"]')) radio.addEventListener("change", fillAgencies);
  document.addEventListener("lapor:lang", fillAgencies);
  $("local").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("signin-error").textContent = "";
    $("local-signin").disabled = true;
    try {
      const role = document.querySelector('input[name="role"]:checked').value;
      await auth.signInLocally(role, $("signin-agency").value);
      location.assign(auth.takeNext());
    } catch (error) {
      $("signin-error").textContent = errorMessage(error);
      $("local-signin").disabled = false;
    }
  });
}

async function cognito() {
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    try {
      await auth.finishCognito(location.search);
      location.replace(auth.takeNext());
      return;
    } catch (error) {
      history.replaceState(null, "", location.pathname); // the code leaves the address whatever happened
      $("signin-error").textContent = t(error instanceof auth.StateMismatch ? "desk.signin.mismatch" : "desk.signin.failed");
    }
  }
  $("cognito").hidden = false;
  $("cognito-signin").addEventListener("click", () => {
    auth.startCognito().catch(() => { $("signin-error").textContent = t("desk.signin.failed"); });
  });
}

$("signin-again-note").hidden = !auth.pendingNext();
if (auth.mode() === "cognito") cognito(); else local();
