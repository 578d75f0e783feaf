"""The CLI finds the running ``lapor dev`` (``lapor_cli.devstate``): its recorded URL and folders, unless
``--endpoint``, ``LAPOR_ENDPOINT`` or ``--data-dir`` say otherwise; ``make dev PORT=...``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from lapor_cli import devstate


@pytest.fixture
def state(tmp_path, monkeypatch):
    path = tmp_path / "dev.json"
    monkeypatch.setenv(devstate.STATE_ENV, str(path))
    monkeypatch.delenv(devstate.ENDPOINT_ENV, raising=False)
    return path


def test_the_running_stack_is_found_and_what_the_command_line_says_wins(state, tmp_path, monkeypatch):
    assert devstate.running() is None and devstate.endpoint(None) == "http://127.0.0.1:3000"
    assert devstate.issuer_dir(None) == ROOT / ".lapor" / "issuer"
    written = devstate.record("http://127.0.0.1:3100", tmp_path / "data", tmp_path / "data" / "issuer",
                              tmp_path / "data" / "outbox.jsonl")
    assert written == state and json.loads(state.read_text())["url"] == "http://127.0.0.1:3100"
    assert devstate.endpoint(None) == "http://127.0.0.1:3100"
    assert devstate.issuer_dir(None) == tmp_path / "data" / "issuer"
    assert devstate.outbox_path(None) == tmp_path / "data" / "outbox.jsonl"
    assert devstate.issuer_dir(str(tmp_path / "other")) == tmp_path / "other" / "issuer"  # --data-dir wins
    assert devstate.endpoint("https://api.example.go.id") == "https://api.example.go.id"  # --endpoint wins
    monkeypatch.setenv(devstate.ENDPOINT_ENV, "http://127.0.0.1:3200")
    assert devstate.endpoint(None) == "http://127.0.0.1:3200"  # LAPOR_ENDPOINT over the record
    assert devstate.endpoint("http://127.0.0.1:3300") == "http://127.0.0.1:3300"


def test_a_record_left_by_a_process_that_is_gone_is_ignored_and_only_its_owner_removes_it(state, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    state.write_text(json.dumps({"url": "http://127.0.0.1:3999", "pid": gone.pid, "issuer_dir": str(tmp_path)}))
    assert devstate.running() is None and devstate.endpoint(None) == "http://127.0.0.1:3000"
    devstate.forget(state)  # not this process's: left alone (another lapor dev may have written it)
    assert state.exists()
    devstate.record("http://127.0.0.1:3100", None, tmp_path / "issuer", tmp_path / "outbox.jsonl")
    devstate.forget(state)
    assert not state.exists()


def test_lapor_token_signs_with_the_running_stacks_issuer(state, tmp_path, capsys):
    from lapor_cli.issuer import LocalIssuer
    from lapor_cli.main import main

    devstate.record("http://127.0.0.1:3100", tmp_path, tmp_path / "issuer", tmp_path / "outbox.jsonl")
    assert main(["token", "--role", "admin"]) == 0
    token = capsys.readouterr().out.strip()
    assert LocalIssuer(tmp_path / "issuer").verify(f"Bearer {token}")["cognito:groups"] == ["admin"]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_dev_takes_a_port():
    for args, command in ((["PORT=3100"], ".venv/bin/lapor dev --port 3100"), ([], ".venv/bin/lapor dev")):
        # Not as a sub-make of `make test` (CI): that would print "make[1]: Entering directory" lines.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        run = subprocess.run(["make", "--no-print-directory", "-n", "-W", ".venv/bin/.installed", "dev", *args],
                             cwd=ROOT, capture_output=True, text=True, timeout=30, env=env)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip().splitlines()[-1] == command
