"""``/open311/v2``: Open311 GeoReport v2, so existing civic-reporting apps file and follow Lapor reports.

Each route serves ``.json`` and ``.xml``. Bodies and errors are the spec's (``lapor.open311``), not Lapor's
JSON error shape: these clients parse a list of ``{code, description}``. Filing goes through the same code
as ``POST /reports`` (routing, deadline, idempotency) and needs an API key issued by an admin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ValidationError

from lapor import attachments, open311, runtime
from lapor.domain import ids, reference
from lapor.domain.clock import iso_utc, parse_utc
from lapor.errors import LaporError
from lapor.models import (
    Open311CreatedList,
    Open311Discovery,
    Open311RequestForm,
    Open311Requests,
    Open311ServiceDefinition,
    Open311Services,
    Open311Updates,
    ReportIn,
)
from lapor.observability import logger
from lapor.settings import get_settings
from lapor.views import report_view
from lapor_api.reports import file_report
from lapor_api.responses import open311_errors, open311_ok

router = APIGatewayHttpRouter()
BASE = "/open311/v2"
TAGS = {"tags": ["open311"], "include_in_schema": True}
BOTH = tuple(open311.FORMATS)  # routes whose format is the path parameter's suffix
CREATE_ROUTES = {f"POST {BASE}/requests.{fmt}": fmt for fmt in open311.FORMATS}  # the routes that read a body
ServiceFile = Annotated[str, Path(description="A service_code and the format: infrastructure.json or .xml")]
RequestFile = Annotated[str, Path(description="A service_request_id (tracking id) and the format: "
                                              "LPR-7K3M9Q2X.json or .xml")]


def _reply(kind: str, payload: Any, fmt: str, status: int = 200) -> Response:
    body, content_type = open311.render(kind, payload, fmt)
    return Response(status_code=status, content_type=content_type, body=body)


def _refuse(error: open311.Open311Error, fmt: str) -> Response:
    return _reply("errors", error.body(), fmt, error.status)


def _query() -> dict[str, list[str]]:
    return parse_qs(router.current_event.raw_query_string or "", keep_blank_values=True)


def _jurisdiction(params: dict[str, list[str]]) -> str | None:
    """The region a request's jurisdiction_id limits it to (None: the whole deployment, which is its province);
    ``Open311Error`` 404 for one Lapor does not serve."""
    value = open311.form_value(params, "jurisdiction_id")
    if value is None:
        return None
    province = get_settings().home_province
    error = open311.jurisdiction_error(value, province)
    if error is not None:
        raise error
    return None if value == province else value


def _split(file_name: str) -> tuple[str, str]:
    """``LPR-7K3M9Q2X.json`` → (``LPR-7K3M9Q2X``, ``json``); an unknown suffix is the spec's 404."""
    name, _, fmt = file_name.rpartition(".")
    if fmt not in open311.FORMATS or not name:
        raise open311.Open311Error(404, f"no such format: {file_name} (use .json or .xml)")
    return name, fmt


