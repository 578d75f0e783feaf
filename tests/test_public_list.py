"""``GET /reports``: a region's public reports, newest first, from the public index of its level (never a Scan);
confidential, anonymous and rejected reports are never listed; signed cursors."""

from __future__ import annotations

import pytest

from conftest import VALID_REPORT, report_items
from lapor import runtime
from lapor.dal import keys


@pytest.fixture
def sent(aws):
    """Every DynamoDB request the store makes, as (operation, parameters)."""
    calls = []
    runtime.store().client.meta.events.register("provide-client-params.dynamodb.*",
                                                lambda params, model, **_: calls.append((model.name, dict(params))))
    return calls


def file(call_api, **changes):
    body = {k: v for k, v in VALID_REPORT.items() if k not in changes} | {k: v for k, v in changes.items() if v}
    reply = call_api("POST", "/reports", json_body=body)
    assert reply.status == 201, reply.body
    return reply.body["tracking_id"]


def newest_first(*tracking_ids):
    """The ids in the listing's order: newest first (reports filed in the same second: by tracking id, down)."""
    import boto3

    stored = {i["tracking_id"]["S"]: i["submitted_at"]["S"] for i in report_items(boto3.client("dynamodb"))}
    return sorted(tracking_ids, key=lambda t: (stored[t], t), reverse=True)


def listing(call_api, query):
    reply = call_api("GET", "/reports", query=query)
    assert reply.status == 200, reply.body
    return reply.body


def test_public_reports_are_listed_under_every_level_newest_first_and_never_the_others(aws, call_api, sent):
    city = file(call_api, title="Jalan berlubang di pusat kota")
    district = file(call_api, region_code="64.72.01", title="Lampu jalan mati di kecamatan")
    secret = file(call_api, privacy="confidential", title="Rahasia: pungutan liar")
    anonymous = file(call_api, privacy="anonymous", reporter=None, title="Anonim: pungutan liar")
    other_city = file(call_api, region_code="64.71", title="Banjir di Balikpapan")
    sent.clear()

    province = listing(call_api, "region_code=64")
    assert [i["tracking_id"] for i in province["items"]] == newest_first(other_city, district, city)
    assert province["next_cursor"] is None
    assert [i["tracking_id"] for i in listing(call_api, "region_code=64.72")["items"]] == newest_first(district, city)
    assert [i["tracking_id"] for i in listing(call_api, "region_code=64.72.01")["items"]] == [district]
    assert listing(call_api, "region_code=64.72.02")["items"] == []
    # One Query of the public index of the region's level per listing; never a Scan, never the table itself but
    # for the page's supporters (one BatchGetItem of that attribute: the public indexes cannot project it).
    assert [(op, p["IndexName"], p["ExpressionAttributeValues"][":pk"]["S"]) for op, p in sent if op == "Query"] == [
        ("Query", "PublicByProvince", "PUBLIC#64"), ("Query", "PublicByRegency", "PUBLIC#64.72"),
        ("Query", "PublicByDistrict", "PUBLIC#64.72.01"), ("Query", "PublicByDistrict", "PUBLIC#64.72.02")]
    batches = [p for op, p in sent if op == "BatchGetItem"]
    assert [len(p["RequestItems"][runtime.store().table_name]["Keys"]) for p in batches] == [3, 2, 1]
    # Only the count (and the id it belongs to) is read of each report.
    assert {tuple(sorted(p["RequestItems"][runtime.store().table_name]["ExpressionAttributeNames"].values()))
            for p in batches} == {("supporters", "tracking_id")}
    assert {op for op, _ in sent} <= {"Query", "BatchGetItem", "GetItem"}

    item = next(i for i in province["items"] if i["tracking_id"] == city)
    assert item["title"] == "Jalan berlubang di pusat kota"
    assert item["agency"]["id"] == "64-72-pupr" and item["location"] == VALID_REPORT["location"]
    assert item["submitted_at"].endswith("+08:00")  # the region's own time (WITA)
    assert "reporter" not in item and "description" not in item and "privacy" not in item
    # Confidential and anonymous reports carry no public key at all: they cannot be listed by any query.
    stored = {i["tracking_id"]["S"]: i for i in report_items(aws)}
    for hidden in (secret, anonymous):
        assert not {"public_pk1", "public_pk2", "public_pk3", "public_sk"} & stored[hidden].keys()
    assert stored[district]["public_pk3"]["S"] == "PUBLIC#64.72.01"
    assert "public_pk3" not in stored[city]


