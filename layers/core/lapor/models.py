"""The HTTP contract's bodies (design §4) as pydantic models; they also make the OpenAPI document."""

# No ``from __future__ import annotations`` here: pydantic would compile and eval every field's annotation string
# when it creates the ~70 classes below, a few ms of every ApiFunction cold start (issue #16).
from datetime import date as date_type
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AnyUrl,
    AwareDatetime,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    field_validator,
)

from lapor.domain.clock import EARLIEST, LATEST
from lapor.domain.reference import REGION_CODE_PATTERN
# A new report (ReportIn and the types it is made of) lives in lapor.intake_models: SmsFunction validates nothing
# else, and so does not create the classes of every route at its cold start (issue #16). Re-exported from here.
from lapor.intake_models import Coordinate, Deferred, Kind, Location, Privacy, ReporterIn, ReportIn, Text  # noqa: F401


Status = Literal["submitted", "routed", "in_progress", "responded", "closed", "escalated", "rejected"]
Channel = Literal["web", "sms", "open311", "operator", "system"]


class AgencyRef(Deferred):
    id: str
    name: str


class DeskCaller(Deferred):
    """Who a desk token belongs to, as the desk's header shows it."""

    role: Literal["operator", "supervisor", "admin"]
    agency: AgencyRef | None = Field(description="The caller's own agency, its name from the configuration (its id "
                                                 "when the configuration no longer lists it); null for an admin "
                                                 "without one")


class NearbyReport(Deferred):
    """A public, open report near a point."""

    tracking_id: str
    category: str
    status: Literal["submitted", "routed", "in_progress", "responded", "escalated"]
    title: str
    distance_m: int = Field(description="From the point asked about, in metres (rounded)")
    submitted_at: datetime = Field(description="In the region's own time zone")
    supporters: int = Field(0, description="Citizens who support the report")


class NearbyPage(Deferred):
    items: list[NearbyReport]


class ReportCreated(Deferred):
    tracking_id: str
    access_code: str = Field(description="Shown once; keep it to read the full report and give feedback.")
    status: Status
    agency: AgencyRef
    submitted_at: datetime
    due_at: datetime
    possible_duplicates: list[NearbyReport] | None = Field(None, description=(
        "With a location: open public reports of the same category within 250 m filed in the last 30 days, "
        "nearest first, at most 5 (\"is this the same problem?\"); null without a location."))


class TimelineEvent(Deferred):
    id: str
    type: str
    at: datetime
    actor_role: str
    channel: Channel | None = None
    agency_id: str | None = None
    message: str | None = None
    rating: int | None = Field(None, description="The reporter's rating (feedback and reopened events)")
    from_agency_id: str | None = Field(None, description="Where a reassigned report came from")
    attachment_id: str | None = Field(None, description="The attachment an attachment_added, attachment_removed or "
                                                        "attachment_hidden event is about")
    into: str | None = Field(None, description="The report a merged event closed this one as a duplicate of (an "
                                               "unmerged event: the one it was merged into)")


class OperatorTimelineEvent(TimelineEvent):
    """An event as the agency chain and admins see it: it also names the operator who acted."""

    actor_sub: str | None = Field(None, description="The operator's stable id (Cognito sub); never shown to the "
                                                    "reporter")
    unknown_agency_id: str | None = Field(None, description="The agency the configuration did not know, when the "
                                                            "sweep sent the report to the national administrator")


class ReportSummary(Deferred):
    """What every view of a report shows, the agency queue included."""

    tracking_id: str
    kind: Kind
    category: str
    region_code: str
    title: str | None = Field(description="Null when the report is confidential and the caller is not entitled.")
    privacy: Privacy
    status: Status
    agency: AgencyRef
    escalation_level: int
    submitted_at: datetime
    due_at: datetime
    overdue: bool
    overdue_final: bool = Field(False, description="Past its deadline at the top of the ladder: for the Ombudsman")
    version: int


AttachmentType = Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]


