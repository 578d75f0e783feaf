"""``lapor sweep`` starts a run and follows ``GET /admin/sweeps/{run_id}`` to its end (against a fake API here;
tests/e2e/test_operators.py runs it against the local stack)."""

from __future__ import annotations

import io
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lapor_cli.main import main

RUN_ID = "01KAZ3NDEKTSV4RRFFQ69G5FAV"


def run_state(status="running", done=0, **counts):
    base = {"id": RUN_ID, "status": status, "as_of": "2027-01-15T00:00:00Z", "dry_run": False, "by": "admin:x",
            "started_at": "2027-01-15T00:00:00Z", "updated_at": "2027-01-15T00:00:00Z", "finished_at": None,
            "shards": 4, "shards_done": done, "scanned": 0, "escalated": 0, "flagged_final": 0, "closed": 0,
            "skipped": 0, "failed": 0, "error": None}
    return base | counts


class FakeApi:
    """Answers POST /admin/sweeps with ``started`` (202), then each GET of the run with the next of ``states``."""

    def __init__(self, started, states, post_status=202):
        self.started, self.states, self.post_status = started, list(states), post_status
        self.requests: list[tuple[str, str, str | None]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                api.requests.append(("POST", self.path, body))
                self.reply(api.post_status, api.started)

            def do_GET(self):
                api.requests.append(("GET", self.path, self.headers.get("Authorization")))
                self.reply(200, api.states.pop(0) if len(api.states) > 1 else api.states[0])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    made = []

    def make(*args, **kwargs):
        made.append(FakeApi(*args, **kwargs))
        return made[-1]

    yield make
    for api in made:
        api.close()


def sweep(api, *args):
    return main(["sweep", "--endpoint", api.url, "--token", "admin-token", "--poll", "0", *args])


def test_it_follows_the_run_line_by_line_when_not_on_a_terminal(fake_api, capsys):
    api = fake_api(run_state(), [run_state(done=1, scanned=3, escalated=2), run_state(done=1, scanned=3, escalated=2),
                                 run_state(done=3, scanned=7, escalated=5),
                                 run_state("finished", 4, scanned=9, escalated=7, skipped=1, failed=1,
                                           finished_at="2027-01-15T00:01:00Z")])
    assert sweep(api, "--as-of", "2027-01-15T08:00:00+08:00") == 0
    out = capsys.readouterr().out.splitlines()
    progress = [line for line in out if line.startswith("sweep ")]
    assert progress == [f"sweep {RUN_ID} running: 0/4 shards, 0 scanned, 0 escalated, 0 failed",
                        f"sweep {RUN_ID} running: 1/4 shards, 3 scanned, 2 escalated, 0 failed",  # once, not twice
                        f"sweep {RUN_ID} running: 3/4 shards, 7 scanned, 5 escalated, 0 failed",
                        f"sweep {RUN_ID} finished: 4/4 shards, 9 scanned, 7 escalated, 1 failed"]
    table = {line[:13].strip(): line[15:] for line in out if not line.startswith("sweep ")}
    assert {k: table[k] for k in ("run", "status", "shards", "escalated", "skipped", "failed")} == {
        "run": RUN_ID, "status": "finished", "shards": "4/4", "escalated": "7", "skipped": "1", "failed": "1"}
    [post] = [r for r in api.requests if r[0] == "POST"]
    assert post[1] == "/admin/sweeps" and json.loads(post[2]) == {"dry_run": False,
                                                                  "as_of": "2027-01-15T08:00:00+08:00"}
    gets = [r for r in api.requests if r[0] == "GET"]
    assert {r[1] for r in gets} == {f"/admin/sweeps/{RUN_ID}"} and len(gets) == 4
    assert {r[2] for r in gets} == {"Bearer admin-token"}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_it_draws_a_progress_bar_of_shards(fake_api, monkeypatch):
    api = fake_api(run_state(), [run_state(done=2, scanned=4, escalated=4),
                                 run_state("finished", 4, scanned=8, escalated=8)])
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert sweep(api) == 0
    drawn = terminal.getvalue()
    assert "\r[------------------------] 0/4 shards" in drawn
    assert "\r[############------------] 2/4 shards  4 scanned  4 escalated  0 failed" in drawn
    assert "\r[########################] 4/4 shards  8 scanned  8 escalated  0 failed\n" in drawn
    assert "status         finished" in drawn


def test_a_dry_run_that_finished_inline_is_printed_at_once(fake_api, capsys):
    api = fake_api(run_state("finished", 4, scanned=2, escalated=2, dry_run=True), [run_state()], post_status=200)
    assert sweep(api, "--dry-run") == 0
    assert not [r for r in api.requests if r[0] == "GET"]
    out = capsys.readouterr().out
    assert "dry run        yes" in out and "escalated      2" in out


@pytest.mark.parametrize("ended", [
    run_state("failed", 3, scanned=5, escalated=5, error={"type": "ClientError", "shard": 2, "attempt": 5,
                                                          "at": "2027-01-15T02:31:00Z"}),
    run_state("stalled", 1, scanned=1, escalated=1),
])
def test_a_run_that_did_not_finish_exits_non_zero_and_says_why(fake_api, capsys, ended):
    api = fake_api(run_state(), [ended])
    assert sweep(api) == 1
    printed = capsys.readouterr()
    assert f"status         {ended['status']}" in printed.out
    assert f"run {RUN_ID} {ended['status']}" in printed.err
    if ended["error"]:
        assert "ClientError on shard 2" in printed.err


def test_a_run_that_could_not_be_handed_on_exits_non_zero_with_its_id(fake_api, capsys):
    api = fake_api({"error": {"code": "sweep_interrupted", "message": "sweep run x was recorded but stopped",
                              "details": {"run_id": RUN_ID, "error": "ClientError"}}}, [run_state()], post_status=503)
    assert sweep(api) == 1
    err = capsys.readouterr().err
    assert "HTTP 503" in err and RUN_ID in err


def test_a_dry_run_prints_what_would_escalate_as_a_table(fake_api, capsys):
    listed = [{"tracking_id": "LPR-2026-AAAA1111", "outcome": "escalated", "agency_id": "64-72-pupr",
               "agency_name": "Dinas PUPR", "due_at": "2026-01-05T23:59:59+08:00",
               "to_agency_id": "64-72-inspektorat", "to_agency_name": "Inspektorat", "to_level": "kabupaten_kota",
               "escalation_level": 1},
              {"tracking_id": "LPR-2026-BBBB2222", "outcome": "flagged_final", "agency_id": "nasional",
               "agency_name": "Nasional", "due_at": "2026-01-06T23:59:59+07:00", "to_agency_id": None,
               "to_agency_name": None, "to_level": None, "escalation_level": 3}]
    api = fake_api(run_state("finished", 4, scanned=2, escalated=1, flagged_final=1, dry_run=True,
                             would_escalate=listed, would_escalate_truncated=False), [run_state()], post_status=200)
    assert sweep(api, "--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("would escalate: 2")
    assert out[at + 1].split() == ["tracking", "id", "agency", "due", "at", "to"]
    assert out[at + 2].split() == ["LPR-2026-AAAA1111", "64-72-pupr", "2026-01-05T23:59:59+08:00",
                                   "64-72-inspektorat", "(kabupaten_kota)"]
    assert out[at + 3].split()[:3] == ["LPR-2026-BBBB2222", "nasional", "2026-01-06T23:59:59+07:00"]
    assert out[at + 3].endswith("flagged final (top of its ladder)")
    assert out[at + 2].index("64-72-pupr") == out[at + 3].index("nasional")  # columns line up


def test_a_truncated_list_says_more_would_and_an_empty_one_says_none(fake_api, capsys):
    entry = {"tracking_id": "LPR-2026-AAAA1111", "outcome": "escalated", "agency_id": "64-72-pupr",
             "agency_name": "Dinas PUPR", "due_at": "2026-01-05T23:59:59+08:00", "to_agency_id": "64-72-inspektorat",
             "to_agency_name": "Inspektorat", "to_level": "kabupaten_kota", "escalation_level": 1}
    api = fake_api(run_state("finished", 4, scanned=9, escalated=9, dry_run=True, would_escalate=[entry],
                             would_escalate_truncated=True), [run_state()], post_status=200)
    assert sweep(api, "--dry-run") == 0
    assert "would escalate: the first 1 listed, more would" in capsys.readouterr().out
    api = fake_api(run_state("finished", 4, dry_run=True, would_escalate=[], would_escalate_truncated=False),
                   [run_state()], post_status=200)
    assert sweep(api, "--dry-run") == 0
    assert "would escalate: none" in capsys.readouterr().out
