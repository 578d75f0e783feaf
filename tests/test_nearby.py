"""``GET /reports/nearby`` and ``possible_duplicates``: a sparse geographic index keyed by geohash cell (public,
located, neither closed nor rejected reports only); a few cells read per query, never the table; exact distance
decides; confidential and anonymous reports never listed."""

from __future__ import annotations

import math

import pygeohash
import pytest

from conftest import VALID_REPORT, report_items
from lapor import runtime
from lapor.dal import keys
from lapor.domain.geo import haversine_m

CENTRE = (-0.5022, 117.1536)  # central Samarinda, the sample report's location
M_LAT = 1 / 111_195.0


def offset(point, north_m=0.0, east_m=0.0):
    lat, lon = point
    return {"lat": lat + north_m * M_LAT, "lon": lon + east_m * M_LAT / math.cos(math.radians(lat))}


@pytest.fixture
def sent(aws):
    """Every DynamoDB request and reply of the store, as (operation, parameters, parsed reply)."""
    import threading

    calls, pending = [], {}  # the filing's duplicates lookup runs in a thread of its own: replies by thread

    def params(params, model, **_):
        pending[threading.get_ident()] = call = [model.name, dict(params), None]
        calls.append(call)

    events = runtime.store().client.meta.events
    events.register("provide-client-params.dynamodb.*", params)
    events.register("after-call.dynamodb.*", lambda parsed, **_: pending[threading.get_ident()].__setitem__(2, parsed))
    return calls


def file(call_api, location, **changes):
    body = {k: v for k, v in VALID_REPORT.items() if k not in changes} | {k: v for k, v in changes.items() if v}
    body = body | {"location": location} if location else {k: v for k, v in body.items() if k != "location"}
    reply = call_api("POST", "/reports", json_body=body)
    assert reply.status == 201, reply.body
    return reply.body


def nearby(call_api, lat, lon, **params):
    query = "&".join(f"{k}={v}" for k, v in {"lat": lat, "lon": lon, **params}.items())
    reply = call_api("GET", "/reports/nearby", query=query)
    assert reply.status == 200, reply.body
    return reply.body["items"]


def test_nearby_lists_public_open_reports_within_the_radius_newest_first(aws, call_api):
    point = {"lat": CENTRE[0], "lon": CENTRE[1]}
    near = file(call_api, offset(CENTRE, 100, 0), title="Jalan berlubang dekat pasar")["tracking_id"]
    nearer = file(call_api, offset(CENTRE, 0, -40), title="Lubang kedua dekat pasar")["tracking_id"]
    far = file(call_api, offset(CENTRE, 300, 0), title="Lubang di ujung jalan")["tracking_id"]
    secret = file(call_api, offset(CENTRE, 10, 0), privacy="confidential", title="Rahasia: pungutan liar")
    anonymous = file(call_api, offset(CENTRE, 10, 0), privacy="anonymous", reporter=None, title="Anonim: pungli")
    unlocated = file(call_api, None, title="Lubang tanpa lokasi")
    health = file(call_api, offset(CENTRE, 20, 0), category="health", title="Puskesmas tutup siang")["tracking_id"]

    items = nearby(call_api, point["lat"], point["lon"])
    stored = {i["tracking_id"]["S"]: i for i in report_items(aws)}
    expected = sorted([near, nearer, health], key=lambda t: (stored[t]["submitted_at"]["S"], t), reverse=True)
    assert [i["tracking_id"] for i in items] == expected
    first = next(i for i in items if i["tracking_id"] == near)
    assert set(first) == {"tracking_id", "category", "status", "title", "distance_m", "submitted_at", "supporters"}
    assert abs(first["distance_m"] - 100) <= 1 and first["supporters"] == 0
    assert first["title"] == "Jalan berlubang dekat pasar" and first["submitted_at"].endswith("+08:00")
    assert [i["tracking_id"] for i in nearby(call_api, point["lat"], point["lon"], category="health")] == [health]
    assert far in {i["tracking_id"] for i in nearby(call_api, point["lat"], point["lon"], radius_m=350)}
    # Confidential, anonymous and unlocated reports carry no geographic key: no query can list them.
    for hidden in (secret, anonymous, unlocated):
        assert not {"near_pk", "near_sk"} & stored[hidden["tracking_id"]].keys()
    assert stored[near]["near_pk"]["S"] == "CELL#" + pygeohash.encode(*CENTRE, 6) == "CELL#qxgm1u"