class AttachmentIn(Deferred):
    """An attachment to upload: what the presigned POST will allow (the bytes go straight to S3)."""

    model_config = ConfigDict(extra="forbid")
    filename: Annotated[Text, Field(min_length=1, max_length=200, examples=["jalan-rusak.jpg"])]
    content_type: AttachmentType
    size: int = Field(ge=1, le=10 * 1024 * 1024, strict=True, description="Bytes; at most 10 MiB")


class PresignedPost(Deferred):
    url: str
    fields: dict[str, str] = Field(description="Send every field, then the file as the last field `file`")


class AttachmentUpload(Deferred):
    attachment_id: str
    upload: PresignedPost
    expires_at: datetime = Field(description="The upload must start before this")


class AttachmentOut(Deferred):
    attachment_id: str
    status: Literal["pending", "ready", "rejected", "hidden"] = Field(description=(
        "hidden: only in an admin's view (hidden by an admin, with the reason); removed attachments show nowhere"))
    content_type: str
    filename: str
    size: int
    url: str | None = Field(None, description="A presigned GET URL that expires in minutes; only when ready")
    thumbnail_url: str | None = Field(None, description="A 640 px JPEG thumbnail of an image; only when ready")
    reason: str | None = Field(None, description="Why a rejected upload is not served, or why an admin hid it")


class MergedInto(Deferred):
    """The report a duplicate was merged into (the master), which answers for both."""

    tracking_id: str
    status: Status | None = Field(None, description="The master's status (null only if it could not be read)")
    title: str | None = Field(None, description="The master's title: when it is public, or for its agency chain")
    status_notes: str | None = Field(None, description=(
        "The master's latest answer, like Open311's status_notes: when it is public, or for its agency chain"))


class ReportView(ReportSummary):
    description: str | None
    supporters: int = Field(0, description="Citizens who support the report (\"dukung\")")
    location: Location | None = None
    timeline: list[TimelineEvent] | None = None
    reopen_until: datetime | None = Field(None, description=(
        "With the access code: the last moment the reporter may reopen the answered report (once; 10 working "
        "days after the answer, in the region's time zone); null when it cannot be reopened (not answered, or reopened already)"))
    attachments: list[AttachmentOut] | None = Field(None, description=(
        "Photos and documents: ready ones in the public view of a public report (none for confidential and "
        "anonymous ones); every one, pending and rejected too, in the reporter's and the agency chain's views"))
    resolution: Literal["duplicate"] | None = Field(None, description=(
        "How a closed report was closed when not by an answer: `duplicate` (merged into `merged_into`)"))
    merged_into: MergedInto | None = Field(None, description=(
        "A duplicate's master: in the reporter's and the agency chain's views, and in the public view of a public "
        "report. The master's notices reach this report's reporter too"))
    absorbed: int = Field(0, description="How many reports were merged into this one as duplicates")


class CategoryOut(Deferred):
    id: str
    name_id: str
    name_en: str
    description_id: str
    description_en: str
    keywords: list[str]
    deadline_working_days: int


class CategoryList(Deferred):
    items: list[CategoryOut]


class RegionOut(Deferred):
    code: str
    name: str
    type: str
    timezone: str = Field(examples=["Asia/Makassar"])
    timezone_abbreviation: str = Field(examples=["WITA"])


class RegionList(Deferred):
    items: list[RegionOut]


class ErrorBody(Deferred):
    code: str
    message: str
    details: list[dict] | dict | None = None


class ErrorResponse(Deferred):
    error: ErrorBody


class Unauthorized(Deferred):
    """API Gateway's JWT authorizer's answer to a missing, forged or expired token (never the function's)."""

    message: str = Field(examples=["Unauthorized"])


class ResponseIn(Deferred):
    """An agency's answer: an acknowledgement with a progress note, or the response itself."""

    model_config = ConfigDict(extra="forbid")
    message: Annotated[Text, Field(min_length=1, max_length=2000)]
    status: Literal["in_progress", "responded"]
    version: int | None = Field(None, ge=1, strict=True, description="The version the operator saw; a stale one "
                                                                     "is a 409.")


