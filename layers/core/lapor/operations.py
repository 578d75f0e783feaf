"""Changes to a filed report: agency responses, admin reassignments and rejections, reporter feedback.

Each is one conditional write (version and status as read); a lost race is a 409 with the current version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lapor.config import RoutingConfig
from lapor.dal import ReportChanged, ReportStore
from lapor.domain import lifecycle, reference
from lapor.domain.access import Caller
from lapor.domain.clock import iso_utc, local_day
from lapor.errors import Conflict, Unprocessable
from lapor.intake import new_event


def _check_version(record: dict[str, Any], version: int | None) -> None:
    if version is not None and version != record["version"]:
        raise Conflict("the report changed since you read it", code="stale_version",
                       details={"current_version": record["version"], "status": record["status"]})


def _refuse_transition(record: dict[str, Any], action: str) -> Conflict:
    return Conflict(f"a report in status {record['status']!r} cannot be {action}", code="invalid_transition",
                    details={"status": record["status"]})


def _commit(store: ReportStore, record: dict[str, Any], changes: dict[str, Any], event: dict[str, Any],
            now: datetime) -> dict[str, Any]:
    try:
        return store.record_change(record, changes, event=event, now_utc=iso_utc(now))
    except ReportChanged as exc:
        current = store.get_report(record["tracking_id"]) or record
        raise Conflict("the report changed meanwhile; read it again", code="stale_version",
                       details={"current_version": current["version"], "status": current["status"]}) from exc


def respond(store: ReportStore, config: RoutingConfig, record: dict[str, Any], caller: Caller, *, status: str,
            message: str, version: int | None, now: datetime) -> dict[str, Any]:
    _check_version(record, version)
    if not lifecycle.response_allowed(record["status"], status):
        raise _refuse_transition(record, f"answered as {status!r}")
    event = new_event(lifecycle.EVENT_FOR_RESPONSE[status], now, caller.role, "operator",
                      agency_id=caller.agency_id or record["agency_id"], message=message, actor_sub=caller.subject)
    changes: dict[str, Any] = {"status": status}
    if status == "responded":  # the sweep closes it when the reporter stays silent through the reopen window
        # The answer (not a progress note) is what Open311 shows as status_notes of a public report.
        changes["status_notes"] = message
        # Which answer, and when: the reporter rates each answer once; the reopen window counts from it;
        # statistics count the first answer.
        changes["answer_id"] = event["id"]
        changes["answered_at"] = iso_utc(now)
        if not record.get("first_answered_at"):
            changes["first_answered_at"] = iso_utc(now)
        changes["closes_at_utc"] = config.deadline(record["region_code"], now,
                                                   lifecycle.REOPEN_WINDOW_WORKING_DAYS)["due_at_utc"]
    return _commit(store, record, changes, event, now)


def reassign(store: ReportStore, config: RoutingConfig, record: dict[str, Any], caller: Caller, *,
             agency_id: str, reason: str, version: int | None, now: datetime,
             default_deadline_days: int) -> dict[str, Any]:
    """Hand the report to another agency, which gets a fresh deadline of its own."""
    _check_version(record, version)
    agency = config.agencies.get(agency_id)
    if agency is None:
        raise Unprocessable(f"unknown agency {agency_id!r}", code="unknown_agency",
                            details=[{"loc": ["body", "agency_id"], "input": agency_id}])
    if agency_id == record["agency_id"]:
        raise Conflict("the report is already assigned to this agency", code="same_agency")
    if not lifecycle.reassign_allowed(record["status"]):
        raise _refuse_transition(record, "reassigned")
    days = record.get("deadline_working_days") or default_deadline_days
    changes = {"status": "routed", "agency_id": agency.id, "agency_name": agency.name,
               **config.deadline(record["region_code"], now, days), "deadline_working_days": days}
    event = new_event("reassigned", now, caller.role, "operator", agency_id=agency.id, message=reason,
                      from_agency_id=record["agency_id"], actor_sub=caller.subject)
    return _commit(store, record, changes, event, now)


def reject(store: ReportStore, record: dict[str, Any], caller: Caller, *, reason: str, version: int | None,
           now: datetime) -> dict[str, Any]:
    _check_version(record, version)
    if not lifecycle.reject_allowed(record["status"]):
        raise _refuse_transition(record, "rejected")
    event = new_event("rejected", now, caller.role, "operator", agency_id=record["agency_id"], message=reason,
                      actor_sub=caller.subject)
    return _commit(store, record, {"status": "rejected"}, event, now)


def feedback(store: ReportStore, config: RoutingConfig, record: dict[str, Any], *, rating: int,
             comment: str | None, reopen: bool, now: datetime, default_deadline_days: int) -> dict[str, Any]:
    """The reporter rates the answer, once per answer; once, within 10 working days of it, they may reopen the
    report (with a rating of their own, even if they rated the answer before). A second rating of the same
    answer is refused rather than replacing the first: every rating stays on the timeline as it was given,
    and a reporter cannot grow the report by rating again and again."""
    if not lifecycle.feedback_allowed(record["status"]):
        raise _refuse_transition(record, "rated before the agency has responded")
    answered_at, answer_id = record.get("answered_at"), record.get("answer_id")
    changes: dict[str, Any] = {"status": record["status"], "rated_answer_id": answer_id}
    event = new_event("reopened" if reopen else "feedback", now, "reporter", "web", rating=rating,
                      message=comment)
    if not reopen and answer_id and record.get("rated_answer_id") == answer_id:
        raise Conflict("this answer was rated already; a reporter rates each answer once", code="already_rated")
    if reopen:
        if record["status"] != "responded":
            raise _refuse_transition(record, "reopened")
        if record.get("reopens", 0) >= lifecycle.MAX_REOPENS:
            raise Conflict("this report was reopened once already", code="reopen_limit")
        zone = reference.region(record["region_code"]).zone  # type: ignore[union-attr]
        elapsed = config.calendar.working_days_between(local_day(answered_at, zone), now.astimezone(zone).date())
        if elapsed > lifecycle.REOPEN_WINDOW_WORKING_DAYS:
            raise Conflict(f"a report can be reopened within {lifecycle.REOPEN_WINDOW_WORKING_DAYS} working days "
                           "of its answer", code="reopen_window_closed", details={"working_days": elapsed})
        days = record.get("deadline_working_days") or default_deadline_days
        changes |= {"status": "routed", **config.deadline(record["region_code"], now, days),
                    "deadline_working_days": days, "reopens": record.get("reopens", 0) + 1}
    return _commit(store, record, changes, event, now)
