"""``lapor dev`` under load stops within seconds (issue #11, item 7: a stack with large reports took a minute).

Its memory is measured by ``make bench`` (``dev_peak_rss_mb``); what keeps it bounded is tested in
``tests/test_localstack_memory.py``. Here: a real ``lapor dev``, a large report answered many times over HTTP and
a few thousand reports written straight to its DynamoDB (a stream backlog for statistics and notices), then
SIGTERM while that backlog is being worked through.
"""

from __future__ import annotations

import time

import pytest
import requests

from e2e.conftest import REPORTS_TABLE
from e2e.helpers import token
from samples import sample_report

pytestmark = pytest.mark.e2e

STOP_SECONDS = 5.0
COPIES = 3000
ANSWERS = 60


def status_mb(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        return {line.split(":")[0]: int(line.split()[1]) // 1024 for line in file if line.startswith(("VmHWM", "VmRSS"))}


def test_lapor_dev_stops_within_seconds_with_a_backlog(tmp_path, start_dev, stop_dev, dynamodb_at):
    server = start_dev(tmp_path / "data")
    admin = token(server, "admin")
    filed = requests.post(f"{server.url}/reports", json=sample_report(), timeout=30)
    assert filed.status_code == 201, filed.text
    tracking_id = filed.json()["tracking_id"]
    for n in range(ANSWERS):  # progress notes: each an event item, and a stream record of the report
        answered = requests.post(f"{server.url}/reports/{tracking_id}/responses", headers=admin, timeout=30,
                                 json={"status": "in_progress", "message": f"Catatan {n}: " + "x" * 1900})
        assert answered.status_code < 500, answered.text  # a bound on the item may refuse some: never a 5xx

    client = dynamodb_at(server.dynamodb_endpoint)
    stored = [i for i in client.scan(TableName=REPORTS_TABLE)["Items"]
              if i["PK"]["S"] == f"REPORT#{tracking_id}" and i["SK"]["S"] == "META"]
    assert stored
    template = stored[0]
    for start in range(0, COPIES, 25):
        client.batch_write_item(RequestItems={REPORTS_TABLE: [
            {"PutRequest": {"Item": template | {"PK": {"S": f"REPORT#COPY{n:06d}"}}}}
            for n in range(start, start + 25)]})
    peak = status_mb(server.process.pid)["VmHWM"]

    started = time.monotonic()
    code = stop_dev(server)
    took = time.monotonic() - started
    assert took < STOP_SECONDS, f"lapor dev took {took:.1f} s to stop (exit code {code}, peak {peak} MB)"
    assert code == 0 and "Lapor dev stopped" in server.printed(), server.printed()[-3000:]
    assert (server.data_dir / "dynamodb" / f"{REPORTS_TABLE}.json").stat().st_size > COPIES * 1000