class ReporterOut(Deferred):
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class AgencyReportView(ReportView):
    timeline: list[OperatorTimelineEvent] | None = None
    working_days_left: int | None = Field(None, description=(
        "Working days from today to the deadline in the region's time zone (its calendar: weekends, holidays, "
        "cuti bersama and overrides skipped): 0 when due today, negative when overdue (working days past); null "
        "once the agency has answered"))
    flags: list[str] = Field(default_factory=list, description=(
        "What operators should know: `unknown_agency` once the sweep sent the report to the national administrator "
        "because the configuration no longer knew its agency (or the next one up its ladder)"))
    reporter: ReporterOut | None = Field(None, description="Never present for anonymous reports.")


class QueueItem(ReportSummary):
    """A line of an agency's queue."""

    working_days_left: int | None = Field(None, description=(
        "Working days from today to the deadline in the region's time zone (its calendar: weekends, holidays, "
        "cuti bersama and overrides skipped): 0 when due today, negative when overdue (working days past); null "
        "once the agency has answered"))
    supporters: int = Field(0, description="Citizens who support the report (\"dukung\")")


class QueuePage(Deferred):
    items: list[QueueItem]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null at the end.")


PublicStatus = Literal["submitted", "routed", "in_progress", "responded", "closed", "escalated"]


class PublicReportItem(Deferred):
    """A line of the public listing: a public report's public view, without its description."""

    tracking_id: str
    kind: Kind
    category: str
    region_code: str
    title: str
    status: PublicStatus
    agency: AgencyRef
    escalation_level: int
    submitted_at: datetime = Field(description="In the region's own time zone")
    due_at: datetime
    overdue: bool
    overdue_final: bool = False
    location: Location | None = None
    supporters: int = Field(0, description="Citizens who support the report (\"dukung\")")


class PublicReportPage(Deferred):
    items: list[PublicReportItem]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= (with the same filters) for the next page; "
                                                      "null at the end. A filtered page may hold fewer items than "
                                                      "`limit` and still have a next page.")


class ReassignIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    agency_id: Annotated[Text, Field(min_length=1, max_length=64, examples=["64-72-dinkes"])]
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    version: int | None = Field(None, ge=1, strict=True)


class MergeIn(Deferred):
    """Close this report as a duplicate of ``into``, which answers for both."""

    model_config = ConfigDict(extra="forbid")
    into: Annotated[str, Field(min_length=1, max_length=32, examples=["LPR-7K3M9Q2X"],
                               description="The tracking id of the report that stays (the master)")]
    reason: Annotated[Text, Field(min_length=1, max_length=500, examples=["Lubang jalan yang sama, dilaporkan 2x"])]
    version: int | None = Field(None, ge=1, strict=True, description="The version of this report the operator saw")


class MergeCandidate(Deferred):
    """An open report this one may duplicate. One outside the caller's agency chain is always public and shows
    what the public listing shows of it; a merge into it is refused (`forbidden`)."""

    tracking_id: str
    category: str
    status: Literal["submitted", "routed", "in_progress", "responded", "escalated"]
    title: str
    privacy: Privacy
    agency: AgencyRef
    distance_m: int | None = Field(description="From this report's location, in metres (rounded); null when this "
                                               "report has no location (`basis: region`)")
    submitted_at: datetime = Field(description="In the region's own time zone")
    supporters: int = Field(0, description="Citizens who support the report")
    in_scope: bool = Field(description="Whether the caller's agency chain holds it (only then may this report be "
                                       "merged into it)")


class MergeCandidates(Deferred):
    basis: Literal["distance", "region"] = Field(description=(
        "`distance`: within `radius_m` of this report's location, nearest first; `region`: this report has no "
        "location, so those of its own region (kecamatan, or the kabupaten/kota it names), newest first"))
    radius_m: int | None = Field(description="The radius searched (`basis: distance`)")
    days: int = Field(description="Only reports filed in this many last days")
    items: list[MergeCandidate] = Field(max_length=10)


class HideAttachmentIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[Text, Field(min_length=1, max_length=500, examples=["Memperlihatkan wajah orang lain"])]
    version: int | None = Field(None, ge=1, strict=True)


class RejectIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[Text, Field(min_length=1, max_length=500, examples=["Di luar kewenangan pemerintah daerah"])]
    version: int | None = Field(None, ge=1, strict=True)


class SupportIn(Deferred):
    """One device's support of a report ("dukung")."""

    model_config = ConfigDict(extra="forbid")
    device_key: str = Field(min_length=22, max_length=128, pattern=r"^[A-Za-z0-9_-]+$", description=(
        "An opaque random id the client makes once and keeps (a random UUID, or at least 22 random URL-safe "
        "characters): a device supports a report at most once. Stored only as a hash, with the report's id."),
        examples=["3f0e9a51-2c7a-4d7b-8e13-5b0c1a52d6e8"])


class SupportResult(Deferred):
    tracking_id: str
    supporters: int = Field(description="Citizens who support the report, this one included")
    added: bool = Field(description="False when this device key supported the report already (nothing changed)")


class FeedbackIn(Deferred):
    """The reporter's rating of the answer; ``reopen`` once, within 10 working days of the answer."""

    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5, strict=True)
    comment: Annotated[Text, Field(max_length=1000)] | None = None
    reopen: bool = Field(False, strict=True)


AgencyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class AgencyIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    id: AgencyId
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    region_code: Annotated[str, Field(pattern=r"^(ID|\d{2}(\.\d{2}(\.\d{2})?)?)$", description="'ID' for national")]
    level: Literal["kabupaten_kota", "province", "national"]
    escalates_to: AgencyId | None = Field(None, description="Null only for the national administrator.")


# Every configuration list (agencies, routes, calendar) is saved against the configuration's version.
CONFIG_VERSION_IN = Field(None, ge=0, strict=True, description=(
    "The configuration version this list was read at (GET's `version`, also its `ETag`): if the configuration was "
    "saved since, the PUT is a 409 `stale_version` and saves nothing. Same as the `If-Match` header. Omitted: "
    "the version current when the request starts."))
INCOMPLETE_IN = Field(None, description="Ignored (GET reports it), so a list read can be sent back as it is.")
CONFIG_VERSION_OUT = Field(description="The configuration's version (agencies, routes and calendar share it); "
                                       "also the `ETag` header. Send it back with the next PUT.")
INCOMPLETE_OUT = Field(description="True while a save of this list is writing or after one died half way: the "
                                   "items may mix two versions; saving the list again repairs it.")


class AgencyList(Deferred):
    model_config = ConfigDict(extra="forbid")
    items: list[AgencyIn] = Field(max_length=5000)
    version: int | None = CONFIG_VERSION_IN
    incomplete: bool | None = INCOMPLETE_IN


class AgencyListOut(AgencyList):
    version: int = CONFIG_VERSION_OUT
    incomplete: bool = INCOMPLETE_OUT


class RouteIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    region_code: Annotated[str, Field(pattern=r"^(\*|\d{2}(\.\d{2}(\.\d{2})?)?)$", description="'*': national")]
    category: Annotated[str, Field(min_length=1, max_length=64, description="A category id, or '*' for any")]
    agency_id: AgencyId
    deadline_working_days: int | None = Field(None, ge=1, le=365)


class RouteList(Deferred):
    model_config = ConfigDict(extra="forbid")
    items: list[RouteIn] = Field(max_length=20000)
    version: int | None = CONFIG_VERSION_IN
    incomplete: bool | None = INCOMPLETE_IN


class RouteListOut(RouteList):
    version: int = CONFIG_VERSION_OUT
    incomplete: bool = INCOMPLETE_OUT


class CalendarOverride(Deferred):
    model_config = ConfigDict(extra="forbid")
    date: date_type
    working: bool = Field(strict=True, description="true: a working day despite the national calendar; false: a "
                                                   "day off")
    reason: Annotated[Text, Field(min_length=1, max_length=200)]


class CalendarList(Deferred):
    model_config = ConfigDict(extra="forbid")
    items: list[CalendarOverride] = Field(max_length=2000)
    version: int | None = CONFIG_VERSION_IN
    incomplete: bool | None = INCOMPLETE_IN