def test_a_report_across_a_cell_border_is_found(call_api):
    # The point's cell's eastern edge, and points 60 m either side of it: different cells, 120 m apart.
    lat, lon, _, lon_err = pygeohash.decode_exactly(pygeohash.encode(*CENTRE, 6))
    edge = (lat, lon + lon_err)
    west, east = offset(edge, 0, -60), offset(edge, 0, 60)
    assert pygeohash.encode(west["lat"], west["lon"], 6) != pygeohash.encode(east["lat"], east["lon"], 6)
    across = file(call_api, east, title="Lubang di seberang batas sel")["tracking_id"]
    assert [i["tracking_id"] for i in nearby(call_api, west["lat"], west["lon"], radius_m=150)] == [across]
    assert nearby(call_api, west["lat"], west["lon"], radius_m=100) == []


def test_closed_and_rejected_reports_leave_the_index_and_the_sweep_keeps_open_ones(aws, call_api, token):
    from datetime import UTC, datetime, timedelta

    from lapor import sweep

    spam = file(call_api, offset(CENTRE, 10, 0), title="Iklan pinjaman online")["tracking_id"]
    answered = file(call_api, offset(CENTRE, 20, 0), title="Got mampet di gang")["tracking_id"]
    overdue = file(call_api, offset(CENTRE, 30, 0), title="Lampu lalu lintas mati")["tracking_id"]
    admin = {"Authorization": token("admin", "nasional")}
    assert call_api("POST", f"/reports/{spam}/reject", headers=admin, json_body={"reason": "Spam"}).status == 200
    operator = {"Authorization": token("operator", "64-72-pupr")}
    assert call_api("POST", f"/reports/{answered}/responses", headers=operator,
                    json_body={"message": "Sudah dibersihkan.", "status": "responded"}).status == 200
    listed = {i["tracking_id"]: i["status"] for i in nearby(call_api, *CENTRE)}
    assert listed == {answered: "responded", overdue: "routed"}
    # The sweep reads from indexes that project neither privacy nor location: escalating keeps the report in,
    # closing (a silent reporter) takes it out.
    sweep.run_sweep(runtime.store(), runtime.config_cache().get(), dry_run=False, shards=8,
                    as_of=datetime.now(UTC) + timedelta(days=120))
    assert {i["tracking_id"]: i["status"] for i in nearby(call_api, *CENTRE)} == {overdue: "escalated"}
    stored = {i["tracking_id"]["S"]: i for i in report_items(aws)}
    assert stored[answered]["status"]["S"] == "closed" and "near_pk" not in stored[answered]
    assert "near_pk" not in stored[spam] and "near_sk" not in stored[spam]


def test_possible_duplicates_in_the_filing_reply(call_api):
    first = file(call_api, offset(CENTRE, 200, 0), title="Jalan berlubang di Jl. Pahlawan")
    assert first["possible_duplicates"] == []
    closest = file(call_api, offset(CENTRE, 50, 0), title="Lubang besar depan pasar")["tracking_id"]
    file(call_api, offset(CENTRE, 60, 0), category="health", title="Puskesmas tutup siang")  # another category
    file(call_api, offset(CENTRE, 20, 0), privacy="confidential", title="Rahasia: lubang dekat rumah")
    file(call_api, offset(CENTRE, 400, 0), title="Lubang agak jauh")  # beyond 250 m
    for n in range(5):
        file(call_api, offset(CENTRE, -(100 + 10 * n), 0), title=f"Lubang di selatan nomor {n}")
    reply = file(call_api, {"lat": CENTRE[0], "lon": CENTRE[1]}, title="Lubang yang sama lagi")
    duplicates = reply["possible_duplicates"]
    assert len(duplicates) == 5 and duplicates[0]["tracking_id"] == closest
    assert [d["distance_m"] for d in duplicates] == sorted(d["distance_m"] for d in duplicates)
    assert all(d["distance_m"] <= 250 and d["category"] == "infrastructure" for d in duplicates)
    assert reply["tracking_id"] not in {d["tracking_id"] for d in duplicates}
    assert file(call_api, None, title="Tanpa lokasi sama sekali").get("possible_duplicates") is None


