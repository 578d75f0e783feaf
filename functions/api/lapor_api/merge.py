"""Duplicates: an operator merges a report into another (both in the caller's scope), an admin undoes it."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import operations, runtime
from lapor.candidates import merge_candidates
from lapor.domain import duplicates, ids
from lapor.domain.access import agencies_in_scope
from lapor.errors import Forbidden, NotFound, Unprocessable
from lapor.models import AgencyReportView, MergeCandidates, MergeIn
from lapor.observability import logger
from lapor_api import auth
from lapor_api.agency import CHANGE, NOT_VISIBLE, OPERATOR_ONLY, TrackingId, _agency_view, _in_scope, _now, _visible_report
from lapor_api.responses import ADMIN, JSON_BODY, OPERATOR, errors, ok

router = APIGatewayHttpRouter()


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
    """Open reports this one may duplicate, as ``lapor.candidates.merge_candidates`` finds them in the caller's
    scope."""
    caller = auth.caller(router)
    record = _visible_report(caller, tracking_id)
    config = runtime.config_cache().get()
    ranked = merge_candidates(runtime.store(), record, agencies=config.agencies,
                              scope=agencies_in_scope(caller, config.agencies), now=_now())
    location = record.get("location")
    return MergeCandidates.model_validate({
        "basis": "distance" if location else "region",
        "radius_m": duplicates.CANDIDATE_RADIUS_M if location else None, "days": duplicates.CANDIDATE_DAYS,
        "items": [line | {"distance_m": None if line["distance_m"] is None else round(line["distance_m"])}
                  for line in ranked]})
