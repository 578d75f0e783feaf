"""Every path under /open311/v2 answers in the spec's error shape: unknown routes, formats, methods, tokens and
ids, through template.yaml's catch-all as API Gateway routes them (JSON, or <errors> for a .xml path)."""

import json
from xml.etree import ElementTree as ET

import pytest

from test_open311_mapping import ERRORS_SCHEMA, validate

BASE = "/open311/v2"


def spec_error(reply, status):
    """The reply's error list, checked: status, content type by the path's format, and the spec's shape."""
    assert reply.status == status, reply.body
    content_type = reply.headers["Content-Type"]
    if content_type.startswith("text/xml"):
        root = ET.fromstring(reply.body.encode())
        assert root.tag == "errors" and len(root) >= 1
        errors = [{"code": int(e.findtext("code")), "description": e.findtext("description")} for e in root]
    else:
        assert content_type.startswith("application/json"), content_type
        errors = reply.body
    validate(errors, ERRORS_SCHEMA)
    assert {e["code"] for e in errors} == {status}
    return content_type.partition(";")[0], errors[0]["description"]


@pytest.mark.parametrize(("method", "path", "status", "fmt", "says"), [
    ("GET", "services.html", 404, "application/json", "use services.json or services.xml"),
    ("GET", "services", 404, "application/json", "use services.json or services.xml"),
    ("GET", "requests", 404, "application/json", "use requests.json or requests.xml"),
    ("GET", "discovery.yaml", 404, "application/json", "use discovery.json or discovery.xml"),
    ("GET", "nothing-here.xml", 404, "text/xml", "no such resource: nothing-here.xml"),
    ("GET", "nothing/here/at/all", 404, "application/json", "no such resource"),
    ("GET", "tokens/123.json", 404, "application/json", "issues no tokens"),
    ("GET", "tokens/123.xml", 404, "text/xml", "issues no tokens"),
    ("GET", "services/health.html", 404, "application/json", "no such format"),
    ("GET", "services/nope.xml", 404, "text/xml", "service_code nope not found"),
    ("GET", "services/a/b.json", 404, "application/json", "use services/<id>.json or .xml"),
    ("GET", "requests/LPR-00000000.xml", 404, "text/xml", "service_request_id LPR-00000000 not found"),
    ("GET", "requests/LPR-00000000", 404, "application/json", "no such format"),
    ("GET", "requests/not-an-id.json", 404, "application/json", "not-an-id not found"),
    ("DELETE", "services.json", 405, "application/json", "DELETE is not allowed on services.json: use GET"),
    ("PUT", "requests.xml", 405, "text/xml", "use GET or POST"),
    ("POST", "discovery.xml", 405, "text/xml", "use GET"),
])
def test_unknown_routes_formats_methods_and_ids(call_api, method, path, status, fmt, says):
    reply = call_api(method, f"{BASE}/{path}")
    content_type, description = spec_error(reply, status)
    assert content_type == fmt and says in description


def test_the_catch_all_route_is_in_the_template_and_takes_what_nothing_else_does():
    from conftest import ROOT
    from lapor_cli.template import load_template

    routes = load_template(ROOT / "template.yaml").http_routes
    [catch_all] = [r for r in routes if "+}" in r.path]
    assert (catch_all.method, catch_all.path, catch_all.authorizer) == ("ANY", f"{BASE}/{{proxy+}}", None)
    assert routes[-1] is catch_all  # tried last, as API Gateway prefers any exact route
    assert catch_all.match("DELETE", f"{BASE}/a/b/c.xml") == {"proxy": "a/b/c.xml"}
    first = next(r for r in routes if r.match("GET", f"{BASE}/services.json") is not None)
    assert first.path == f"{BASE}/services.json"


def test_paths_outside_open311_keep_lapor_s_error_shape(call_api):
    with pytest.raises(AssertionError, match="not a route"):
        call_api("GET", "/open311/v3/services.json")
    reply = call_api("GET", "/reports/LPR-00000000")
    assert reply.status == 404 and reply.body["error"]["code"] == "not_found"
    assert json.dumps(reply.body).startswith('{"error"')