class CalendarListOut(CalendarList):
    version: int = CONFIG_VERSION_OUT
    incomplete: bool = INCOMPLETE_OUT


class StatsOut(Deferred):
    region: str | None = Field(description="The region the figures cover; null for the whole country.")
    from_date: date_type = Field(description="First submission day counted (the `from` parameter)")
    to_date: date_type = Field(description="Last submission day counted (the `to` parameter)")
    total: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    by_region: dict[str, int] = Field(description="Reports per region one level below `region`.")
    answered: int
    answered_on_time_rate: float | None = Field(description="Share of answered reports answered by their deadline.")
    median_working_days_to_first_response: float | None
    supporters: int = Field(description=(
        "Support given (\"dukung\") to the reports counted here (their scope and submission days), once per "
        "support; a merged duplicate's supporters included."))


class SweepIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    as_of: AwareDatetime | None = Field(None, description="Sweep as of this instant (default: now); ISO 8601 "
                                                          "with an offset, e.g. 2027-01-15T00:00:00+08:00")
    dry_run: bool = Field(False, strict=True, description="Count what would happen; write nothing")

    @field_validator("as_of")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValueError(f"as_of must lie between {EARLIEST.year} and {LATEST.year}")
        return value


SweepState = Literal["running", "finished", "failed", "stalled"]


class SweepError(Deferred):
    type: str = Field(description="The error's type (never its message: it may quote a report), e.g. "
                                  "`ClientError`")
    shard: int | None = Field(None, description="The shard whose message failed, if one did")
    attempt: int | None = Field(None, description="Which delivery of that message failed (SQS's receive count)")
    at: datetime


class WouldEscalate(Deferred):
    tracking_id: str
    outcome: Literal["escalated", "flagged_final"] = Field(
        description="`escalated` (would go up to `to_agency_id`) or `flagged_final` (at the top of its ladder: would "
                    "be flagged `overdue_final`, for referral to the Ombudsman)")
    agency_id: str = Field(description="The agency that let the deadline pass")
    agency_name: str | None = Field(None, description="Its name (null if the configuration no longer knows it)")
    due_at: datetime = Field(description="The deadline it let pass, in the report's region's local time")
    to_agency_id: str | None = Field(None, description="Where it would go (null when `flagged_final`)")
    to_agency_name: str | None = None
    to_level: str | None = Field(None, description="That agency's level: `kabupaten_kota`, `province` or `national`")
    escalation_level: int = Field(description="The report's escalation level after the sweep")


class SweepOut(Deferred):
    id: str = Field(description="The run id, URL-safe (a ULID; runs recorded before had `<started_at>#<ULID>`): "
                                "`GET /admin/sweeps/{id}` follows it")
    status: SweepState = Field(
        description="`running` (shards still being swept), `finished` (every shard done), `failed` "
        "(a shard's message was given up after its retries, or could not be handed on: see `error`), `stalled` "
        "(running, but no progress for LAPOR_SWEEP_STALL_SECONDS, 1 h: a worker died without a word)")
    as_of: datetime
    dry_run: bool
    by: str
    started_at: datetime
    updated_at: datetime | None = Field(None, description="The last progress: a shard message's counts, or a failure")
    finished_at: datetime | None = Field(None, description="When the last shard was done (null until then)")
    failed_at: datetime | None = None
    shards: int = Field(0, description="Shards of the due index this run sweeps, one SQS message each at first")
    shards_done: int = Field(0, description="Shards swept to the end; the run is finished when it equals shards")
    scanned: int
    escalated: int
    flagged_final: int
    closed: int = Field(0, description="Answered reports closed after 10 working days without the reporter's word")
    skipped: int
    failed: int = Field(0, description="Reports the sweep could not change (an error, logged with the tracking id); "
                                       "they stay due and are tried again on the next run")
    error: SweepError | None = Field(None, description="The latest failure of one of the run's shard messages")
    would_escalate: list[WouldEscalate] | None = Field(
        None, description="Dry runs, in `POST /admin/sweeps` and `GET /admin/sweeps/{id}`: the reports the run would "
        "escalate (or flag at the top), oldest deadline first, as its shards list them so far; at most 200 "
        "(LIST_CAP), never a report's words nor its reporter. Null for runs that write, and in `GET /admin/sweeps`")
    would_escalate_truncated: bool | None = Field(
        None, description="Dry runs: true when more reports would escalate than `would_escalate` lists (the "
                          "counts still count them all)")


