"""Changes to a filed report: agency responses, admin reassignments and rejections, reporter feedback.

Each is one conditional write (version and status as read); a lost race is a 409 with the current version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lapor.config import RoutingConfig
from lapor.dal import ReportChanged, ReportStore, WriteRefused
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
            now: datetime, *, also: list[dict[str, Any]] = (), remove: tuple[str, ...] = (),
            without_duplicates: bool = False) -> dict[str, Any]:
    try:
        return store.record_change(record, changes, event=event, now_utc=iso_utc(now), also=also, remove=remove,
                                   without_duplicates=without_duplicates)
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
    if record.get("merged_into"):  # closed as a duplicate: the master's answer is rated on the master
        raise Conflict("this report was merged into another, which answers for it", code="invalid_transition",
                       details={"status": record["status"], "merged_into": record["merged_into"]})
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


# -- attachments: the reporter removes one, an admin hides one ----------------------------------------------------

ATTACHMENT_RETRIES = 5


def _attachment_change(store: ReportStore, record: dict[str, Any], attachment_id: str, *, decide, now: datetime,
                       version: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the report's attachments, let ``decide(record, attachment)`` refuse (raise), say it is done already
    (None: nothing is written) or return ``(status, attachment changes, report changes, event)``, and write it in
    one transaction with the report.
    A report or attachment that changed meanwhile (MediaFunction made one ready) is read again and decided
    again, unless the caller named the ``version`` it read. Returns (the report as written, the attachment as
    it was)."""
    from lapor import attachments as media
    from lapor.errors import NotFound

    for attempt in range(ATTACHMENT_RETRIES):
        if attempt:
            record = store.get_report(record["tracking_id"]) or record
        _check_version(record, version)
        listed = store.list_attachments(record["tracking_id"])
        found = [a for a in listed if a["attachment_id"] == attachment_id]
        if not found:
            raise NotFound("no attachment with this id on this report", code="attachment_not_found")
        attachment = found[0]
        decided = decide(record, attachment)
        if decided is None:  # done already: nothing to write
            return record, attachment
        status, changes, report_changes, event = decided
        if attachment["status"] == "ready":
            report_changes["attachments_ready"] = max(0, record.get("attachments_ready", 0) - 1)
        if record.get("media_key") and record["media_key"] == attachment.get("object_key"):
            # Open311's media_url was this image: the next ready one, if any.
            following = media.first_ready_image([a for a in listed if a is not attachment])
            report_changes["media_key"] = following["object_key"] if following else None
        try:
            written = store.change_attachment(
                record, attachment["slot"], attachment_id, expected_status=attachment["status"],
                changes=changes | {"status": status}, report_changes=report_changes, event=event,
                now_utc=iso_utc(now))
        except (ReportChanged, WriteRefused):
            if version is not None:
                break
            continue
        return written, attachment
    current = store.get_report(record["tracking_id"]) or record
    raise Conflict("the report changed meanwhile; read it again", code="stale_version",
                   details={"current_version": current["version"], "status": current["status"]})


