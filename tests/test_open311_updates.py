"""FixMyStreet's servicerequestupdates extension: the agency's answers and closures of public reports, from the
timeline's events through the sparse PublicUpdates index, in a bounded window (never a Scan)."""

from datetime import UTC, datetime, timedelta

import pytest

from conftest import event_items
from test_open311 import api_key, open311, request_form  # noqa: F401 (fixtures)
from test_open311_mapping import ERRORS_SCHEMA, validate

# FixMyStreet's reader (Open311::GetServiceRequestUpdates) and mySociety's open311-adapter: a list of these.
UPDATES_SCHEMA = {"type": "array", "items": {
    "type": "object", "additionalProperties": False,
    "required": ["update_id", "service_request_id", "status", "description", "updated_datetime", "media_url"],
    "properties": {"update_id": {"type": "string", "minLength": 1}, "service_request_id": {"type": "string"},
                   "status": {"enum": ["open", "closed"]}, "description": {"type": ["string", "null"]},
                   "updated_datetime": {"type": "string", "format": "date-time"},
                   "media_url": {"type": ["string", "null"]}}}}


@pytest.fixture
def timeline(open311, api_key, call_api, token, aws):  # noqa: F811
    """Requests in Samarinda and Paser: one answered, one acknowledged only, one answered and then closed by the
    sweep, a confidential one answered. {name: service_request_id}."""
    forms = {"answered": {}, "acknowledged": {}, "closed": {"attribute[region_code]": "64.01"},
             "confidential": {"attribute[privacy]": "confidential"}}
    ids = {name: open311("POST", "requests", form=request_form(api_key, **changes))[1][0]["service_request_id"]
           for name, changes in forms.items()}
    admin = {"Authorization": token("admin")}
    for name, status, message in (("answered", "responded", "Sudah ditambal pada 3 Desember."),
                                  ("acknowledged", "in_progress", "Petugas dijadwalkan Senin."),
                                  ("closed", "responded", "Lampu sudah diganti."),
                                  ("confidential", "responded", "Rahasia: sudah ditindak.")):
        reply = call_api("POST", f"/reports/{ids[name]}/responses", headers=admin,
                         json_body={"message": message, "status": status})
        assert reply.status == 200, reply.body
    # The sweep closes a silent answered report from ByClosing's projection, which has no privacy.
    from lapor import runtime, sweep

    store = runtime.store()
    full = store.get_report(ids["closed"])
    projected = {k: full[k] for k in ("tracking_id", "status", "version", "agency_id", "agency_name", "region_code",
                                      "submitted_at", "closes_at_utc")}
    changes, event = sweep.closing(projected, datetime.now(UTC))
    store.record_change(projected, changes, event=event, now_utc=event["at"])
    return ids


def test_answers_and_closures_of_public_requests_are_the_updates(open311, timeline):  # noqa: F811
    status, updates, content_type = open311("GET", "servicerequestupdates")
    assert status == 200 and content_type.startswith("application/json")
    validate(updates, UPDATES_SCHEMA)
    seen = [(u["service_request_id"], u["status"], u["description"]) for u in updates]
    assert seen == [(timeline["answered"], "closed", "Sudah ditambal pada 3 Desember."),
                    (timeline["closed"], "closed", "Lampu sudah diganti."),
                    (timeline["closed"], "closed",
                     "Ditutup otomatis: tidak dibuka kembali dalam 10 hari kerja setelah dijawab")]
    assert len({u["update_id"] for u in updates}) == 3
    assert all(u["updated_datetime"].endswith("+08:00") for u in updates)  # Kalimantan Timur: WITA
    # The request itself agrees.
    [request] = open311("GET", f"requests/{timeline['answered']}")[1]
    assert request["status"] == "closed" and request["status_notes"] == updates[0]["description"]

    status, xml, content_type = open311("GET", "servicerequestupdates", "xml")
    assert status == 200 and content_type.startswith("text/xml") and xml.tag == "service_requests_updates"
    assert [u.tag for u in xml] == ["request_update"] * 3
    first = xml.find("request_update")
    assert [c.tag for c in first] == ["update_id", "service_request_id", "status", "description",
                                      "updated_datetime", "media_url"]
    assert first.findtext("update_id") == updates[0]["update_id"]


def test_the_window_and_the_jurisdiction_bound_what_is_read(open311, timeline):  # noqa: F811
    def ids(query):
        status, updates, _ = open311("GET", "servicerequestupdates", query=query)
        assert status == 200, updates
        return [u["service_request_id"] for u in updates]

    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"start_date={later}") == []
    assert ids(f"start_date={earlier}&end_date={earlier.replace('Z', '+00:00')}".replace("+", "%2B")) == []
    assert len(ids(f"start_date={earlier}")) == 3
    assert set(ids("jurisdiction_id=64.01")) == {timeline["closed"]}
    assert ids("jurisdiction_id=64.72") == [timeline["answered"]]
    for query, says in (("start_date=2026-01-01T00:00:00Z&end_date=2026-01-09T00:00:00Z", "7 days"),
                        ("start_date=2026-01-02T00:00:00Z&end_date=2026-01-01T00:00:00Z", "after end_date"),
                        ("start_date=2026-01-01", "time zone")):
        status, errors, _ = open311("GET", "servicerequestupdates", query=query)
        assert status == 400 and says in errors[0]["description"], errors
        validate(errors, ERRORS_SCHEMA)
    assert open311("GET", "servicerequestupdates", query="jurisdiction_id=64.99")[0] == 404


def test_updates_are_read_by_key_one_query_per_day_never_a_scan(open311, timeline, monkeypatch):  # noqa: F811
    from lapor import runtime

    client = runtime.store().client
    calls = []
    for name in ("scan", "query", "batch_get_item"):
        original = getattr(client, name)
        monkeypatch.setattr(client, name, lambda *a, _o=original, _n=name, **k: calls.append((_n, k)) or _o(*a, **k))
    start = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(open311("GET", "servicerequestupdates", query=f"start_date={start}")[1]) == 3
    queries = [k for n, k in calls if n == "query"]
    assert {k["IndexName"] for k in queries} == {"PublicUpdates"} and len(queries) == 3  # 3 UTC days
    assert [n for n, _ in calls if n != "query"] == ["batch_get_item"]


def test_only_answers_and_closures_of_reports_not_known_private_carry_update_keys(timeline, aws):
    keyed = {}
    for item in event_items(aws):
        if "update_pk" in item:
            keyed.setdefault(item["PK"]["S"].removeprefix("REPORT#"), []).append(item["event"]["M"]["type"]["S"])
    # The confidential report's answer never enters the index; the sweep's closure enters it (no privacy read),
    # and the reader checks the report.
    assert keyed == {timeline["answered"]: ["responded"], timeline["closed"]: ["responded", "closed"]}
