"""Merge candidates (issue 15): which reports an operator is offered as the one a report duplicates.

Open reports (neither closed nor rejected, so never merged ones) of the same category, filed in the last
``CANDIDATE_DAYS`` days, within ``CANDIDATE_RADIUS_M`` of the report's location, nearest first, at most
``CANDIDATE_LIMIT``; a report without a location (an SMS report) is offered those of its own region instead,
newest first. Confidential and anonymous reports are offered only when their agency is in the caller's scope
(``access.agencies_in_scope``); public ones outside it are offered with their public fields only and
``in_scope: false`` (a merge into them is refused: both reports must be in the caller's scope).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from lapor.domain import lifecycle
from lapor.domain.geo import haversine_m
from lapor.domain.routing import Agency

CANDIDATE_RADIUS_M, CANDIDATE_DAYS, CANDIDATE_LIMIT = 250, 30, 10
# The agencies above the report's own on the escalation ladder (an escalated duplicate moved up to them).
MAX_LADDER = 4


def candidate_agencies(agency_id: str, agencies: Mapping[str, Agency],
                       scope: frozenset[str] | None) -> tuple[str | None, list[str]]:
    """Where confidential and anonymous candidates are looked for: the report's own agency (every open status),
    and the agencies its reports escalate to (their ``escalated`` reports only), at most ``MAX_LADDER`` of them;
    each only when in ``scope`` (None: all, an admin). Returns (own agency or None, ladder)."""
    own = agency_id if scope is None or agency_id in scope else None
    ladder: list[str] = []
    current = agencies.get(agency_id)
    while current is not None and current.escalates_to and len(ladder) < MAX_LADDER:
        above = current.escalates_to
        if above in ladder or above == agency_id:
            break
        if scope is None or above in scope:
            ladder.append(above)
        current = agencies.get(above)
    return own, ladder


def rank(found: Iterable[dict[str, Any]], *, exclude: str, limit: int = CANDIDATE_LIMIT) -> list[dict[str, Any]]:
    """Candidate lines (``views.candidate_item``, ``distance_m`` unrounded) each once (the first line met wins), never ``exclude`` (the report itself), nearest first (without
    distances: newest first), at most ``limit``."""
    seen: dict[str, dict[str, Any]] = {}
    for line in found:
        if line["tracking_id"] != exclude and line["tracking_id"] not in seen:
            seen[line["tracking_id"]] = line
    lines = sorted(seen.values(), key=lambda line: line["tracking_id"])
    lines.sort(key=lambda line: line["submitted_at"], reverse=True)
    lines.sort(key=lambda line: float("inf") if line["distance_m"] is None else line["distance_m"])
    return lines[:limit]


class Offer(NamedTuple):
    in_scope: bool  # False: a public report outside the caller's scope, shown with its public fields only
    distance_m: float | None  # unrounded; None without a location to measure from


def offer(report: Mapping[str, Any], *, category: str, since: str, scope: frozenset[str] | None,
          origin: tuple[float, float] | None) -> Offer | None:
    """Whether ``report`` is offered as a candidate (None: not), decided on the report item as it is now, not on
    an index's copy of it (its agency, privacy, status and place may have changed since): open, not merged, of
    ``category``, filed at or after ``since`` (a UTC instant), in ``scope`` (None: all, an admin) or public, and
    with an ``origin`` (lat, lon) within ``CANDIDATE_RADIUS_M`` of it."""
    in_scope = scope is None or report["agency_id"] in scope
    if (report["status"] not in lifecycle.ACTIVE or report.get("merged_into") or report["category"] != category
            or report["submitted_at"] < since or not (in_scope or report["privacy"] == "public")):
        return None
    if origin is None:
        return Offer(in_scope, None)
    if not report.get("location"):
        return None
    distance = haversine_m(*origin, float(report["location"]["lat"]), float(report["location"]["lon"]))
    return Offer(in_scope, distance) if distance <= CANDIDATE_RADIUS_M else None
