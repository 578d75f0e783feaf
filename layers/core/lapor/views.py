"""What each audience may see of a report (design §2, privacy)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lapor.dal import OPEN_STATUSES
from lapor.domain import lifecycle, reference
from lapor.domain.calendar import WorkingCalendar
from lapor.domain.clock import parse_utc
from lapor.domain.escalation import is_overdue as deadline_passed


def _local(iso: str, zone: ZoneInfo) -> str:
    return parse_utc(iso).astimezone(zone).isoformat()


def is_overdue(record: dict[str, Any], now: datetime) -> bool:
    return record["status"] in OPEN_STATUSES and deadline_passed(record["due_at_utc"], now)


def working_days_left(record: dict[str, Any], calendar: WorkingCalendar, now: datetime) -> int | None:
    """Working days from today to the deadline, both in the region's time zone: 0 when it is due today,
    negative (working days past) when overdue; None once the agency has answered (not awaiting it)."""
    if record["status"] not in OPEN_STATUSES:
        return None
    region = reference.region(record["region_code"])
    zone = region.zone if region else ZoneInfo("Asia/Jakarta")
    today = now.astimezone(zone).date()
    due = parse_utc(record["due_at_utc"]).astimezone(zone).date()
    if due >= today:
        return calendar.working_days_between(today, due)
    return -calendar.working_days_between(due, today)


# Who among the operators acted: for the agency chain and admins, never for the reporter.
OPERATOR_ONLY_EVENT_FIELDS = ("actor_sub",)


def attachment_views(attachments: list[dict[str, Any]], sign: Callable[[str], str], *,
                     ready_only: bool, show_hidden: bool = False) -> list[dict[str, Any]]:
    """Attachments as views show them: presigned (short-lived) URLs for ready ones, never an object key.
    Removed ones show nowhere (the timeline keeps their event); hidden ones only with ``show_hidden`` (admins),
    with the reason and, if they were ready, their files."""
    shown = []
    for a in sorted(attachments, key=lambda a: a.get("created_at", "")):
        if a["status"] == "removed" or (a["status"] == "hidden" and not show_hidden):
            continue
        if a["status"] != "ready" and ready_only:
            continue
        view = {k: a.get(k) for k in ("attachment_id", "status", "content_type", "filename", "size")}
        if a["status"] == "ready" or (a["status"] == "hidden" and a.get("hidden_from") == "ready"):
            view["url"] = sign(a["object_key"])
            view["thumbnail_url"] = sign(a["thumbnail_key"]) if a.get("thumbnail_key") else None
        if a["status"] == "rejected":
            view["reason"] = a.get("reason")
        elif a["status"] == "hidden":
            view["reason"] = a.get("hidden_reason")
        shown.append(view)
    return shown


def merged_into_view(record: dict[str, Any], master: dict[str, Any] | None, *, content: bool) -> dict[str, Any]:
    """A duplicate's link to its master: id and status; its title and latest answer when the master is public, or
    with ``content`` (the master is in the caller's agency chain)."""
    if master is None:  # never deleted; a view still names the link
        return {"tracking_id": record["merged_into"], "status": None, "title": None, "status_notes": None}
    shown = content or master.get("privacy") == "public"
    return {"tracking_id": master["tracking_id"], "status": master["status"],
            "title": master.get("title") if shown else None,
            "status_notes": master.get("status_notes") if shown else None}


def report_view(record: dict[str, Any], *, full: bool, now: datetime | None = None,
                for_operators: bool = False, sign: Callable[[str], str] | None = None,
                show_hidden: bool = False, master: dict[str, Any] | None = None,
                master_content: bool = False) -> dict[str, Any]:
    """The public view, or with ``full`` the reporter's own view with the timeline (``for_operators``: the
    agency chain's, whose timeline also names the operator who acted). With ``sign`` (a key → presigned GET URL)
    and the record's ``attachments``, the view lists them: in the public view only a public report's ready ones;
    hidden ones only with ``show_hidden`` (an admin's view), removed ones never.

    Confidential content (title, description, location) shows only in the full view. Identity never shows:
    the store does not even load it for views.

    A merged duplicate's view links its ``master`` (read by the caller; ``master_content``: the caller's chain
    holds it), except in the public view of a report that is not public: the link would tell what it is about.
    """
    region = reference.region(record["region_code"])
    zone = region.zone if region else ZoneInfo("Asia/Jakarta")
    content_visible = full or record["privacy"] == "public"
    view: dict[str, Any] = {
        "tracking_id": record["tracking_id"], "kind": record["kind"], "category": record["category"],
        "region_code": record["region_code"],
        "title": record["title"] if content_visible else None,
        "description": record["description"] if content_visible else None,
        "privacy": record["privacy"], "status": record["status"],
        "agency": {"id": record["agency_id"], "name": record["agency_name"]},
        "escalation_level": record["escalation_level"],
        "submitted_at": _local(record["submitted_at"], zone), "due_at": record["due_at"],
        "overdue": is_overdue(record, now or datetime.now(UTC)), "version": record["version"],
        "overdue_final": bool(record.get("overdue_final")),
        "location": record.get("location") if content_visible else None,
        "supporters": int(record.get("supporters") or 0),
    }
    view["resolution"] = record.get("resolution")
    view["absorbed"] = int(record.get("absorbed") or 0)
    if record.get("merged_into") and content_visible:
        view["merged_into"] = merged_into_view(record, master, content=master_content)
    if sign is not None and "attachments" in record and (full or record["privacy"] == "public"):
        view["attachments"] = attachment_views(record["attachments"], sign, ready_only=not full,
                                               show_hidden=show_hidden)
    if for_operators:
        view["flags"] = list(record.get("flags") or [])  # e.g. unknown_agency (domain/escalation.py)
    if full:
        # Until when the reporter may still reopen the answered report (once): the button says so.
        if (record["status"] == "responded" and record.get("closes_at_utc")
                and record.get("reopens", 0) < lifecycle.MAX_REOPENS):
            view["reopen_until"] = _local(record["closes_at_utc"], zone)
        hidden = () if for_operators else OPERATOR_ONLY_EVENT_FIELDS
        view["timeline"] = [{k: v for k, v in event.items() if k not in hidden} | {"at": _local(event["at"], zone)}
                            for event in record.get("timeline", [])]
    return view


def queue_item(item: dict[str, Any], now: datetime | None = None,
               calendar: WorkingCalendar | None = None) -> dict[str, Any]:
    """A line of an agency's queue, from the ByAgency index projection; with ``calendar``, the working days
    left until its deadline."""
    now = now or datetime.now(UTC)
    region = reference.region(item["region_code"])
    zone = region.zone if region else ZoneInfo("Asia/Jakarta")
    return {
        "tracking_id": item["tracking_id"], "kind": item["kind"], "category": item["category"],
        "region_code": item["region_code"], "title": item["title"], "privacy": item["privacy"],
        "status": item["status"], "agency": {"id": item["agency_id"], "name": item["agency_name"]},
        "escalation_level": item["escalation_level"], "submitted_at": _local(item["submitted_at"], zone),
        "due_at": item["due_at"], "overdue": is_overdue(item, now), "version": item["version"],
        "overdue_final": bool(item.get("overdue_final")), "supporters": int(item.get("supporters") or 0),
    } | ({"working_days_left": working_days_left(item, calendar, now)} if calendar is not None else {})


def public_item(item: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A line of the public listing, from a public index's projection (public reports only: content shows)."""
    region = reference.region(item["region_code"])
    zone = region.zone if region else ZoneInfo("Asia/Jakarta")
    return {
        "tracking_id": item["tracking_id"], "kind": item["kind"], "category": item["category"],
        "region_code": item["region_code"], "title": item["title"], "status": item["status"],
        "agency": {"id": item["agency_id"], "name": item["agency_name"]},
        "escalation_level": item["escalation_level"], "submitted_at": _local(item["submitted_at"], zone),
        "due_at": item["due_at"], "overdue": is_overdue(item, now or datetime.now(UTC)),
        "overdue_final": bool(item.get("overdue_final")), "location": item.get("location"),
        "supporters": int(item.get("supporters") or 0),
    }


def nearby_item(item: dict[str, Any]) -> dict[str, Any]:
    """A line of ``GET /reports/nearby`` (and of ``possible_duplicates``), from the report read (view projection)."""
    region = reference.region(item["region_code"])
    zone = region.zone if region else ZoneInfo("Asia/Jakarta")
    return {"tracking_id": item["tracking_id"], "category": item["category"], "status": item["status"],
            "title": item["title"], "distance_m": round(item["distance_m"]),
            "submitted_at": _local(item["submitted_at"], zone), "supporters": int(item.get("supporters") or 0)}


def candidate_item(item: dict[str, Any], *, in_scope: bool, distance_m: float | None) -> dict[str, Any]:
    """A merge candidate (``GET /agency/reports/{id}/candidates``): the public listing's fields, and the report's
    privacy. A report outside the caller's scope is only ever offered when public (``domain/duplicates.py``), so
    nothing here is more than the public listing shows of it; ``distance_m`` unrounded (the handler rounds)."""
    region = reference.region(item["region_code"])
    zone = region.zone if region else ZoneInfo("Asia/Jakarta")
    return {"tracking_id": item["tracking_id"], "category": item["category"], "status": item["status"],
            "title": item["title"], "privacy": item["privacy"],
            "agency": {"id": item["agency_id"], "name": item["agency_name"]}, "distance_m": distance_m,
            "submitted_at": _local(item["submitted_at"], zone), "supporters": int(item.get("supporters") or 0),
            "in_scope": in_scope}
