"""Public statistics: counters kept by the StatsFunction from the table's stream, summed by GET /stats."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import ROOT, VALID_REPORT
from lapor.dal import keys
from lapor.domain import stats
from lapor.domain.calendar import WorkingCalendar

WITA = ZoneInfo("Asia/Makassar")


def report(**changes):
    base = {"tracking_id": "LPR-1", "status": "routed", "category": "health", "region_code": "64.72.01",
            "submitted_at": "2026-12-01T02:00:00Z", "due_at_utc": "2027-01-14T15:59:59Z"}
    return base | changes


def responded(at):
    return {"answered_at": at, "first_answered_at": at}


def test_scopes_run_from_the_country_down_to_the_region():
    assert stats.scopes("64.72.01") == [("ALL", "64"), ("64", "64.72"), ("64.72", "64.72.01"), ("64.72.01", None)]
    assert stats.scopes("64") == [("ALL", "64"), ("64", None)]


def test_a_change_moves_the_status_and_counts_the_first_answer():
    calendar = WorkingCalendar()
    before = report()
    after = report(status="responded", **responded("2026-12-08T03:00:00Z"))
    assert stats.delta(None, before, WITA, calendar) == {"total": 1, "status#routed": 1, "category#health": 1}
    # Tue 1 Dec → Tue 8 Dec 2026: five working days.
    assert stats.delta(before, after, WITA, calendar) == {
        "status#routed": -1, "status#responded": 1, "answered": 1, "answered_on_time": 1, "first_response_days#5": 1}
    late = report(status="responded", **responded("2027-01-20T03:00:00Z"))
    assert "answered_on_time" not in stats.delta(before, late, WITA, calendar)
    assert stats.delta(after, after, WITA, calendar) == {}


def test_a_merged_duplicate_takes_back_all_it_added_and_an_undo_adds_it_again():
    calendar = WorkingCalendar()
    answered = report(status="in_progress")
    merged = answered | {"status": "closed", "resolution": "duplicate", "merged_into": "LPR-2",
                         "status_before_merge": "in_progress"}
    assert stats.delta(answered, merged, WITA, calendar) == {"total": -1, "status#in_progress": -1,
                                                             "category#health": -1}
    assert stats.delta(merged, answered, WITA, calendar) == {"total": 1, "status#in_progress": 1,
                                                             "category#health": 1}
    # One that had a first answer (an acknowledged report answered, reopened, then merged) takes it back too.
    reopened = report(status="routed", **responded("2026-12-08T03:00:00Z"))
    assert stats.delta(reopened, reopened | {"status": "closed", "merged_into": "LPR-2"}, WITA, calendar) == {
        "total": -1, "status#routed": -1, "category#health": -1, "answered": -1, "answered_on_time": -1,
        "first_response_days#5": -1}
    assert stats.delta(None, merged, WITA, calendar) == {}


def test_each_support_counts_once_and_a_merged_duplicate_keeps_its_supporters():
    calendar = WorkingCalendar()
    supported = report(supporters=2)
    assert stats.delta(None, report(), WITA, calendar) == {"total": 1, "status#routed": 1, "category#health": 1}
    assert stats.delta(report(), report(supporters=1), WITA, calendar) == {"supporters": 1}
    assert stats.delta(report(supporters=1), supported, WITA, calendar) == {"supporters": 1}
    # Any other change of a supported report leaves the support counted as it was.
    assert stats.delta(supported, supported | {"status": "in_progress"}, WITA, calendar) == {
        "status#routed": -1, "status#in_progress": 1}
    merged = supported | {"status": "closed", "merged_into": "LPR-2"}
    assert stats.delta(supported, merged, WITA, calendar) == {"total": -1, "status#routed": -1,
                                                              "category#health": -1}
    assert stats.delta(merged, supported, WITA, calendar) == {"total": 1, "status#routed": 1, "category#health": 1}
    assert stats.summarize([{"total": 1, "supporters": 2}, {"total": 2, "supporters": 3}])["supporters"] == 5
    assert stats.summarize([])["supporters"] == 0


def test_summaries_take_the_median_from_the_histogram():
    buckets = [{"total": 3, "answered": 3, "answered_on_time": 2, "first_response_days#2": 1,
                "first_response_days#10": 2, "status#responded": 3, "region#64.72": 3},
               {"total": 1, "status#routed": 1, "region#64.71": 1, "first_response_days#4": 0}]
    summary = stats.summarize(buckets)
    assert summary["total"] == 4 and summary["by_status"] == {"responded": 3, "routed": 1}
    assert summary["by_region"] == {"64.71": 1, "64.72": 3}
    assert summary["answered_on_time_rate"] == round(2 / 3, 4)
    assert summary["median_working_days_to_first_response"] == 10
    even = stats.summarize([{"answered": 2, "first_response_days#2": 1, "first_response_days#5": 1}])
    assert even["median_working_days_to_first_response"] == 3.5
    assert stats.summarize([])["answered_on_time_rate"] is None


def stream_records(stream):
    """The records the stream holds since it was last read, without delivering them."""
    return stream.read()


@pytest.fixture
def aws(aws_over_http):
    """The tables on the moto server: its in-process mock does not serve DynamoDB Streams' DescribeStream."""
    return aws_over_http


