"""``lapor dev``'s local sign-in for the operator desk: what the Cognito Hosted UI does on AWS, without a password.

Mounted by ``lapor dev`` only, under ``/_dev`` beside the API (never part of the template, so never deployed):

- ``GET /_dev/agencies`` → ``{"items": [{id, name, level}]}``: the agencies to sign in for (the API's own
  ``GET /admin/agencies``, asked with an admin token of the local issuer).
- ``POST /_dev/token`` ``{"role": "operator"|"supervisor"|"admin", "agency_id"?}`` → ``{"id_token",
  "expires_at"}``: an ID token of the local issuer (the one ``lapor token`` prints), valid 8 hours.

The desk's sign-in page (``web/desk/signin.html``) offers it when ``web/config.js`` says ``signIn: "local"``.
A page of another origin cannot use it: the token route takes only ``application/json`` (a cross-origin
request with it needs a CORS preflight, which this app never grants) and refuses a foreign ``Origin``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from lapor_cli.issuer import ROLES, LocalIssuer

PREFIX = "/_dev"
TTL_SECONDS = 8 * 3600


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message}}, status)


class DevSignIn:
    """The WSGI app under ``/_dev`` (``DispatcherMiddleware`` strips the prefix)."""

    def __init__(self, api: Callable[..., Any], issuer: LocalIssuer) -> None:
        self.api = api
        self.issuer = issuer

    def agencies(self) -> list[dict[str, str]]:
        admin = self.issuer.issue("admin", ttl_seconds=60, subject="lapor-dev-signin")
        reply = Client(self.api).get("/admin/agencies", headers={"Authorization": f"Bearer {admin}"})
        items = json.loads(reply.get_data(as_text=True)).get("items", []) if reply.status_code == 200 else []
        return [{"id": a["id"], "name": a["name"], "level": a["level"]} for a in items]

    def token(self, request: Request) -> Response:
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            return _error(403, "forbidden", "the local sign-in serves the site's own origin only")
        if request.mimetype != "application/json":
            return _error(415, "unsupported_media_type", "send application/json")
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return _error(400, "invalid_json", "the body is not JSON")
        if not isinstance(body, dict) or body.get("role") not in ROLES:
            return _error(422, "validation_error", f"role must be one of {', '.join(ROLES)}")
        role, agency = body["role"], body.get("agency_id") or None
        if agency is not None and (not isinstance(agency, str) or agency not in {a["id"] for a in self.agencies()}):
            return _error(422, "unknown_agency", "agency_id is not a known agency")
        if agency is None and role != "admin":
            return _error(422, "agency_required", "operators and supervisors sign in for an agency")
        now = int(time.time())
        token = self.issuer.issue(role, agency, ttl_seconds=TTL_SECONDS, now=now)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + TTL_SECONDS))
        return _json({"id_token": token, "expires_at": expires, "role": role, "agency_id": agency})

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path == "/agencies" and request.method == "GET":
            response = _json({"items": self.agencies()})
        elif request.path == "/token" and request.method == "POST":
            response = self.token(request)
        else:
            response = Response('{"message":"Not Found"}', status=404, content_type="application/json")
        return response(environ, start_response)
