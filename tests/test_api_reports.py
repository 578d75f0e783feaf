"""POST /reports and GET /reports/{id}: the handler in process against moto."""

import json
import re
import threading
from datetime import UTC, datetime

import pytest

from conftest import VALID_REPORT, report_items, table_items


def file(call_api, **changes):
    body = {**VALID_REPORT, **changes}
    return call_api("POST", "/reports", json_body={k: v for k, v in body.items() if v is not None})


def test_filing_routes_to_the_agency_and_returns_the_deadline(call_api, aws):
    reply = file(call_api)
    assert reply.status == 201
    body = reply.body
    assert re.fullmatch(r"LPR-[0-9A-HJKMNP-TV-Z]{8}", body["tracking_id"])
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){2}", body["access_code"])
    assert body["status"] == "routed"
    assert body["agency"] == {"id": "64-72-pupr", "name": "Dinas Pekerjaan Umum dan Penataan Ruang Kota Samarinda"}
    submitted = datetime.fromisoformat(body["submitted_at"])
    assert submitted.utcoffset().total_seconds() == 8 * 3600  # WITA
    assert abs((datetime.now(UTC) - submitted).total_seconds()) < 60
    assert body["due_at"].endswith("T23:59:59+08:00")
    [item] = report_items(aws)
    assert item["tracking_id"]["S"] == body["tracking_id"]
    assert body["access_code"] not in json.dumps(item)  # only the hash is stored
    assert item["due_pk"]["S"].startswith("DUE#") and item["agency_pk"]["S"] == "AGENCY#64-72-pupr"


def test_a_kecamatan_report_inherits_its_citys_route_and_health_goes_to_dinkes(call_api):
    assert file(call_api, region_code="64.72.01").body["agency"]["id"] == "64-72-pupr"
    assert file(call_api, category="health").body["agency"]["id"] == "64-72-dinkes"
    assert file(call_api, region_code="31.71", category="health").body["agency"]["id"] == "nasional"
    # Jakarta is WIB.
    assert file(call_api, region_code="31.71").body["due_at"].endswith("+07:00")


def test_public_view_hides_identity_and_timeline_full_view_shows_timeline(call_api):
    created = file(call_api).body
    public = call_api("GET", f"/reports/{created['tracking_id']}")
    assert public.status == 200
    assert public.body["title"] == VALID_REPORT["title"] and public.body["timeline"] is None
    assert public.body["overdue"] is False and public.body["version"] == 1
    assert public.body["due_at"] == created["due_at"] and public.body["escalation_level"] == 0
    full = call_api("GET", f"/reports/{created['tracking_id'].lower()}",
                    headers={"X-Access-Code": created["access_code"]})
    assert full.status == 200
    assert [e["type"] for e in full.body["timeline"]] == ["submitted", "routed"]
    assert full.body["timeline"][1]["agency_id"] == "64-72-pupr"
    for view in (public, full):
        text = json.dumps(view.body)
        assert "Siti" not in text and "812" not in text and "example.id" not in text


def test_confidential_content_is_shown_only_with_the_access_code(call_api):
    created = file(call_api, privacy="confidential").body
    public = call_api("GET", f"/reports/{created['tracking_id']}").body
    assert public["title"] is None and public["description"] is None and public["location"] is None
    full = call_api("GET", f"/reports/{created['tracking_id']}", headers={"X-Access-Code": created["access_code"]})
    assert full.body["description"] == VALID_REPORT["description"]


def test_an_anonymous_report_stores_no_identity(call_api, aws):
    assert file(call_api, privacy="anonymous").status == 422
    assert report_items(aws) == []
    created = file(call_api, privacy="anonymous", reporter=None)
    assert created.status == 201
    [item] = report_items(aws)
    assert "reporter" not in item


def test_identity_is_stored_once_normalised_and_never_in_views_or_indexes(call_api, aws):
    file(call_api)
    [item] = report_items(aws)
    assert item["reporter"]["M"]["phone"]["S"] == "+6281234567890"
    for index in ("ByDue", "ByAgency"):
        [projected] = aws.scan(TableName="ReportsTable", IndexName=index)["Items"]
        assert "reporter" not in projected and "description" not in projected