def test_a_query_reads_only_parts_of_the_cells_around_the_point(aws, call_api, sent):
    centre_cell = pygeohash.encode(*CENTRE, 6)
    column = [pygeohash.get_adjacent(centre_cell, "top"), centre_cell, pygeohash.get_adjacent(centre_cell, "bottom")]
    around = {c for cell in column for c in (pygeohash.get_adjacent(cell, "left"), cell,
                                             pygeohash.get_adjacent(cell, "right"))}
    assert len(around) == 9
    inside = [file(call_api, offset(CENTRE, 30 * n, 0), title=f"Lubang nomor {n}")["tracking_id"] for n in range(4)]
    # Far away (another cell's reports are never read), and in the point's cell but 400 m away: not read either.
    for east_km in (3, 10, 50):
        file(call_api, offset(CENTRE, 0, 1000 * east_km), title=f"Lubang {east_km} km ke timur")
    same_cell = offset(CENTRE, 0, -400)
    assert pygeohash.encode(same_cell["lat"], same_cell["lon"], 6) == centre_cell
    file(call_api, same_cell, title="Lubang 400 m ke barat")
    sent.clear()
    found = nearby(call_api, *CENTRE)
    assert sorted(i["tracking_id"] for i in found) == sorted(inside)
    queries = [(params, reply) for op, params, reply in sent if op == "Query"]
    assert {params["IndexName"] for params, _ in queries} == {"NearbyCells"} and len(queries) <= 8
    assert all(params["KeyConditionExpression"] == "near_pk = :pk AND near_sk BETWEEN :low AND :high"
               for params, _ in queries)
    cells = {params["ExpressionAttributeValues"][":pk"]["S"].removeprefix("CELL#") for params, _ in queries}
    assert cells <= around
    # Index entries read: the four within 250 m, not the one 400 m away in the same cell; then those four reports.
    assert sum(reply["ScannedCount"] for _, reply in queries) == 4
    batches = [params for op, params, _ in sent if op == "BatchGetItem"]
    assert sum(len(p["RequestItems"][runtime.store().table_name]["Keys"]) for p in batches) == 4
    assert {op for op, _, _ in sent} == {"Query", "BatchGetItem"}


def test_the_filing_reads_a_few_index_entries_and_only_the_duplicates_shown(aws, call_api, sent):
    for n in range(8):
        file(call_api, offset(CENTRE, 20 * n, 0), title=f"Lubang nomor {n}")
    file(call_api, offset(CENTRE, 0, -400), title="Lubang 400 m ke barat")
    sent.clear()
    reply = file(call_api, {"lat": CENTRE[0], "lon": CENTRE[1]}, title="Lubang yang sama")
    assert len(reply["possible_duplicates"]) == 5
    queries = [reply for op, _, reply in sent if op == "Query" and _.get("IndexName") == "NearbyCells"]
    assert 1 <= len(queries) <= 4 and sum(r["ScannedCount"] for r in queries) <= 9
    read = sum(len(p["RequestItems"][runtime.store().table_name]["Keys"]) for op, p, _ in sent if op == "BatchGetItem")
    assert read <= 6


@pytest.mark.parametrize("radius", [1, 250, 1000])
def test_the_ranges_cover_the_circle(radius):
    for lat, lon in (CENTRE, (1.2, 116.9), (-8.65, 115.2167), (5.55, 95.32), (0.3, 179.9999), (-0.3, -179.9999)):
        for max_ranges, finest in ((1, 8), (4, 7), (8, 8)):
            ranges = keys.nearby_ranges(lat, lon, radius, max_ranges, finest)
            partitions = {pk for pk, _, _ in ranges}
            assert len(ranges) <= max(max_ranges, len(partitions)) and len(partitions) <= (4 if radius <= 250 else 15)
            for bearing in range(0, 360, 10):
                for fraction in (0, 0.5, 0.99):
                    d = radius * fraction
                    point = offset((lat, lon), d * math.cos(math.radians(bearing)), d * math.sin(math.radians(bearing)))
                    point["lon"] = (point["lon"] + 180) % 360 - 180
                    assert abs(haversine_m(lat, lon, point["lat"], point["lon"]) - d) < 0.01 * d + 0.5
                    if haversine_m(lat, lon, point["lat"], point["lon"]) > radius:
                        continue  # the flat offset overshot: not in the circle
                    entry = keys.nearby_keys({"privacy": "public", "status": "routed", "location": point,
                                              "category": "health", "submitted_at": "2027-01-02T03:04:05Z"})
                    assert any(entry["near_pk"] == pk and low <= entry["near_sk"] <= high for pk, low, high in ranges)


def test_a_250_m_circle_reads_less_than_twice_its_area():
    """The cells of the ranges, against the circle: at most 8 Queries read under 2x its area in Samarinda."""
    for north, east in ((0, 0), (130, -70), (-300, 410), (555, 555)):
        point = offset(CENTRE, north, east)
        ranges = keys.nearby_ranges(point["lat"], point["lon"], 250, 8)
        box = pygeohash.get_bounding_box(ranges[0][1])
        cell_m2 = ((box.max_lat - box.min_lat) / M_LAT) * ((box.max_lon - box.min_lon) / M_LAT) * math.cos(
            math.radians(point["lat"]))
        cells = sum(int("".join(keys._BASE32_DIGITS[c] for c in high[6:-1]), 32)
                    - int("".join(keys._BASE32_DIGITS[c] for c in low[6:]), 32) + 1 for _, low, high in ranges)
        assert cells * cell_m2 < 2 * math.pi * 250 ** 2


