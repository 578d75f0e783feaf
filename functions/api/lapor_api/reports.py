"""``/reports``: file a report, read it back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lapor import cursors, operations, runtime
from lapor.dal import ReportBusy, keys
from lapor.dal.keys import DUPLICATE_PRECISION, DUPLICATE_RANGES
from lapor.domain import duplicates, ids, reference
from lapor.domain.clock import iso_utc
from lapor.errors import Conflict, NotFound, Unprocessable
from lapor.intake import submit_report_routed
from lapor.models import (FeedbackIn, NearbyPage, PublicReportPage, PublicStatus, ReportCreated, ReportIn, ReportView,
                          SupportIn, SupportResult)
from lapor.observability import logger
from lapor.settings import get_settings
from lapor.views import nearby_item, public_item, report_view
from lapor_api.responses import JSON_BODY, errors, ok

router = APIGatewayHttpRouter()
NO_REPORT = (404, "No report with this tracking id (and access code, when one is sent)")
# possible_duplicates: same category, this close, filed this recently, nearest first, at most this many.
DUPLICATE_LIMIT = 5  # possible duplicates in the filing reply (radius and days: domain.duplicates)
# Sort-key ranges (Queries) of GET /reports/nearby: fewer items read for more Queries and ~1.4 ms of work.
NEARBY_RANGES = 8
NEARBY_LIMIT = 100


def possible_duplicates(report: ReportIn) -> list[dict]:
    """Open public reports that may be the one being filed (never confidential or anonymous ones), nearest first:
    one more than shown, since the report itself may already be in the index (a replay) and is left out by the
    caller. Read from the geographic index's keys (at most ``DUPLICATE_RANGES`` Queries of the cells' parts the
    250 m circle touches), then only those reports; near a pole, none."""
    since = iso_utc(datetime.now(UTC) - timedelta(days=duplicates.CANDIDATE_DAYS))
    try:
        found, cost = runtime.store().nearby_reports(
            report.location.lat, report.location.lon, duplicates.CANDIDATE_RADIUS_M, category=report.category, since=since,
            limit=DUPLICATE_LIMIT + 1, nearest_first=True, max_ranges=DUPLICATE_RANGES, finest=DUPLICATE_PRECISION,
            parallel=False)  # already in a thread of its own, beside the filing's write: no more threads
    except keys.TooManyCells:  # near a pole: no report of Indonesia is there to duplicate
        return []
    logger.debug("possible duplicates read", extra=cost)
    return [nearby_item(i) for i in found]


def _duplicates_while(report: ReportIn, file: Callable[[], dict]) -> dict:
    """``file()``'s reply with ``possible_duplicates``: the lookup runs in a thread while the filing's write is in
    flight, so a filing waits for the slower of the two round trips, not for both. A lookup that fails leaves the
    list empty (logged): the report is filed, and its tracking id must reach the citizen."""
    import threading

    outcome: dict[str, Any] = {}

    def lookup() -> None:
        try:
            outcome["found"] = possible_duplicates(report)
        except Exception:  # noqa: BLE001 - never turn a filed report into a 500
            logger.exception("possible duplicates lookup failed")

    thread = threading.Thread(target=lookup, name="duplicates", daemon=True)
    thread.start()
    try:
        created = file()
    finally:
        thread.join()
    found = outcome.get("found", [])
    return created | {"possible_duplicates": [d for d in found if d["tracking_id"] != created["tracking_id"]]
                      [:DUPLICATE_LIMIT]}


def _submit(report: ReportIn, channel: str, also_write=None, extra: dict | None = None) -> dict:
    created = submit_report_routed(
        report, channel=channel, store=runtime.store(), configuration=runtime.config_cache(),
        default_deadline_days=get_settings().deadline_working_days, also_write=also_write, extra=extra,
    )
    with single_metric(name="ReportSubmitted", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="kind", value=report.kind)
        metric.add_dimension(name="channel", value=channel)
    logger.info("report submitted", extra={"tracking_id": created["tracking_id"], "agency_id": created["agency"]["id"],
                                           "channel": channel})
    return created


def file_report(report: ReportIn, *, channel: str, idempotency_key: str | None, extra: dict | None = None,
                identity: dict | None = None, on_filed: Callable[[dict], None] | None = None) -> dict:
    """File ``report`` (the reply of ``POST /reports``); with a key, a replay returns the first reply, and the key
    is recorded in the report's own transaction (exactly once, even if this function dies after the write).
    ``extra``: more attributes of the report item (Open311's ``media_url``), part of the request's identity;
    ``identity``: more of the request's identity, not stored (digests of Open311's file parts); ``on_filed`` runs
    with the reply only when this call filed the report, never on a replay (Open311 stores its file parts)."""
    def submit(also_write=None) -> dict:  # noqa: ANN001
        created = _submit(report, channel, also_write, extra)
        if on_filed is not None:
            on_filed(created)
        return created

    if idempotency_key is None:
        return submit()
    if not ids.idempotency_key_is_strong(idempotency_key):
        raise Unprocessable("the Idempotency-Key must be a random UUID or at least 22 random URL-safe characters "
                            "(uuidgen, secrets.token_urlsafe(16), crypto.randomUUID())",
                            code="weak_idempotency_key", details=[{"loc": ["header", "idempotency-key"]}])
    from lapor.idempotency import file_once

    # The channel is part of the request: the same key from another channel is another request.
    payload = (report.model_dump(mode="json") | ({"channel": channel} if channel != "web" else {}) | (extra or {})
               | (identity or {}))
    return file_once(idempotency_key, payload, submit)


@router.post(
    "/reports", summary="File a report", tags=["reports"],
    responses=ok("Filed and routed", status=201, model=ReportCreated) | errors(
        JSON_BODY, (409, "A request with this Idempotency-Key is still in progress (`request_in_progress`)"),
        (422, "The report does not match the schema (`validation_error`), names an unknown region or category "
              "(`unknown_region`, `unknown_category`), or is anonymous with reporter details "
              "(`identity_not_allowed`); or the Idempotency-Key is weak (`weak_idempotency_key`) or was used with "
              "another body (`idempotency_key_reused`)")),
)
def create_report(
    report: ReportIn,
    idempotency_key: Annotated[
        str | None,
        Header(alias="idempotency-key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
               description="A random UUID (version 4) or at least 22 random URL-safe characters; anything "
                           "weaker is a 422 weak_idempotency_key. Replays with the same key and body return "
                           "the first report; never a second one.",
               examples=["5b0c1a52-3f0e-4d7b-9a51-2c7a0d6e8f13"]),
    ] = None,
) -> Response[ReportCreated]:
    def file() -> dict:
        return file_report(report, channel="web", idempotency_key=idempotency_key)

    created = file() if report.location is None else _duplicates_while(report, file)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)


@router.get("/reports", summary="A region's public reports, newest first", tags=["reports"],
            responses=ok("A page of the region's public reports (everything below it included)") | errors(
                (400, "The cursor is not one this listing (with these filters) gave out (`invalid_cursor`)"),
                (404, "No region with this code (`unknown_region`)"),
                (422, "The query does not match the schema (`validation_error`), or names an unknown category "
                      "(`unknown_category`)")))
def list_public_reports(
    region_code: Annotated[str, Query(pattern=reference.REGION_CODE_PATTERN, examples=["64.72"],
                                      description="A province, kabupaten/kota or kecamatan code")],
    category: Annotated[str | None, Query(max_length=64, examples=["infrastructure"])] = None,
    status: Annotated[PublicStatus | None, Query(description="Only reports in this status")] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> PublicReportPage:
    """Public reports only: confidential and anonymous reports are never listed (they are not in the index),
    nor rejected ones; no reporter's identity. One Query of the public index of the region's level."""
    if reference.region(region_code) is None:
        raise NotFound(f"no region {region_code!r}", code="unknown_region")
    if category is not None and category not in reference.categories():
        raise Unprocessable(f"unknown category {category!r}", code="unknown_category",
                            details=[{"loc": ["query", "category"], "input": category}])
    scope = f"public-reports:{region_code}:{category or '*'}:{status or '*'}"
    items, last_key = runtime.store().list_public_reports(
        region_code, category=category, status=status, limit=limit,
        start_key=cursors.decode(cursor, scope) if cursor else None)
    now = datetime.now(UTC)
    # The public indexes cannot project supporters (DynamoDB's 100 projected attributes): read for the page.
    counts = runtime.store().supporter_counts(i["tracking_id"] for i in items) if items else {}
    items = [i | {"supporters": counts.get(i["tracking_id"], 0)} for i in items]
    return PublicReportPage.model_validate({"items": [public_item(i, now) for i in items],
                                           "next_cursor": cursors.encode(last_key, scope)})


@router.get("/reports/nearby", summary="Open public reports near a point, newest first", tags=["reports"],
            responses=ok("The open public reports within the radius (at most 100, newest first)") | errors(
                (422, "The query does not match the schema (`validation_error`), names an unknown category "
                      "(`unknown_category`), or its circle spans too many geohash cells (`too_many_cells`: "
                      "within a few degrees of a pole)")))
def nearby_reports(
    lat: Annotated[float, Query(ge=-90, le=90, examples=[-0.5022])],
    lon: Annotated[float, Query(ge=-180, le=180, examples=[117.1536])],
    category: Annotated[str | None, Query(max_length=64, examples=["infrastructure"])] = None,
    radius_m: Annotated[int, Query(ge=1, le=1000, description="Metres; 250 unless given")] = 250,
) -> NearbyPage:
    """Public reports neither closed nor rejected, with a location within ``radius_m`` of the point: confidential
    and anonymous reports are never listed (they are not in the index). Reads at most 8 ranges of the geographic
    index's keys (the parts of the cells around the point that the circle touches), then only the reports
    listed; never the table."""
    if category is not None and category not in reference.categories():
        raise Unprocessable(f"unknown category {category!r}", code="unknown_category",
                            details=[{"loc": ["query", "category"], "input": category}])
    try:
        found, _ = runtime.store().nearby_reports(lat, lon, radius_m, category=category, limit=NEARBY_LIMIT,
                                                  max_ranges=NEARBY_RANGES)
    except keys.TooManyCells as exc:
        raise Unprocessable(str(exc), code="too_many_cells",
                            details=[{"loc": ["query", "lat"], "input": lat}]) from exc
    return NearbyPage.model_validate({"items": [nearby_item(i) for i in found]})


@router.get("/reports/<tracking_id>", summary="Follow a report", tags=["reports"],
            responses=ok("The public view; with the access code, the reporter's full view and timeline")
            | errors(NO_REPORT, 422))
def get_report(
    tracking_id: Annotated[str, Path(min_length=1, max_length=32, examples=["LPR-7K3M9Q2X"])],
    access_code: Annotated[
        str | None,
        Header(alias="x-access-code", max_length=64,
               description="The code given at filing: adds the timeline and confidential content."),
    ] = None,
) -> ReportView:
    if access_code is None:
        record = _report(tracking_id)
        # Only a public report's ready attachments show publicly: others' slots are not even read.
        if record["privacy"] == "public" and record.get("attachments_ready"):
            record["attachments"] = runtime.store().list_attachments(record["tracking_id"])
        return ReportView.model_validate(report_view(record, full=False, sign=runtime.presign_get,
                                                     master=_master_of(record, public=True)))
    record = _own_report(tracking_id, access_code)
    return ReportView.model_validate(report_view(record, full=True, sign=runtime.presign_get,
                                                 master=_master_of(record)))


def _master_of(record: dict, *, public: bool = False) -> dict | None:
    """A merged duplicate's master (one more GetItem), which its views link; none for the public view of a report
    that is not public (the view shows no link)."""
    if not record.get("merged_into") or (public and record["privacy"] != "public"):
        return None
    return runtime.store().get_report(record["merged_into"])


def _report(tracking_id: str, *, timeline: bool = False) -> dict:
    canonical = ids.normalize_tracking_id(tracking_id)
    record = runtime.store().get_report(canonical, timeline=timeline) if canonical else None
    if record is None:
        raise NotFound("no report with this tracking id")
    return record


def _own_report(tracking_id: str, access_code: str, *, timeline: bool = True) -> dict:
    """The report, if ``access_code`` is its code; a wrong code says no more than an unknown report would."""
    record = _report(tracking_id, timeline=timeline)
    if not ids.access_code_matches(record["tracking_id"], access_code, record["access_code_hash"]):
        raise NotFound("no report with this tracking id and access code")
    return record


@router.post("/reports/<tracking_id>/supporters", summary="Support a report (\"dukung\"), once per device",
             tags=["reports"], responses=ok("The report's supporters, and whether this device key counted now")
             | errors(JSON_BODY, NO_REPORT,
                      (409, "Not a public report (`not_public`: confidential and anonymous reports take no "
                            "support), closed or rejected (`report_closed`), or held by other writes through every "
                            "try (`busy`: nothing written, send it again)"),
                      (422, "The body does not match the schema (`validation_error`), or the device key is not "
                            "random enough (`weak_device_key`)")))
def support_report(
    tracking_id: Annotated[str, Path(min_length=1, max_length=32)],
    support: SupportIn,
) -> SupportResult:
    """One more supporter: the cheap alternative to a duplicate report. A device key counts once per report (a
    repeat changes nothing and answers ``added: false``); only a hash of (report, key) is stored, nothing about
    who supports. Rate-limited per route (API Gateway)."""
    if not ids.idempotency_key_is_strong(support.device_key):
        raise Unprocessable("the device key must be a random UUID or at least 22 random URL-safe characters",
                            code="weak_device_key", details=[{"loc": ["body", "device_key"]}])
    record = _report(tracking_id)
    if record["privacy"] != "public":
        raise Conflict("only public reports can be supported", code="not_public")
    if record["status"] not in keys.NEARBY_STATUSES:
        raise Conflict(f"the report is {record['status']}", code="report_closed")
    try:
        added = runtime.store().add_supporter(record["tracking_id"], support.device_key)
    except ReportBusy:
        raise Conflict("many supports of this report at once; send it again", code="busy") from None
    supporters = int(record.get("supporters") or 0) + (1 if added else 0)
    logger.info("report supported", extra={"tracking_id": record["tracking_id"], "added": added})
    return SupportResult(tracking_id=record["tracking_id"], supporters=supporters, added=added)


@router.post("/reports/<tracking_id>/feedback", summary="Rate the answer, or reopen the report once",
             tags=["reports"], responses=ok("The reporter's full view, with the feedback on its timeline") | errors(
                 JSON_BODY, NO_REPORT,
                 (409, "Not answered yet or not reopenable now (`invalid_transition`), this answer rated "
                       "already (`already_rated`: one rating per answer), reopened once already "
                       "(`reopen_limit`), past the 10-working-day window (`reopen_window_closed`), or changed "
                       "meanwhile (`stale_version`)")))
def give_feedback(
    tracking_id: Annotated[str, Path(min_length=1, max_length=32)],
    feedback: FeedbackIn,
    access_code: Annotated[str, Header(alias="x-access-code", min_length=1, max_length=64)],
) -> ReportView:
    # Decided on the report item alone (a refusal reads no timeline); the reply reads the timeline once written.
    record = operations.feedback(
        runtime.store(), runtime.config_cache().get(), _own_report(tracking_id, access_code, timeline=False),
        rating=feedback.rating, comment=feedback.comment, reopen=feedback.reopen,
        now=datetime.now(UTC).replace(microsecond=0), default_deadline_days=get_settings().deadline_working_days,
    )
    logger.info("report feedback", extra={"tracking_id": record["tracking_id"], "reopened": feedback.reopen})
    record["timeline"] = runtime.store().get_timeline(record["tracking_id"])
    return ReportView.model_validate(report_view(record, full=True))
