"""Logs carry a correlation id and never a reporter's name, phone or email; intake emits its metric."""

import json

import pytest

from conftest import VALID_REPORT



def test_no_identity_in_any_log_line_and_metric_by_kind_and_channel(call_api, capsys, log_lines):
    headers = {"Idempotency-Key": "log-check-Hq83nZ0pLx7VcT2m"}
    created = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)  # replay
    call_api("POST", "/reports", json_body={**VALID_REPORT, "region_code": "64.99"})  # an error
    call_api("GET", f"/reports/{created.body['tracking_id']}", headers={"X-Access-Code": created.body["access_code"]})
    printed = capsys.readouterr()
    text = log_lines.getvalue() + printed.out + printed.err
    reporter = VALID_REPORT["reporter"]
    for secret in (reporter["name"], "Siti", reporter["email"], "3456", "+6281234567890", created.body["access_code"]):
        assert secret not in text
    logs = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    submitted_log = [line for line in logs if line["message"] == "report submitted"]
    assert len(submitted_log) == 1 and submitted_log[0]["correlation_id"]
    assert submitted_log[0]["tracking_id"] == created.body["tracking_id"]
    metrics = [json.loads(line) for line in printed.out.splitlines() if line.startswith('{"_aws"')]
    submitted = [m for m in metrics if "ReportSubmitted" in m]
    assert len(submitted) == 1  # the replay files nothing and counts nothing
    assert (submitted[0]["kind"], submitted[0]["channel"]) == ("complaint", "web")
    assert submitted[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Lapor"
