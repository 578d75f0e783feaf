"""Open311's filtered listings (service_code, status, jurisdiction_id) read one key range per service and status
asked (ByService, ByServiceInRegency, ByServiceInDistrict), so they read what they return and never the rest of
the window; the keys follow every change that moves a report between Open311's open and closed."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from lapor import open311 as open311_mapping
from lapor import runtime, sweep
from lapor.dal import keys
from lapor.domain import ids, reference
from lapor.domain.clock import iso_utc
from lapor.models import Status
from test_open311 import api_key, open311, request_form  # noqa: F401 (fixtures)
from test_open311_mapping import validate

NOW = datetime.now(UTC).replace(microsecond=0)
REGIONS = ("64.72", "64.72.01", "64.72.02", "64.01", "64.01.01")
STATUSES = ("submitted", "routed", "in_progress", "escalated", "responded", "closed", "rejected")
CATEGORIES = ("infrastructure", "health", "education")


def test_open311_status_is_open_until_answered_and_the_keys_use_it():
    assert set(STATUSES) == set(Status.__args__)
    assert {s: open311_mapping.open311_status(s) for s in STATUSES} == {
        "submitted": "open", "routed": "open", "in_progress": "open", "escalated": "open",
        "responded": "closed", "closed": "closed", "rejected": "closed"}
    # CLOSED_STATUSES (the bench's baseline filter) says the same.
    assert {s for s in STATUSES if open311_mapping.open311_status(s) == "closed"} == open311_mapping.CLOSED_STATUSES


@pytest.fixture
def table(open311, api_key):  # noqa: F811
    """120 reports built from one filed through Open311: random category, status, region, privacy and filing time
    over 100 days (10 outside the default 90-day window). Returns the records as written."""
    first = open311("POST", "requests", form=request_form(api_key))[1][0]["service_request_id"]
    store = runtime.store()
    template = store.get_report(first)
    rng = random.Random(311)
    records = [template]
    for n in range(119):
        tracking_id = ids.new_tracking_id()
        records.append(template | {
            "tracking_id": tracking_id, "category": rng.choice(CATEGORIES), "status": rng.choice(STATUSES),
            "region_code": rng.choice(REGIONS), "privacy": rng.choice(("public", "public", "confidential")),
            "submitted_at": iso_utc(NOW - timedelta(days=91 + n % 9) if n < 10 else NOW - timedelta(minutes=53 * n)),
            "timeline": []})
    store._batch_put(item for record in records[1:] for item in store.new_items(record))
    return records


def expected(records, *, codes=(), states=(), jurisdiction=None, days=90):
    """What the listing must hold, worked out from the records themselves, newest first."""
    start = iso_utc(NOW - timedelta(days=days))
    found = [r for r in records if r["submitted_at"] >= start
             and (not codes or r["category"] in codes)
             and (not states or open311_mapping.open311_status(r["status"]) in states)
             and (jurisdiction is None or (r["privacy"] == "public" and r["status"] != "rejected"
                                           and (r["region_code"] + ".").startswith(jurisdiction + ".")))]
    return [r["tracking_id"] for r in sorted(found, key=lambda r: (r["submitted_at"], r["tracking_id"]), reverse=True)]


@pytest.fixture
def index_reads(monkeypatch):
    """Every Query the store sends during a test: (IndexName, items returned)."""
    client = runtime.store().client
    seen = []
    original = client.query

    def query(**kwargs):
        page = original(**kwargs)
        seen.append((kwargs.get("IndexName"), page["Count"]))
        return page

    monkeypatch.setattr(client, "query", query)
    return seen


@pytest.mark.parametrize("filters, codes, states, jurisdiction", [
    ("service_code=health", ("health",), (), None),
    ("status=closed", (), ("closed",), None),
    ("service_code=health,education&status=open", ("health", "education"), ("open",), None),
    ("service_code=infrastructure&jurisdiction_id=64.72", ("infrastructure",), (), "64.72"),
    ("status=open&jurisdiction_id=64.72.01", (), ("open",), "64.72.01"),
    ("service_code=health&status=closed&jurisdiction_id=64", ("health",), ("closed",), None),  # the province: all
])
def test_a_filtered_listing_reads_only_what_it_returns(open311, table, index_reads, filters, codes, states,  # noqa: F811
                                                       jurisdiction):
    index_reads.clear()
    status, listed, _ = open311("GET", "requests", query=filters)
    assert status == 200
    validate(listed, "requests.json")
    wanted = expected(table, codes=codes, states=states, jurisdiction=jurisdiction)
    assert wanted, "the table must hold matches for this filter"
    assert [r["service_request_id"] for r in listed] == wanted
    level = 0 if jurisdiction is None else keys.public_level(jurisdiction)
    assert {name for name, _ in index_reads} == {keys.SERVICE_INDEXES[level]}
    # Fewer matches than the 1000 a listing may return: every index item read is returned, none is left over.
    assert sum(count for _, count in index_reads) == len(wanted)
    # One Query per service and status asked (all 11 services when none is named, both statuses when none is).
    assert len(index_reads) == (len(codes) or len(reference.categories())) * (len(states) or 2)


def test_an_unknown_service_code_reads_nothing(open311, table, index_reads):  # noqa: F811
    index_reads.clear()
    status, listed, _ = open311("GET", "requests", query="service_code=does-not-exist")
    assert (status, listed, index_reads) == (200, [], [])


def test_a_window_and_no_filter_still_reads_the_window_by_date(open311, table, index_reads):  # noqa: F811
    index_reads.clear()
    listed = open311("GET", "requests", query="start_date=" + iso_utc(NOW - timedelta(days=2)))[1]
    assert [r["service_request_id"] for r in listed] == expected(table, days=2)
    assert {name for name, _ in index_reads} == {keys.BY_MONTH}


@pytest.mark.parametrize("page_size", [100, 3])  # 3: each key's range takes several pages
@pytest.mark.parametrize("limit", [1, 7, 25])
def test_merging_several_keys_reads_at_most_one_page_per_key_beyond_the_limit(table, index_reads, limit, page_size,
                                                                              monkeypatch):
    from lapor.dal import reports

    monkeypatch.setattr(reports, "SERVICE_PAGE_SIZE", page_size)
    store = runtime.store()
    start, end = iso_utc(NOW - timedelta(days=90)), iso_utc(datetime.now(UTC))  # the template was filed after NOW
    index_reads.clear()
    found = store.newest_by_service(CATEGORIES, ("open", "closed"), start, end, limit=limit)
    wanted = expected(table, codes=CATEGORIES)
    assert found == wanted[:limit]
    keys_queried = len(CATEGORIES) * 2
    page = min(limit, page_size)
    assert sum(count for _, count in index_reads) <= limit + keys_queried * page
    # One key: exactly the page asked for, nothing more.
    index_reads.clear()
    only = store.newest_by_service(["health"], ["open"], start, end, limit=limit)
    assert only == expected(table, codes=("health",), states=("open",))[:limit]
    assert sum(count for _, count in index_reads) == len(only)


def keys_of(tracking_id):
    store = runtime.store()
    item = store.client.get_item(TableName=store.table_name, Key=keys.report_key(tracking_id))["Item"]
    return {name: item[name]["S"] for name in keys.SERVICE_PK.values() if name in item}


def test_the_keys_follow_answers_reopening_rejection_and_the_sweep(open311, api_key):  # noqa: F811
    store = runtime.store()
    tracking_id = open311("POST", "requests", form=request_form(api_key, **{
        "attribute[region_code]": "64.72.01"}))[1][0]["service_request_id"]
    assert keys_of(tracking_id) == {"service_pk": "SERVICE#infrastructure#open",
                                    "service_pk2": "SERVICE#64.72#infrastructure#open",
                                    "service_pk3": "SERVICE#64.72.01#infrastructure#open"}

    def change(record, status):
        event = {"type": "status_changed", "id": ids.new_tracking_id(), "at": iso_utc(datetime.now(UTC))}
        return store.record_change(record, {"status": status}, event=event, now_utc=event["at"])

    # The sweep escalates from ByDue's projection (no category, no privacy): the keys stay, still open.
    full = store.get_report(tracking_id)
    projected = {k: full[k] for k in ("tracking_id", "status", "version", "agency_id", "region_code", "due_at",
                                      "due_at_utc", "submitted_at", "deadline_working_days")}
    change(projected, "escalated")
    assert set(keys_of(tracking_id).values()) == {"SERVICE#infrastructure#open", "SERVICE#64.72#infrastructure#open",
                                                  "SERVICE#64.72.01#infrastructure#open"}
    change(store.get_report(tracking_id), "responded")
    assert set(keys_of(tracking_id).values()) == {"SERVICE#infrastructure#closed",
                                                  "SERVICE#64.72#infrastructure#closed",
                                                  "SERVICE#64.72.01#infrastructure#closed"}
    # The sweep closes a silent answer from ByClosing's projection: closed it was, closed it stays.
    full = store.get_report(tracking_id)
    closing = {k: full[k] for k in ("tracking_id", "status", "version", "agency_id", "region_code", "submitted_at")}
    changes, event = sweep.closing(closing | {"agency_name": "x", "closes_at_utc": iso_utc(NOW)}, NOW)
    store.record_change(closing, changes, event=event, now_utc=event["at"])
    assert keys_of(tracking_id)["service_pk"] == "SERVICE#infrastructure#closed"
    change(store.get_report(tracking_id), "submitted")  # reopened (as the reporter's "not resolved" does)
    assert keys_of(tracking_id)["service_pk2"] == "SERVICE#64.72#infrastructure#open"
    # Rejected: out of the regions' public listings, still in the deployment's, as closed.
    change(store.get_report(tracking_id), "rejected")
    assert keys_of(tracking_id) == {"service_pk": "SERVICE#infrastructure#closed"}
    listed = open311("GET", "requests", query="service_code=infrastructure&status=closed")[1]
    assert tracking_id in [r["service_request_id"] for r in listed]
    assert open311("GET", "requests", query="status=closed&jurisdiction_id=64.72")[1] == []


def test_confidential_reports_are_in_no_region_s_keys(open311, api_key):  # noqa: F811
    tracking_id = open311("POST", "requests", form=request_form(api_key, **{
        "attribute[privacy]": "confidential"}))[1][0]["service_request_id"]
    assert keys_of(tracking_id) == {"service_pk": "SERVICE#infrastructure#open"}
    assert open311("GET", "requests", query="status=open&jurisdiction_id=64.72")[1] == []
    [listed] = open311("GET", "requests", query="status=open")[1]
    assert listed["service_request_id"] == tracking_id and listed["description"] is None


def test_the_report_index_attributes_are_every_index_key_of_the_template():
    from conftest import ROOT
    from lapor_cli.template import load_template

    table = load_template(ROOT / "template.yaml").tables["ReportsTable"]
    indexed = {k["AttributeName"] for index in table["GlobalSecondaryIndexes"] for k in index["KeySchema"]}
    # Timeline events carry the updates index's keys; every other index is over report items.
    # ``supporters`` (BySupport) is the count itself, which supports add to: no writer of index keys touches it.
    assert set(keys.REPORT_INDEX_ATTRIBUTES) | set(keys.COUNTED_INDEX_ATTRIBUTES) == indexed - {"update_pk", "update_sk"}
    assert not set(keys.REPORT_INDEX_ATTRIBUTES) & set(keys.COUNTED_INDEX_ATTRIBUTES)


def test_reindex_gives_older_reports_the_keys_their_state_calls_for(open311, api_key, aws, capsys,  # noqa: F811
                                                                    monkeypatch):
    from lapor_cli.main import main

    store = runtime.store()
    older, current = (open311("POST", "requests", form=request_form(api_key))[1][0]["service_request_id"]
                      for _ in range(2))
    # As written before ByService existed, and with a due key its answered state no longer calls for.
    aws.update_item(TableName=store.table_name, Key=keys.report_key(older),
                    UpdateExpression="SET #status = :closed REMOVE service_pk, service_pk2",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":closed": {"S": "closed"}})
    assert keys_of(older) == {} and open311("GET", "requests", query="status=closed")[1] == []
    due_before = {k: v for k, v in aws.get_item(TableName=store.table_name, Key=keys.report_key(current))["Item"].items()
                  if k.startswith("due_")}

    assert main(["reindex"]) == 0
    assert "2 reports read, 1 given the index keys" in capsys.readouterr().out
    assert keys_of(older) == {"service_pk": "SERVICE#infrastructure#closed",
                              "service_pk2": "SERVICE#64.72#infrastructure#closed"}
    item = aws.get_item(TableName=store.table_name, Key=keys.report_key(older))["Item"]
    assert "due_pk" not in item and "due_sk" not in item  # closed: out of the sweep's index
    assert [r["service_request_id"] for r in open311("GET", "requests", query="status=closed")[1]] == [older]
    current_item = aws.get_item(TableName=store.table_name, Key=keys.report_key(current))["Item"]
    assert {k: v for k, v in current_item.items() if k.startswith("due_")} == due_before
    assert store.reindex() == {"reports": 2, "updated": 0, "changed_meanwhile": 0}  # nothing left to do

    # A report that changes between the Scan and its update keeps what its change wrote.
    aws.update_item(TableName=store.table_name, Key=keys.report_key(current), UpdateExpression="REMOVE service_pk")
    scan = store.client.scan

    def scan_then_change(**kwargs):
        page = scan(**kwargs)
        aws.update_item(TableName=store.table_name, Key=keys.report_key(current),
                        UpdateExpression="SET version = version + :one", ExpressionAttributeValues={":one": {"N": "1"}})
        return page

    monkeypatch.setattr(store.client, "scan", scan_then_change)
    assert store.reindex() == {"reports": 2, "updated": 0, "changed_meanwhile": 1}
    assert "service_pk" not in keys_of(current)


def test_the_api_function_may_query_every_index_the_listings_read(open311, table, index_reads):  # noqa: F811
    """moto enforces no IAM: the indexes the Open311 listings queried are checked against ApiFunction's policy."""
    from test_template_security import statements

    for filters in ("service_code=health", "status=open&jurisdiction_id=64.72", "status=open&jurisdiction_id=64.72.01",
                    "jurisdiction_id=64.72", ""):
        assert open311("GET", "requests", query=filters)[0] == 200
    granted = {resource["Fn::Sub"].rpartition("/index/")[2]
               for statement in statements("ApiFunction") if "dynamodb:Query" in statement["Action"]
               for resource in statement["Resource"] if isinstance(resource, dict) and "Fn::Sub" in resource}
    queried = {name for name, _ in index_reads}
    assert {"ByService", "ByServiceInRegency", "ByServiceInDistrict", "ByMonth", "PublicByRegency"} <= queried
    assert queried <= granted
