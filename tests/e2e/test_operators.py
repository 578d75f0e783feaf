"""Operators over HTTP against lapor dev: tokens from `lapor token`, scope, answers, admin CLI for routes."""

import json
import re
import time

import pytest
import requests

from e2e.helpers import lapor, notices, token, wait_for
from samples import sample_report

pytestmark = pytest.mark.e2e
TIMEOUT = 30


def test_an_operator_answers_and_the_reporter_sees_it_other_agencies_see_nothing(lapor_dev, api_url):
    filed = requests.post(f"{api_url}/reports", json=sample_report(), timeout=TIMEOUT).json()
    tracking_id = filed["tracking_id"]
    routes = {"view": ("GET", f"/agency/reports/{tracking_id}", None),
              "answer": ("POST", f"/reports/{tracking_id}/responses", {"message": "x", "status": "in_progress"})}
    # No token, or a made-up one: 401 from the authorizer, nothing else said.
    for method, path, body in routes.values():
        for headers in ({}, {"Authorization": "Bearer forged.token.value"}):
            reply = requests.request(method, api_url + path, json=body, headers=headers, timeout=TIMEOUT)
            assert reply.status_code == 401 and reply.json() == {"message": "Unauthorized"}
    # Another agency's operator: 404 on every route, like an unknown report.
    other = token(lapor_dev, "operator", "64-71-pupr")
    for method, path, body in routes.values():
        assert requests.request(method, api_url + path, json=body, headers=other, timeout=TIMEOUT).status_code == 404
    queue = requests.get(f"{api_url}/agency/reports", headers=other, timeout=TIMEOUT).json()["items"]
    assert tracking_id not in json.dumps(queue)
    # The assigned agency answers.
    mine = token(lapor_dev, "operator", "64-72-pupr")
    queue = requests.get(f"{api_url}/agency/reports", headers=mine, timeout=TIMEOUT).json()["items"]
    assert tracking_id in [item["tracking_id"] for item in queue]
    answer = requests.post(f"{api_url}/reports/{tracking_id}/responses", headers=mine, timeout=TIMEOUT,
                           json={"message": "Jalan sudah ditambal.", "status": "responded", "version": 1})
    assert answer.status_code == 200 and answer.json()["status"] == "responded"
    seen = requests.get(f"{api_url}/reports/{tracking_id}", headers={"X-Access-Code": filed["access_code"]},
                        timeout=TIMEOUT).json()
    assert seen["status"] == "responded" and seen["timeline"][-1]["message"] == "Jalan sudah ditambal."
    rated = requests.post(f"{api_url}/reports/{tracking_id}/feedback", json={"rating": 5}, timeout=TIMEOUT,
                          headers={"X-Access-Code": filed["access_code"]})
    assert rated.status_code == 200 and rated.json()["timeline"][-1]["type"] == "feedback"


def test_lapor_token_refuses_unknown_agencies_and_missing_ones(lapor_dev):
    assert lapor(lapor_dev, "token", "--role", "operator").returncode == 2
    unknown = lapor(lapor_dev, "token", "--role", "operator", "--agency", "nope")
    assert unknown.returncode == 2 and "unknown agency" in unknown.stderr