def test_nearby_keys_follow_privacy_status_and_location():
    report = {"privacy": "public", "status": "routed", "location": {"lat": CENTRE[0], "lon": CENTRE[1]},
              "category": "infrastructure", "submitted_at": "2027-01-02T03:04:05Z", "tracking_id": "LPR-AAAA2222"}
    assert keys.nearby_keys(report) == {"near_pk": "CELL#qxgm1u",
                                        "near_sk": "qxgm1usdkxps#infrastructure#2027-01-02T03:04:05Z"}
    entry = keys.nearby_entry({"PK": "REPORT#LPR-AAAA2222", "near_sk": "qxgm1usdkxps#infrastructure#2027-01-02T03:04:05Z"})
    assert entry["tracking_id"] == "LPR-AAAA2222" and entry["category"] == "infrastructure"
    assert haversine_m(*CENTRE, entry["lat"], entry["lon"]) < 0.05
    for change in ({"privacy": "confidential"}, {"privacy": "anonymous"}, {"status": "closed"},
                   {"status": "rejected"}, {"location": None}):
        assert keys.nearby_keys(report | change) == {}
    assert keys.nearby_keys(report | {"status": "responded"})


def test_bad_queries(call_api):
    for query in ("", "lat=1", "lon=1", "lat=91&lon=1", "lat=1&lon=181", "lat=x&lon=1", "lat=1&lon=1&radius_m=0",
                  "lat=1&lon=1&radius_m=1001", "lat=nan&lon=1"):
        assert call_api("GET", "/reports/nearby", query=query).status == 422, query
    # Near a pole a cell narrows to nothing east-west: refused at once, not thousands of Queries (fuzz found it).
    for lat in (90, -90, 89.99):
        reply = call_api("GET", "/reports/nearby", query=f"lat={lat}&lon=117.15&radius_m=250")
        assert (reply.status, reply.body["error"]["code"]) == (422, "too_many_cells"), lat
    polar = file(call_api, {"lat": 90.0, "lon": 0.0}, title="Lubang di kutub utara")
    assert polar["possible_duplicates"] == []
    reply = call_api("GET", "/reports/nearby", query="lat=1&lon=1&category=nope")
    assert (reply.status, reply.body["error"]["code"]) == (422, "unknown_category")


# -- supporters ("dukung") ---------------------------------------------------------------------------------------

DEVICE = "3f0e9a51-2c7a-4d7b-8e13-5b0c1a52d6e8"
OTHER_DEVICE = "Zq8vW3xT1rYp0sLmK7nB4cHd"


def support(call_api, tracking_id, device_key=DEVICE):
    return call_api("POST", f"/reports/{tracking_id}/supporters", json_body={"device_key": device_key})


def test_a_device_supports_a_report_once_and_the_count_shows_everywhere(aws, call_api):
    filed = file(call_api, offset(CENTRE, 30, 0), title="Jalan berlubang dekat pasar")
    tracking_id = filed["tracking_id"]
    first = support(call_api, tracking_id)
    assert (first.status, first.body) == (200, {"tracking_id": tracking_id, "supporters": 1, "added": True})
    again = support(call_api, tracking_id)
    assert (again.status, again.body) == (200, {"tracking_id": tracking_id, "supporters": 1, "added": False})
    assert support(call_api, tracking_id.lower(), OTHER_DEVICE).body["supporters"] == 2
    assert call_api("GET", f"/reports/{tracking_id}").body["supporters"] == 2
    own = call_api("GET", f"/reports/{tracking_id}", headers={"X-Access-Code": filed["access_code"]})
    assert own.body["supporters"] == 2
    [listed] = call_api("GET", "/reports", query="region_code=64").body["items"]
    assert listed["supporters"] == 2
    [near] = nearby(call_api, *CENTRE)
    assert near["supporters"] == 2
    # Stored: the count on the report (its version untouched), and per device only a hash, apart from the report.
    items = aws.scan(TableName=runtime.store().table_name)["Items"]
    [report] = [i for i in items if i["PK"]["S"] == f"REPORT#{tracking_id}" and i["SK"]["S"] == "META"]
    assert report["supporters"]["N"] == "2" and report["version"]["N"] == "1"
    devices = [i for i in items if i["PK"]["S"] == f"SUPPORT#{tracking_id}"]
    assert len(devices) == 2 and all(set(i) == {"PK", "SK"} for i in devices)
    assert not any(DEVICE in json_text or OTHER_DEVICE in json_text for json_text in map(str, items))


