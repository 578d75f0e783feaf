"""lapor dev's local sign-in for the operator desk (lapor_cli.devsignin): tokens of the local issuer, for the
site's own origin only, and nothing of it in the deployed template."""

import json
from pathlib import Path

from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from lapor_cli.devsignin import DevSignIn
from lapor_cli.issuer import LocalIssuer

AGENCIES = [{"id": "64-72-pupr", "name": "Dinas PUPR Kota Samarinda", "level": "kabupaten_kota",
             "region_code": "64.72", "escalates_to": "64-72-inspektorat"},
            {"id": "nasional", "name": "Administrator nasional", "level": "national", "region_code": "ID",
             "escalates_to": None}]


def client(tmp_path):
    issuer = LocalIssuer(tmp_path / "issuer")

    def api(environ, start_response):  # the API's GET /admin/agencies, for admins only
        request = Request(environ)
        claims = issuer.verify(request.headers.get("Authorization"))
        assert request.path == "/admin/agencies" and claims["cognito:groups"] == ["admin"]
        return Response(json.dumps({"items": AGENCIES, "version": 1}), content_type="application/json")(
            environ, start_response)

    return Client(DevSignIn(api, issuer)), issuer


def test_agencies_and_a_token_for_a_role_and_agency(tmp_path):
    http, issuer = client(tmp_path)
    assert http.get("/agencies").json == {"items": [{"id": a["id"], "name": a["name"], "level": a["level"]}
                                                    for a in AGENCIES]}
    reply = http.post("/token", json={"role": "operator", "agency_id": "64-72-pupr"})
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    claims = issuer.verify("Bearer " + reply.json["id_token"])
    assert (claims["cognito:groups"], claims["custom:agency_id"], claims["token_use"]) == (
        ["operator"], "64-72-pupr", "id")
    assert claims["exp"] - claims["iat"] == 8 * 3600 and reply.json["expires_at"].endswith("Z")
    assert http.post("/token", json={"role": "admin"}).status_code == 200  # admins need no agency


def test_refusals(tmp_path):
    http, _ = client(tmp_path)
    assert http.post("/token", json={"role": "root"}).status_code == 422
    assert http.post("/token", json={"role": "operator"}).json["error"]["code"] == "agency_required"
    assert http.post("/token", json={"role": "operator", "agency_id": "nope"}).json["error"]["code"] == \
        "unknown_agency"
    # A form from another site (no preflight) or a page of another origin gets nothing.
    assert http.post("/token", data={"role": "admin"}).status_code == 415
    assert http.post("/token", json={"role": "admin"}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert http.post("/token", json={"role": "admin"}, headers={"Origin": "http://localhost"}).status_code == 200
    assert http.get("/token").status_code == 404 and http.get("/other").status_code == 404


def test_the_template_has_no_local_sign_in():
    template = (Path(__file__).resolve().parents[1] / "template.yaml").read_text(encoding="utf-8")
    assert "/_dev" not in template
