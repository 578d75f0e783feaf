"""GET /openapi.json, as the handler serves it, is byte-identical to tests/data/openapi-snapshot.json.

The snapshot was taken from the code before the cold-start work (issue #16: routers, models and imports loaded
later or differently must not change what clients read). A change to a route that is meant to change the document
regenerates it on purpose: ``LAPOR_UPDATE_OPENAPI_SNAPSHOT=1`` with this test, and the diff goes in the commit.

It runs in a fresh interpreter: the document must not depend on what other tests imported or built first.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "tests" / "data" / "openapi-snapshot.json"

SERVE = f"""
import json, sys
sys.path.insert(0, {str(ROOT / "functions" / "api")!r})
from lapor_api.app import lambda_handler
from lapor_cli.devserver import LambdaContext
event = json.loads(open({str(ROOT / "events" / "api" / "get-openapi.json")!r}).read())
reply = lambda_handler(event, LambdaContext("ApiFunction"))
assert reply["statusCode"] == 200, reply
sys.stdout.write(reply["body"])
"""


def served_document() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAPOR_", "POWERTOOLS_"))}
    env.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "lapor-api",
                "POWERTOOLS_METRICS_NAMESPACE": "Lapor", "POWERTOOLS_LOG_LEVEL": "WARNING",
                "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/core", "cli"))})
    done = subprocess.run([sys.executable, "-c", SERVE], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_served_openapi_document_is_byte_identical_to_the_snapshot():
    served = served_document()
    if os.environ.get("LAPOR_UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(served, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if served != expected:
        pretty = [json.dumps(json.loads(text), indent=1, sort_keys=False).splitlines() for text in (expected, served)]
        diff = "\n".join(list(difflib.unified_diff(*pretty, "snapshot", "served", lineterm=""))[:80])
        raise AssertionError(f"GET /openapi.json changed (byte for byte; first lines of the diff):\n{diff}")
