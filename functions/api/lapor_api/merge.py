"""Duplicates: an operator merges a report into another (both in the caller's scope), an admin undoes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import operations, runtime
from lapor.dal import keys
from lapor.domain import duplicates, ids
from lapor.domain.access import agencies_in_scope
from lapor.domain.clock import iso_utc
from lapor.errors import Forbidden, NotFound, Unprocessable
from lapor.models import AgencyReportView, MergeCandidates, MergeIn
from lapor.observability import logger
from lapor.views import candidate_item
from lapor_api import auth
from lapor_api.agency import CHANGE, NOT_VISIBLE, OPERATOR_ONLY, TrackingId, _agency_view, _in_scope, _now, _visible_report
from lapor_api.responses import ADMIN, JSON_BODY, OPERATOR, errors, ok

router = APIGatewayHttpRouter()
# ByAgency index items read per key range (an agency's reports in one status filed in the window), and reports read
# (BatchGetItem) for their location and count of supporters: what one candidates request costs at most.
CANDIDATE_PAGE, CANDIDATE_READS = 100, 100


@router.post("/reports/<tracking_id>/merge", summary="Close a report as a duplicate of another", **OPERATOR_ONLY,
             responses=CHANGE | errors(
                 OPERATOR, JSON_BODY, NOT_VISIBLE,
                 (403, "The token is not an operator's Cognito ID token (`id_token_required`), carries no operator "
                       "role, or the report it names as `into` is outside the caller's agency chain (`forbidden`)"),
                 (404, "No report with this tracking id in the caller's agency chain, or no report `into` "
                       "(`unknown_report`)"),
                 (409, "This report is not open, or `into` is rejected or merged itself (`invalid_transition`); "
                       "reports were merged into this one (`has_duplicates`); or it changed since the given version "
                       "(`stale_version`)"),
                 (422, "The body does not match the schema (`validation_error`), or `into` is this report "
                       "(`same_report`)")))
def merge(tracking_id: TrackingId, change: MergeIn) -> AgencyReportView:
    caller = auth.caller(router)
    record = _visible_report(caller, tracking_id)
    into = ids.normalize_tracking_id(change.into)
    if into == record["tracking_id"]:
        raise Unprocessable("a report cannot be merged into itself", code="same_report",
                            details=[{"loc": ["body", "into"], "input": change.into}])
    master = runtime.store().get_report(into) if into else None
    if master is None:
        raise NotFound(f"no report {change.into!r}", code="unknown_report")
    if not _in_scope(caller, master["agency_id"]):
        raise Forbidden("the report to merge into is outside your agency chain")
    written = operations.merge(runtime.store(), record, master, caller, reason=change.reason,
                               version=change.version, now=_now())
    logger.info("report merged", extra={"tracking_id": written["tracking_id"], "into": master["tracking_id"],
                                        "role": caller.role, "by": caller.subject})
    return _agency_view(written, caller)


@router.delete("/reports/<tracking_id>/merge", summary="Undo a merge (admin)", **OPERATOR_ONLY,
               responses=CHANGE | errors(ADMIN, NOT_VISIBLE, (409, "The report is not merged (`not_merged`), or its master or the link to it is gone or undone already (`master_missing`: nothing changed)"), 422))
def unmerge(tracking_id: TrackingId) -> AgencyReportView:
    caller = auth.admin(router)
    record = _visible_report(caller, tracking_id)
    written = operations.unmerge(runtime.store(), record, caller, version=None, now=_now())
    logger.info("report unmerged", extra={"tracking_id": written["tracking_id"], "role": caller.role,
                                          "by": caller.subject})
    return _agency_view(written, caller)


@router.get("/agency/reports/<tracking_id>/candidates", summary="Reports this one may duplicate (merge candidates)",
            **OPERATOR_ONLY, responses=ok("At most 10 open reports of the same category nearby (or, without a "
                                          "location, in the same region)") | errors(OPERATOR, NOT_VISIBLE, 422))
def candidates(tracking_id: TrackingId) -> MergeCandidates:
    """Open reports of the report's category filed in the last 30 days within 250 m of its location, nearest first
    (without a location: in its region, newest first), at most 10, never itself nor merged ones. Public ones from
    the geographic index (whoever's they are: outside the caller's chain they show their public fields only, with
    ``in_scope: false``); confidential and anonymous ones only from the ByAgency index of agencies in the caller's
    chain (the report's own agency, every open status, and the agencies above it, their escalated reports), each
    Query one page of at most 100 index items of the window, then at most 100 reports read. Never a Scan."""
    caller = auth.caller(router)
    record = _visible_report(caller, tracking_id)
    config = runtime.config_cache().get()
    scope = agencies_in_scope(caller, config.agencies)
    store = runtime.store()
    since = iso_utc(_now() - timedelta(days=duplicates.CANDIDATE_DAYS))
    category, location = record["category"], record.get("location")
    own, ladder = duplicates.candidate_agencies(record["agency_id"], config.agencies, scope)
    # The chain's reports, by agency and status (public ones too when there is no location to search around).
    wanted: list[str] = []
    for agency_id, statuses in ([(own, sorted(keys.NEARBY_STATUSES))] if own else []) + [(a, ["escalated"])
                                                                                          for a in ladder]:
        items, _ = store.agency_reports_since(agency_id, statuses, since, category=category, limit=CANDIDATE_PAGE,
                                              exclude_public=bool(location))
        wanted += [i["tracking_id"] for i in items if location or i["region_code"] == record["region_code"]]
    lines: list[dict[str, Any]] = []
    if location:
        lat, lon = float(location["lat"]), float(location["lon"])
        try:
            public, _ = store.nearby_reports(
                lat, lon, duplicates.CANDIDATE_RADIUS_M, category=category, since=since,
                exclude=record["tracking_id"], limit=duplicates.CANDIDATE_LIMIT, nearest_first=True,
                max_ranges=keys.DUPLICATE_RANGES, finest=keys.DUPLICATE_PRECISION)
        except keys.TooManyCells:  # near a pole: never in Indonesia
            public = []
        lines += [candidate_item(i, in_scope=_in_scope(caller, i["agency_id"]), distance_m=i["distance_m"])
                  for i in public]
    else:  # the region's public reports of the category, newest first: one or two Queries of its public index
        items, _ = store.list_public_reports(record["region_code"], category=category, limit=50, max_queries=2)
        wanted += [i["tracking_id"] for i in items if i["submitted_at"] >= since]
    origin = (lat, lon) if location else None
    for item in store.get_reports(wanted[:CANDIDATE_READS]):
        offer = duplicates.offer(item, category=category, since=since, scope=scope, origin=origin)
        if offer is not None:
            lines.append(candidate_item(item, in_scope=offer.in_scope, distance_m=offer.distance_m))
    ranked = duplicates.rank(lines, exclude=record["tracking_id"])
    return MergeCandidates.model_validate({
        "basis": "distance" if location else "region",
        "radius_m": duplicates.CANDIDATE_RADIUS_M if location else None, "days": duplicates.CANDIDATE_DAYS,
        "items": [line | {"distance_m": None if line["distance_m"] is None else round(line["distance_m"])}
                  for line in ranked]})
