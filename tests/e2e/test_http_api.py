"""End to end over real HTTP against ``lapor dev`` (a subprocess), its embedded DynamoDB checked with boto3."""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import pytest
import requests

from samples import sample_report

pytestmark = pytest.mark.e2e

TIMEOUT = 15
REPORTS_TABLE = "ReportsTable"
TRACKING_ID_RE = re.compile(r"^LPR-[0-9A-HJKMNP-TV-Z]{8}$")
ACCESS_CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
SAMARINDA_PUPR = {"id": "64-72-pupr", "name": "Dinas Pekerjaan Umum dan Penataan Ruang Kota Samarinda"}
# The kabupaten/kota of Kalimantan Timur (Kemendagri codes; 64.04-64.06 left with Kalimantan Utara).
KALTIM_CODES = {"64.01", "64.02", "64.03", "64.07", "64.08", "64.09", "64.11", "64.71", "64.72", "64.74"}

README_REPORT: dict[str, Any] = sample_report()
REPORTER = README_REPORT["reporter"]



def report_body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(README_REPORT)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def post_report(api_url: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{api_url}/reports", json=body, headers=headers, timeout=TIMEOUT)


def get_report(api_url: str, tracking_id: str, access_code: str | None = None) -> requests.Response:
    headers = {"X-Access-Code": access_code} if access_code is not None else {}
    return requests.get(f"{api_url}/reports/{tracking_id}", headers=headers, timeout=TIMEOUT)


def file_report(api_url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = post_report(api_url, body or report_body())
    assert response.status_code == 201, response.text
    return response.json()


def error_code(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]["code"]


def count_reports(client: Any) -> int:
    total = 0
    for page in client.get_paginator("scan").paginate(
        TableName=REPORTS_TABLE, FilterExpression="begins_with(PK, :p) AND SK = :meta",
        ExpressionAttributeValues={":p": {"S": "REPORT#"}, ":meta": {"S": "META"}}, Select="COUNT",
        ConsistentRead=True,
    ):
        total += page["Count"]
    return total


def stored_report(client: Any, tracking_id: str) -> dict[str, Any]:
    item = client.get_item(TableName=REPORTS_TABLE, Key={"PK": {"S": f"REPORT#{tracking_id}"}, "SK": {"S": "META"}},
                           ConsistentRead=True).get("Item")
    assert item is not None, f"{tracking_id} is not stored"
    return item


# -- 1. the README walk-through ------------------------------------------------------------------------------

def test_readme_walk_through(api_url, dynamodb):
    before = count_reports(dynamodb)
    response = requests.post(f"{api_url}/reports", data=json.dumps(README_REPORT),
                             headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"tracking_id", "access_code", "status", "agency", "submitted_at", "due_at",
                            "possible_duplicates"}
    # README's report has a location: the reply lists open public reports of its category within 250 m (a list).
    assert isinstance(created["possible_duplicates"], list)
    assert TRACKING_ID_RE.match(created["tracking_id"]), created
    assert ACCESS_CODE_RE.match(created["access_code"]), created
    assert created["status"] == "routed"
    assert created["agency"] == SAMARINDA_PUPR
    # Kota Samarinda is WITA (UTC+8): the deadline is the end of a local working day.
    assert created["submitted_at"].endswith("+08:00"), created
    assert created["due_at"].endswith("T23:59:59+08:00"), created
    assert created["due_at"] > created["submitted_at"]
    assert count_reports(dynamodb) == before + 1
    tracking_id, access_code = created["tracking_id"], created["access_code"]

    # The stored item keeps the identity (normalised phone) and only the access code's hash.
    item = stored_report(dynamodb, tracking_id)
    assert item["reporter"]["M"]["name"] == {"S": REPORTER["name"]}
    assert item["reporter"]["M"]["phone"] == {"S": "+6281234567890"}
    assert access_code not in json.dumps(item)

    public = get_report(api_url, tracking_id)
    assert public.status_code == 200, public.text
    view = public.json()
    assert view["tracking_id"] == tracking_id
    assert (view["kind"], view["category"], view["region_code"], view["privacy"], view["status"]) == (
        "complaint", "infrastructure", "64.72", "public", "routed")
    assert view["title"] == README_REPORT["title"]
    assert view["description"] == README_REPORT["description"]
    assert view["agency"] == SAMARINDA_PUPR
    assert view["escalation_level"] == 0 and view["version"] == 1 and view["overdue"] is False
    assert view["due_at"] == created["due_at"]
    assert view["submitted_at"] == created["submitted_at"]
    assert view.get("timeline") is None
    assert "reporter" not in view
    for secret in ("Siti", "Rahmawati", "0812", "81234567890", "3456", "siti.rahmawati", "example.id"):
        assert secret not in public.text, f"{secret!r} leaks into the public view"

    own = get_report(api_url, tracking_id, access_code)
    assert own.status_code == 200, own.text
    full = own.json()
    assert full["title"] == README_REPORT["title"]
    assert [event["type"] for event in full["timeline"]] == ["submitted", "routed"]
    submitted, routed = full["timeline"]
    assert submitted["actor_role"] == "reporter"
    assert routed["actor_role"] == "system" and routed["agency_id"] == "64-72-pupr"
    assert submitted["at"] == created["submitted_at"]
    assert "reporter" not in full
    for secret in ("Siti", "Rahmawati", "81234567890", "siti.rahmawati"):
        assert secret not in own.text, f"{secret!r} leaks into the reporter's view"


# -- 2. tracking id forms, wrong access code ------------------------------------------------------------------

def test_lower_case_tracking_id_and_wrong_access_code(api_url):
    created = file_report(api_url)
    tracking_id, access_code = created["tracking_id"], created["access_code"]

    lower = get_report(api_url, tracking_id.lower())
    assert lower.status_code == 200, lower.text
    assert lower.json()["tracking_id"] == tracking_id
    # The lower-case id with a lower-case access code is still the reporter's full view.
    lower_full = get_report(api_url, tracking_id.lower(), access_code.lower())
    assert lower_full.status_code == 200, lower_full.text
    assert [e["type"] for e in lower_full.json()["timeline"]] == ["submitted", "routed"]

    wrong_code = "0000-0000-0000" if access_code != "0000-0000-0000" else "1111-1111-1111"
    wrong = get_report(api_url, tracking_id, wrong_code)
    assert wrong.status_code == 404, wrong.text
    assert error_code(wrong) == "not_found"
    assert README_REPORT["title"] not in wrong.text

    unknown = get_report(api_url, "LPR-00000000")
    assert unknown.status_code == 404, unknown.text
    assert error_code(unknown) == "not_found"


# -- 3. reference data ----------------------------------------------------------------------------------------

def test_categories_and_regions(api_url):
    categories = requests.get(f"{api_url}/categories", timeout=TIMEOUT)
    assert categories.status_code == 200, categories.text
    items = categories.json()["items"]
    assert len(items) == 11
    assert len({c["id"] for c in items}) == 11
    infrastructure = next(c for c in items if c["id"] == "infrastructure")
    assert isinstance(infrastructure["name_id"], str) and infrastructure["name_id"].strip()
    assert isinstance(infrastructure["name_en"], str) and infrastructure["name_en"].strip()
    assert infrastructure["name_id"] != infrastructure["name_en"]
    assert isinstance(infrastructure["deadline_working_days"], int) and infrastructure["deadline_working_days"] > 0

    provinces = requests.get(f"{api_url}/regions", timeout=TIMEOUT)
    assert provinces.status_code == 200, provinces.text
    province_items = provinces.json()["items"]
    assert len(province_items) == 38
    kaltim = next(r for r in province_items if r["code"] == "64")
    assert kaltim["timezone"] == "Asia/Makassar"

    children = requests.get(f"{api_url}/regions", params={"parent": "64"}, timeout=TIMEOUT)
    assert children.status_code == 200, children.text
    child_items = children.json()["items"]
    assert len(child_items) == 10
    assert {r["code"] for r in child_items} == KALTIM_CODES
    samarinda = next(r for r in child_items if r["code"] == "64.72")
    assert samarinda["timezone"] == "Asia/Makassar"
    assert samarinda["timezone_abbreviation"] == "WITA"
    assert (samarinda["name"], samarinda["type"]) == ("Kota Samarinda", "kota")
    assert sorted(r["type"] for r in child_items) == ["kabupaten"] * 7 + ["kota"] * 3
    assert all(r["timezone"] == "Asia/Makassar" for r in child_items)

    missing = requests.get(f"{api_url}/regions", params={"parent": "99"}, timeout=TIMEOUT)
    assert missing.status_code == 404, missing.text
    assert error_code(missing) == "unknown_region"

    malformed = requests.get(f"{api_url}/regions", params={"parent": "abc"}, timeout=TIMEOUT)
    assert malformed.status_code == 422, malformed.text
    assert error_code(malformed) == "validation_error"


# -- 4. bad input stores nothing ------------------------------------------------------------------------------

def test_bad_input_is_refused_and_stores_nothing(api_url, dynamodb):
    before = count_reports(dynamodb)
    url = f"{api_url}/reports"
    json_headers = {"Content-Type": "application/json"}

    invalid_json = requests.post(url, data='{"kind": "complaint", ', headers=json_headers, timeout=TIMEOUT)
    assert invalid_json.status_code == 400, invalid_json.text
    assert error_code(invalid_json) == "invalid_json"

    missing = requests.post(url, json={"kind": "complaint", "privacy": "public"}, timeout=TIMEOUT)
    assert missing.status_code == 422, missing.text
    assert error_code(missing) == "validation_error"
    details = missing.json()["error"]["details"]
    named = {entry["loc"][-1] for entry in details if entry["type"] == "missing"}
    assert named == {"category", "region_code", "title", "description"}, details
    assert all(entry["loc"][0] == "body" for entry in details), details

    unknown_region = post_report(api_url, report_body(region_code="64.99"))
    assert unknown_region.status_code == 422, unknown_region.text
    assert error_code(unknown_region) == "unknown_region"
    assert unknown_region.json()["error"]["details"][0]["loc"] == ["body", "region_code"]

    unknown_category = post_report(api_url, report_body(category="no-such-category"))
    assert unknown_category.status_code == 422, unknown_category.text
    assert error_code(unknown_category) == "unknown_category"
    assert unknown_category.json()["error"]["details"][0]["loc"] == ["body", "category"]

    oversized = report_body(description="x" * (64 * 1024 + 1))
    too_large = requests.post(url, data=json.dumps(oversized), headers=json_headers, timeout=TIMEOUT)
    assert too_large.status_code == 413, too_large.text
    assert error_code(too_large) == "payload_too_large"

    form = requests.post(url, data={k: v for k, v in README_REPORT.items() if isinstance(v, str)}, timeout=TIMEOUT)
    assert form.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form.status_code == 415, form.text
    assert error_code(form) == "unsupported_media_type"

    assert count_reports(dynamodb) == before


# -- 5. Idempotency-Key ---------------------------------------------------------------------------------------

def test_idempotency_key_replays_the_first_report(api_url, dynamodb):
    key = f"e2e-{uuid.uuid4()}"
    before = count_reports(dynamodb)

    first = post_report(api_url, report_body(), headers={"Idempotency-Key": key})
    second = post_report(api_url, report_body(), headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert TRACKING_ID_RE.match(first.json()["tracking_id"])
    assert second.json() == first.json()
    assert count_reports(dynamodb) == before + 1
    # The replayed access code is the one that opens the stored report.
    own = get_report(api_url, first.json()["tracking_id"], second.json()["access_code"])
    assert own.status_code == 200, own.text

    reused = post_report(api_url, report_body(description="Another description of the same pothole, different."),
                         headers={"Idempotency-Key": key})
    assert reused.status_code == 422, reused.text
    assert error_code(reused) == "idempotency_key_reused"
    assert count_reports(dynamodb) == before + 1


# -- 6. confidential ------------------------------------------------------------------------------------------

def test_confidential_report_shows_content_only_with_the_access_code(api_url):
    created = file_report(api_url, report_body(privacy="confidential"))

    public = get_report(api_url, created["tracking_id"])
    assert public.status_code == 200, public.text
    view = public.json()
    assert view["privacy"] == "confidential"
    assert view["title"] is None and view["description"] is None
    assert view.get("location") is None
    assert view["agency"] == SAMARINDA_PUPR and view["status"] == "routed"
    assert README_REPORT["title"] not in public.text and "Lubang besar" not in public.text

    own = get_report(api_url, created["tracking_id"], created["access_code"])
    assert own.status_code == 200, own.text
    full = own.json()
    assert full["title"] == README_REPORT["title"]
    assert full["description"] == README_REPORT["description"]
    assert full["location"] == README_REPORT["location"]
    assert "Siti" not in own.text


# -- 7. anonymous ---------------------------------------------------------------------------------------------

def test_anonymous_report_stores_no_identity(api_url, dynamodb):
    before = count_reports(dynamodb)
    with_identity = post_report(api_url, report_body(privacy="anonymous"))
    assert with_identity.status_code == 422, with_identity.text
    assert error_code(with_identity) == "identity_not_allowed"
    assert count_reports(dynamodb) == before

    created = file_report(api_url, report_body(privacy="anonymous", reporter=None))
    assert created["agency"] == SAMARINDA_PUPR
    item = stored_report(dynamodb, created["tracking_id"])
    assert "reporter" not in item
    assert item["privacy"] == {"S": "anonymous"}
    assert count_reports(dynamodb) == before + 1


# -- 8. routes ------------------------------------------------------------------------------------------------

def test_unknown_route_and_openapi_document(api_url):
    nope = requests.get(f"{api_url}/nope", timeout=TIMEOUT)
    assert nope.status_code == 404, nope.text
    assert nope.json() == {"message": "Not Found"}  # what API Gateway answers for a route it lacks

    document = requests.get(f"{api_url}/openapi.json", timeout=TIMEOUT)
    assert document.status_code == 200, document.text
    assert document.headers["Content-Type"].startswith("application/json")
    spec = document.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Lapor"
    assert "post" in spec["paths"]["/reports"]
    assert "get" in spec["paths"]["/reports/{tracking_id}"]
    assert {"/categories", "/regions"} <= set(spec["paths"])


# -- 9. persistence across restarts ---------------------------------------------------------------------------

def test_reports_survive_a_restart(tmp_path, start_dev, stop_dev, dynamodb_at):
    data_dir = tmp_path / "data"
    first = start_dev(data_dir)
    created = file_report(first.url, report_body(privacy="confidential"))
    assert stop_dev(first) == 0, first.printed()
    assert "Lapor dev stopped" in first.printed()
    assert (data_dir / "dynamodb" / f"{REPORTS_TABLE}.json").exists()

    second = start_dev(data_dir)
    assert second.url != "" and count_reports(dynamodb_at(second.dynamodb_endpoint)) == 1
    own = get_report(second.url, created["tracking_id"], created["access_code"])
    assert own.status_code == 200, own.text
    full = own.json()
    assert full["tracking_id"] == created["tracking_id"]
    assert full["title"] == README_REPORT["title"]
    assert full["due_at"] == created["due_at"]
    assert full["agency"] == SAMARINDA_PUPR
    assert [event["type"] for event in full["timeline"]] == ["submitted", "routed"]
    # Idempotency records and reference data came back too: the restarted stack still files reports.
    again = file_report(second.url)
    assert again["agency"] == SAMARINDA_PUPR
    assert stop_dev(second) == 0, second.printed()


# -- regressions found by these tests ----------------------------------------------------------------------

def test_idempotency_record_does_not_keep_the_access_code(api_url, dynamodb):
    key = f"e2e-{uuid.uuid4()}"
    created = post_report(api_url, report_body(), headers={"Idempotency-Key": key})
    assert created.status_code == 201, created.text
    access_code = created.json()["access_code"]
    items = [item for page in dynamodb.get_paginator("scan").paginate(TableName="ReportsTable")
             for item in page["Items"] if item["PK"]["S"].startswith("INTAKE#")]
    assert items, "the Idempotency-Key left no record"
    assert access_code not in json.dumps(items) and key not in json.dumps(items)


def test_json_content_type_is_case_insensitive(api_url):
    response = requests.post(f"{api_url}/reports", data=json.dumps(report_body()),
                             headers={"Content-Type": "Application/JSON; charset=UTF-8"}, timeout=TIMEOUT)
    assert response.status_code == 201, response.text

