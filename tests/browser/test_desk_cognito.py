"""The operator desk's Cognito sign-in in a real browser, without AWS: the desk as deployed (``config.js`` as
``lapor site publish`` writes it, ``signIn: "cognito"``) against a fake Hosted UI (fake_cognito.py: authorize,
token and logout endpoints as Cognito documents them, PKCE S256 checked) whose ID tokens ``lapor dev``'s API
accepts. Signing in with PKCE and state, the queue and an answer with the token, a forged ``state`` refused
before any exchange, the verifier never in a URL and gone after the exchange, signing out through ``/logout``;
no console error; the sign-in page axe-clean in this mode."""

from __future__ import annotations

import json
import re
import shutil
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from browser.conftest import PHONE, ROOT
from browser.fake_cognito import FakeHostedUI, User, s256
from browser.test_desk import PUPR, file_report, open_report
from browser.test_pages import axe_violations
from e2e.conftest import start_lapor_dev, stop_lapor_dev
from lapor_cli.issuer import AUDIENCE, ISSUER, LocalIssuer
from lapor_cli.publish import config_js

OPERATOR = User(email="operator@pupr.example", role="operator", agency_id=PUPR)
SIGN_IN_BUTTON = "Masuk dengan akun instansi"
REFUSED_STATE = "Balasan masuk tidak cocok"


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium):
    """A ``lapor dev`` serving the site as deployed: a checkout (template.yaml, functions/ and layers/ linked, web/
    copied) whose ``config.js`` is the one ``lapor site publish`` writes (written once the fake Hosted UI is up:
    ``deployed_config``). So the pages read ``signIn: "cognito"`` and ``lapor dev`` sends the policy for it."""
    checkout = tmp_path_factory.mktemp("deployed-checkout")
    for name in ("template.yaml", "functions", "layers"):
        (checkout / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "web", checkout / "web")
    server = start_lapor_dev(tmp_path_factory.mktemp("lapor-dev-cognito"), cwd=checkout)
    server.checkout = checkout
    yield server
    stop_lapor_dev(server)


@pytest.fixture(scope="module")
def hosted_ui(site, tmp_path_factory):
    """The fake Hosted UI of an app client whose callback and sign-out URL is the desk's sign-in page (as the
    template's OperatorPoolClient, OperatorSignInUrl), signing with the issuer this lapor dev trusts."""
    sign_in = f"{site.url}/desk/signin.html"
    fake = FakeHostedUI(LocalIssuer(site.data_dir / "issuer"), tmp_path_factory.mktemp("fake-cognito"),
                        callback_urls=[sign_in], logout_urls=[sign_in], users=[OPERATOR]).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def deployed_config(site, hosted_ui) -> str:
    """config.js as ``lapor site publish`` writes it from the stack's outputs, the Hosted UI being the fake."""
    text = config_js({"SiteUrl": site.url, "OperatorPoolDomain": hosted_ui.url.removeprefix("https://"),
                      "OperatorPoolClientId": AUDIENCE, "MediaOrigin": ""})
    (site.checkout / "web" / "config.js").write_text(text, encoding="utf-8")
    return text


@pytest.fixture
def context(browser, site, deployed_config):
    """A fresh phone-sized browser; the fake's certificate is self-signed, so HTTPS errors are ignored."""
    context = browser.new_context(viewport=PHONE, locale="id-ID", timezone_id="Asia/Makassar", base_url=site.url,
                                  ignore_https_errors=True)
    yield context
    context.close()


def test_lapor_dev_sends_the_policy_for_the_deployed_config(site, hosted_ui, deployed_config):
    policy = requests.get(f"{site.url}/desk/signin.html", timeout=10).headers["Content-Security-Policy"]
    assert f"connect-src 'self' {hosted_ui.url};" in policy  # the token exchange may reach the Hosted UI
    assert requests.get(f"{site.url}/config.js", timeout=10).text == deployed_config


def storage(page) -> dict[str, str]:
    return page.evaluate("() => Object.fromEntries(Object.entries(sessionStorage))")


