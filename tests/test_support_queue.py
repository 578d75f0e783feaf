"""Supporters ("dukung") in the operator queue: every line shows its count, and ``sort=supporters`` lists the
most supported first across the whole queue (BySupport, keys only, then ByAgency for the rest), paged with
signed cursors valid for that queue, filter and sort alone; never a Scan."""

import pytest

from conftest import VALID_REPORT
from lapor import runtime
from lapor.dal import keys

PUPR = "64-72-pupr"
# Supporters per report, in filing order (index 4 is answered below; 3 and 5 have none).
COUNTS = (3, 1, 5, 0, 2, 0, 1, 4)


def as_(token, role="operator", agency=PUPR):
    return {"Authorization": token(role, agency)}


@pytest.fixture
def queue(call_api, token):
    """Eight reports of Samarinda's Dinas PUPR supported ``COUNTS`` times, one answered, and one report of
    another agency with more supporters than any. Returns their tracking ids in filing order."""
    store = runtime.store()
    filed = [call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"] for _ in COUNTS]
    for tracking_id, count in zip(filed, COUNTS, strict=True):
        for n in range(count):
            assert store.add_supporter(tracking_id, f"device-{tracking_id}-{n}-0123456789abcdef")
    other = call_api("POST", "/reports", json_body={**VALID_REPORT, "category": "health"}).body["tracking_id"]
    for n in range(9):
        store.add_supporter(other, f"device-other-{n}-0123456789abcdef")
    assert call_api("POST", f"/reports/{filed[4]}/responses", headers=as_(token),
                    json_body={"message": "Sudah diperbaiki.", "status": "responded"}).status == 200
    return filed


def pages(call_api, headers, query, limit):
    """Every page of a listing, following its cursors; the cursors too."""
    seen, cursors, cursor = [], [], None
    while True:
        reply = call_api("GET", "/agency/reports", headers=headers,
                         query=f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status == 200, reply.body
        seen += reply.body["items"]
        cursor = reply.body["next_cursor"]
        if not cursor:
            return seen, cursors
        cursors.append(cursor)
        assert len(cursors) < 50


def no_scan_and_which_indexes(monkeypatch):
    store = runtime.store()
    used, query = [], store.client.query

    def recording(**kwargs):
        used.append(kwargs.get("IndexName"))
        return query(**kwargs)

    def scan(**kwargs):
        raise AssertionError("the queue never scans")

    monkeypatch.setattr(store.client, "query", recording)
    monkeypatch.setattr(store.client, "scan", scan)
    return used


def test_every_queue_line_shows_its_supporters(call_api, token, queue):
    lines = call_api("GET", "/agency/reports", headers=as_(token)).body["items"]
    assert {line["tracking_id"]: line["supporters"] for line in lines} == dict(zip(queue, COUNTS, strict=True))
    view = call_api("GET", f"/agency/reports/{queue[2]}", headers=as_(token)).body
    assert view["supporters"] == 5


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_sorted_by_supporters_most_supported_first_then_the_default_order(call_api, token, queue, limit,
                                                                          monkeypatch):
    default = [line["tracking_id"] for line in call_api("GET", "/agency/reports", headers=as_(token)).body["items"]]
    used = no_scan_and_which_indexes(monkeypatch)
    lines, _ = pages(call_api, as_(token), "sort=supporters", limit)
    ids = [line["tracking_id"] for line in lines]
    assert sorted(ids) == sorted(queue) and len(ids) == len(set(ids))  # the whole queue, each line once
    counts = [line["supporters"] for line in lines]
    assert counts == sorted((c for c in COUNTS), reverse=True)  # 5, 4, 3, 2, 1, 1, 0, 0
    assert [line["supporters"] for line in lines] == [dict(zip(queue, COUNTS))[i] for i in ids]
    # Without supporters: as the default queue orders them.
    unsupported = [i for i in default if dict(zip(queue, COUNTS))[i] == 0]
    assert ids[-len(unsupported):] == unsupported
    assert set(used) <= {keys.BY_SUPPORT, keys.BY_AGENCY} and keys.BY_SUPPORT in used
    assert all(line["agency"]["id"] == PUPR for line in lines)  # the other agency's 9 supporters never show


def test_sorted_by_supporters_with_a_status_filter(call_api, token, queue):
    for limit in (1, 2, 50):
        lines, _ = pages(call_api, as_(token), "sort=supporters&status=routed", limit)
        assert [line["supporters"] for line in lines] == [5, 4, 3, 1, 1, 0, 0]
        assert all(line["status"] == "routed" for line in lines)
    [answered] = call_api("GET", "/agency/reports", headers=as_(token),
                          query="sort=supporters&status=responded").body["items"]
    assert (answered["tracking_id"], answered["supporters"]) == (queue[4], 2)
    assert call_api("GET", "/agency/reports", headers=as_(token),
                    query="sort=supporters&status=closed").body == {"items": [], "next_cursor": None}


def test_a_report_that_changes_agency_or_status_moves_in_the_sorted_queue(call_api, token, queue):
    reassigned = call_api("POST", f"/reports/{queue[2]}/reassign", headers=as_(token, "admin", None),
                          json_body={"agency_id": "64-72-dinkes", "reason": "Bukan urusan PUPR"})
    assert reassigned.status == 200, reassigned.body
    lines = call_api("GET", "/agency/reports", headers=as_(token), query="sort=supporters").body["items"]
    assert queue[2] not in [line["tracking_id"] for line in lines] and lines[0]["supporters"] == 4
    theirs = call_api("GET", "/agency/reports", headers=as_(token, "operator", "64-72-dinkes"),
                      query="sort=supporters").body["items"]
    assert [line["supporters"] for line in theirs] == [9, 5]


def test_cursors_are_valid_for_their_queue_filter_and_sort_only(call_api, token, queue):
    sorted_page = call_api("GET", "/agency/reports", headers=as_(token), query="sort=supporters&limit=2").body
    default_page = call_api("GET", "/agency/reports", headers=as_(token), query="limit=2").body
    cursor, other_cursor = sorted_page["next_cursor"], default_page["next_cursor"]
    for query in (f"cursor={cursor}", f"sort=newest&cursor={cursor}", f"sort=supporters&status=routed&cursor={cursor}",
                  f"sort=supporters&cursor={other_cursor}", "sort=supporters&cursor=bm9wZQ"):
        reply = call_api("GET", "/agency/reports", headers=as_(token), query=query)
        assert (reply.status, reply.body["error"]["code"]) == (400, "invalid_cursor"), query
    reply = call_api("GET", "/agency/reports", headers=as_(token, "operator", "64-72-dinkes"),
                     query=f"sort=supporters&cursor={cursor}")
    assert reply.status == 400  # another agency's queue
    assert call_api("GET", "/agency/reports", headers=as_(token), query="sort=votes").status == 422
    # The default order's cursors are the ones it gave out before there was a sort (same scope).
    assert call_api("GET", "/agency/reports", headers=as_(token), query=f"cursor={other_cursor}").status == 200


def test_the_sorted_queue_reads_its_page_not_the_queue(call_api, token, queue, monkeypatch):
    store = runtime.store()
    read, batch = [], store.client.batch_get_item

    def counting(**kwargs):
        read.extend(kwargs["RequestItems"][store.table_name]["Keys"])
        return batch(**kwargs)

    monkeypatch.setattr(store.client, "batch_get_item", counting)
    page = call_api("GET", "/agency/reports", headers=as_(token), query="sort=supporters&limit=2").body
    assert [line["supporters"] for line in page["items"]] == [5, 4] and len(read) == 2


def test_reindex_leaves_the_count_alone(call_api, queue):
    store = runtime.store()
    store.reindex()
    assert store.supporter_counts(queue) == dict(zip(queue, COUNTS, strict=True))


def test_the_count_is_an_index_key_the_writers_never_set_nor_remove():
    from conftest import ROOT
    from lapor_cli.template import load_template

    table = load_template(ROOT / "template.yaml").tables["ReportsTable"]
    [index] = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == keys.BY_SUPPORT]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["agency_pk", keys.SUPPORTERS]
    assert {"AttributeName": keys.SUPPORTERS, "AttributeType": "N"} in table["AttributeDefinitions"]
    assert keys.SUPPORTERS not in keys.REPORT_INDEX_ATTRIBUTES  # reindex would remove it