def test_filters_pages_and_signed_cursors(call_api):
    filed = [file(call_api, title=f"Jalan rusak nomor {n}") for n in range(5)]
    health = file(call_api, category="health", title="Puskesmas tutup siang hari")
    first = listing(call_api, "region_code=64.72&category=infrastructure&limit=2")
    filed = newest_first(*filed)
    assert [i["tracking_id"] for i in first["items"]] == filed[:2]
    second = listing(call_api, f"region_code=64.72&category=infrastructure&limit=2&cursor={first['next_cursor']}")
    assert [i["tracking_id"] for i in second["items"]] == filed[2:4]
    assert [i["tracking_id"] for i in listing(call_api, "region_code=64.72&category=health")["items"]] == [health]
    assert listing(call_api, "region_code=64.72&status=responded")["items"] == []
    # A cursor is good only for the listing and filters it came from.
    for query in (f"region_code=64.71&category=infrastructure&limit=2&cursor={first['next_cursor']}",
                  f"region_code=64.72&limit=2&cursor={first['next_cursor']}",
                  "region_code=64.72&cursor=eyJQSyI6eyJTIjoiWCJ9fQ.AAAA"):
        bad = call_api("GET", "/reports", query=query)
        assert (bad.status, bad.body["error"]["code"]) == (400, "invalid_cursor"), query


def test_a_rejected_report_leaves_the_listing_and_a_status_change_follows(call_api, token):
    spam = file(call_api, title="Iklan pinjaman online murah")
    kept = file(call_api, title="Trotoar rusak di depan sekolah")
    admin = {"Authorization": token("admin", "nasional")}
    assert call_api("POST", f"/reports/{spam}/reject", headers=admin, json_body={"reason": "Spam"}).status == 200
    operator = {"Authorization": token("operator", "64-72-pupr")}
    assert call_api("POST", f"/reports/{kept}/responses", headers=operator,
                    json_body={"message": "Sudah diperbaiki.", "status": "responded"}).status == 200
    items = listing(call_api, "region_code=64.72")["items"]
    assert [(i["tracking_id"], i["status"]) for i in items] == [(kept, "responded")]
    assert [i["tracking_id"] for i in listing(call_api, "region_code=64&status=responded")["items"]] == [kept]


def test_bad_queries(call_api):
    assert call_api("GET", "/reports", query="region_code=64.99").body["error"]["code"] == "unknown_region"
    assert call_api("GET", "/reports", query="region_code=64.99").status == 404
    reply = call_api("GET", "/reports", query="region_code=64&category=nope")
    assert (reply.status, reply.body["error"]["code"]) == (422, "unknown_category")
    for query in ("", "region_code=6", "region_code=64&limit=0", "region_code=64&limit=51", "region_code=64&status=rejected"):
        assert call_api("GET", "/reports", query=query).status == 422, query


def test_public_keys_follow_privacy_and_status():
    report = {"privacy": "public", "status": "routed", "region_code": "64.72.01", "submitted_at": "2027-01-02T03:04:05Z",
              "tracking_id": "LPR-AAAA2222"}
    assert keys.public_keys(report) == {"public_pk1": "PUBLIC#64", "public_pk2": "PUBLIC#64.72",
                                        "public_pk3": "PUBLIC#64.72.01",
                                        "public_sk": "2027-01-02T03:04:05Z#LPR-AAAA2222"}
    assert keys.public_keys(report | {"privacy": "confidential"}) == {}
    assert keys.public_keys(report | {"privacy": "anonymous"}) == {}
    assert keys.public_keys(report | {"status": "rejected"}) == {}


def test_the_sweep_keeps_a_public_report_listed_when_it_escalates_or_closes(aws, call_api, token):
    """The sweep changes reports read from its indexes, which do not project ``privacy``: the keys stay."""
    from datetime import UTC, datetime, timedelta

    from lapor import sweep

    overdue, answered = file(call_api, title="Lampu lalu lintas mati"), file(call_api, title="Got mampet")
    operator = {"Authorization": token("operator", "64-72-pupr")}
    assert call_api("POST", f"/reports/{answered}/responses", headers=operator,
                    json_body={"message": "Sudah dibersihkan.", "status": "responded"}).status == 200
    # Far enough ahead that the first is overdue and the second's reopen window has passed.
    sweep.run_sweep(runtime.store(), runtime.config_cache().get(), dry_run=False, shards=8,
                    as_of=datetime.now(UTC) + timedelta(days=120))
    listed = {i["tracking_id"]: i["status"] for i in listing(call_api, "region_code=64.72")["items"]}
    assert listed == {overdue: "escalated", answered: "closed"}
