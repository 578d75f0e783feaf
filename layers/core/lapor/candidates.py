"""Merge candidates (issue 15): the reports read to find those a report may duplicate, within what one request may
cost. Which of them is offered is decided on each report read (``domain/duplicates.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from lapor.dal import ReportStore, keys
from lapor.domain import duplicates, lifecycle
from lapor.domain.clock import iso_utc
from lapor.domain.routing import Agency
from lapor.views import candidate_item

# ByAgency index items read per key range (an agency's reports in one status filed in the window), and reports read
# (BatchGetItem) for their location and count of supporters: what one candidates request costs at most.
CANDIDATE_PAGE, CANDIDATE_READS = 100, 100


def merge_candidates(store: ReportStore, record: dict[str, Any], *, agencies: Mapping[str, Agency],
                     scope: frozenset[str] | None, now: datetime) -> list[dict[str, Any]]:
    """Open reports of the report's category filed in the last 30 days within 250 m of its location, nearest first
    (without a location: in its region, newest first), at most 10, never itself nor merged ones, as candidate
    lines (``views.candidate_item``, ``distance_m`` unrounded). Public ones from the geographic index (whoever's
    they are: outside ``scope``, None for all, they show their public fields only, with ``in_scope: false``);
    confidential and anonymous ones only from the ByAgency index of agencies in ``scope`` (the report's own
    agency, every open status, and the agencies above it, their escalated reports), each Query one page of at
    most 100 index items of the window, then at most 100 reports read. Never a Scan."""
    since = iso_utc(now - timedelta(days=duplicates.CANDIDATE_DAYS))
    category, location = record["category"], record.get("location")
    origin = (float(location["lat"]), float(location["lon"])) if location else None
    own, ladder = duplicates.candidate_agencies(record["agency_id"], agencies, scope)
    # The chain's reports, by agency and status (public ones too when there is no location to search around).
    wanted: list[str] = []
    for agency_id, statuses in ([(own, sorted(lifecycle.ACTIVE))] if own else []) + [(a, ["escalated"])
                                                                                     for a in ladder]:
        items, _ = store.agency_reports_since(agency_id, statuses, since, category=category, limit=CANDIDATE_PAGE,
                                              exclude_public=bool(location))
        wanted += [i["tracking_id"] for i in items if location or i["region_code"] == record["region_code"]]
    lines: list[dict[str, Any]] = []
    if origin:
        try:
            public, _ = store.nearby_reports(
                *origin, duplicates.CANDIDATE_RADIUS_M, category=category, since=since,
                exclude=record["tracking_id"], limit=duplicates.CANDIDATE_LIMIT, nearest_first=True,
                max_ranges=keys.DUPLICATE_RANGES, finest=keys.DUPLICATE_PRECISION)
        except keys.TooManyCells:  # near a pole: never in Indonesia
            public = []
        lines += [candidate_item(i, in_scope=scope is None or i["agency_id"] in scope, distance_m=i["distance_m"])
                  for i in public]
    else:  # the region's public reports of the category, newest first: one or two Queries of its public index
        items, _ = store.list_public_reports(record["region_code"], category=category, limit=50, max_queries=2)
        wanted += [i["tracking_id"] for i in items if i["submitted_at"] >= since]
    for item in store.get_reports(wanted[:CANDIDATE_READS]):
        offer = duplicates.offer(item, category=category, since=since, scope=scope, origin=origin)
        if offer is not None:
            lines.append(candidate_item(item, in_scope=offer.in_scope, distance_m=offer.distance_m))
    return duplicates.rank(lines, exclude=record["tracking_id"])