def remove_attachment(store: ReportStore, record: dict[str, Any], attachment_id: str, *,
                      now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reporter takes back an attachment they uploaded, until the agency first answers the report (then it
    is part of what was answered: 409 ``already_answered``). The first MAX_FREED_BY_REMOVAL removals free their
    slot for another upload; later ones keep it (bounded uploads). An ``attachment_removed`` event records it."""
    from lapor import attachments as media
    from lapor.errors import Forbidden, NotFound

    def decide(record: dict[str, Any], attachment: dict[str, Any]):  # noqa: ANN202
        if attachment["status"] == "removed":
            return None  # removed already: a retry answers the same (and the caller deletes its files again)
        if attachment["status"] == "hidden":  # as good as gone for the reporter
            raise NotFound("no attachment with this id on this report", code="attachment_not_found")
        if attachment.get("actor_role") != "reporter":
            raise Forbidden("only attachments the reporter uploaded can be removed by the reporter",
                            code="not_own_attachment")
        if record.get("first_answered_at"):
            raise Conflict("the agency has answered this report: its attachments stay as they were answered",
                           code="already_answered")
        freed = record.get("attachments_freed", 0)
        changes: dict[str, Any] = {"removed_at": iso_utc(now), "frees_slot": freed < media.MAX_FREED_BY_REMOVAL}
        report_changes: dict[str, Any] = {"attachments_freed": freed + 1} if changes["frees_slot"] else {}
        event = new_event("attachment_removed", now, "reporter", "web", attachment_id=attachment["attachment_id"])
        return "removed", changes, report_changes, event

    return _attachment_change(store, record, attachment_id, decide=decide, now=now)


def hide_attachment(store: ReportStore, record: dict[str, Any], caller: Caller, attachment_id: str, *, reason: str,
                    version: int | None, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """An admin hides an attachment (any status, any report status) with a reason, shown on the timeline as an
    ``attachment_hidden`` event. It vanishes from every view but admins'; its slot stays taken; its files stay
    (evidence), never served to anyone else."""
    from lapor.errors import NotFound

    def decide(record: dict[str, Any], attachment: dict[str, Any]):  # noqa: ANN202
        if attachment["status"] == "removed":
            raise NotFound("no attachment with this id on this report", code="attachment_not_found")
        if attachment["status"] == "hidden":
            raise Conflict("this attachment is hidden already", code="already_hidden")
        changes = {"hidden_reason": reason, "hidden_at": iso_utc(now),
                   "hidden_by": f"{caller.role}:{caller.subject}", "hidden_from": attachment["status"]}
        event = new_event("attachment_hidden", now, caller.role, "operator", agency_id=record["agency_id"],
                          message=reason, attachment_id=attachment["attachment_id"], actor_sub=caller.subject)
        return "hidden", changes, {}, event

    return _attachment_change(store, record, attachment_id, decide=decide, now=now, version=version)


# -- duplicates: an operator merges a report into another ("the master") ---------------------

def merge(store: ReportStore, record: dict[str, Any], master: dict[str, Any], caller: Caller, *, reason: str,
          version: int | None, now: datetime) -> dict[str, Any]:
    """Close ``record`` as a duplicate of ``master`` in one transaction: the duplicate (on its version and status
    read) goes to ``closed`` with ``resolution: duplicate``, ``merged_into`` and the status it had
    (``status_before_merge``), out of ByDue, with a ``merged`` event; the master counts one more ``absorbed``
    (on condition that it is still not rejected nor merged); an ``ABSORBED#`` item links them for the notices."""
    if master["tracking_id"] == record["tracking_id"]:
        raise Unprocessable("a report cannot be merged into itself", code="same_report",
                            details=[{"loc": ["body", "into"], "input": master["tracking_id"]}])
    _check_version(record, version)
    if not lifecycle.merge_allowed(record["status"]):
        raise _refuse_transition(record, "merged")
    if record.get("absorbed"):  # its own duplicates would be left pointing at a closed report
        raise Conflict("reports were merged into this one: it cannot be merged itself", code="has_duplicates",
                       details={"absorbed": record["absorbed"]})
    _check_master(master)
    event = new_event("merged", now, caller.role, "operator", agency_id=caller.agency_id or record["agency_id"],
                      into=master["tracking_id"], message=reason, actor_sub=caller.subject)
    changes = {"status": lifecycle.MERGED_STATUS, "resolution": lifecycle.DUPLICATE,
               "merged_into": master["tracking_id"], "status_before_merge": record["status"]}
    try:
        # Also on the duplicate's own write: no report was merged into it meanwhile (no chains, even in a race).
        return _commit(store, record, changes, event, now, without_duplicates=True,
                       also=store.merge_entries(master["tracking_id"], record["tracking_id"], merged_at=iso_utc(now)))
    except WriteRefused as exc:  # the master was rejected or merged meanwhile
        _check_master(store.get_report(master["tracking_id"]) or master | {"status": "rejected"})
        raise Conflict("the report changed meanwhile; read it again", code="stale_version") from exc


def _check_master(master: dict[str, Any]) -> None:
    if not lifecycle.merge_target_allowed(master["status"], master.get("merged_into")):
        merged = master.get("merged_into")
        raise Conflict(f"report {master['tracking_id']} cannot take duplicates: it is "
                       + (f"merged into {merged} itself" if merged else f"{master['status']}"),
                       code="invalid_transition",
                       details={"into": master["tracking_id"], "into_status": master["status"]}
                       | ({"into_merged_into": merged} if merged else {}))


def unmerge(store: ReportStore, record: dict[str, Any], caller: Caller, *, version: int | None,
            now: datetime) -> dict[str, Any]:
    """Undo a merge (admins): the duplicate goes back to the status it had (and so to ByDue, when open), loses
    ``merged_into``, ``resolution`` and ``status_before_merge``, gets an ``unmerged`` event; the master counts one
    less ``absorbed`` and the ``ABSORBED#`` item is marked undone; one transaction."""
    _check_version(record, version)
    master = record.get("merged_into")
    if not master or record["status"] != lifecycle.MERGED_STATUS:
        raise Conflict("this report is not merged into another", code="not_merged",
                       details={"status": record["status"]})
    event = new_event("unmerged", now, caller.role, "operator", agency_id=record["agency_id"], into=master,
                      actor_sub=caller.subject)
    changes = {"status": record.get("status_before_merge") or "routed"}
    try:
        return _commit(store, record, changes, event, now, also=store.unmerge_entries(master, record["tracking_id"], undone_at=iso_utc(now)),
                       remove=("merged_into", "resolution", "status_before_merge"))
    except WriteRefused as exc:  # reports are never deleted: only a damaged table gets here
        raise Conflict(f"the report it was merged into ({master}) is not there", code="master_missing") from exc
