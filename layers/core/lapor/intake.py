"""Filing a report: validate against reference data, route, set the deadline, store it in one write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lapor.config import ConfigCache, RoutingConfig
from lapor.dal import ReportStore, TrackingIdTaken, WriteRefused
from lapor.domain import ids, reference
from lapor.domain.clock import iso_utc
from lapor.domain.routing import resolve_route
from lapor.errors import Unprocessable
from lapor.intake_models import ReportIn
from lapor.observability import logger

# A 40-bit random id collides rarely; the conditional write catches it and we draw again.
_TRACKING_ID_ATTEMPTS = 5


def new_event(event_type: str, at: datetime, actor_role: str, channel: str, **extra: Any) -> dict[str, Any]:
    from ulid import ULID  # python-ulid reads package metadata at import: only requests that write pay for it

    return {"id": str(ULID()), "type": event_type, "at": iso_utc(at), "actor_role": actor_role,
            "channel": channel, **extra}


def submit_report(
    report: ReportIn,
    *,
    channel: str,
    store: ReportStore,
    config: RoutingConfig,
    default_deadline_days: int,
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
    write: Callable[[dict[str, Any]], None] | None = None,
    also_write: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Store a new report and return the reply of ``POST /reports`` (with the access code, shown once).

    ``extra`` adds attributes views never read (an SMS reporter's reply channel); ``write`` stores the item
    instead of ``store.create_report`` (SMS intake writes it together with the message id), raising
    ``TrackingIdTaken`` when the drawn id is used. ``also_write(reply)`` gives more entries for the report's
    own transaction (the Idempotency-Key with the reply it will replay).
    """
    region = reference.region(report.region_code)
    category = reference.categories().get(report.category)
    unknown = [(field, value) for field, value, found in (("region_code", report.region_code, region),
                                                          ("category", report.category, category)) if found is None]
    if unknown:
        code = "unknown_region" if unknown[0][0] == "region_code" else "unknown_category"
        raise Unprocessable("unknown " + " and ".join(f"{f} {v!r}" for f, v in unknown), code=code,
                            details=[{"loc": ["body", f], "input": v, "type": f"unknown_{f.removesuffix('_code')}"}
                                     for f, v in unknown])
    reporter = report.reporter.model_dump(exclude_none=True) if report.reporter else {}
    if report.privacy == "anonymous" and reporter:
        # Anonymity is enforced at storage: an anonymous report stores no identity at all.
        raise Unprocessable("an anonymous report cannot carry reporter details", code="identity_not_allowed",
                            details=[{"loc": ["body", "reporter"]}])

    route = resolve_route(config.routes, region.code, category.id)
    agency = config.agencies[route.agency_id]
    days = route.deadline_working_days or category.deadline_working_days or default_deadline_days
    submitted_at = (now or datetime.now(UTC)).replace(microsecond=0)
    deadline = config.deadline(region.code, submitted_at, days)

    record: dict[str, Any] = {
        "kind": report.kind, "category": category.id, "region_code": region.code, "title": report.title,
        "description": report.description, "privacy": report.privacy,
        "location": report.location.model_dump() if report.location else None,
        "status": "routed", "agency_id": agency.id, "agency_name": agency.name, "escalation_level": 0,
        "submitted_at": iso_utc(submitted_at), **deadline,
        "deadline_working_days": days, "channel": channel, "version": 1,
        "timeline": [
            new_event("submitted", submitted_at, "reporter", channel),
            new_event("routed", submitted_at, "system", "system", agency_id=agency.id,
                   message=f"Diteruskan ke {agency.name}"),
        ],
    }
    if reporter:
        record["reporter"] = reporter
    record |= extra or {}
    for _ in range(_TRACKING_ID_ATTEMPTS):
        tracking_id, access_code = ids.new_tracking_id(), ids.new_access_code()
        filed = record | {"tracking_id": tracking_id,
                          "access_code_hash": ids.hash_access_code(tracking_id, access_code)}
        reply = {
            "tracking_id": tracking_id, "access_code": access_code, "status": record["status"],
            "agency": {"id": agency.id, "name": agency.name},
            "submitted_at": submitted_at.astimezone(region.zone).isoformat(), "due_at": record["due_at"],
        }
        try:
            if write is not None:
                write(filed)
            else:
                store.create_report(filed, also=also_write(reply) if also_write else [])
            return reply
        except TrackingIdTaken:
            continue
    raise RuntimeError("could not draw an unused tracking id")


def submit_report_routed(
    report: ReportIn,
    *,
    configuration: ConfigCache,
    also_write: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`submit_report` with the cached configuration. When its version check is due (after the cache's TTL,
    after a SnapStart restore) the filing's own transaction checks the version (``ConfigCache.for_write``): a
    configuration that did not change costs no round trip before the write (the first filing of a restored copy
    waits for no Query); one that did is read again and the report routed by it. Keyword arguments as
    :func:`submit_report` (not ``write``: its entries must go into the filing's transaction)."""
    if "write" in kwargs:
        raise TypeError("submit_report_routed writes through create_report: the check goes into its transaction")
    config, fence = configuration.for_write()
    if fence is None:
        return submit_report(report, config=config, also_write=also_write, **kwargs)

    def fenced(reply: dict[str, Any]) -> list[dict[str, Any]]:
        return [fence, *(also_write(reply) if also_write else [])]

    try:
        reply = submit_report(report, config=config, also_write=fenced, **kwargs)
    except WriteRefused as exc:
        if exc.index:  # the caller's own entry: its index as the caller gave it
            raise WriteRefused(exc.index - 1, exc.code) from exc
        # The head moved on (ConditionalCheckFailed) or an admin's save was writing it (TransactionConflict):
        # read it again, consistently, and route by what it says. Nothing was written.
        logger.info("configuration check refused a filing", extra={"reason": exc.code, "version": config.version})
        return submit_report(report, config=configuration.recheck(), also_write=also_write, **kwargs)
    configuration.confirmed(config.version)
    return reply
