"""GET /openapi.json documents every status each route answers, in the body it answers it with (the fuzz suite,
tests/e2e/test_fuzz.py, checks that against a running stack; these check the document's rules in process), and
the behaviours that go with it: 413 only where a body is read, Open311 errors in the spec's shape, a handler's
invalid reply a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPEN311_SCHEMAS = ROOT / "tests" / "data" / "open311-schema"
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from lapor_api.app import openapi_document

    return json.loads(openapi_document().body)


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def schema_ref(response: dict[str, Any], media_type: str = "application/json") -> str | None:
    return response["content"][media_type]["schema"].get("$ref", "").rpartition("/")[2] or None


def is_lapor(key: str) -> bool:
    return not key.split(" ", 1)[1].startswith(("/open311/", "/webhooks/"))


def test_the_document_is_valid_openapi_31_without_powertools_validation_bodies(document):
    from openapi_spec_validator import validate

    validate(document)
    text = json.dumps(document)
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        assert name not in document["components"]["schemas"]
        assert f"#/components/schemas/{name}" not in text
    # response_validation_error_http_code=500 must never happen: it is not documented.
    assert not [key for key, operation in operations(document) if "500" in operation["responses"]]


def test_every_422_is_lapors_error_shape_and_only_routes_with_input_document_it(document):
    for key, operation in operations(document):
        responses = operation["responses"]
        if not is_lapor(key):
            continue
        if "422" in responses:
            assert schema_ref(responses["422"]) == "ErrorResponse", key
            assert "`validation_error`" in responses["422"]["description"], key
        # Powertools validates what a route declares: with nothing declared, nothing can be a 422; a body, a query
        # or a header can always be wrong.
        parameters = operation.get("parameters", [])
        if "422" in responses:
            assert parameters or "requestBody" in operation, key
        if "requestBody" in operation or any(p["in"] != "path" for p in parameters):
            assert "422" in responses, key
    assert "422" not in document["paths"]["/categories"]["get"]["responses"]
    assert "422" not in document["paths"]["/admin/apikeys/{key_id}/revoke"]["post"]["responses"]  # any key_id


def test_operator_routes_document_the_authorizers_401_and_the_functions_403(document):
    guarded = [(key, op) for key, op in operations(document) if op.get("security") == [{"operatorJwt": []}]]
    assert len(guarded) == 23  # 10 agency routes (merging, its undo, the merge candidates and who is signed in among them), 13 admin routes (hiding an attachment among them)
    for key, operation in guarded:
        unauthorized, forbidden = operation["responses"]["401"], operation["responses"]["403"]
        assert schema_ref(unauthorized) == "Unauthorized", key
        assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True, key
        assert schema_ref(forbidden) == "ErrorResponse", key
    for key, operation in operations(document):
        if "security" not in operation:
            assert "401" not in operation["responses"], key
    assert document["components"]["schemas"]["Unauthorized"]["required"] == ["message"]


def test_json_body_routes_document_400_413_415_422_and_no_other_route_413(document):
    from lapor_api.app import BODY_ROUTES, JSON_BODY_ROUTES

    for key, operation in operations(document):
        if not is_lapor(key):
            continue
        responses = operation["responses"]
        if key in JSON_BODY_ROUTES:
            assert set(operation["requestBody"]["content"]) == {"application/json"}, key
            assert {"400", "413", "415", "422"} <= set(responses), key
            for status in ("400", "413", "415"):
                assert schema_ref(responses[status]) == "ErrorResponse", (key, status)
        else:
            assert "requestBody" not in operation, key
            paged = key in ("GET /agency/reports", "GET /reports")  # 400 invalid_cursor
            assert not {"400", "413", "415"} & set(responses) or (paged and not {"413", "415"} & set(responses)), key
    assert "400" in document["paths"]["/agency/reports"]["get"]["responses"]  # invalid_cursor
    assert "400" in document["paths"]["/reports"]["get"]["responses"]
    assert {key for key, op in operations(document) if "413" in op["responses"] and is_lapor(key)} == {
        key for key in BODY_ROUTES if is_lapor(key)}


def test_the_catalogued_statuses_are_documented(document):
    paths = document["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert statuses("/reports", "post") == {"201", "400", "409", "413", "415", "422"}
    assert statuses("/reports/{tracking_id}/feedback", "post") == {"200", "400", "404", "409", "413", "415",
                                                                   "422"}
    assert statuses("/agency/reports", "get") == {"200", "400", "401", "403", "422"}
    assert statuses("/agency/reports/{tracking_id}", "get") == {"200", "401", "403", "404", "422"}
    for action in ("responses", "reassign", "reject"):
        assert statuses(f"/reports/{{tracking_id}}/{action}", "post") == {
            "200", "400", "401", "403", "404", "409", "413", "415", "422"}, action
    for listed in ("agencies", "routes", "calendar"):  # saved against the configuration's version
        path = paths[f"/admin/{listed}"]
        assert statuses(f"/admin/{listed}", "put") == {"200", "400", "401", "403", "409", "413", "415", "422"}
        assert "`stale_version`" in path["put"]["responses"]["409"]["description"], listed
        assert [(p["name"], p["in"]) for p in path["put"]["parameters"]] == [("if-match", "header")], listed
        assert statuses(f"/admin/{listed}", "get") == {"200", "401", "403"}
        for method in ("get", "put"):
            assert path[method]["responses"]["200"]["headers"]["ETag"]["required"] is True, (listed, method)
            assert {"version", "incomplete"} <= set(
                document["components"]["schemas"][schema_ref(path[method]["responses"]["200"])]["required"])
    assert "`agency_in_use`" in paths["/admin/agencies"]["put"]["responses"]["409"]["description"]
    apikeys = paths["/admin/apikeys"]["post"]["responses"]
    assert "200" not in apikeys and schema_ref(apikeys["201"]) == "ApiKeyCreated"
    assert statuses("/admin/apikeys/{key_id}/revoke", "post") == {"200", "401", "403", "404"}
    assert statuses("/regions", "get") == {"200", "404", "422"}
    assert statuses("/stats", "get") == {"200", "404", "422"}
    assert statuses("/categories", "get") == {"200"}


def test_open311_routes_document_their_formats_and_the_spec_error_list(document):
    paths = document["paths"]
    for path, item in paths.items():
        if not path.startswith("/open311/"):
            continue
        for method, operation in item.items():
            fmt = path.rpartition(".")[2] if "{" not in path else None
            expected = {"json": {"application/json"}, "xml": {"text/xml"}}.get(fmt, {"application/json", "text/xml"})
            for status, response in operation["responses"].items():
                assert set(response["content"]) == expected, (method, path, status)
                if "application/json" in response["content"] and status != "200":
                    assert schema_ref(response) == "Open311Errors", (method, path, status)
                if "text/xml" in response["content"]:
                    assert response["content"]["text/xml"]["schema"]["type"] == "string"
    for fmt in ("json", "xml"):
        assert set(paths[f"/open311/v2/requests.{fmt}"]["post"]["responses"]) == {"200", "400", "403", "404",
                                                                                  "409", "413"}
        assert set(paths[f"/open311/v2/requests.{fmt}"]["get"]["responses"]) == {"200", "400", "404"}
        assert set(paths[f"/open311/v2/services.{fmt}"]["get"]["responses"]) == {"200", "404"}  # jurisdiction_id
    for path in ("/open311/v2/services/{service_file}", "/open311/v2/requests/{request_file}"):
        assert set(paths[path]["get"]["responses"]) == {"200", "404"}
    assert schema_ref(paths["/open311/v2/requests.json"]["post"]["responses"]["200"]) == "Open311CreatedList"
    assert schema_ref(paths["/open311/v2/requests.json"]["get"]["responses"]["200"]) == "Open311Requests"
    assert schema_ref(paths["/open311/v2/services.json"]["get"]["responses"]["200"]) == "Open311Services"


class Recording(dict):
    """A parsed form or query that notes every name it is asked for."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def test_the_open311_form_and_query_document_every_field_the_handlers_read(document):
    from lapor import open311

    create = document["paths"]["/open311/v2/requests.json"]["post"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert set(form["required"]) == {"api_key", "service_code", "description"}
    for name, field in form["properties"].items():  # a form field is sent or left out; it is never null
        assert field["type"] != "null" and "anyOf" not in field and field.get("default", "") is not None, name
    sent = Recording({name: [value] for name, value in {
        "api_key": "k", "service_code": "infrastructure", "description": "Jalan berlubang besar di depan pasar",
        "attribute[region_code]": "64.72", "lat": "-0.5", "long": "117.1", "first_name": "A", "last_name": "B",
        "phone": "081355550101", "email": "a@example.id", "address_string": "Jl. Juanda"}.items()})
    open311.parse_create(sent, province_code="64")
    assert sent.read | {"jurisdiction_id"} <= set(form["properties"])  # _create reads jurisdiction_id too
    assert [p["name"] for p in create["parameters"]] == ["idempotency-key"]

    listing = document["paths"]["/open311/v2/requests.json"]["get"]
    for query in ({}, {"service_request_id": ["LPR-7K3M9Q2X"]}):
        asked = Recording(query)
        open311.list_query(asked, now=datetime.now(UTC))
        assert asked.read <= {p["name"] for p in listing["parameters"]}
    assert all(p["in"] == "query" and not p["required"] for p in listing["parameters"])


def test_the_open311_models_accept_what_lapor_open311_builds_and_match_the_published_schemas():
    from lapor import open311
    from lapor.domain import reference
    from lapor.models import (
        Open311Attribute,
        Open311CreatedList,
        Open311Errors,
        Open311Request,
        Open311Service,
        Open311ServiceDefinition,
        Open311Services,
    )

    Open311Services.model_validate(open311.services())
    for category in reference.categories().values():
        Open311ServiceDefinition.model_validate(open311.service_definition(category, "64"))
    Open311CreatedList.model_validate(open311.created({
        "tracking_id": "LPR-7K3M9Q2X", "agency": {"id": "a", "name": "Dinas"}, "due_at": "2027-01-15T23:59:59+08:00"}))
    Open311Errors.model_validate(open311.errors((400, "description was not provided")))
    # The same fields as the community's schemas; what they require, ours require too.
    published = {name: json.loads((OPEN311_SCHEMAS / name).read_text())
                 for name in ("service.json", "request.json", "service-definition.json")}
    attribute = published["service-definition.json"]["properties"]["attributes"]["items"]
    for theirs, model in ((published["service.json"], Open311Service), (published["request.json"], Open311Request),
                          (published["service-definition.json"], Open311ServiceDefinition),
                          (attribute, Open311Attribute)):
        ours = model.model_json_schema()
        assert set(theirs["properties"]) == set(ours["properties"]), model
        assert set(theirs["required"]) <= set(ours["required"]), model


# -- behaviours ------------------------------------------------------------------------------------------------

def test_an_oversized_body_is_413_only_where_a_body_is_read(call_api, aws):
    big = "x" * (64 * 1024 + 1)
    ignored = call_api("GET", "/categories", body=big, headers={"Content-Type": "text/plain"})
    assert ignored.status == 200  # a GET's body is never read, so never refused
    reply = call_api("POST", "/reports", body=json.dumps({"description": big}),
                     headers={"Content-Type": "application/json"})
    assert (reply.status, reply.body["error"]["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_oversized_open311_form_is_the_spec_413_in_its_format(call_api, aws, fmt):
    from xml.etree import ElementTree

    reply = call_api("POST", f"/open311/v2/requests.{fmt}", body="description=" + "x" * (64 * 1024),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 413
    assert reply.headers["Content-Type"].startswith({"json": "application/json", "xml": "text/xml"}[fmt])
    if fmt == "json":
        assert [e["code"] for e in reply.body] == [413]
    else:
        assert ElementTree.fromstring(reply.body.encode()).find("error/code").text == "413"


@pytest.mark.parametrize("path", ["/open311/v2/services/a\x0cb.json", "/open311/v2/requests/a\x0cb.xml"])
def test_an_open311_path_the_resolver_cannot_match_is_the_spec_404(call_api, aws, path):
    reply = call_api("GET", path)
    assert reply.status == 404
    if path.endswith(".json"):
        [error] = reply.body
        assert error["code"] == 404 and error["description"].startswith("no such resource: services/ab.json")
    else:
        assert "<errors><error><code>404</code>" in reply.body


def test_a_handler_whose_reply_fails_its_model_is_a_500_not_a_422(call_api, aws, monkeypatch, log_lines):
    from lapor_api import reference

    class Broken:
        @staticmethod
        def model_validate(value: Any) -> dict[str, Any]:
            return {"items": "not a list"}

    monkeypatch.setattr(reference, "CategoryList", Broken)
    reply = call_api("GET", "/categories")
    assert (reply.status, reply.body["error"]["code"]) == (500, "internal_error")
    assert "failed its response model" in log_lines.getvalue()
