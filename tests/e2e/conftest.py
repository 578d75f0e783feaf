"""End-to-end fixtures: a real ``lapor dev`` subprocess, called over HTTP, its DynamoDB read with boto3."""

from __future__ import annotations

import collections
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15
READY_RE = re.compile(r"^Lapor dev ready: API on (?P<api>http://[^\s]+) \(DynamoDB (?P<dynamodb>http://[^\s,]+),"
                      r"(?: S3 (?P<s3>http://[^\s,]+),)?")
LOCAL_REGION = "ap-southeast-3"
REPORTS_TABLE = "ReportsTable"
# Issue #11, item 7: lapor dev stays within a few hundred MB, under the fuzz suite too (it grew to several GB).
PEAK_RSS_LIMIT_MB = 400


@dataclass
class DevServer:
    """One running ``lapor dev``: its URLs, and everything it printed (kept by a draining thread)."""

    process: subprocess.Popen[str]
    data_dir: Path
    url: str = ""
    dynamodb_endpoint: str = ""
    s3_endpoint: str = ""
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=5000))
    drainer: threading.Thread | None = None

    def printed(self) -> str:
        return "".join(self.output)


def _subprocess_env() -> dict[str, str]:
    # The suite's root conftest points AWS at fake credentials; the stack sets its own, so drop them and any
    # endpoint override that could make the child talk to something other than its embedded DynamoDB.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAPOR_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_lapor_dev(data_dir: Path, cwd: Path = ROOT) -> DevServer:
    """Start ``lapor dev --port 0 --data-dir data_dir`` and wait for its ready line (or fail with its output).
    ``cwd``: the checkout it serves (its template.yaml, web/), the real one unless a test builds another."""
    # Where it records itself for the CLI (lapor_cli.devstate): beside its data, never the checkout's .lapor/.
    env = _subprocess_env() | {"LAPOR_DEV_STATE": str(data_dir / "dev.json")}
    process = subprocess.Popen(
        [sys.executable, "-m", "lapor_cli.main", "dev", "--port", "0", "--data-dir", str(data_dir)],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace", bufsize=1,
    )
    server = DevServer(process=process, data_dir=data_dir)
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        # Reads until EOF for the whole life of the process, so the pipe never fills (handlers log to stdout).
        assert process.stdout is not None
        for line in process.stdout:
            server.output.append(line)
            lines.put(line)
        lines.put(None)

    server.drainer = threading.Thread(target=drain, name="lapor-dev-stdout", daemon=True)
    server.drainer.start()

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.01)) if remaining > 0 else None
        except queue.Empty:
            line = None
        if line is not None:
            match = READY_RE.match(line.strip())
            if match:
                server.url, server.dynamodb_endpoint = match["api"], match["dynamodb"]
                server.s3_endpoint = match["s3"] or ""
                return server
            continue
        # EOF, or out of time: stop it and report what it printed.
        exited = process.poll() is not None
        stop_lapor_dev(server)
        pytest.fail(
            f"lapor dev {'exited with ' + str(process.returncode) if exited else 'printed no ready line'} "
            f"within {READY_TIMEOUT_SECONDS} s; its output:\n{server.printed()}",
            pytrace=False,
        )


def stop_lapor_dev(server: DevServer) -> int:
    """SIGTERM, up to 15 s to stop cleanly, then SIGKILL. Returns the exit code."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    if server.drainer is not None:
        server.drainer.join(timeout=5)
    return process.returncode


def peak_rss_mb(server: DevServer) -> int:
    """The process's peak resident memory so far (VmHWM), in MB."""
    with open(f"/proc/{server.process.pid}/status", encoding="ascii") as file:
        return next(int(line.split()[1]) // 1024 for line in file if line.startswith("VmHWM"))


def stop_within_memory(server: DevServer) -> tuple[int, int]:
    """Stop it and return (exit code, peak MB), the peak read just before SIGTERM."""
    peak = peak_rss_mb(server) if server.process.poll() is None else 0
    print(f"\nlapor dev at {server.url}: peak RSS {peak} MB")  # shown with -s: the figure for the closing notes
    return stop_lapor_dev(server), peak


def dynamodb_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=LOCAL_REGION,
                        aws_access_key_id="e2e-fake", aws_secret_access_key="e2e-fake")


@pytest.fixture(scope="session")
def lapor_dev(tmp_path_factory: pytest.TempPathFactory):
    """The session's ``lapor dev`` on a free port with its own data directory."""
    server = start_lapor_dev(tmp_path_factory.mktemp("lapor-dev-data"))
    try:
        yield server
    finally:
        code, peak = stop_within_memory(server)
    # It must stop as cleanly on SIGTERM as on Ctrl-C: exit 0, the stopped line, the data saved.
    assert peak <= PEAK_RSS_LIMIT_MB, f"lapor dev reached {peak} MB under the end-to-end suite"
    assert code == 0, f"lapor dev exited with {code}; its output:\n{server.printed()}"
    assert "Lapor dev stopped" in server.printed(), server.printed()
    assert (server.data_dir / "dynamodb" / "ReportsTable.json").exists()


@pytest.fixture(scope="session")
def api_url(lapor_dev: DevServer) -> str:
    return lapor_dev.url


@pytest.fixture(scope="session")
def dynamodb(lapor_dev: DevServer) -> Any:
    """boto3 against the stack's embedded DynamoDB (moto), to check what was really stored."""
    return dynamodb_client(lapor_dev.dynamodb_endpoint)


@pytest.fixture
def start_dev():
    """Start extra ``lapor dev`` processes in a test; any left running are stopped at its end."""
    started: list[DevServer] = []

    def start(data_dir: Path) -> DevServer:
        server = start_lapor_dev(data_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_lapor_dev(server)


@pytest.fixture
def stop_dev():
    """``stop_dev(server)``: the same SIGTERM-then-kill stop as the session stack's; returns the exit code."""
    return stop_lapor_dev


@pytest.fixture
def dynamodb_at():
    """``dynamodb_at(endpoint)``: a boto3 DynamoDB client for another stack's embedded DynamoDB."""
    return dynamodb_client


@pytest.fixture(scope="module")
def own_lapor_dev(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A ``lapor dev`` for one module alone, for tests that replace the configuration wholesale (the fuzz suite
    PUTs random agencies, routes and calendars, and sweeps as of any instant): the session's stack never sees it."""
    server = start_lapor_dev(tmp_path_factory.mktemp("lapor-dev-own"))
    try:
        yield server
    finally:
        _, peak = stop_within_memory(server)
    assert peak <= PEAK_RSS_LIMIT_MB, f"lapor dev reached {peak} MB under {request.module.__name__}"
