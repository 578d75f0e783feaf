"""What the end-to-end tests share: the lapor CLI against the session's stack, tokens, waiting for the stream."""

import json
import subprocess
import sys
import time


def lapor(lapor_dev, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "lapor_cli.main", *args, "--data-dir", str(lapor_dev.data_dir)],
                          capture_output=True, text=True, timeout=60, input=stdin)


def token(lapor_dev, role, agency=None):
    run = lapor(lapor_dev, "token", "--role", role, *(["--agency", agency] if agency else []))
    assert run.returncode == 0, run.stderr
    return {"Authorization": f"Bearer {run.stdout.strip()}"}


def wait_for(condition, seconds=15.0, what="the stream consumer to catch up"):
    """``condition()`` once it is truthy (polled every 0.25 s), or an AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def notices(lapor_dev, tracking_id, event_type=None):
    """The notices ``lapor outbox`` lists for one report."""
    run = lapor(lapor_dev, "outbox", tracking_id, "--json")
    assert run.returncode == 0, run.stderr
    found = [json.loads(line) for line in run.stdout.splitlines()]
    return [n for n in found if event_type in (None, n["event_type"])]