def test_unknown_report_and_wrong_access_code_are_404(call_api):
    created = file(call_api).body
    assert call_api("GET", "/reports/LPR-00000000").body["error"]["code"] == "not_found"
    assert call_api("GET", "/reports/not-an-id").status == 404
    wrong = call_api("GET", f"/reports/{created['tracking_id']}", headers={"X-Access-Code": "AAAA-BBBB-CCCC"})
    assert wrong.status == 404 and "timeline" not in json.dumps(wrong.body)


@pytest.mark.parametrize(("changes", "status", "code", "field"), [
    ({"kind": "rant"}, 422, "validation_error", "kind"),
    ({"privacy": "secret"}, 422, "validation_error", "privacy"),
    ({"region_code": "64-72"}, 422, "validation_error", "region_code"),
    ({"title": "abc"}, 422, "validation_error", "title"),
    ({"description": "x" * 5001}, 422, "validation_error", "description"),
    ({"location": {"lat": 91, "lon": 0}}, 422, "validation_error", "lat"),
    ({"reporter": {"phone": "12"}}, 422, "validation_error", "phone"),
    ({"reporter": {"email": "not-an-email"}}, 422, "validation_error", "email"),
    ({"surprise": True}, 422, "validation_error", "surprise"),
    ({"region_code": "64.99"}, 422, "unknown_region", "region_code"),
    ({"category": "potholes"}, 422, "unknown_category", "category"),
])
def test_bad_input_is_a_4xx_naming_the_field_and_stores_nothing(call_api, aws, changes, status, code, field):
    reply = file(call_api, **changes)
    assert reply.status == status
    assert reply.body["error"]["code"] == code
    assert field in json.dumps(reply.body["error"]["details"])
    assert report_items(aws) == []


def test_both_unknown_region_and_category_are_reported_at_once(call_api):
    reply = file(call_api, region_code="64.99", category="potholes")
    assert [d["loc"][-1] for d in reply.body["error"]["details"]] == ["region_code", "category"]


def test_invalid_json_is_400_and_a_non_json_body_415(call_api, aws):
    bad = call_api("POST", "/reports", body='{"kind": ', headers={"Content-Type": "application/json"})
    assert (bad.status, bad.body["error"]["code"]) == (400, "invalid_json")
    form = call_api("POST", "/reports", body="kind=complaint",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (form.status, form.body["error"]["code"]) == (415, "unsupported_media_type")
    text = call_api("POST", "/reports", body=json.dumps(VALID_REPORT), headers={"Content-Type": "text/plain"})
    assert text.status == 415
    assert report_items(aws) == []
    # Media types are case-insensitive.
    upper = call_api("POST", "/reports", body=json.dumps(VALID_REPORT),
                     headers={"Content-Type": "Application/JSON; charset=UTF-8"})
    assert upper.status == 201


def test_a_body_over_64_kib_is_413_before_parsing(call_api, aws):
    big = {**VALID_REPORT, "description": "x" * (64 * 1024)}
    reply = call_api("POST", "/reports", json_body=big)
    assert (reply.status, reply.body["error"]["code"]) == (413, "payload_too_large")
    assert report_items(aws) == []


def test_text_is_stored_and_returned_as_data(call_api):
    script = "<script>alert('x')</script> {{7*7}} ${jndi:ldap://x} 🚧"
    created = file(call_api, title=script, description=script + " di jalan raya").body
    view = call_api("GET", f"/reports/{created['tracking_id']}").body
    assert view["title"] == script


def test_same_idempotency_key_and_body_files_once(call_api, aws):
    headers = {"Idempotency-Key": "7b4f2a6e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"}
    first = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    # Whitespace differs, the parsed body does not: still the same request.
    padded = {**VALID_REPORT, "title": f"  {VALID_REPORT['title']}  "}
    replay = call_api("POST", "/reports", json_body=padded, headers=headers)
    assert first.status == replay.status == 201
    assert first.body == replay.body
    assert len(report_items(aws)) == 1
    # The stored reply keeps the access code sealed, and the key only as a hash.
    stored = json.dumps(intake_key_items(aws))
    assert first.body["tracking_id"] in stored
    assert first.body["access_code"] not in stored and "7b4f2a6e-1c3d-4e5f-8a9b-0c1d2e3f4a5b" not in stored
    other = call_api("POST", "/reports", json_body={**VALID_REPORT, "category": "health"}, headers=headers)
    assert (other.status, other.body["error"]["code"]) == (422, "idempotency_key_reused")
    assert len(report_items(aws)) == 1


def test_a_failed_idempotent_request_leaves_nothing_behind_and_can_be_retried(call_api, aws):
    headers = {"Idempotency-Key": "retry-Xk29fPq0LmZ8vN3aBcD7eR"}
    bad = call_api("POST", "/reports", json_body={**VALID_REPORT, "region_code": "64.99"}, headers=headers)
    assert bad.status == 422
    assert intake_key_items(aws) == [] and report_items(aws) == []
    # The key was released: the corrected request under the same key files the report.
    good = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    assert good.status == 201
    assert len(report_items(aws)) == 1


def intake_key_items(aws):
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("INTAKE#")]