class SweepList(Deferred):
    items: list[SweepOut]


class ApiKeyIn(Deferred):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[Text, Field(min_length=1, max_length=100, description="Who uses it, e.g. the app's name")]


class ApiKeyOut(Deferred):
    id: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once; only its hash is stored. Open311 clients send it as api_key.")


class ApiKeyList(Deferred):
    items: list[ApiKeyOut]


# --- Open311 GeoReport v2 (lapor.open311 builds them; documented only, handlers answer raw bodies) -----------
# The JSON bodies as the community's published schemas have them (tests/data/open311-schema), closed to extra
# fields and with every key Lapor always sends marked required (nullable where the spec allows null).


class Open311Service(Deferred):
    model_config = ConfigDict(extra="forbid")
    service_code: str = Field(description="A Lapor category id")
    service_name: str
    description: str | None
    metadata: bool = Field(description="true: GET services/{service_code} lists the attributes to send")
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str | None = Field(description="Comma-separated")
    group: str | None


# The RootModels below declare their root field rather than subclass RootModel[...]: a parametrized RootModel is a
# class of its own, created and built (not deferred) at import, and documented nowhere (issue #16).
class Open311Services(RootModel):
    """GET services: every service (Lapor category)."""

    model_config = ConfigDict(defer_build=True)
    root: list[Open311Service]


class Open311AttributeValue(Deferred):
    model_config = ConfigDict(extra="forbid")
    key: str
    name: str


class Open311Attribute(Deferred):
    model_config = ConfigDict(extra="forbid")
    variable: bool
    code: str = Field(description="Sent as attribute[code] when filing")
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int | None
    description: str | None
    values: list[Open311AttributeValue]


class Open311ServiceDefinition(Deferred):
    model_config = ConfigDict(extra="forbid")
    service_code: str
    attributes: list[Open311Attribute]


class Open311Request(Deferred):
    """A service request (a Lapor report's public view): content only for public reports, never an identity."""

    model_config = ConfigDict(extra="forbid")
    service_request_id: str = Field(description="The Lapor tracking id")
    status: Literal["open", "closed"]
    status_notes: str | None = Field(description="The agency's public answer, or the Lapor status in words")
    service_name: str | None
    service_code: str
    description: Annotated[str, Field(max_length=4000)] | None
    agency_responsible: str | None
    service_notice: str | None = Field(description="The deadline and who must meet it; null once closed")
    requested_datetime: datetime
    updated_datetime: datetime | None
    expected_datetime: datetime | None = Field(description="The deadline (due_at)")
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: AnyUrl | None


class Open311Requests(RootModel):
    """GET requests, GET requests/{id}: service requests (one for a single request)."""

    model_config = ConfigDict(defer_build=True)
    root: list[Open311Request]


class Open311Created(Deferred):
    model_config = ConfigDict(extra="forbid")
    service_request_id: str = Field(description="The Lapor tracking id")
    service_notice: str | None
    account_id: str | None = Field(description="Always null: Lapor has no accounts")


class Open311CreatedList(RootModel):
    """POST requests: the new request's id (the one-time access code of POST /reports is not given here)."""

    model_config = ConfigDict(defer_build=True)
    root: Annotated[list[Open311Created], Field(min_length=1, max_length=1)]


class Open311Error(Deferred):
    model_config = ConfigDict(extra="forbid")
    code: int = Field(description="The HTTP status", examples=[400])
    description: Annotated[str, Field(min_length=1)]


class Open311Errors(RootModel):
    """The spec's error list: every problem found at once."""

    model_config = ConfigDict(defer_build=True)
    root: Annotated[list[Open311Error], Field(min_length=1)]


