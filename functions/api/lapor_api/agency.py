"""Operator routes: an agency's queue, its full view of a report, and its responses (JWT-protected)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import cursors, operations, runtime
from lapor.domain import ids
from lapor.domain.access import Caller, agencies_in_scope
from lapor.errors import Forbidden, LaporError, NotFound, Unprocessable
from lapor.models import AgencyReportView, DeskCaller, QueuePage, ReassignIn, RejectIn, ResponseIn, Status
from lapor.observability import logger
from lapor.settings import get_settings
from lapor.views import queue_item, report_view, working_days_left
from lapor_api import auth
from lapor_api.responses import ADMIN, DEFAULTS, JSON_BODY, OPERATOR, errors, ok

router = APIGatewayHttpRouter()
OPERATOR_ONLY = auth.OPERATOR_ONLY | {"tags": ["agency"]}
NOT_VISIBLE = (404, "No report with this tracking id in the caller's agency chain")
CHANGE = ok("The report as its agency chain sees it, changed")
TrackingId = Annotated[str, Path(min_length=1, max_length=32, examples=["LPR-7K3M9Q2X"])]


def _conflict(*codes: str) -> tuple[int, str]:
    return 409, ("The report's status does not allow it (`invalid_transition`)" + "".join(codes)
                 + ", or it changed since the given version (`stale_version`)")


def _in_scope(caller: Caller, agency_id: str) -> bool:
    scope = agencies_in_scope(caller, runtime.config_cache().get().agencies)
    return scope is None or agency_id in scope


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _visible_report(caller: Caller, tracking_id: str, *, timeline: bool = False) -> dict[str, Any]:
    """The report, if the caller's agency chain may see it; otherwise 404, as if it did not exist. A change is
    decided on the report item alone; its reply reads the timeline once the change is written."""
    canonical = ids.normalize_tracking_id(tracking_id)
    record = runtime.store().get_report(canonical, timeline=timeline) if canonical else None
    if record is None or not _in_scope(caller, record["agency_id"]):
        raise NotFound("no report with this tracking id")
    return record


def _agency_view(record: dict[str, Any], caller: Caller | None = None) -> AgencyReportView:
    if "timeline" not in record:
        record = record | {"timeline": runtime.store().get_timeline(record["tracking_id"])}
    # Attachments an admin hid show to admins only.
    master = runtime.store().get_report(record["merged_into"]) if record.get("merged_into") else None
    view = report_view(record, full=True, for_operators=True, sign=runtime.presign_get,
                       show_hidden=caller is not None and caller.role == "admin", master=master,
                       master_content=bool(master and caller and _in_scope(caller, master["agency_id"])))
    view["working_days_left"] = working_days_left(record, runtime.config_cache().get().calendar, _now())
    if record["privacy"] != "anonymous":
        view["reporter"] = runtime.store().get_reporter(record["tracking_id"])
    return AgencyReportView.model_validate(view)


def _queue_scope(agency_id: str, status: str | None, sort: str = "newest") -> str:
    """The listing a cursor belongs to: one agency's queue, with its filter and order (the default order's scope
    is the one cursors had before there was a choice, so those stay valid)."""
    return f"agency-queue:{agency_id}:{status or '*'}" + ("" if sort == "newest" else f":{sort}")


def _support_position(cursor: str, scope: str) -> dict[str, Any]:
    position = cursors.decode(cursor, scope)
    if position.get("phase") not in ("supported", "rest") or not isinstance(position.get("key", {}), dict):
        raise LaporError("the cursor is not one this listing gave out", code="invalid_cursor")
    return position


@router.get("/agency/me", summary="Who is signed in", **OPERATOR_ONLY,
            responses=ok("The caller's role and agency") | errors(OPERATOR))
def signed_in() -> DeskCaller:
    """The caller's highest role and own agency with its name (the desk's header: people know their agency by its
    name, not its id)."""
    caller = auth.caller(router)
    if caller.agency_id is None:
        return DeskCaller(role=caller.role, agency=None)
    known = runtime.config_cache().get().agencies.get(caller.agency_id)
    return DeskCaller.model_validate({"role": caller.role, "agency": {
        "id": caller.agency_id, "name": known.name if known else caller.agency_id}})


@router.get("/agency/reports", summary="An agency's queue", **OPERATOR_ONLY,
            responses=ok("A page of the queue") | errors(
                OPERATOR, (400, "The cursor is not one this listing gave out (`invalid_cursor`)"),
                (403, DEFAULTS[403] + ", or the agency is outside the caller's scope (`forbidden`)"),
                (422, "The query does not match the schema (`validation_error`), or the caller has no agency of "
                      "its own and names none (`agency_required`)")))
def agency_queue(
    status: Annotated[Status | None, Query(description="Only reports in this status.")] = None,
    overdue: Annotated[bool | None, Query(description="true: only overdue reports; false: only those on time.")] = None,
    agency_id: Annotated[str | None, Query(max_length=64, description="Supervisors and admins: another agency "
                                                                     "in their scope (default: their own).")] = None,
    sort: Annotated[Literal["newest", "supporters"], Query(description=(
        "newest (default): by status, newest first within each; supporters: the most supported first across the "
        "whole queue (equal counts in a stable order), then the reports without supporters in the default order. "
        "A cursor is valid only for the same agency, status and sort. With `overdue`, or `status` and "
        "sort=supporters, a page may hold fewer than `limit` lines and still a next cursor."))] = "newest",
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> QueuePage:
    caller = auth.caller(router)
    agency = agency_id or caller.agency_id
    if agency is None:
        raise Unprocessable("name the agency with ?agency_id=", code="agency_required")
    if not _in_scope(caller, agency):
        raise Forbidden("this agency is outside your scope")
    scope = _queue_scope(agency, status, sort)
    store = runtime.store()
    if sort == "supporters":
        items, last_key = store.list_agency_reports_by_support(
            agency, status=status, limit=limit, start_key=_support_position(cursor, scope) if cursor else None)
    else:
        items, last_key = store.list_agency_reports(
            agency, status=status, limit=limit, start_key=cursors.decode(cursor, scope) if cursor else None)
        # ByAgency cannot project the count (the table's projections are at DynamoDB's 100 attributes).
        counts = store.supporter_counts(item["tracking_id"] for item in items)
        items = [item | {"supporters": counts.get(item["tracking_id"], 0)} for item in items]
    now = _now()
    calendar = runtime.config_cache().get().calendar
    lines = [queue_item(item, now, calendar) for item in items]
    if overdue is not None:
        lines = [line for line in lines if line["overdue"] is overdue]
    return QueuePage.model_validate({"items": lines, "next_cursor": cursors.encode(last_key, scope)})


@router.get("/agency/reports/<tracking_id>", summary="A report, as its agency chain sees it", **OPERATOR_ONLY,
            responses=ok("The full view, with the reporter's identity unless anonymous") | errors(
                OPERATOR, NOT_VISIBLE, 422))
def agency_report(tracking_id: TrackingId) -> AgencyReportView:
    caller = auth.caller(router)
    return _agency_view(_visible_report(caller, tracking_id, timeline=True), caller)


@router.post("/reports/<tracking_id>/responses", summary="Acknowledge or answer a report", **OPERATOR_ONLY,
             responses=CHANGE | errors(OPERATOR, JSON_BODY, NOT_VISIBLE, _conflict()))
def respond(tracking_id: TrackingId, response: ResponseIn) -> AgencyReportView:
    caller = auth.caller(router)
    record = operations.respond(runtime.store(), runtime.config_cache().get(), _visible_report(caller, tracking_id),
                                caller,
                                status=response.status, message=response.message, version=response.version,
                                now=_now())
    logger.info("report answered", extra={"tracking_id": record["tracking_id"], "status": response.status,
                                          "agency_id": record["agency_id"], "role": caller.role,
                                          "by": caller.subject})
    return _agency_view(record)


@router.post("/reports/<tracking_id>/reassign", summary="Hand a report to another agency (admin)", **OPERATOR_ONLY,
             responses=CHANGE | errors(
                 ADMIN, JSON_BODY, NOT_VISIBLE, _conflict(", it is already with that agency (`same_agency`)"),
                 (422, "The body does not match the schema (`validation_error`), or names an unknown agency "
                       "(`unknown_agency`)")))
def reassign(tracking_id: TrackingId, change: ReassignIn) -> AgencyReportView:
    caller = auth.admin(router)
    record = operations.reassign(runtime.store(), runtime.config_cache().get(), _visible_report(caller, tracking_id),
                                 caller, agency_id=change.agency_id, reason=change.reason, version=change.version,
                                 now=_now(), default_deadline_days=get_settings().deadline_working_days)
    logger.info("report reassigned", extra={"tracking_id": record["tracking_id"], "agency_id": record["agency_id"],
                                            "role": caller.role, "by": caller.subject})
    return _agency_view(record)


@router.post("/reports/<tracking_id>/reject", summary="Reject a report as spam or out of scope (admin)",
             **OPERATOR_ONLY, responses=CHANGE | errors(ADMIN, JSON_BODY, NOT_VISIBLE, _conflict()))
def reject(tracking_id: TrackingId, change: RejectIn) -> AgencyReportView:
    caller = auth.admin(router)
    record = operations.reject(runtime.store(), _visible_report(caller, tracking_id), caller, reason=change.reason,
                               version=change.version, now=_now())
    logger.info("report rejected", extra={"tracking_id": record["tracking_id"], "role": caller.role,
                                          "by": caller.subject})
    return _agency_view(record)