def test_a_crash_after_the_write_files_nothing_twice(call_api, aws, monkeypatch):
    """The function dies after the report and its key were written, before it answers (a timeout, say): the
    client retries with the same key and gets the same report, access code included."""
    from lapor import runtime
    from lapor.dal import ReportStore

    headers = {"Idempotency-Key": "crash-Qm7Zr2Kp9LxV4nB8cT3wYe"}
    written = ReportStore.create_report

    def write_then_die(self, report, **kwargs):
        written(self, report, **kwargs)
        raise TimeoutError("Task timed out after 10.00 seconds")

    monkeypatch.setattr(ReportStore, "create_report", write_then_die)
    crashed = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    assert crashed.status == 500 and len(report_items(aws)) == 1 and len(intake_key_items(aws)) == 1
    monkeypatch.setattr(ReportStore, "create_report", written)
    retried = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    assert retried.status == 201 and len(report_items(aws)) == 1
    [item] = report_items(aws)
    assert retried.body["tracking_id"] == item["tracking_id"]["S"]
    own = call_api("GET", f"/reports/{retried.body['tracking_id']}",
                   headers={"X-Access-Code": retried.body["access_code"]})
    assert own.status == 200 and own.body["timeline"]  # the replayed code is the report's own


class LookupAfterTheWrite:
    """A stand-in for ``threading.Thread`` that runs its target when joined, not when started."""

    def __init__(self, target, **_):
        self.target = target

    def start(self):
        pass

    def join(self):
        self.target()


def test_two_requests_racing_with_one_key_file_one_report(call_api, aws, monkeypatch):
    """The second request read the key before the first wrote it: its transaction fails on the key, and it
    answers with the first one's reply."""
    from lapor.dal import IntakeKeyStore

    headers = {"Idempotency-Key": "race-Tq4Wn8Zp2LmX7vB3cR9kYs"}
    first = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    reads = []
    real_get = IntakeKeyStore.get_intake_key

    def not_yet_the_first_time(self, key_hash, **kwargs):
        reads.append(key_hash)
        return None if len(reads) == 1 else real_get(self, key_hash, **kwargs)

    monkeypatch.setattr(IntakeKeyStore, "get_intake_key", not_yet_the_first_time)
    # moto applies a refused transaction's items before it restores the table, so the possible-duplicates lookup,
    # in a thread beside the write, could see the report this request tried to file (DynamoDB isolates a
    # transaction: it never would); here the lookup runs after the write.
    with monkeypatch.context() as only_here:
        only_here.setattr(threading, "Thread", LookupAfterTheWrite)
        second = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    assert (second.status, second.body) == (201, first.body) and len(reads) == 2
    assert len(report_items(aws)) == 1 and len(intake_key_items(aws)) == 1
    other = call_api("POST", "/reports", json_body={**VALID_REPORT, "kind": "aspiration"}, headers=headers)
    assert (other.status, other.body["error"]["code"]) == (422, "idempotency_key_reused")


def test_an_expired_key_files_anew(call_api, aws, monkeypatch):
    import time

    headers = {"Idempotency-Key": "expiry-Hz5Kq1Wm8Rt3Lp6Nv2Xc"}
    first = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers).body
    later = time.time() + 24 * 3600 + 1  # LAPOR's default key lifetime is a day
    monkeypatch.setattr(time, "time", lambda: later)
    again = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    assert again.status == 201 and again.body["tracking_id"] != first["tracking_id"]
    assert len(report_items(aws)) == 2 and len(intake_key_items(aws)) == 1


def test_invalid_idempotency_keys_are_refused(call_api, aws):
    reply = call_api("POST", "/reports", json_body=VALID_REPORT, headers={"Idempotency-Key": "x" * 300})
    assert reply.status == 422 and "idempotency-key" in json.dumps(reply.body).lower()
    assert report_items(aws) == []