def to_hosted_ui(page, hosted_ui, start: str = "/desk/") -> dict[str, str]:
    """From a desk page to the fake Hosted UI's sign-in form; the authorize request it got."""
    page.goto(start)
    page.wait_for_url(re.compile(r"/desk/signin\.html$"))
    assert page.locator("#local").is_hidden()  # no local sign-in in this mode
    page.get_by_role("button", name=SIGN_IN_BUTTON).click()
    page.wait_for_url(re.compile(rf"^{re.escape(hosted_ui.url)}/oauth2/authorize\?"))
    page.get_by_label("Email").wait_for()
    return hosted_ui.authorize[-1]


def test_operator_signs_in_through_the_hosted_ui_answers_and_signs_out(site, hosted_ui, page, console):
    tracking_id, _, title = file_report(site, "Lewat Cognito")
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    exchanges = len(hosted_ui.tokens)

    asked = to_hosted_ui(page, hosted_ui)
    sign_in = f"{site.url}/desk/signin.html"
    assert {k: asked[k] for k in ("response_type", "client_id", "redirect_uri", "code_challenge_method", "scope")} \
        == {"response_type": "code", "client_id": AUDIENCE, "redirect_uri": sign_in, "code_challenge_method": "S256",
            "scope": "openid email profile"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", asked["code_challenge"]) and len(asked["state"]) >= 22
    assert set(asked) == {"response_type", "client_id", "redirect_uri", "code_challenge_method", "code_challenge",
                          "scope", "state"}  # nothing else leaves the page (no verifier, no secret)

    page.get_by_label("Email").fill(OPERATOR.email)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/desk/")  # the code is gone from the address (replaced, not kept in history)
    page.locator("#who").get_by_text(f"Operator · {PUPR}").wait_for()
    page.locator("#queue li").filter(has=page.get_by_role("link", name=title)).wait_for()  # the API took the token

    # One exchange, of the code for the verifier whose S256 is the challenge sent, to the same redirect URI.
    assert len(hosted_ui.tokens) == exchanges + 1
    exchange = hosted_ui.tokens[-1]
    assert exchange["content_type"] == "application/x-www-form-urlencoded"
    assert exchange["grant_type"] == "authorization_code" and exchange["client_id"] == AUDIENCE
    assert exchange["redirect_uri"] == sign_in and s256(exchange["code_verifier"]) == asked["code_challenge"]
    assert "client_secret" not in exchange
    verifier = exchange["code_verifier"]
    assert not [u for u in urls if verifier in u]  # never in a URL
    kept = storage(page)
    assert "lapor.desk.pkce" not in kept and not [k for k, v in kept.items() if verifier in v]  # gone after use
    session = json.loads(kept["lapor.desk.session"])
    claims = jwt.decode(session["idToken"], options={"verify_signature": False})
    assert (claims["iss"], claims["aud"], claims["token_use"], claims["cognito:groups"]) == \
        (ISSUER, AUDIENCE, "id", ["operator"])
    assert session["name"] == OPERATOR.email and session["agencyId"] == PUPR
    # The code was good once: the same exchange again is refused.
    again = requests.post(f"{hosted_ui.url}/oauth2/token", data={k: v for k, v in exchange.items()
                                                                  if k != "content_type"}, verify=hosted_ui.certificate, timeout=10)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}

    open_report(page, tracking_id)
    page.get_by_label("Jawaban akhir").check()
    page.get_by_label("Pesan untuk pelapor").fill("Sudah ditambal, masuk lewat Cognito.")
    page.get_by_role("button", name="Kirim tanggapan").click()
    page.get_by_text("Jawaban terkirim.").wait_for()
    assert page.locator("#status").inner_text() == "Sudah dijawab"

    logouts = len(hosted_ui.logouts)
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url(sign_in)  # through the Hosted UI's /logout, back to the sign-out URL
    assert hosted_ui.logouts[logouts:] == [{"client_id": AUDIENCE, "logout_uri": sign_in}]
    page.get_by_role("button", name=SIGN_IN_BUTTON).wait_for()
    assert "lapor.desk.session" not in storage(page)
    page.goto("/desk/")
    page.wait_for_url(re.compile(r"/desk/signin\.html$"))  # signed out: the desk asks to sign in
    assert console.unexpected() == []


