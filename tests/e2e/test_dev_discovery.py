"""The CLI finds the running ``lapor dev`` on whatever port it listens (here a free one, not 3000) from what it
recorded, with no --endpoint nor --data-dir; what the command line says still wins; the record goes at stop."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def cli(lapor_dev, *args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    environment |= {"LAPOR_DEV_STATE": str(lapor_dev.data_dir / "dev.json")} | env
    return subprocess.run([sys.executable, "-m", "lapor_cli.main", *args], capture_output=True, text=True,
                          timeout=120, env=environment)


def test_the_cli_finds_the_running_stack(lapor_dev):
    recorded = json.loads((lapor_dev.data_dir / "dev.json").read_text())
    assert recorded["url"] == lapor_dev.url != "http://127.0.0.1:3000"
    assert recorded["issuer_dir"] == str(lapor_dev.data_dir / "issuer")
    swept = cli(lapor_dev, "sweep", "--dry-run", "--poll", "0.2")  # an admin token from the stack's own issuer
    assert swept.returncode == 0, swept.stderr
    assert "status         finished" in swept.stdout or "finished" in swept.stdout
    exported = cli(lapor_dev, "routes", "export")
    assert exported.returncode == 0 and exported.stdout.startswith("region_code,category,agency_id"), exported.stderr
    token = cli(lapor_dev, "token", "--role", "operator", "--agency", "64-72-pupr")
    assert token.returncode == 0 and token.stdout.count(".") == 2
    # --endpoint and LAPOR_ENDPOINT win over the record.
    elsewhere = cli(lapor_dev, "routes", "export", "--endpoint", "http://127.0.0.1:9")
    assert elsewhere.returncode != 0 and "127.0.0.1:9" in elsewhere.stderr
    from_env = cli(lapor_dev, "routes", "export", LAPOR_ENDPOINT="http://127.0.0.1:9")
    assert from_env.returncode != 0 and "127.0.0.1:9" in from_env.stderr


def test_a_stopped_stack_leaves_no_record(tmp_path, start_dev, stop_dev):
    server = start_dev(tmp_path / "data")
    assert json.loads((tmp_path / "data" / "dev.json").read_text())["url"] == server.url
    assert stop_dev(server) == 0
    assert not (tmp_path / "data" / "dev.json").exists()