def _request(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    category = reference.categories().get(record["category"])
    view = report_view(record, full=False, now=now)
    zone = datetime.fromisoformat(view["submitted_at"]).tzinfo  # every datetime in the report region's local time
    updated = parse_utc(record.get("updated_at") or record["submitted_at"]).astimezone(zone).isoformat()
    return open311.service_request(
        view,
        service_name=category.name_id if category else record["category"],
        # The agency's answer is public when the report is, while it stands (not once rejected or reopened);
        # otherwise the notes only name the status.
        # A confidential or anonymous duplicate names no master: the link would say what it is about (as views).
        status_notes=(open311.merged_note(record["merged_into"]) if record.get("merged_into") else
                      record.get("status_notes") if record["status"] in ("responded", "closed") else None)
        if record["privacy"] == "public" else None,
        updated_datetime=updated, media_url=_media_url(record), address=record.get("address"))


def _media_url(record: dict[str, Any]) -> str | None:
    """A public report's first ready image (a presigned GET URL, minutes long) when it has one, else the link an
    Open311 client sent; nothing for confidential and anonymous reports (not even signed)."""
    if record["privacy"] != "public":
        return None
    if record.get("media_key"):
        return runtime.presign_get(record["media_key"])
    return record.get("media_url")


# -- discovery --------------------------------------------------------------------------------------------------

def _base_url() -> str:
    """The endpoint's public base URL: LAPOR_OPEN311_URL, else the one this request came in on."""
    configured = get_settings().open311_url
    if configured:
        return configured.rstrip("/")
    headers = router.current_event.headers
    scheme = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    return f"{scheme}://{headers.get('host') or router.current_event.request_context.domain_name}{BASE}"


def _discovery(fmt: str) -> Response:
    settings = get_settings()
    return _reply("discovery", open311.discovery(_base_url(), contact=settings.open311_contact,
                                                 key_service=settings.open311_key_service), fmt)


# -- services ---------------------------------------------------------------------------------------------------

def _services(fmt: str) -> Response:
    try:
        _jurisdiction(_query())
    except open311.Open311Error as error:
        return _refuse(error, fmt)
    return _reply("services", open311.services(), fmt)


def _service_definition(service_file: ServiceFile):  # noqa: ANN202 (see _in)
    fmt = error_format(service_file)
    try:
        code, fmt = _split(service_file)
        jurisdiction = _jurisdiction(_query())
        category = reference.categories().get(code)
        if category is None:
            raise open311.Open311Error(404, f"service_code {code} not found")
        return _reply("service_definition", open311.service_definition(
            category, get_settings().home_province, jurisdiction), fmt)
    except open311.Open311Error as error:
        return _refuse(error, fmt)


# -- requests ---------------------------------------------------------------------------------------------------

def _api_key_valid(api_key: str) -> bool:
    parts = ids.split_api_key(api_key)
    record = runtime.api_keys().get_api_key(parts[0]) if parts else None
    return bool(record and not record.get("revoked_at")
                and hmac.compare_digest(record["secret_hash"], ids.hash_api_secret(parts[1])))  # type: ignore[index]


def is_multipart(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").partition(";")[0].strip().lower() == open311.MULTIPART


def _form(event: Any) -> tuple[dict[str, list[str]], list[open311.FilePart]]:
    """The form (``parse_qs`` shape) and, for multipart/form-data, its file parts."""
    raw = event.body or ""
    if is_multipart(event.headers):
        # API Gateway sends a multipart body base64-encoded (a binary media type); lapor dev does the same.
        body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8", "surrogateescape")
        return open311.parse_multipart(event.headers["content-type"], body)
    # API Gateway sends form bodies base64-encoded; bytes that are not UTF-8 must not crash the handler.
    text = base64.b64decode(raw).decode("utf-8", "replace") if event.is_base64_encoded else raw
    return parse_qs(text, keep_blank_values=True), []


def _store_files(created: dict[str, Any], files: list[open311.FilePart]) -> None:
    """The form's files, each as a pending attachment of the report just filed, put under its upload key as the
    presigned POST would: MediaFunction then checks and re-encodes it like any upload. The report is filed
    already, so a failure here is logged, not raised: the client gets its tracking id (an attachment whose file
    never came frees its slot when its upload window ends)."""
    settings = get_settings()
    store, s3 = runtime.store(), runtime.s3()
    record = store.get_report(created["tracking_id"])
    for part in files:
        try:
            attachment = attachments.start_upload(
                store, record, filename=part.filename, content_type=part.content_type, size=len(part.data),
                actor_role="reporter", now_epoch=int(time.time()), expires_in=settings.upload_url_seconds)
            s3.put_object(Bucket=settings.media_bucket, Key=attachment["upload_key"], Body=part.data,
                          ContentType=part.content_type, ServerSideEncryption="AES256")
        except Exception as exc:  # noqa: BLE001 - the report stands; the file is lost, and the log says so
            logger.error("open311 file part not stored", extra={"tracking_id": created["tracking_id"],
                                                                 "error": type(exc).__name__})
            continue
        logger.info("open311 file part stored", extra={"tracking_id": created["tracking_id"],
                                                       "attachment_id": attachment["attachment_id"],
                                                       "bytes": len(part.data)})


def _create(fmt: str) -> Response:
    event = router.current_event
    try:
        form, files = _form(event)
        api_key = open311.form_value(form, "api_key")
        if api_key is None or not _api_key_valid(api_key):  # before anything else is read: nothing is stored
            raise open311.Open311Error(403, "api_key is missing, unknown or revoked")
        jurisdiction = _jurisdiction(form)
        request = open311.parse_create(form, province_code=get_settings().home_province)
        region_code = request.report["region_code"]
        if not open311.within(region_code, jurisdiction):
            raise open311.Open311Error(400, f"attribute[region_code] {region_code} is outside jurisdiction_id "
                                            f"{jurisdiction}")
        try:
            report = ReportIn.model_validate(request.report)
        except ValidationError as exc:
            raise open311.Open311Error(400, *(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                              for e in exc.errors())) from exc
        files = open311.check_files(files, max_files=attachments.MAX_PER_REPORT, max_bytes=attachments.MAX_BYTES,
                                    sniff=attachments.sniff, accepted=attachments.CONTENT_TYPES)
        # The files are part of the request (the same Idempotency-Key with other files is another request) and
        # are stored only by the call that files the report, never again on a replay.
        identity = {"media": [hashlib.sha256(f.data).hexdigest() for f in files]} if files else None
        try:
            extra = {k: v for k, v in (("media_url", request.media_url), ("address", request.address)) if v}
            created = file_report(report, channel="open311", idempotency_key=event.headers.get("idempotency-key"),
                                  extra=extra or None,
                                  identity=identity, on_filed=(lambda created: _store_files(created, files))
                                  if files else None)
        except LaporError as exc:
            status = 400 if exc.status == 422 else exc.status  # the spec has no 422
            raise open311.Open311Error(status, exc.message) from exc
    except open311.Open311Error as error:
        return _refuse(error, fmt)
    logger.info("open311 request filed", extra={"tracking_id": created["tracking_id"]})
    return _reply("service_requests", open311.created(created), fmt)


def _list(fmt: str) -> Response:
    now = datetime.now(UTC)
    try:
        params = _query()
        jurisdiction = _jurisdiction(params)
        query = open311.list_query(params, now=now)
    except open311.Open311Error as error:
        return _refuse(error, fmt)
    store = runtime.store()
    if query.ids:
        records = [r for r in store.get_reports(i for i in (ids.normalize_tracking_id(raw) for raw in query.ids) if i)
                   if open311.within(r["region_code"], jurisdiction)]
        return _reply("service_requests", [_request(r, now) for r in records], fmt)
    start, end = iso_utc(query.start), iso_utc(query.end)
    if query.service_codes or query.statuses:
        # Filtered: one key range per service and status asked (ByService, or ByServiceInRegency/-District for a
        # region's public requests), so nothing outside the filters is read. Unknown codes have no reports.
        known = reference.categories()
        categories = [code for code in query.service_codes if code in known] if query.service_codes else list(known)
        found = store.newest_by_service(categories, query.statuses or ("open", "closed"), start, end,
                                        limit=query.limit, region_code=jurisdiction) if categories else []
    else:
        # Only a window: the public listing's key range of a region below the province (PublicByRegency or
        # PublicByDistrict), else ByMonth: exactly the requests returned.
        candidates = (store.public_reports_filed_between(jurisdiction, start, end) if jurisdiction
                      else store.reports_filed_between(start, end))
        found = [record["tracking_id"] for record in itertools.islice(candidates, query.limit)]
    # No index projects all a request shows (the address, the media; a public index not even the description), and
    # the table's indexes already project the 100 attributes DynamoDB allows: the requests are read by id
    # (BatchGetItem, 100 a call), one more read per request returned. The filters are checked again on what is read,
    # so an index entry behind a write in flight never shows a request that no longer matches.
    records = [r for r in store.get_reports(found)
               if (not query.service_codes or r["category"] in query.service_codes)
               and (not query.statuses or open311.open311_status(r["status"]) in query.statuses)
               and (jurisdiction is None or r["privacy"] == "public")]
    return _reply("service_requests", [_request(r, now) for r in records], fmt)


def _read(request_file: RequestFile):  # noqa: ANN202 (see _in)
    fmt = error_format(request_file)
    try:
        raw, fmt = _split(request_file)
        jurisdiction = _jurisdiction(_query())
        tracking_id = ids.normalize_tracking_id(raw)
        record = runtime.store().get_report(tracking_id) if tracking_id else None
        if record is None:
            raise open311.Open311Error(404, f"service_request_id {raw} not found")
        if not open311.within(record["region_code"], jurisdiction):
            raise open311.Open311Error(404, f"service_request_id {raw} not found in jurisdiction_id {jurisdiction}")
    except open311.Open311Error as error:
        return _refuse(error, fmt)
    return _reply("service_requests", [_request(record, datetime.now(UTC))], fmt)


# -- updates (FixMyStreet's servicerequestupdates extension) ------------------------------------------------------

def _updates(fmt: str) -> Response:
    """Answers and closures of public reports in a time window, oldest first: one Query of PublicUpdates per UTC
    day of the window (at most 8), at most 1000 index items, then their reports by id (BatchGetItem) to keep only
    public, listed ones in the jurisdiction; never a Scan."""
    now = datetime.now(UTC)
    try:
        params = _query()
        jurisdiction = _jurisdiction(params)
        start, end = open311.updates_window(params, now=now)
    except open311.Open311Error as error:
        return _refuse(error, fmt)
    store = runtime.store()
    found = store.public_updates_between(iso_utc(start), iso_utc(end), limit=open311.MAX_RESULTS)
    reports = {r["tracking_id"]: r for r in store.get_reports(u["tracking_id"] for u in found)}
    updates = []
    for update in found:
        record = reports.get(update["tracking_id"])
        # The index holds the sweep's closures of any report (written without reading privacy): checked here.
        if record is None or record["privacy"] != "public" or record["status"] == "rejected" \
                or not open311.within(record["region_code"], jurisdiction):
            continue
        zone = reference.region(record["region_code"]).zone  # type: ignore[union-attr]
        updates.append(open311.request_update(update["tracking_id"], update["event"], zone))
    return _reply("service_requests_updates", updates, fmt)


def _in(fmt: str, serve: Any) -> Any:
    """A handler for one format: the suffix is part of the path in the spec, not a parameter."""
    def handler():  # noqa: ANN202 (no return type: the OpenAPI generator cannot model a raw Response)
        return serve(fmt)

    handler.__name__ = f"open311{serve.__name__}_{fmt}"  # a distinct OpenAPI operation per route
    return handler


# The resources under BASE, each served as .json and .xml (requests also by POST); anything else is the spec's 404.
RESOURCES = {"discovery": ("GET",), "services": ("GET",), "requests": ("GET", "POST"),
             "servicerequestupdates": ("GET",)}
ONE_OF = ("services", "requests")  # services/{code}.{fmt}, requests/{id}.{fmt}


def error_format(path: str) -> str:
    """The format of an error on ``path``: XML for a .xml path, JSON for anything else (the spec's list)."""
    return "xml" if path.endswith(".xml") else "json"


def _no_such(method: str, path: str) -> open311.Open311Error:
    """What is wrong with a path under BASE that no route serves, as precisely as the path allows."""
    rest = "".join(c for c in path[len(BASE) + 1:] if c.isprintable())[:200]  # quoted back: printable, bounded
    name, dot, suffix = rest.rpartition(".") if "." in rest.rpartition("/")[2] else (rest, "", "")
    if name in RESOURCES:
        if suffix in open311.FORMATS:
            return open311.Open311Error(405, f"{method} is not allowed on {rest}: use "
                                             f"{' or '.join(RESOURCES[name])}")
        return open311.Open311Error(404, f"no such format: {rest} (use {name}.json or {name}.xml)")
    if name.startswith("tokens/"):
        return open311.Open311Error(404, "no such token: Lapor files requests in real time and issues no tokens; "
                                         "the POST reply carries the service_request_id")
    first = name.partition("/")[0]
    if first in ONE_OF and "/" in name:
        return open311.Open311Error(404, f"no such resource: {rest} (use {first}/<id>.json or .xml)")
    return open311.Open311Error(404, f"no such resource: {rest} (served here: discovery, services, requests and "
                                     "servicerequestupdates, each .json or .xml)")


def not_found(path: str, method: str = "GET") -> Response | None:
    """The spec's error for a path under /open311/v2 that no route serves: API Gateway's catch-all route
    (``ANY /open311/v2/{proxy+}``) sends every such path here, and so does a path parameter with characters the
    resolver's pattern leaves out (a control character). 404 (405 for a known resource and another method), in
    XML for a .xml path, else JSON."""
    if not path.startswith(BASE + "/"):
        return None
    return _refuse(_no_such(method, path), error_format(path))


def too_large(route_key: str, description: str) -> tuple[str, str] | None:
    """The 413 body and Content-Type of an Open311 route (the size check runs before routing), in its format."""
    fmt = CREATE_ROUTES.get(route_key)
    return open311.render("errors", open311.errors((413, description)), fmt) if fmt else None


JURISDICTION = (404, "jurisdiction_id is not the Kemendagri code of the deployment's province or of a region in it")
NOT_FOUND = (404, "No such service_code or service_request_id (or not in jurisdiction_id), a jurisdiction_id not "
                  "served here, or a suffix other than .json or .xml")
CREATE_ERRORS = (
    (400, "The form cannot be filed: every problem is listed (missing or invalid fields; no location: one of "
          "lat and long, address_string or address_id is required; no attribute[region_code] (a point alone does "
          "not name one: Lapor has no boundary data); a region outside "
          "jurisdiction_id, an unknown service_code or region, a weak or reused Idempotency-Key; a multipart body "
          "that cannot be read, a file part that is empty, not a JPEG, PNG, WebP or PDF by its bytes, or more than "
          "5 of them)"),
    (403, "api_key is missing, unknown or revoked; nothing else was read"),
    JURISDICTION,
    (409, "A request with this Idempotency-Key is still in progress"),
    (413, "The body is over the deployment's limit (64 KiB by default; 4 MiB for multipart/form-data), or a file "
          "part is over 10 MiB; checked first"),
)

for _fmt in open311.FORMATS:
    _one = (_fmt,)
    router.get(f"{BASE}/servicerequestupdates.{_fmt}", summary=f"Open311: updates, FixMyStreet's extension ({_fmt})",
               **TAGS, responses=open311_ok("Answers and closures of public requests in the window, oldest first, "
                                            "at most 1000", Open311Updates, _one)
               | open311_errors(_one, (400, "start_date or end_date is invalid, without a time zone or out of "
                                            "range, start_date is after end_date, or they span over 7 days"),
                                JURISDICTION))(_in(_fmt, _updates))
    router.get(f"{BASE}/discovery.{_fmt}", summary=f"Open311: service discovery ({_fmt})", **TAGS,
               responses=open311_ok("Where the GeoReport v2 endpoint is, its formats, and how to get an api_key",
                                    Open311Discovery, _one))(_in(_fmt, _discovery))
    router.get(f"{BASE}/services.{_fmt}", summary=f"Open311: services ({_fmt})", **TAGS,
               responses=open311_ok("Every service (a Lapor category)", Open311Services, _one)
               | open311_errors(_one, JURISDICTION))(_in(_fmt, _services))
    router.post(f"{BASE}/requests.{_fmt}", summary=f"Open311: file a request, form-encoded or multipart ({_fmt})",
                **TAGS,
                responses=open311_ok("Filed and routed", Open311CreatedList, _one)
                | open311_errors(_one, *CREATE_ERRORS))(_in(_fmt, _create))
    router.get(f"{BASE}/requests.{_fmt}", summary=f"Open311: list requests ({_fmt})", **TAGS,
               responses=open311_ok("The requests that match, at most 1000", Open311Requests, _one)
               | open311_errors(_one, (400, "A filter is invalid: status, a date without a time zone or out of "
                                            "range, start_date after end_date, or a span over 90 days"),
                                JURISDICTION))(
        _in(_fmt, _list))
router.get(f"{BASE}/services/<service_file>", summary="Open311: a service definition (.json or .xml)", **TAGS,
           responses=open311_ok("The service's attributes: what to send as attribute[code]",
                                Open311ServiceDefinition, BOTH) | open311_errors(BOTH, NOT_FOUND))(
    _service_definition)
router.get(f"{BASE}/requests/<request_file>", summary="Open311: one request (.json or .xml)", **TAGS,
           responses=open311_ok("The request, as a list of one", Open311Requests, BOTH)
           | open311_errors(BOTH, NOT_FOUND))(_read)


# -- the document: what the handlers read themselves (Powertools validates none of it) -------------------------

def _form_schema() -> dict[str, Any]:
    """The form's JSON schema: an optional field is one that may be left out (a form has no null)."""
    schema = Open311RequestForm.model_json_schema(by_alias=True)
    for field in schema["properties"].values():
        if "anyOf" in field:
            (kept,) = [variant for variant in field.pop("anyOf") if variant != {"type": "null"}]
            field |= kept
        if "default" in field and field["default"] is None:
            del field["default"]
    return schema


_JURISDICTION_TEXT = ("The Kemendagri code of the deployment's province (everything) or of a kabupaten/kota or "
                      "kecamatan in it (that region and below); any other value is a 404.")
_LIST_PARAMETERS = [
    ("service_request_id", "Comma-separated service_request_ids (at most 1000); every other filter is then "
                           "ignored", {"type": "string"}),
    ("service_code", "Comma-separated service_codes", {"type": "string"}),
    ("start_date", "Earliest requested_datetime, with a time zone (default: 90 days before end_date)",
     {"type": "string", "format": "date-time"}),
    ("end_date", "Latest requested_datetime, with a time zone (default: now); at most 90 days after start_date",
     {"type": "string", "format": "date-time"}),
    ("status", "open, closed or both, comma-separated",
     {"type": "string", "pattern": r"^(open|closed)(,(open|closed))*$"}),
    ("jurisdiction_id", _JURISDICTION_TEXT + " With a region below the province, only that region's public "
                        "requests (confidential and anonymous ones are in no region's listing)", {"type": "string"}),
]


def describe(paths: dict[str, Any]) -> None:
    """Add to ``paths`` (the served document's) the form and query parameters the Open311 handlers read."""
    for fmt in open311.FORMATS:
        create = paths[f"{BASE}/requests.{fmt}"]["post"]
        multipart = _form_schema()
        multipart["properties"]["media"] = {
            "type": "array", "maxItems": 5, "items": {"type": "string", "format": "binary"},
            "description": "Photos or documents (JPEG, PNG, WebP, PDF; any part with a filename is one), each "
                           "stored as an attachment and checked by MediaFunction like any upload; GET then shows "
                           "the first ready image as media_url. The whole body at most 4 MiB (Lambda's payload "
                           "limit)"}
        create["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": _form_schema()},
            "multipart/form-data": {"schema": multipart}}}
        create["parameters"] = [{
            "name": "idempotency-key", "in": "header", "required": False,
            "description": "As for POST /reports: a random UUID (version 4) or at least 22 random URL-safe "
                           "characters; a replay with the same form returns the first reply, never a second "
                           "request. Anything weaker is a 400.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]+$"}}]
        paths[f"{BASE}/requests.{fmt}"]["get"]["parameters"] = [
            {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
            for name, description, schema in _LIST_PARAMETERS]
        paths[f"{BASE}/servicerequestupdates.{fmt}"]["get"]["parameters"] = [
            {"name": "start_date", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"},
             "description": "Earliest updated_datetime, with a time zone (default: 24 hours before end_date)"},
            {"name": "end_date", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"},
             "description": "Latest updated_datetime, with a time zone (default: now); at most 7 days after "
                            "start_date"},
            _jurisdiction_parameter("only the updates of requests in that region and below")]
        paths[f"{BASE}/services.{fmt}"]["get"]["parameters"] = [_jurisdiction_parameter(
            "Checked (404 if not served here); every service covers every region")]
    for path, what in ((f"{BASE}/services/{{service_file}}", "region_code's values become that region and the "
                                                             "kecamatan under it"),
                       (f"{BASE}/requests/{{request_file}}", "a request outside it is a 404")):
        paths[path]["get"].setdefault("parameters", []).append(_jurisdiction_parameter(what))


def _jurisdiction_parameter(what: str) -> dict[str, Any]:
    return {"name": "jurisdiction_id", "in": "query", "required": False, "schema": {"type": "string"},
            "description": f"{_JURISDICTION_TEXT} {what}."}
