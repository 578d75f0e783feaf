"""One report that cannot be swept stops nothing else (issue 11, item 2): it is logged with its tracking id,
counted as ``failed`` in the run and in a metric, stays due for the next run, and every other overdue report
is escalated, on demand and on schedule."""

import json
from datetime import UTC, datetime

import pytest

from conftest import ROOT
from lapor import runtime, sweep
from lapor.dal import ReportStore
from lapor_cli.devserver import LambdaContext
from test_sweep import LONG_AGO, file_at
from test_sweep_scheduled import drain

SECRET = "Rahasia pelapor 0812-3456-7890"


@pytest.fixture
def poisoned(monkeypatch):
    """``poison(tracking_id)``: every write to that report fails, every time, with a message quoting it."""
    bad: set[str] = set()
    write = ReportStore.record_change

    def record_change(self, record, changes, **kwargs):
        if record["tracking_id"] in bad:
            raise RuntimeError(f"item too large: {SECRET}")
        return write(self, record, changes, **kwargs)

    monkeypatch.setattr(ReportStore, "record_change", record_change)
    return bad.add


def metrics(printed):
    return [json.loads(line) for line in printed.splitlines() if line.startswith('{"_aws"')]


def test_an_on_demand_sweep_goes_past_a_poisoned_report(sweep_queue, call_api, token, poisoned, capsys, log_lines):
    sqs, url = sweep_queue
    admin = {"Authorization": token("admin")}
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(12)]
    poisoned(late[5])
    reply = call_api("POST", "/admin/sweeps", json_body={}, headers=admin)
    assert reply.status == 202 and reply.body["status"] == "running"
    drain(sqs, url)  # the workers of its shards (asserts that no message failed)
    run = call_api("GET", f"/admin/sweeps/{reply.body['id']}", headers=admin).body
    assert (run["status"], run["escalated"], run["failed"], run["scanned"], run["shards_done"]) == (
        "finished", 11, 1, 12, 4)
    store = runtime.store()
    assert [store.get_report(t)["escalation_level"] for t in late] == [1] * 5 + [0] + [1] * 6
    assert store.get_report(late[5])["status"] == "routed"  # still due: the next run tries it again
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [failure] = [line for line in lines if line["message"] == "report not swept"]
    assert failure["tracking_id"] == late[5] and failure["error"] == "RuntimeError"
    printed = capsys.readouterr().out
    assert SECRET not in log_lines.getvalue() and SECRET not in printed and SECRET not in json.dumps(run)
    failed = [m for m in metrics(printed) if "ReportsSweepFailed" in m]
    assert sum(m["ReportsSweepFailed"][0] for m in failed) == 1 and {m["trigger"] for m in failed} == {"on_demand"}
    # The next run finds only the poisoned report left, and fails on it alone again.
    again = call_api("POST", "/admin/sweeps", json_body={}, headers=admin).body
    drain(sqs, url)
    again = call_api("GET", f"/admin/sweeps/{again['id']}", headers=admin).body
    assert (again["status"], again["scanned"], again["failed"], again["escalated"]) == ("finished", 1, 1, 0)


def test_a_dry_run_answered_inline_goes_past_a_poisoned_report_too(sweep_queue, call_api, token, monkeypatch):
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(4)]
    escalate = sweep.escalation

    def broken(config, item, *args, **kwargs):
        if item["tracking_id"] == late[2]:
            raise RuntimeError(SECRET)
        return escalate(config, item, *args, **kwargs)

    monkeypatch.setattr(sweep, "escalation", broken)
    reply = call_api("POST", "/admin/sweeps", json_body={"dry_run": True}, headers={"Authorization": token("admin")})
    assert reply.status == 200
    assert (reply.body["status"], reply.body["failed"], reply.body["escalated"]) == ("finished", 1, 3)


def test_an_error_before_the_write_is_isolated_too(aws, monkeypatch):
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(4)]
    escalate = sweep.escalation

    def broken(config, item, *args, **kwargs):
        if item["tracking_id"] == late[0]:
            raise KeyError("agency missing from the ladder")
        return escalate(config, item, *args, **kwargs)

    monkeypatch.setattr(sweep, "escalation", broken)
    counts = sweep.run_sweep(runtime.store(), runtime.config_cache().get(), as_of=datetime.now(UTC),
                             dry_run=True, shards=8)
    assert (counts.failed, counts.escalated, counts.scanned) == (1, 3, 4)


def test_a_scheduled_sweep_goes_past_a_poisoned_report(sweep_queue, poisoned, capsys, monkeypatch):
    from lapor_sweep.app import coordinator_handler

    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "lapor-sweep-worker")  # as template.yaml sets it

    sqs, url = sweep_queue
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(10)]
    poisoned(late[0])
    poisoned(late[7])
    coordinator_handler(json.loads((ROOT / "events/sweep/scheduled.json").read_text()), LambdaContext("SweepFunction"))
    drain(sqs, url)  # asserts that no message failed: the worker did not give up on its shard
    store = runtime.store()
    levels = [store.get_report(t)["escalation_level"] for t in late]
    assert levels == [0] + [1] * 6 + [0] + [1] * 2
    [run] = runtime.sweep_runs().list_sweep_runs()
    assert (run["escalated"], run["failed"], run["shards_done"]) == (8, 2, 4)
    printed = capsys.readouterr().out
    assert SECRET not in printed
    failed = [m for m in metrics(printed) if "ReportsSweepFailed" in m]
    assert sum(m["ReportsSweepFailed"][0] for m in failed) == 2
    # The alarm in template.yaml watches exactly these dimensions.
    assert {(m["trigger"], m["service"]) for m in failed} == {("schedule", "lapor-sweep-worker")}


def test_the_template_alarms_on_failed_reports():
    """Scheduled and on-demand runs emit ReportsSweepFailed under their trigger; the alarm sums both."""
    from lapor_cli.template import load_template

    template = load_template(ROOT / "template.yaml")
    alarm = template.resources["SweepReportFailedAlarm"]["Properties"]
    worker = template.resources["SweepWorkerFunction"]["Properties"]["Environment"]["Variables"]
    watched = {}
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            assert (metric["Namespace"], metric["MetricName"]) == ("Lapor", "ReportsSweepFailed")
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            assert dimensions["service"] == worker["POWERTOOLS_SERVICE_NAME"]
            watched[query["Id"]] = dimensions["trigger"]
    assert sorted(watched.values()) == ["on_demand", "schedule"]
    [expression] = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    assert all(query_id in expression for query_id in watched)