class Open311Update(Deferred):
    """FixMyStreet's servicerequestupdates: an agency's answer or a closure of a public report."""

    model_config = ConfigDict(extra="forbid")
    update_id: str = Field(description="The timeline event's id (a ULID): unique and stable")
    service_request_id: str = Field(description="The Lapor tracking id")
    status: Literal["open", "closed"] = Field(description="The request's status after this update")
    description: str | None = Field(description="The agency's answer, or the closure's note")
    updated_datetime: datetime
    media_url: str | None


class Open311Updates(RootModel):
    """GET servicerequestupdates: the updates in the window, oldest first."""

    model_config = ConfigDict(defer_build=True)
    root: list[Open311Update]


class Open311Endpoint(Deferred):
    model_config = ConfigDict(extra="forbid")
    specification: Literal["http://wiki.open311.org/GeoReport_v2"]
    url: str = Field(description="The base URL: services.xml is under it")
    changeset: datetime
    type: Literal["production", "test"]
    formats: list[Literal["text/xml", "application/json"]]


class Open311Discovery(Deferred):
    """GET discovery: where the GeoReport v2 endpoint is, in which formats, and how to get an api_key."""

    model_config = ConfigDict(extra="forbid")
    changeset: datetime = Field(description="When the services or their definitions last changed")
    contact: str
    key_service: str = Field(description="How a client gets an api_key")
    endpoints: list[Open311Endpoint]


Open311Text = Annotated[str, Field(max_length=5000)]


class Open311RequestForm(Deferred):
    """The POST requests form (application/x-www-form-urlencoded), as lapor.open311.parse_create reads it.

    A blank field counts as not sent, and only the first non-blank value of a repeated field is read. The
    optional fields are simply left out (the document drops the null pydantic gives them: a form has none).
    """

    model_config = ConfigDict(populate_by_name=True)
    api_key: str = Field(min_length=1, description="Issued by an admin (POST /admin/apikeys); missing, unknown "
                                                    "or revoked: 403, before anything else is read")
    service_code: str = Field(min_length=1, max_length=64, description="A service_code of GET services",
                              examples=["infrastructure"])
    description: Open311Text = Field(min_length=10, description="At least 10 characters; its first line becomes "
                                                                 "the Lapor title",
                                     examples=["Jalan berlubang besar di Jl. Juanda, membahayakan pengendara"])
    jurisdiction_id: str | None = Field(None, max_length=64, description=(
        "Optional. A Kemendagri code of this province's kabupaten/kota or kecamatan stands in for a missing "
        "attribute[region_code] and must contain it; an unknown code is a 404. Anything else is ignored."))
    region_code: str | None = Field(None, alias="attribute[region_code]", pattern=REGION_CODE_PATTERN,
                                    examples=["64.72"], description=(
        "The Kemendagri code of the kabupaten/kota (or kecamatan); required unless jurisdiction_id gives it"))
    kind: Literal["complaint", "aspiration", "information_request"] | None = Field(
        None, alias="attribute[kind]", description="Default complaint", examples=["complaint"])
    privacy: Literal["public", "confidential", "anonymous"] | None = Field(
        None, alias="attribute[privacy]", description="Default public; anonymous drops the name, phone and email",
        examples=["public"])
    lat: float | None = Field(None, ge=-90, le=90, description="WGS84; with long, or neither")
    long: float | None = Field(None, ge=-180, le=180, description="WGS84; with lat, or neither")
    address_string: Open311Text | None = Field(None, description="Appended to the description (at most 5000 "
                                                                 "characters together)")
    first_name: str | None = Field(None, max_length=100, description="With last_name, the reporter's name")
    last_name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254)
    address_id: str | None = Field(None, description="Accepted and ignored")
    device_id: str | None = Field(None, description="Accepted and ignored")
    account_id: str | None = Field(None, description="Accepted and ignored")
    media_url: str | None = Field(None, max_length=2048, description=(
        "An https link to a photo, kept as sent and returned on GET for public reports (anything but a plain https "
        "link is dropped); never fetched by Lapor"))
