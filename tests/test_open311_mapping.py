"""Open311 GeoReport v2 mapping: every JSON output valid against the community schemas, XML carrying the same
fields as JSON, and POST forms turned into Lapor reports (or the spec's errors)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from jsonschema import Draft4Validator, FormatChecker
from lapor import open311
from lapor.domain import reference
from lapor.models import ReportIn
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMAS = Path(__file__).parent / "data" / "open311-schema"  # from open311/schema-validation, see its README

# The files' relative $refs ("request.json") resolve against the registry's bare names.
REGISTRY = Registry().with_resources(
    (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT4))
    for p in SCHEMAS.glob("*.json") if p.name != "swagger.json")
# No errors schema is published: this one is the spec's text (a list of {code, description}, code = HTTP status).
ERRORS_SCHEMA = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["code", "description"], "additionalProperties": False,
    "properties": {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}}}}
# The POST reply's fields, from the spec and swagger.json's RequestResponse.
CREATED_SCHEMA = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["service_request_id"], "additionalProperties": False,
    "properties": {"service_request_id": {"type": "string"}, "service_notice": {"type": ["string", "null"]},
                   "account_id": {"type": ["string", "null"]}}}}
# jsonschema checks date-time only when the optional rfc3339-validator is installed; check it here, as the spec
# has it: ISO 8601 with a time zone (Z or an offset).
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or (
        "T" in value and datetime.fromisoformat(value).tzinfo is not None)


def validate(payload: Any, schema: str | dict) -> None:
    contents = REGISTRY.contents(schema) if isinstance(schema, str) else schema
    Draft4Validator(contents, registry=REGISTRY, format_checker=FORMATS).validate(payload)


def test_the_schema_check_can_fail():
    with pytest.raises(Exception, match="is not one of"):
        validate([{"service_request_id": "x", "status": "in_progress", "service_code": "c",
                   "requested_datetime": "2027-01-01T00:00:00+08:00"}], "requests.json")
    for naive in ("2027-01-01 00:00", "2027-01-01T00:00:00"):
        with pytest.raises(Exception, match="date-time"):
            validate({"service_request_id": "x", "status": "open", "service_code": "c",
                      "requested_datetime": naive}, "request.json")


# --- XML against JSON ----------------------------------------------------------------------------------------

ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "values": "value"}


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def assert_same(element: ET.Element, value: Any) -> None:
    """The XML element carries exactly the JSON value: same keys in the same order, lists as the spec nests them."""
    if isinstance(value, list):
        assert [child.tag for child in element] == [ITEMS[element.tag]] * len(value), element.tag
        for child, item in zip(element, value, strict=True):
            assert_same(child, item)
    elif isinstance(value, dict):
        assert [child.tag for child in element] == list(value), element.tag
        for child, key in zip(element, value, strict=True):
            assert_same(child, value[key])
    else:
        assert len(element) == 0 and (element.text or "") == as_text(value), element.tag


def assert_xml_matches(kind: str, payload: Any) -> ET.Element:
    document = open311.to_xml(kind, payload)
    assert document.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    root = ET.fromstring(document.encode("utf-8"))
    assert root.tag == kind
    assert_same(root, payload)
    return root


def test_the_xml_comparison_can_fail():
    root = ET.fromstring("<services><service><service_code>a</service_code></service></services>")
    with pytest.raises(AssertionError):
        assert_same(root, [{"service_code": "b"}])
    with pytest.raises(AssertionError):
        assert_same(root, [{"service_code": "a", "metadata": True}])


# --- services ------------------------------------------------------------------------------------------------


def test_services_list_is_valid_and_indonesian():
    services = open311.services()
    validate(services, "services.json")
    assert [s["service_code"] for s in services] == list(reference.categories())
    health = next(s for s in services if s["service_code"] == "health")
    assert health["service_name"] == "Kesehatan" and health["metadata"] is True and health["type"] == "realtime"
    assert health["description"].startswith("Pengaduan tentang layanan puskesmas")
    assert health["keywords"].split(", ")[:2] == ["puskesmas", "rumah sakit"] and "health" in health["keywords"]
    assert health["group"] == open311.GROUP
    root = assert_xml_matches("services", services)
    assert root.find("service/metadata").text == "true"


def test_service_definition_lists_the_province_regions():
    category = reference.categories()["infrastructure"]
    definition = open311.service_definition(category, "64")
    validate(definition, "service-definition.json")
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert list(attributes) == ["region_code", "kind", "privacy"]
    assert [a["order"] for a in definition["attributes"]] == [1, 2, 3]
    region = attributes["region_code"]
    assert region["required"] is True and region["variable"] is True and region["datatype"] == "singlevaluelist"
    assert {"key": "64.72", "name": "Kota Samarinda"} in region["values"]
    assert [v["key"] for v in region["values"]] == [r.code for r in reference.child_regions("64")]
    assert "Kemendagri" in region["description"]
    assert [v["key"] for v in attributes["kind"]["values"]] == ["complaint", "aspiration", "information_request"]
    assert [v["key"] for v in attributes["privacy"]["values"]] == ["public", "confidential", "anonymous"]
    assert not attributes["kind"]["required"] and not attributes["privacy"]["required"]
    assert "public" in attributes["privacy"]["description"]
    root = assert_xml_matches("service_definition", definition)
    assert root.find("attributes/attribute/values/value/key").text == "64.01"
    assert root.find("attributes/attribute/datatype_description").text
    with pytest.raises(ValueError):
        open311.service_definition(category, "99")


# --- requests ------------------------------------------------------------------------------------------------


def view(**changes: Any) -> dict[str, Any]:
    """Shaped like views.report_view(record, full=False) for a public report in Kota Samarinda (WITA)."""
    base = {
        "tracking_id": "LPR-7K3M9Q", "kind": "complaint", "category": "infrastructure", "region_code": "64.72",
        "title": "Jalan berlubang di Jl. Pahlawan",
        "description": "Lubang besar di depan pasar, sudah dua minggu, membahayakan pengendara motor.",
        "privacy": "public", "status": "routed", "agency": {"id": "64-72-pupr", "name": "Dinas PUPR Kota Samarinda"},
        "escalation_level": 0, "submitted_at": "2027-01-04T09:15:00+08:00", "due_at": "2027-02-15T23:59:59+08:00",
        "overdue": False, "version": 2, "overdue_final": False, "location": {"lat": -0.5022, "lon": 117.1536},
    }
    return base | changes


def hidden(privacy: str) -> dict[str, Any]:
    return view(privacy=privacy, title=None, description=None, location=None)


UPDATED = "2027-01-05T10:00:00+08:00"


def request(v: dict[str, Any], notes: str | None = None) -> dict[str, Any]:
    return open311.service_request(v, service_name="Infrastruktur", status_notes=notes, updated_datetime=UPDATED)


def test_public_request_maps_the_view():
    r = request(view(), "Diteruskan ke Dinas PUPR Kota Samarinda")
    validate([r], "requests.json")
    assert r == {
        "service_request_id": "LPR-7K3M9Q", "status": "open", "status_notes": "Diteruskan ke Dinas PUPR Kota Samarinda",
        "service_name": "Infrastruktur", "service_code": "infrastructure",
        "description": "Jalan berlubang di Jl. Pahlawan\n\nLubang besar di depan pasar, sudah dua minggu, "
                       "membahayakan pengendara motor.",
        "agency_responsible": "Dinas PUPR Kota Samarinda",
        "service_notice": "Ditangani Dinas PUPR Kota Samarinda; batas waktu tanggapan 15-02-2027 23:59 WITA.",
        "requested_datetime": "2027-01-04T09:15:00+08:00", "updated_datetime": UPDATED,
        "expected_datetime": "2027-02-15T23:59:59+08:00", "address": "Kota Samarinda, Kalimantan Timur",
        "address_id": None, "zipcode": None, "lat": -0.5022, "long": 117.1536, "media_url": None,
    }
    root = assert_xml_matches("service_requests", [r])
    assert root.find("request/lat").text == "-0.5022"
    assert root.find("request/media_url").text is None  # <media_url></media_url>, as the spec's examples


@pytest.mark.parametrize("privacy", ["confidential", "anonymous"])
def test_hidden_content_stays_hidden(privacy):
    r = request(hidden(privacy))
    validate(r, "request.json")
    assert r["description"] is None and r["lat"] is None and r["long"] is None
    # Even a full (reporter's) view passed by mistake shows no more than the public view.
    leaked = request(view(privacy=privacy))
    assert leaked == r
    document = open311.to_xml("service_requests", [leaked])
    assert "Lubang" not in document and "117.1536" not in document and "Pahlawan" not in document
    assert_xml_matches("service_requests", [leaked])


@pytest.mark.parametrize(("lapor", "expected"), [
    ("submitted", "open"), ("routed", "open"), ("in_progress", "open"), ("escalated", "open"),
    ("responded", "closed"), ("closed", "closed"), ("rejected", "closed"),
])
def test_status_mapping(lapor, expected):
    r = request(view(status=lapor))
    validate(r, "request.json")
    assert r["status"] == expected
    assert r["status_notes"] == open311.STATUS_NOTES[lapor]  # the finer Lapor status survives in the notes
    assert (r["service_notice"] is None) == (expected == "closed")
    assert lapor in open311.lapor_statuses(expected)


def test_overdue_shows_in_the_notice_and_kecamatan_in_the_address():
    late = request(view(status="escalated", overdue=True, region_code="64.72.01"))
    assert late["service_notice"].startswith("Terlambat") and "WITA" in late["service_notice"]
    assert late["address"] == "Kecamatan Palaran, Kota Samarinda, Kalimantan Timur"
    final = request(view(overdue=True, overdue_final=True))
    assert "Ombudsman" in final["service_notice"]
    validate([late, final], "requests.json")


def test_long_description_is_cut_to_the_spec_limit():
    text = "Lubang " * 700  # 4900 characters: fine for Lapor, too long for Open311
    r = request(view(description=text, title=text[:20].strip()))
    assert len(r["description"]) == 4000 and r["description"].endswith("…")
    validate(r, "request.json")


def test_open311_titles_are_not_repeated_in_the_description():
    text = "Jalan berlubang di depan pasar\nSudah dua minggu."
    assert request(view(title="Jalan berlubang di depan pasar", description=text))["description"] == text
    assert request(view(title="Laporan Open311: Infrastruktur", description=text))["description"] == text


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        open311.service_request(view(), service_name="Infrastruktur", status_notes=None,
                                updated_datetime="2027-01-05T10:00:00")


def test_created_reply_keeps_the_access_code_out():
    reply = open311.created({"tracking_id": "LPR-7K3M9Q", "access_code": "SECRET-CODE", "status": "routed",
                             "agency": {"id": "64-72-pupr", "name": "Dinas PUPR Kota Samarinda"},
                             "submitted_at": "2027-01-04T09:15:00+08:00", "due_at": "2027-02-15T23:59:59+08:00"})
    validate(reply, CREATED_SCHEMA)
    assert reply[0]["service_request_id"] == "LPR-7K3M9Q" and "15-02-2027" in reply[0]["service_notice"]
    root = assert_xml_matches("service_requests", reply)
    assert "SECRET-CODE" not in json.dumps(reply) and "SECRET-CODE" not in ET.tostring(root, encoding="unicode")
    assert root.find("request/account_id") is not None


# --- errors and XML details ----------------------------------------------------------------------------------


def test_errors_shape():
    body = open311.errors((403, "api_key was not provided"), (400, "description was not provided"))
    validate(body, ERRORS_SCHEMA)
    assert body[0] == {"code": 403, "description": "api_key was not provided"}
    assert_xml_matches("errors", body)
    error = open311.Open311Error(400, "a", "b")
    assert error.status == 400 and error.body() == [{"code": 400, "description": "a"},
                                                    {"code": 400, "description": "b"}]


def test_xml_escapes_text_and_drops_characters_xml_cannot_carry():
    r = request(view(description="Tanda <b>&</b> \"kutip\" dan kontrol\x00\x07 di sini", title=None))
    root = ET.fromstring(open311.to_xml("service_requests", [r]))
    assert root.find("request/description").text == "Tanda <b>&</b> \"kutip\" dan kontrol di sini"
    with pytest.raises(ValueError):
        open311.to_xml("reports", [])


def test_render_picks_the_content_type():
    body, content_type = open311.render("errors", open311.errors((404, "tidak ditemukan")), "json")
    assert content_type == "application/json; charset=utf-8" and json.loads(body)[0]["code"] == 404
    body, content_type = open311.render("errors", open311.errors((404, "tidak ditemukan")), "xml")
    assert content_type == "text/xml; charset=utf-8" and "<code>404</code>" in body


# --- POST requests -------------------------------------------------------------------------------------------

FORM = ("api_key=k-123&jurisdiction_id=kaltimprov.go.id&service_code=infrastructure&lat=-0.5022&long=117.1536"
        "&address_string=Jl.+Pahlawan+12%2C+Samarinda&email=siti%40example.id&device_id=tt222111&account_id=123"
        "&first_name=Siti&last_name=Rahmawati&phone=0812-3456-7890"
        "&description=Jalan+berlubang+di+depan+pasar%0ASudah+dua+minggu+membahayakan+pengendara."
        "&media_url=http%3A%2F%2Fexample.id%2Fa.jpg&attribute[region_code]=64.72&attribute[privacy]=confidential")


def form(query: str = FORM, **changes: str | None) -> dict[str, list[str]]:
    fields = parse_qs(query, keep_blank_values=True)
    for name, value in changes.items():
        name = name.replace("attr_", "attribute[") + ("]" if name.startswith("attr_") else "")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = [value]
    return fields


def parse(fields: dict[str, list[str]]) -> open311.CreateRequest:
    return open311.parse_create(fields, province_code="64")


def test_parse_create_happy_path():
    report, api_key, jurisdiction, media_url, address = parse(form())
    assert media_url is None  # http: not kept (https links only)
    assert address == "Jl. Pahlawan 12, Samarinda"  # its own field, not folded into the description
    assert (api_key, jurisdiction) == ("k-123", "kaltimprov.go.id")
    assert report == {
        "kind": "complaint", "category": "infrastructure", "region_code": "64.72",
        "title": "Jalan berlubang di depan pasar",
        "description": "Jalan berlubang di depan pasar\nSudah dua minggu membahayakan pengendara.",
        "privacy": "confidential", "location": {"lat": -0.5022, "lon": 117.1536},
        "reporter": {"name": "Siti Rahmawati", "phone": "0812-3456-7890", "email": "siti@example.id"},
    }
    ReportIn.model_validate(report)  # ready for the intake as it is


def test_parse_create_defaults():
    report, _, jurisdiction, _, _ = parse(form("api_key=k&service_code=health&attribute[region_code]=64.72"
                                         "&description=Antrean+puskesmas+sangat+panjang&attribute[kind]="
                                         "&address_id=RSUD-AWS"))
    assert jurisdiction is None
    assert report["kind"] == "complaint" and report["privacy"] == "public"  # blank counts as not sent (spec)
    assert "location" not in report and "reporter" not in report
    ReportIn.model_validate(report)


def test_parse_create_title_falls_back_and_is_bounded():
    short = parse(form(description="Aduh\nJembatan di kampung kami runtuh sebagian."))
    assert short.report["title"] == "Laporan Open311: Infrastruktur"
    long = parse(form(description="kata " * 60))
    assert 5 <= len(long.report["title"]) <= 150 and long.report["title"].endswith("…")
    ReportIn.model_validate(short.report)
    ReportIn.model_validate(long.report)


def test_anonymous_drops_identity():
    report = parse(form(attr_privacy="anonymous")).report
    assert report["privacy"] == "anonymous" and "reporter" not in report
    assert "Siti" not in json.dumps(report) and "0812" not in json.dumps(report)
    ReportIn.model_validate(report)


def test_jurisdiction_kabupaten_kota_stands_in_for_region_code():
    assert parse(form(attr_region_code=None, jurisdiction_id="64.72")).report["region_code"] == "64.72"
    assert parse(form(attr_region_code="64.72.01", jurisdiction_id="64.72")).report["region_code"] == "64.72.01"
    with pytest.raises(open311.Open311Error) as outside:
        parse(form(attr_region_code="64.01", jurisdiction_id="64.72"))
    assert "outside jurisdiction_id" in outside.value.descriptions[0]
    with pytest.raises(open311.Open311Error):  # a province jurisdiction does not name a kabupaten/kota
        parse(form(attr_region_code=None, jurisdiction_id="64"))


def error_of(fields: dict[str, list[str]]) -> open311.Open311Error:
    with pytest.raises(open311.Open311Error) as caught:
        parse(fields)
    validate(caught.value.body(), ERRORS_SCHEMA)
    return caught.value


@pytest.mark.parametrize(("changes", "status", "words"), [
    ({"attr_region_code": None}, 400, "attribute[region_code] was not provided"),
    ({"attr_region_code": "Samarinda"}, 400, "not a Kemendagri code"),
    ({"description": None}, 400, "description was not provided"),
    ({"description": "   "}, 400, "description was not provided"),
    ({"description": "Rusak"}, 400, "at least 10 characters"),
    ({"description": "x" * 5001}, 400, "at most 5000"),
    ({"long": None}, 400, "lat and long must be sent together"),
    ({"lat": "utara"}, 400, "decimal numbers"),
    ({"lat": "91"}, 400, "within -90..90"),
    ({"long": "nan"}, 400, "within -90..90"),
    ({"service_code": None}, 400, "service_code was not provided"),
    ({"attr_kind": "keluhan"}, 400, "attribute[kind] must be one of complaint"),
    ({"attr_privacy": "secret"}, 400, "attribute[privacy] must be one of public"),
    ({"api_key": None, "description": None}, 403, "api_key"),
])
def test_parse_create_errors(changes, status, words):
    error = error_of(form(**changes))
    assert error.status == status
    assert any(words in d for d in error.descriptions), error.descriptions


def test_parse_create_reports_every_problem_at_once():
    error = error_of(form(attr_region_code=None, description=None, lat=None))
    assert error.status == 400 and len(error.descriptions) == 3
    assert_xml_matches("errors", error.body())


# --- GET requests query --------------------------------------------------------------------------------------

NOW = datetime(2027, 3, 1, tzinfo=UTC)


def query(q: str) -> open311.ListQuery:
    return open311.list_query(parse_qs(q), now=NOW)


def test_list_query_defaults_to_90_days_and_1000():
    q = query("")
    assert (q.start, q.end, q.limit, q.statuses, q.ids) == (NOW - timedelta(days=90), NOW, 1000, (), None)
    q = query("start_date=2027-01-01T00:00:00Z&status=open,closed&status=open&service_code=health,education")
    assert q.start == datetime(2027, 1, 1, tzinfo=UTC) and q.end == NOW
    assert q.statuses == ("open", "closed") and q.service_codes == ("health", "education")
    q = query("service_request_id=LPR-1,LPR-2&status=open")  # ids override every other argument
    assert q.ids == ("LPR-1", "LPR-2") and q.statuses == ()


@pytest.mark.parametrize(("q", "words"), [
    ("start_date=2026-01-01T00:00:00Z&end_date=2027-01-01T00:00:00Z", "90 days"),
    ("start_date=2027-02-01T00:00:00Z&end_date=2027-01-01T00:00:00Z", "after end_date"),
    ("start_date=2027-01-01", "time zone"),
    ("end_date=kemarin", "W3C datetime"),
    ("status=pending", "open or closed"),
])
def test_list_query_errors(q, words):
    with pytest.raises(open311.Open311Error) as caught:
        query(q)
    assert caught.value.status == 400 and words in caught.value.descriptions[0]


@pytest.mark.parametrize("where", [{"lat": "-0.5", "long": "117.1"}, {"address_string": "Jl. Pahlawan 12"},
                                   {"address_id": "RSUD-AWS"}])
def test_any_one_of_the_spec_s_locations_will_do(where):
    bare = form(**({"lat": None, "long": None, "address_string": None} | where))
    ReportIn.model_validate(parse(bare).report)


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_location_is_required_as_the_spec_says(blank):
    with pytest.raises(open311.Open311Error) as refused:
        parse(form(lat=None, long=None, address_string=blank))
    assert refused.value.status == 400
    assert refused.value.descriptions == (
        "a location is required (the spec's rule): lat and long, address_string or address_id",)


def test_a_point_without_a_region_says_what_is_missing_and_why():
    with pytest.raises(open311.Open311Error) as refused:
        parse(form(attr_region_code=None, jurisdiction_id=None))
    [description] = refused.value.descriptions
    assert description.startswith("attribute[region_code] was not provided, and lat/long alone cannot name")
    assert "no boundary data" in description and "jurisdiction_id" in description
    with pytest.raises(open311.Open311Error) as no_point:  # without a point, the plain message
        parse(form(attr_region_code=None, jurisdiction_id=None, lat=None, long=None))
    assert no_point.value.descriptions[0].startswith("attribute[region_code] was not provided: the Kemendagri")


def test_address_string_is_bounded_and_plain_text():
    assert parse(form(address_string="J" * 500)).address == "J" * 500
    for bad, says in (("J" * 501, "at most 500 characters"), ("Jl. Pahlawan\x1b[31m", "U+001B")):
        with pytest.raises(open311.Open311Error) as refused:
            parse(form(address_string=bad))
        assert refused.value.status == 400 and says in refused.value.descriptions[0]


def test_the_address_sent_is_the_address_shown_for_public_reports_only():
    def address(v):
        return open311.service_request(v, service_name="x", status_notes=None, updated_datetime=UPDATED,
                                       address="Jl. Pahlawan 12")["address"]

    assert address(view()) == "Jl. Pahlawan 12"
    assert address(hidden("confidential")) == address(view(privacy="anonymous")) == "Kota Samarinda, Kalimantan Timur"