def test_routes_export_and_import_through_the_admin_api(lapor_dev, api_url, tmp_path):
    endpoint = ["--endpoint", api_url]
    exported = lapor(lapor_dev, "routes", "export", *endpoint)
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert lines[0] == "region_code,category,agency_id,deadline_working_days" and len(lines) == 118
    # Route Samarinda's health reports to the city secretariat with a 10-day deadline, via CSV.
    changed = [line for line in lines if not line.startswith("64.72,health,")] + ["64.72,health,64-72-setda,10"]
    csv_file = tmp_path / "routes.csv"
    csv_file.write_text("\n".join(changed) + "\n")
    imported = lapor(lapor_dev, "routes", "import", str(csv_file), *endpoint)
    assert imported.returncode == 0 and "imported 117 routes" in imported.stdout, imported.stderr
    filed = requests.post(f"{api_url}/reports", json=sample_report() | {"category": "health"}, timeout=TIMEOUT)
    assert filed.json()["agency"]["id"] == "64-72-setda"
    # An invalid file is refused whole, with the reasons, and nothing changes.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"region_code": "64.72", "category": "*", "agency_id": "ghost"}]))
    refused = lapor(lapor_dev, "routes", "import", str(bad), *endpoint)
    assert refused.returncode == 1 and "ghost" in refused.stderr and "national default" in refused.stderr
    again = lapor(lapor_dev, "routes", "export", "--format", "json", *endpoint)
    assert {"region_code": "64.72", "category": "health", "agency_id": "64-72-setda",
            "deadline_working_days": 10} in json.loads(again.stdout)["items"]
    # Put the shipped routes back for the other tests.
    restore = tmp_path / "restore.csv"
    restore.write_text(exported.stdout)
    assert lapor(lapor_dev, "routes", "import", str(restore), *endpoint).returncode == 0


def stats(api_url, query=""):
    return requests.get(f"{api_url}/stats{query}", timeout=TIMEOUT).json()


def test_stats_change_as_reports_are_filed_and_answered(lapor_dev, api_url):
    # Bontang has no other test's reports: its figures move only with this one.
    before = stats(api_url, "?region=64.74")
    filed = requests.post(f"{api_url}/reports", json=sample_report() | {"region_code": "64.74"}, timeout=TIMEOUT)
    tracking_id = filed.json()["tracking_id"]
    wait_for(lambda: stats(api_url, "?region=64.74")["total"] == before["total"] + 1)
    answer = requests.post(f"{api_url}/reports/{tracking_id}/responses", timeout=TIMEOUT,
                           headers=token(lapor_dev, "operator", "64-74-pupr"),
                           json={"message": "Sudah diperbaiki.", "status": "responded"})
    assert answer.status_code == 200, answer.text
    after = wait_for(lambda: (s := stats(api_url, "?region=64.74"))["answered"] == before["answered"] + 1 and s)
    assert after["by_status"].get("responded", 0) == before["by_status"].get("responded", 0) + 1
    assert after["answered_on_time_rate"] is not None
    assert stats(api_url)["by_region"]["64"] >= after["total"]


def test_lapor_sweep_as_of_escalates_exactly_the_overdue_and_then_nothing(lapor_dev, api_url):
    from datetime import datetime, timedelta

    endpoint = ["--endpoint", api_url]
    filed = requests.post(f"{api_url}/reports", json=sample_report() | {"region_code": "64.11"},
                          timeout=TIMEOUT).json()  # Mahakam Ulu: no other test files there
    answered = requests.post(f"{api_url}/reports", json=sample_report() | {"region_code": "64.11"},
                             timeout=TIMEOUT).json()
    requests.post(f"{api_url}/reports/{answered['tracking_id']}/responses", timeout=TIMEOUT,
                  headers=token(lapor_dev, "operator", "64-11-pupr"),
                  json={"message": "Selesai.", "status": "responded"}).raise_for_status()
    just_after = (datetime.fromisoformat(filed["due_at"]) + timedelta(seconds=1)).isoformat()
    dry = lapor(lapor_dev, "sweep", "--as-of", just_after, "--dry-run", *endpoint)
    assert dry.returncode == 0, dry.stderr
    assert "dry run        yes" in dry.stdout
    assert re.search(rf"^{filed['tracking_id']}\s+64-11-pupr\s+\S+\s+64-11-inspektorat", dry.stdout, re.M), dry.stdout
    first = lapor(lapor_dev, "sweep", "--as-of", just_after, *endpoint)
    assert first.returncode == 0, first.stderr
    escalated = int(re.search(r"escalated\s+(\d+)", first.stdout).group(1))
    assert escalated >= 1  # ours, and any other test's report past its deadline by then
    report = requests.get(f"{api_url}/agency/reports/{filed['tracking_id']}", timeout=TIMEOUT,
                          headers=token(lapor_dev, "admin")).json()
    assert report["status"] == "escalated" and report["agency"]["id"] == "64-11-inspektorat"
    # The answered one is never escalated; by then its reporter has been silent for 10 working days: closed.
    untouched = requests.get(f"{api_url}/reports/{answered['tracking_id']}", timeout=TIMEOUT).json()
    assert untouched["status"] == "closed" and untouched["escalation_level"] == 0
    assert int(re.search(r"closed\s+(\d+)", first.stdout).group(1)) >= 1
    # Both agencies hear of it through the stream, in the local outbox (the web reporter's typed phone does not).
    escalation = wait_for(lambda: len(n := notices(lapor_dev, filed["tracking_id"], "escalated")) == 2 and n)
    assert sorted(n["recipient"] for n in escalation) == ["agency:64-11-inspektorat", "agency:64-11-pupr"]
    second = lapor(lapor_dev, "sweep", "--as-of", just_after, *endpoint)
    assert re.search(r"escalated\s+0\b", second.stdout), second.stdout
    assert lapor(lapor_dev, "sweep", "--as-of", "2027-01-15T00:00:00", *endpoint).returncode == 2


