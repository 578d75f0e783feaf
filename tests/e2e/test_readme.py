"""The README's curl walk-through works verbatim against the local stack (only the port differs)."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough(heading: str = "## Walk-through") -> str:
    """The first ``sh`` block under ``heading``."""
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_walkthrough_runs_as_written(lapor_dev, api_url, tmp_path):
    # Only the address differs, and the token issuer is this test stack's (make dev uses .lapor/).
    lapor = f"{sys.executable} -m lapor_cli.main"
    script = walkthrough().replace("http://127.0.0.1:3000", api_url)
    script = re.sub(r"\.venv/bin/lapor token (.*?)\)", rf"{lapor} token \1 --data-dir {lapor_dev.data_dir})", script)
    script = re.sub(r"\.venv/bin/lapor outbox (.*)", rf"{lapor} outbox \1 --data-dir {lapor_dev.data_dir}", script)
    assert script.count("--data-dir") == 3
    assert script.count(api_url) >= 6, "the walk-through should talk to the local stack"
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=90, env={**os.environ, "PYTHONPATH": str(README.parent / "cli")})
    assert run.returncode == 0, run.stderr
    created = json.loads((tmp_path / "report.json").read_text())
    assert created["agency"]["id"] == "64-72-pupr" and created["due_at"].endswith("23:59:59+08:00")
    out = run.stdout
    assert out.count(created["tracking_id"]) >= 3  # the reply, the public view, the reporter's view
    assert '"type":"routed"' in out.replace(" ", "")  # the reporter's view has the timeline
    assert '"code":"unknown_region"' in out.replace(" ", "")
    assert '"openapi":"3.' in out.replace(" ", "")
    # Only the agency's own replies name the reporter; the public view never does.
    public = urllib.request.urlopen(f"{api_url}/reports/{created['tracking_id']}").read().decode()
    assert "Siti" not in public and "3456" not in public and '"status":"responded"' in public.replace(" ", "")
    compact = out.replace(" ", "")
    assert '"status":"responded"' in compact and "Lubangsudahditambalpada3Desember." in compact
    assert '"type":"feedback"' in compact  # the reporter's rating
    assert '"code":"not_found"' in compact  # another agency
    # The last commands: the statistics, moved, then the notices the stream sent.
    figures = json.loads(out[out.rindex('{"region"'):out.rindex("}") + 1])
    assert re.search(rf"{created['tracking_id']}\s+agency\s+64-72-pupr\s+Laporan baru", out)
    assert "+6281234567890" not in out[out.rindex("}"):]  # no SMS to the phone typed into the form
    assert figures["region"] == "64.72" and figures["answered"] >= 1 and figures["by_status"]["responded"] >= 1


def test_the_readme_sms_example_files_a_report(api_url):
    script = walkthrough("## SMS\n").replace("http://127.0.0.1:3000", api_url)
    script = script.replace('"demo-1"', '"readme-demo"')  # another test may have used demo-1 on this stack
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    reply = json.loads(run.stdout)["reply"]
    assert re.match(r"Laporan LPR-[0-9A-Z]{8} diteruskan ke Dinas Kesehatan Kota Samarinda", reply), reply


def test_the_readme_photo_walkthrough_runs_as_written(api_url, tmp_path):
    """Through the local S3: a presigned POST upload with curl, MediaFunction on its event, the clean photo and its
    thumbnail downloaded with the presigned GETs the view lists."""
    script = walkthrough("### A photo with curl").replace("http://127.0.0.1:3000", api_url)
    script = script.replace(".venv/bin/python", sys.executable)
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    assert "HTTP 204" in run.stdout
    assert '"status": "ready"' in run.stdout
    assert "photo.jpg JPEG (1200, 900) GPS: {1: 'S'" in run.stdout
    assert "clean.jpg JPEG (1200, 900) GPS: {}" in run.stdout
    assert "thumbnail.jpg JPEG (640, 480) GPS: {}" in run.stdout