def test_support_refusals(call_api, token):
    tracking_id = file(call_api, offset(CENTRE, 30, 0))["tracking_id"]
    for body in ({}, {"device_key": "short"}, {"device_key": DEVICE, "extra": 1}, {"device_key": "a b" * 20},
                 {"device_key": 12345678901234567890123}):
        reply = call_api("POST", f"/reports/{tracking_id}/supporters", json_body=body)
        assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error"), body
    for weak in ("a" * 30, "1234567890123456789012345", "00000000-0000-4000-8000-000000000000"):
        reply = support(call_api, tracking_id, weak)
        assert (reply.status, reply.body["error"]["code"]) == (422, "weak_device_key"), weak
    assert support(call_api, "LPR-22222222").status == 404
    secret = file(call_api, offset(CENTRE, 30, 0), privacy="confidential")["tracking_id"]
    reply = support(call_api, secret)
    assert (reply.status, reply.body["error"]["code"]) == (409, "not_public")
    admin = {"Authorization": token("admin", "nasional")}
    assert call_api("POST", f"/reports/{tracking_id}/reject", headers=admin, json_body={"reason": "Spam"}).status == 200
    reply = support(call_api, tracking_id)
    assert (reply.status, reply.body["error"]["code"]) == (409, "report_closed")


def test_a_support_adds_one_supporter_to_the_statistics_and_sends_no_notice(aws, call_api):
    from zoneinfo import ZoneInfo

    from lapor.domain import notices, stats

    store = runtime.store()

    def stored(tracking_id):  # the whole item, as the stream's images carry it
        return store._plain(aws.get_item(TableName=store.table_name, Key=keys.report_key(tracking_id))["Item"])

    tracking_id = file(call_api, offset(CENTRE, 30, 0))["tracking_id"]
    old = stored(tracking_id)
    assert support(call_api, tracking_id).body["added"] is True
    new = stored(tracking_id)
    assert new["supporters"] == 1 and new["latest_events"] == old["latest_events"]
    # The stream sees the report item change: no notice, and of the counters only the support given.
    assert notices.notices_for(old, new) == []
    assert stats.delta(old, new, ZoneInfo("Asia/Makassar"), runtime.config_cache().get().calendar) == {
        "supporters": 1}


def test_a_support_held_up_by_other_writes_is_tried_again_then_a_409_busy(call_api, monkeypatch):
    """Supports of a popular report at the same moment contend for its item (TransactionConflict): tried again,
    never lost; held through every try, a 409 ``busy`` that wrote nothing (never a 500)."""
    from lapor.dal import reports

    monkeypatch.setattr(reports.time, "sleep", lambda _: None)
    tracking_id = file(call_api, offset(CENTRE, 30, 0))["tracking_id"]
    client = runtime.store().client
    real, conflicts = client.transact_write_items, {"left": 2}

    def contended(**kwargs):
        if conflicts["left"]:
            conflicts["left"] -= 1
            raise client.exceptions.TransactionCanceledException(
                {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                 "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]},
                "TransactWriteItems")
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", contended)
    assert support(call_api, tracking_id).body == {"tracking_id": tracking_id, "supporters": 1, "added": True}
    conflicts["left"] = reports.SUPPORT_ATTEMPTS
    busy = support(call_api, tracking_id, OTHER_DEVICE)
    assert (busy.status, busy.body["error"]["code"]) == (409, "busy")
    assert call_api("GET", f"/reports/{tracking_id}").body["supporters"] == 1


def test_no_coordinates_reach_a_log_line_through_pygeohash(call_api):
    """pygeohash logs the coordinates it is given at DEBUG: its records never reach the function's handlers (on
    the root logger, where Powertools and Lambda's runtime log), whatever the level."""
    import logging

    class Kept(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    root, kept = logging.getLogger(), Kept()
    level = root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    try:
        file(call_api, offset(CENTRE, 30, 0))
        nearby(call_api, *CENTRE)
        logging.getLogger("pygeohash.bounding_box").debug("lat %s", CENTRE[0])
        logging.getLogger("probe").debug("heard")
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert [r for r in kept.records if r.name.startswith("pygeohash")] == []
    assert [r.getMessage() for r in kept.records if r.name == "probe"] == ["heard"]  # the handler does hear