def test_an_on_demand_sweep_answers_202_and_its_worker_finishes_it_through_the_local_queue(lapor_dev, api_url):
    from datetime import datetime, timedelta

    admin = token(lapor_dev, "admin")
    filed = requests.post(f"{api_url}/reports", json=sample_report() | {"region_code": "64.11"},
                          timeout=TIMEOUT).json()
    just_after = (datetime.fromisoformat(filed["due_at"]) + timedelta(seconds=1)).isoformat()
    started = requests.post(f"{api_url}/admin/sweeps", json={"as_of": just_after}, headers=admin, timeout=TIMEOUT)
    assert started.status_code == 202, started.text
    run = started.json()
    assert (run["status"], run["shards"], run["shards_done"]) == ("running", 8, 0)

    def finished():
        seen = requests.get(f"{api_url}/admin/sweeps/{run['id']}", headers=admin, timeout=TIMEOUT)
        assert seen.status_code == 200, seen.text
        return seen.json()["status"] == "finished" and seen.json()

    done = wait_for(finished, seconds=60)
    assert done["shards_done"] == 8 and done["escalated"] >= 1 and done["failed"] == 0
    report = requests.get(f"{api_url}/agency/reports/{filed['tracking_id']}", headers=admin, timeout=TIMEOUT).json()
    assert report["status"] == "escalated"
    listed = requests.get(f"{api_url}/admin/sweeps", headers=admin, timeout=TIMEOUT).json()["items"]
    assert listed[0]["id"] == run["id"] and listed[0]["status"] == "finished"
    unknown = requests.get(f"{api_url}/admin/sweeps/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=admin, timeout=TIMEOUT)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_notices_reach_the_agency_once_and_never_a_phone_typed_into_the_web_form(lapor_dev, api_url):
    filed = requests.post(f"{api_url}/reports", json=sample_report() | {"region_code": "64.74"},
                          timeout=TIMEOUT).json()
    routed = wait_for(lambda: notices(lapor_dev, filed["tracking_id"], "routed"))
    assert [(n["recipient"], n["channel"]) for n in routed] == [("agency:64-74-pupr", "agency")]
    requests.post(f"{api_url}/reports/{filed['tracking_id']}/responses", timeout=TIMEOUT,
                  headers=token(lapor_dev, "operator", "64-74-pupr"),
                  json={"message": "Lubang sudah ditutup.", "status": "responded"}).raise_for_status()
    readable = lapor(lapor_dev, "outbox", filed["tracking_id"])
    assert "Laporan baru" in readable.stdout and filed["tracking_id"] in readable.stdout
    time.sleep(2)  # a few more polls of the stream: still one notice, and no SMS to the typed phone
    assert [n["recipient"] for n in notices(lapor_dev, filed["tracking_id"])] == ["agency:64-74-pupr"]