@pytest.fixture
def stream(aws):
    """Hands the table's new stream records to the real StatsFunction handler, as the event source mapping does."""
    import boto3

    from lapor_cli.devserver import LambdaContext
    from lapor_stream.app import lambda_handler

    streams = boto3.client("dynamodbstreams")
    arn = aws.describe_table(TableName="ReportsTable")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    state = {"iterator": streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                    ShardIteratorType="LATEST")["ShardIterator"]}

    def read():
        records = []
        while True:
            page = streams.get_records(ShardIterator=state["iterator"])
            state["iterator"] = page["NextShardIterator"]
            if not page["Records"]:
                return [r | {"eventSourceARN": arn} for r in records]
            records += page["Records"]

    def deliver(records=None):
        records = read() if records is None else records
        return records, lambda_handler({"Records": records}, LambdaContext("StatsFunction"))

    deliver.read = read
    return deliver


def test_stats_follow_filing_and_answering_and_count_each_record_once(call_api, token, stream):
    filed = [call_api("POST", "/reports", json_body=VALID_REPORT | extra).body
             for extra in ({}, {"category": "health"}, {"region_code": "64.71"})]
    records, result = stream()
    assert result == {"batchItemFailures": []}
    again = stream(records)[1]  # the same records redelivered change nothing
    assert again == {"batchItemFailures": []}
    everything = call_api("GET", "/stats").body
    assert everything["total"] == 3 and everything["by_region"] == {"64": 3}
    assert everything["by_category"] == {"health": 1, "infrastructure": 2}
    samarinda = call_api("GET", "/stats", query="region=64.72").body
    assert samarinda["total"] == 2 and samarinda["by_status"] == {"routed": 2}
    call_api("POST", f"/reports/{filed[0]['tracking_id']}/responses", headers={"Authorization": token(
        "operator", "64-72-pupr")}, json_body={"message": "Sudah diperbaiki.", "status": "responded"})
    records, result = stream()
    reports = [r["eventName"] for r in records if keys.is_report_key(r["dynamodb"]["Keys"])]
    # The answer's timeline event is an item of its own: on the stream, and ignored (the report carries it).
    events = [r["eventName"] for r in records if r["dynamodb"]["Keys"]["SK"]["S"].startswith(keys.EVENT_PREFIX)]
    assert reports == ["MODIFY"] and events == ["INSERT"] and result == {"batchItemFailures": []}
    samarinda = call_api("GET", "/stats", query="region=64.72").body
    assert samarinda["by_status"] == {"responded": 1, "routed": 1}
    assert samarinda["answered"] == 1 and samarinda["answered_on_time_rate"] == 1.0
    assert samarinda["median_working_days_to_first_response"] == 0
    assert call_api("GET", "/stats", query="region=64.71").body["answered"] == 0


def test_one_bad_record_neither_blocks_nor_drops_the_others(call_api, stream):
    call_api("POST", "/reports", json_body=VALID_REPORT)
    call_api("POST", "/reports", json_body=VALID_REPORT | {"region_code": "64.71"})
    good, bad = (json.loads(json.dumps(r, default=str)) for r in stream_records(stream)
                 if keys.is_report_key(r["dynamodb"]["Keys"]))
    bad["dynamodb"]["NewImage"]["region_code"] = {"S": "99.99"}  # a region no calendar knows
    _, result = stream([good, bad])
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["dynamodb"]["SequenceNumber"]}]}
    assert call_api("GET", "/stats").body["by_region"] == {"64": 1}
    assert call_api("GET", "/stats", query="region=64.72").body["total"] == 1


def test_date_filters_and_bad_ranges(call_api, stream):
    call_api("POST", "/reports", json_body=VALID_REPORT)
    stream()
    today = datetime.now(UTC).astimezone(WITA).date().isoformat()
    assert call_api("GET", "/stats", query=f"from={today}&to={today}").body["total"] == 1
    assert call_api("GET", "/stats", query="from=2020-01-01&to=2020-12-31").body["total"] == 0
    assert call_api("GET", "/stats", query="from=2026-02-01&to=2026-01-01").body["error"]["code"] == "invalid_range"
    assert call_api("GET", "/stats", query="from=2010-01-01&to=2026-01-01").status == 422
    assert call_api("GET", "/stats", query="region=64.99").status == 404
    assert call_api("GET", "/stats", query="from=yesterday").status == 422


