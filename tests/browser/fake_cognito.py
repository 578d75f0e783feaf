"""A fake Cognito Hosted UI for the browser tests: the three endpoints the operator desk uses, as AWS documents
them, over HTTPS (auth.js only ever speaks https to the Hosted UI) on a free port of 127.0.0.1.

- ``GET /oauth2/authorize``: ``response_type=code``, the app client's ``client_id``, a ``redirect_uri`` among its
  callback URLs, ``scope`` (openid among the client's scopes), ``state``, and PKCE: ``code_challenge_method=S256``
  (the only method Cognito supports) with a ``code_challenge``. An unknown client or redirect URI gets an error
  page (never a redirect to an unchecked URI); anything else wrong goes back to the redirect URI with
  ``?error=invalid_request&state=``. A valid request gets a tiny sign-in form (the user's email); its POST
  redirects back with ``?code=&state=``.
- ``POST /oauth2/token`` (``application/x-www-form-urlencoded``): ``grant_type=authorization_code``,
  ``client_id``, ``code``, ``redirect_uri``, ``code_verifier``. The code is good once, for five minutes, for the
  same client and redirect URI, and only with the verifier whose SHA-256 (base64url) is the challenge. It answers
  the ID, access and refresh tokens with ``Access-Control-Allow-Origin: *`` (what Cognito sends; the page's POST
  is a CORS simple request, so no preflight: OPTIONS is not answered, so a page that starts needing one fails).
  Errors are Cognito's: 400 ``{"error": "invalid_grant"}`` and the like.
- ``GET /logout``: the ``client_id`` and a ``logout_uri`` among the client's sign-out URLs, then a redirect there.

The ID token: what Cognito puts in one (``token_use: id``, ``cognito:groups``, ``custom:agency_id``, ``email``,
``cognito:username``, ``auth_time``, ``aud`` = the client id), signed by ``lapor dev``'s own issuer
(``LocalIssuer``), which is the user pool its API's authorizer trusts: so the app client this fake plays is the
one ``lapor dev`` accepts tokens for (``issuer.AUDIENCE``), as on AWS the authorizer's audience is the
OperatorPoolClient.

Every request is recorded (``authorize``, ``tokens``, ``logouts``, ``refused``) for the tests to inspect.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import ipaddress
import json
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lapor_cli.issuer import AUDIENCE, LocalIssuer

CODE_SECONDS = 300
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1
SCOPES = {"openid", "email", "profile"}  # the OperatorPoolClient's AllowedOAuthScopes


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A TLS context with a fresh self-signed certificate for 127.0.0.1 (the browser context ignores HTTPS
    errors; the tests' own requests trust this certificate only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-cognito.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


@dataclass
class User:
    email: str
    role: str
    agency_id: str | None
    sub: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    user: User
    expires: float


class FakeHostedUI:
    def __init__(self, issuer: LocalIssuer, folder: Path, *, callback_urls: list[str], logout_urls: list[str],
                 users: list[User], client_id: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.callback_urls = list(callback_urls)
        self.logout_urls = list(logout_urls)
        self.users = {u.email: u for u in users}
        self.codes: dict[str, Grant] = {}
        self.pending: dict[str, dict[str, str]] = {}  # sign-in forms shown, by their one-time id
        self.authorize: list[dict[str, str]] = []
        self.tokens: list[dict[str, str]] = []
        self.logouts: list[dict[str, str]] = []
        self.refused: list[tuple[str, str]] = []  # (endpoint, error)
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, ssl_context=_self_signed(folder))
        self.certificate = str(folder / "cert.pem")  # for a client of its own (requests' verify=)
        self.url = f"https://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-cognito", daemon=True)

    def start(self) -> FakeHostedUI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the endpoints -------------------------------------------------------------------------------------

    def _app(self, environ, start_response):
        request = Request(environ)
        route = {("GET", "/oauth2/authorize"): self._authorize, ("POST", "/login"): self._login,
                 ("POST", "/oauth2/token"): self._token, ("GET", "/logout"): self._logout,
                 ("GET", "/favicon.ico"): lambda _: Response(status=204)}.get(
                     (request.method, request.path))
        response = route(request) if route else Response("Not found", status=404 if request.method != "OPTIONS"
                                                          else 405)
        return response(environ, start_response)

    def _error_page(self, endpoint: str, error: str) -> Response:
        self.refused.append((endpoint, error))
        return Response(f"<!doctype html><title>Error</title><p id='error'>{html.escape(error)}</p>", status=400,
                        content_type="text/html; charset=utf-8")

    def _back(self, redirect_uri: str, **params: str) -> Response:
        return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(params)}"})

    def _authorize(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.authorize.append(args)
        if args.get("client_id") != self.client_id:
            return self._error_page("authorize", "invalid client_id")
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri not in self.callback_urls:
            return self._error_page("authorize", "redirect_mismatch")
        state = args.get("state", "")
        scopes = set(args.get("scope", "").split())
        problem = (
            "unsupported_response_type" if args.get("response_type") != "code" else
            "invalid_scope" if not scopes or not scopes <= SCOPES or "openid" not in scopes else
            "invalid_request" if args.get("code_challenge_method") != "S256" or not re.fullmatch(
                r"[A-Za-z0-9_-]{43}", args.get("code_challenge", "")) else
            "invalid_request" if not state else None)
        if problem:
            self.refused.append(("authorize", problem))
            return self._back(redirect_uri, error=problem, **({"state": state} if state else {}))
        form_id = secrets.token_urlsafe(16)
        self.pending[form_id] = args
        return Response(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Sign in (fake Hosted UI)</title>"
            "</head><body><main><h1>Sign in</h1><form method='post' action='/login'>"
            f"<input type='hidden' name='form' value='{form_id}'>"
            "<label for='email'>Email</label> <input id='email' name='email' type='email'>"
            "<button type='submit'>Sign in</button></form></main></body></html>",
            content_type="text/html; charset=utf-8")

    def _login(self, request: Request) -> Response:
        args = self.pending.pop(request.form.get("form", ""), None)
        user = self.users.get(request.form.get("email", ""))
        if args is None:
            return self._error_page("login", "no such sign-in")
        if user is None:
            return self._error_page("login", "Incorrect username or password.")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = Grant(args["client_id"], args["redirect_uri"], args["code_challenge"], args["scope"],
                                     user, time.time() + CODE_SECONDS)
        return self._back(args["redirect_uri"], code=code, state=args["state"])

    def _json(self, body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8",
                        headers={"Access-Control-Allow-Origin": "*",
                                 "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
                                 "Pragma": "no-cache"})

    def _token_error(self, error: str) -> Response:
        self.refused.append(("token", error))
        return self._json({"error": error}, status=400)

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.tokens.append(form | {"content_type": request.mimetype})
        if request.mimetype != "application/x-www-form-urlencoded":
            return self._token_error("invalid_request")
        if form.get("grant_type") != "authorization_code":
            return self._token_error("unsupported_grant_type")
        if form.get("client_id") != self.client_id:
            return self._token_error("invalid_client")
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)  # once, whatever happens next
        verifier = form.get("code_verifier", "")
        if grant is None or grant.expires < time.time() or grant.client_id != form["client_id"]:
            return self._token_error("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._token_error("invalid_grant")
        if not VERIFIER.match(verifier) or not secrets.compare_digest(s256(verifier), grant.challenge):
            return self._token_error("invalid_grant")
        user, now = grant.user, int(time.time())
        cognito = {"email": user.email, "email_verified": True, "cognito:username": user.sub, "sub": user.sub,
                   "auth_time": now, "origin_jti": secrets.token_hex(16)}
        id_token = self.issuer.issue(user.role, user.agency_id, ttl_seconds=3600, subject=user.sub,
                                     claims=cognito | {"token_use": "id"})
        access_token = self.issuer.issue(user.role, user.agency_id, ttl_seconds=3600, subject=user.sub,
                                         claims={"token_use": "access", "scope": grant.scope,
                                                 "client_id": self.client_id, "username": user.sub})
        return self._json({"id_token": id_token, "access_token": access_token,
                           "refresh_token": secrets.token_urlsafe(48), "expires_in": 3600, "token_type": "Bearer"})

    def _logout(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.logouts.append(args)
        if args.get("client_id") != self.client_id:
            return self._error_page("logout", "invalid client_id")
        if args.get("logout_uri") not in self.logout_urls:
            return self._error_page("logout", "invalid logout_uri")
        return Response(status=302, headers={"Location": args["logout_uri"]})
