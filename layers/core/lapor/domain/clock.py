"""Instants as stored (UTC, ISO 8601 with ``Z``) and as people read them (a region's local day)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


# The instants Lapor accepts from outside (query dates, as_of): wider than any real request, and narrow enough
# that adding a window or a year of working days, or moving to any time zone, cannot leave datetime's range.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """``2026-11-29T03:00:00Z``: sortable, so it can be part of an index key."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def local_day(iso: str, zone: ZoneInfo) -> date:
    return parse_utc(iso).astimezone(zone).date()