def test_counting_the_same_event_twice_changes_nothing(aws):
    from lapor import runtime

    store = runtime.stats_store()
    changes = {"ALL": {"total": 1, "region#64": 1}, "64": {"total": 1}}
    assert store.apply_stats("event-1", "2026-12-01", changes, expires_at=2000000000) is True
    assert store.stats_applied("event-1") and not store.stats_applied("event-2")
    # Even past the read-before-write check (a concurrent delivery), the transaction refuses a second count.
    assert store.apply_stats("event-1", "2026-12-01", changes, expires_at=2000000000) is False
    assert store.read_stats("ALL", "2026-12-01", "2026-12-01") == [{"total": 1, "region#64": 1}]


def test_the_sample_stream_event_counts_a_filed_and_answered_report(aws, call_api):
    from lapor_cli.devserver import LambdaContext
    from lapor_stream.app import lambda_handler

    event = json.loads((ROOT / "events" / "stream" / "report-filed-and-answered.json").read_text())
    assert lambda_handler(event, LambdaContext("StatsFunction")) == {"batchItemFailures": []}
    figures = call_api("GET", "/stats", query="region=64.72&from=2026-11-01&to=2026-12-31").body
    assert figures["total"] == 1 and figures["by_status"] == {"responded": 1}
    # Mon 30 Nov → Thu 3 Dec 2026: three working days, before the deadline.
    assert figures["median_working_days_to_first_response"] == 3 and figures["answered_on_time_rate"] == 1.0


def test_a_merged_pair_counts_once_and_an_undone_merge_twice_again(call_api, token, stream):
    duplicate, master = (call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"] for _ in range(2))
    stream()
    assert call_api("GET", "/stats", query="region=64.72").body["total"] == 2
    merged = call_api("POST", f"/reports/{duplicate}/merge", headers={"Authorization": token("operator", "64-72-pupr")},
                      json_body={"into": master, "reason": "Lubang yang sama"})
    assert merged.status == 200
    assert stream()[1] == {"batchItemFailures": []}  # the duplicate's change and the master's absorbed
    for query in ("", "region=64.72"):
        figures = call_api("GET", "/stats", query=query).body
        assert (figures["total"], figures["by_status"], figures["by_category"]) == (
            1, {"routed": 1}, {"infrastructure": 1})
    assert call_api("GET", "/stats").body["by_region"] == {"64": 1}
    assert call_api("DELETE", f"/reports/{duplicate}/merge", headers={"Authorization": token("admin")}).status == 200
    stream()
    figures = call_api("GET", "/stats", query="region=64.72").body
    assert (figures["total"], figures["by_status"]) == (2, {"routed": 2})


def test_supporters_are_counted_once_per_support_by_scope_and_submission_day(call_api, token, stream):
    from lapor import runtime

    samarinda, balikpapan = (call_api("POST", "/reports", json_body=VALID_REPORT | extra).body["tracking_id"]
                             for extra in ({}, {"region_code": "64.71"}))
    stream()
    assert call_api("GET", "/stats").body["supporters"] == 0
    store = runtime.store()
    for n in range(3):
        assert store.add_supporter(samarinda, f"device-{n}-0123456789abcdef")
    assert not store.add_supporter(samarinda, "device-0-0123456789abcdef")  # a repeat writes nothing
    assert store.add_supporter(balikpapan, "device-0-0123456789abcdef")
    records, result = stream()
    assert result == {"batchItemFailures": []}
    assert stream(records)[1] == {"batchItemFailures": []}  # redelivered: counted once all the same
    assert call_api("GET", "/stats").body["supporters"] == 4
    assert call_api("GET", "/stats", query="region=64.72").body["supporters"] == 3
    assert call_api("GET", "/stats", query="region=64.71").body["supporters"] == 1
    assert call_api("GET", "/stats", query="from=2020-01-01&to=2020-12-31").body["supporters"] == 0
    # An answer moves no support; a merge keeps the duplicate's (each was given once), not counting the report.
    operator = {"Authorization": token("operator", "64-72-pupr")}
    call_api("POST", f"/reports/{samarinda}/responses", headers=operator,
             json_body={"message": "Sudah diperbaiki.", "status": "in_progress"})
    other = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    assert call_api("POST", f"/reports/{samarinda}/merge", headers=operator,
                    json_body={"into": other, "reason": "Lubang yang sama"}).status == 200
    assert stream()[1] == {"batchItemFailures": []}
    figures = call_api("GET", "/stats", query="region=64.72").body
    assert (figures["total"], figures["supporters"]) == (1, 3)
