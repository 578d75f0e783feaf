"""The README's curl walk-through works verbatim against the local stack (only the port differs)."""

import json
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Walk-through", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_walkthrough_runs_as_written(api_url, tmp_path):
    script = walkthrough().replace("http://127.0.0.1:3000", api_url)
    assert script.count(api_url) >= 6, "the walk-through should talk to the local stack"
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    created = json.loads((tmp_path / "report.json").read_text())
    assert created["agency"]["id"] == "64-72-pupr" and created["due_at"].endswith("23:59:59+08:00")
    out = run.stdout
    assert out.count(created["tracking_id"]) >= 3  # the reply, the public view, the reporter's view
    assert '"type":"routed"' in out.replace(" ", "")  # the reporter's view has the timeline
    assert '"code":"unknown_region"' in out.replace(" ", "")
    assert '"openapi":"3.' in out.replace(" ", "")
    assert "Siti" not in out and "3456" not in out  # no reply or view shows the reporter
