"""``lapor routes import|export``: routing rules as CSV or JSON, through the admin API (same validation)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

FIELDS = ("region_code", "category", "agency_id", "deadline_working_days")


class RoutesFileError(ValueError):
    pass


def read_routes(text: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RoutesFileError(f"not JSON: {exc}") from exc
        items = data.get("items") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise RoutesFileError("expected a list of routes, or {\"items\": [...]}")
        return items
    reader = csv.DictReader(io.StringIO(text))
    missing = set(FIELDS[:3]) - set(reader.fieldnames or ())
    if missing:
        raise RoutesFileError(f"the CSV header lacks {', '.join(sorted(missing))} (expected {','.join(FIELDS)})")
    routes = []
    for line, row in enumerate(reader, start=2):
        days = (row.get("deadline_working_days") or "").strip()
        if days and not days.isdigit():
            raise RoutesFileError(f"line {line}: deadline_working_days must be a whole number, not {days!r}")
        routes.append({"region_code": (row["region_code"] or "").strip(), "category": (row["category"] or "").strip(),
                       "agency_id": (row["agency_id"] or "").strip(),
                       "deadline_working_days": int(days) if days else None})
    return routes


def write_routes(routes: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"items": routes}, indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for route in routes:
        writer.writerow({k: "" if route.get(k) is None else route[k] for k in FIELDS})
    return out.getvalue()


def format_of(path: Path, given: str | None) -> str:
    if given:
        return given
    if path.suffix.lower() in (".json", ".csv"):
        return path.suffix.lower()[1:]
    raise RoutesFileError("cannot tell the format from the file name: use --format csv|json")