def test_a_forged_state_is_refused_before_any_exchange(site, hosted_ui, page, console):
    """Back from the Hosted UI with a real code but another state (a sign-in someone else started, pushed into
    this tab): the page refuses it, says so, exchanges nothing and keeps nothing."""
    exchanges = len(hosted_ui.tokens)
    to_hosted_ui(page, hosted_ui)
    # Signed in at the Hosted UI, but its answer (a real, unspent code) comes back with another state.
    form = page.locator("input[name='form']").get_attribute("value")
    back = requests.post(f"{hosted_ui.url}/login", data={"form": form, "email": OPERATOR.email}, verify=hosted_ui.certificate,
                         timeout=10, allow_redirects=False)
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    forged = [query["code"][0]]
    page.goto(f"/desk/signin.html?{urlencode({'code': forged[0], 'state': 'forged-' + query['state'][0]})}")
    page.get_by_role("alert").get_by_text(REFUSED_STATE).wait_for()
    assert forged and page.url == f"{site.url}/desk/signin.html"  # the code is gone from the address
    assert len(hosted_ui.tokens) == exchanges  # nothing exchanged: the code is still unspent at the Hosted UI
    assert forged[0] in hosted_ui.codes
    kept = storage(page)
    assert "lapor.desk.session" not in kept and "lapor.desk.pkce" not in kept
    assert page.get_by_role("button", name=SIGN_IN_BUTTON).is_visible()  # and it can start again
    # The same reply once more (a reload, a back button): still refused, still nothing exchanged.
    page.goto(f"/desk/signin.html?code={forged[0]}&state=anything")
    page.get_by_role("alert").get_by_text(REFUSED_STATE).wait_for()
    assert len(hosted_ui.tokens) == exchanges
    assert console.unexpected() == []


def test_the_hosted_ui_refusing_says_sign_in_failed(site, hosted_ui, page, console):
    """An error back from the Hosted UI (?error= with this tab's state): a plain message, nothing exchanged."""
    exchanges = len(hosted_ui.tokens)
    asked = to_hosted_ui(page, hosted_ui)
    page.goto(f"/desk/signin.html?{urlencode({'error': 'access_denied', 'state': asked['state']})}")
    page.get_by_role("alert").get_by_text("Gagal masuk. Coba lagi.").wait_for()
    assert page.url == f"{site.url}/desk/signin.html" and len(hosted_ui.tokens) == exchanges
    assert console.unexpected() == []


def test_the_sign_in_page_in_cognito_mode_is_axe_clean_at_phone_size(page, console, axe_source):
    page.goto("/desk/signin.html")
    page.get_by_role("button", name=SIGN_IN_BUTTON).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"
    assert axe_violations(page, axe_source) == []
    page.goto("/desk/signin.html?code=stale&state=stale")  # with its refusal shown
    page.get_by_role("alert").get_by_text(REFUSED_STATE).wait_for()
    assert axe_violations(page, axe_source) == []
    assert console.unexpected() == []


def test_the_fake_hosted_ui_holds_to_what_cognito_checks(site, hosted_ui):
    """The fake is no pushover: a wrong verifier, an unknown redirect URI or logout URI, a plain challenge
    method are refused (so the browser tests above prove the page does it right)."""
    base, sign_in = hosted_ui.url, f"{site.url}/desk/signin.html"
    ok = {"response_type": "code", "client_id": AUDIENCE, "redirect_uri": sign_in, "scope": "openid email profile",
          "state": "s" * 22, "code_challenge_method": "S256", "code_challenge": s256("v" * 43)}
    get = lambda path, params: requests.get(f"{base}{path}", params=params, verify=hosted_ui.certificate, timeout=10,  # noqa: E731
                                            allow_redirects=False)
    assert get("/oauth2/authorize", ok | {"redirect_uri": "https://evil.example/"}).status_code == 400
    plain = get("/oauth2/authorize", ok | {"code_challenge_method": "plain"})
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["Location"]
    page = get("/oauth2/authorize", ok)
    form = re.search(r"name='form' value='([^']+)'", page.text).group(1)
    back = requests.post(f"{base}/login", data={"form": form, "email": OPERATOR.email}, verify=hosted_ui.certificate, timeout=10,
                         allow_redirects=False)
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "client_id": AUDIENCE, "code": code, "redirect_uri": sign_in}
    wrong = requests.post(f"{base}/oauth2/token", data=exchange | {"code_verifier": "w" * 43}, verify=hosted_ui.certificate,
                          timeout=10)
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_grant"}
    assert wrong.headers["Access-Control-Allow-Origin"] == "*"
    assert get("/logout", {"client_id": AUDIENCE, "logout_uri": "https://evil.example/"}).status_code == 400
