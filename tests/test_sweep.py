"""The deadline sweep: exactly the overdue, unanswered reports go one step up the ladder, exactly once."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import VALID_REPORT, report_items
from lapor import runtime, sweep
from lapor.dal import ReportChanged
from lapor.intake import submit_report
from lapor.models import ReportIn

WITA = ZoneInfo("Asia/Makassar")
LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def file_at(moment, **changes):
    """A report filed at ``moment`` (in the past: already overdue today)."""
    return submit_report(ReportIn.model_validate(VALID_REPORT | changes), channel="web", store=runtime.store(),
                         config=runtime.config_cache().get(), default_deadline_days=30, now=moment)


def sweep_now(as_of=None, dry_run=False):
    return sweep.run_sweep(runtime.store(), runtime.config_cache().get(), as_of=as_of or datetime.now(UTC),
                           dry_run=dry_run, shards=8)


def test_only_overdue_unanswered_reports_escalate_and_a_second_run_does_nothing(aws, call_api, token):
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(3)]
    answered = file_at(LONG_AGO)["tracking_id"]
    fresh = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    call_api("POST", f"/reports/{answered}/responses", headers={"Authorization": token("operator", "64-72-pupr")},
             json_body={"message": "Selesai.", "status": "responded"})
    counts = sweep_now()
    assert (counts.scanned, counts.escalated, counts.flagged_final, counts.skipped) == (3, 3, 0, 0)
    for tracking_id in late:
        report = runtime.store().get_report(tracking_id, timeline=True)
        assert report["status"] == "escalated" and report["escalation_level"] == 1
        assert report["agency_id"] == "64-72-inspektorat"  # Dinas PUPR escalates to its inspectorate
        assert report["timeline"][-1]["type"] == "escalated"
        assert report["timeline"][-1]["from_agency_id"] == "64-72-pupr"
        assert report["due_at_utc"] > datetime.now(UTC).isoformat()  # a fresh deadline
    for tracking_id in (answered, fresh):
        assert runtime.store().get_report(tracking_id)["escalation_level"] == 0
    assert sweep_now().scanned == 0  # nothing is overdue any more


def test_up_the_ladder_to_overdue_final_and_never_further(aws):
    tracking_id = file_at(LONG_AGO)["tracking_id"]
    as_of = datetime.now(UTC)
    ladder = []
    for _ in range(6):
        sweep_now(as_of)
        ladder.append(runtime.store().get_report(tracking_id)["agency_id"])
        as_of += timedelta(days=30)
    # PUPR → city inspectorate → provincial inspectorate → national administrator → flagged, then left alone.
    assert ladder[:3] == ["64-72-inspektorat", "64-inspektorat", "nasional"]
    report = runtime.store().get_report(tracking_id, timeline=True)
    assert report["overdue_final"] is True and report["escalation_level"] == 3 and ladder[3:] == ["nasional"] * 3
    assert [e["type"] for e in report["timeline"]].count("overdue_final") == 1
    [item] = [i for i in report_items(aws) if i["tracking_id"]["S"] == tracking_id]
    assert "due_pk" not in item  # out of the sweep's index for good


def test_a_dry_run_counts_and_writes_nothing(aws):
    file_at(LONG_AGO)
    before = report_items(aws)
    counts = sweep_now(dry_run=True)
    assert (counts.scanned, counts.escalated) == (1, 1)
    assert report_items(aws) == before


def test_due_at_235959_wita_is_overdue_from_midnight_wita(aws):
    filed = file_at(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    due = datetime.fromisoformat(filed["due_at"])
    assert (due.hour, due.minute, due.second, due.utcoffset()) == (23, 59, 59, timedelta(hours=8))
    assert sweep_now(due).scanned == 0  # 23:59:59 WITA: still on time
    assert sweep_now(due + timedelta(seconds=1)).escalated == 1  # 00:00:00 WITA the next day


def test_two_sweeps_reading_the_same_page_escalate_once(aws):
    tracking_id = file_at(LONG_AGO)["tracking_id"]
    store, config = runtime.store(), runtime.config_cache().get()
    [item] = [i for s in range(8) for i in store.overdue_page(s, "9999")[0]]
    now = datetime.now(UTC)
    for attempt in range(2):  # the second sweep acts on the same, now stale, index entry
        outcome, changes, event = sweep.escalation(config, item, now, now)
        if attempt == 0:
            store.record_change(item, changes, event=event, now_utc="t")
        else:
            with pytest.raises(ReportChanged):
                store.record_change(item, changes, event=event, now_utc="t")
    report = store.get_report(tracking_id, timeline=True)
    assert report["escalation_level"] == 1 and [e["type"] for e in report["timeline"]].count("escalated") == 1


def test_a_response_racing_the_sweep_wins_and_is_kept(aws, call_api, token):
    tracking_id = file_at(LONG_AGO)["tracking_id"]
    store = runtime.store()
    original = store.overdue_page

    def answer_between_read_and_write(shard, before, **kwargs):
        items, key = original(shard, before, **kwargs)
        if items:
            call_api("POST", f"/reports/{tracking_id}/responses", json_body={"message": "Baru saja selesai.",
                     "status": "responded"}, headers={"Authorization": token("operator", "64-72-pupr")})
        return items, key

    store.overdue_page = answer_between_read_and_write
    counts = sweep_now()
    assert (counts.escalated, counts.skipped) == (0, 1)
    report = store.get_report(tracking_id, timeline=True)
    assert report["status"] == "responded" and report["escalation_level"] == 0
    assert report["timeline"][-1]["message"] == "Baru saja selesai."


def test_a_sweep_that_crashes_half_way_is_rerun_without_escalating_twice(aws, monkeypatch):
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(4)]
    store = runtime.store()
    original, calls = store.record_change, []

    class Killed(BaseException):
        """The process dying (a Lambda timeout): not an error one report raises, which the sweep goes past."""

    def crash_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "record_change", crash_on_third)
    with pytest.raises(Killed):
        sweep_now()
    monkeypatch.setattr(store, "record_change", original)
    rerun = sweep_now()
    assert rerun.escalated == 2  # the two the crash left
    assert [store.get_report(t)["escalation_level"] for t in late] == [1, 1, 1, 1]


def answer(call_api, token, tracking_id, agency="64-72-pupr"):
    result = call_api("POST", f"/reports/{tracking_id}/responses", headers={"Authorization": token("operator", agency)},
                      json_body={"message": "Sudah ditambal.", "status": "responded"})
    assert result.status == 200, result.body
    return runtime.store().get_report(tracking_id, timeline=True)


# A public report of Kota Samarinda: its province and city (public listing) and Open311's listings by service.
PUBLIC_KEYS = ("public_pk1", "public_pk2", "public_sk", "service_pk", "service_pk2")


def index_keys_of(aws, tracking_id):
    item = aws.get_item(TableName="ReportsTable", Key={"PK": {"S": f"REPORT#{tracking_id}"}, "SK": {"S": "META"}})
    return {k for k in item["Item"] if k.endswith(("_pk", "_sk")) or k.startswith(("public_pk", "service_pk"))}


def test_an_answer_the_reporter_leaves_unanswered_for_10_working_days_is_closed_once(aws, call_api, token):
    tracking_id = file_at(LONG_AGO)["tracking_id"]
    report = answer(call_api, token, tracking_id)
    # It left the due index in the answering write, and waits in ByClosing until its reopen window ends.
    assert index_keys_of(aws, tracking_id) == {"agency_pk", "agency_sk", "month_pk", "month_sk", "close_pk", "close_sk",
                                               *PUBLIC_KEYS, "near_pk", "near_sk"}
    config = runtime.config_cache().get()
    responded_at = datetime.fromisoformat(report["timeline"][-1]["at"])
    assert report["closes_at_utc"] == config.deadline("64.72", responded_at, 10)["due_at_utc"]
    closes_at = datetime.fromisoformat(report["closes_at_utc"])
    assert sweep_now(closes_at).closed == 0  # the last second of the 10th working day: still open to a reopen
    counts = sweep_now(closes_at + timedelta(seconds=1))
    assert (counts.scanned, counts.closed, counts.escalated) == (1, 1, 0)
    closed = runtime.store().get_report(tracking_id, timeline=True)
    assert closed["status"] == "closed" and closed["timeline"][-1]["type"] == "closed"
    assert closed["timeline"][-1]["actor_role"] == "system"
    # Still listed publicly (a closed public report), out of the sweep's indexes.
    assert index_keys_of(aws, tracking_id) == {"agency_pk", "agency_sk", "month_pk", "month_sk", *PUBLIC_KEYS}
    assert sweep_now(closes_at + timedelta(days=60)).scanned == 0  # never again
    # The reporter can still rate the closed report.
    assert call_api("POST", f"/reports/{tracking_id}/feedback", json_body={"rating": 4}, headers={
        "X-Access-Code": "wrong"}).status in (403, 404)


def test_a_reopened_report_leaves_the_closing_index_and_is_not_closed(aws, call_api, token):
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    report = answer(call_api, token, filed["tracking_id"])
    reopened = call_api("POST", f"/reports/{filed['tracking_id']}/feedback",
                        headers={"X-Access-Code": filed["access_code"]}, json_body={"rating": 1, "reopen": True})
    assert reopened.status == 200, reopened.body
    assert "close_pk" not in {k for k in index_keys_of(aws, filed["tracking_id"])}
    later = datetime.fromisoformat(report["closes_at_utc"]) + timedelta(days=1)
    assert sweep_now(later).closed == 0
    assert runtime.store().get_report(filed["tracking_id"])["status"] != "closed"


def test_a_reopen_racing_the_closing_sweep_is_kept(aws, call_api, token, monkeypatch):
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    report = answer(call_api, token, filed["tracking_id"])
    store = runtime.store()
    real_page = store.closing_page

    def reopen_after_the_read(*args, **kwargs):
        page = real_page(*args, **kwargs)
        if page[0]:  # the reporter reopens between the sweep's read and its write
            assert call_api("POST", f"/reports/{filed['tracking_id']}/feedback", json_body={"rating": 2, "reopen": True},
                            headers={"X-Access-Code": filed["access_code"]}).status == 200
        return page

    monkeypatch.setattr(store, "closing_page", reopen_after_the_read)
    # As of the reopen window's end: the reporter is (just) in time, the sweep (just) due to close.
    counts = sweep_now(datetime.fromisoformat(report["closes_at_utc"]) + timedelta(seconds=1))
    assert (counts.closed, counts.skipped) == (0, 1)
    assert store.get_report(filed["tracking_id"])["status"] == "routed"


def test_a_shard_resumes_through_both_indexes_from_its_cursor(aws, call_api, token):
    overdue = [file_at(LONG_AGO)["tracking_id"] for _ in range(3)]
    answered = [file_at(LONG_AGO)["tracking_id"] for _ in range(3)]
    closes = [answer(call_api, token, t)["closes_at_utc"] for t in answered]
    as_of = max(datetime.fromisoformat(c) for c in closes) + timedelta(seconds=1)
    store, config, total, calls = runtime.store(), runtime.config_cache().get(), sweep.SweepCounts(), 0
    for shard in range(8):
        cursor = None
        while True:  # a worker that runs out of time after every page
            counts, cursor = sweep.sweep_shard(store, config, shard, as_of=as_of, dry_run=False, start_key=cursor,
                                               page_size=1, keep_going=lambda: False)
            calls += 1
            json.dumps(cursor)  # it travels in an SQS message
            total = sweep.SweepCounts(**{k: getattr(total, k) + getattr(counts, k) for k in ("scanned", "escalated",
                                                                                          "flagged_final", "closed",
                                                                                          "skipped")})
            if cursor is None:
                break
    assert (total.escalated, total.closed) == (3, 3) and calls > 8
    assert {store.get_report(t)["status"] for t in answered} == {"closed"}
    assert {store.get_report(t)["status"] for t in overdue} == {"escalated"}
    # A cursor queued before closing existed (a bare ByDue key) still resumes in the due index.
    assert sweep._phase({"due_pk": {"S": "DUE#1"}}) == ("due", {"due_pk": {"S": "DUE#1"}})
