"""The sample report every test and the bench start from: the body of events/api/post-report.json."""

import copy
import json
from pathlib import Path
from typing import Any

SAMPLE_EVENT = Path(__file__).resolve().parents[1] / "events" / "api" / "post-report.json"


def sample_report() -> dict[str, Any]:
    """A fresh copy of a valid public complaint for Kota Samarinda, with reporter details and a location."""
    return copy.deepcopy(json.loads(json.loads(SAMPLE_EVENT.read_text(encoding="utf-8"))["body"]))
