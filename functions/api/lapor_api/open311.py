"""``/open311/v2``: Open311 GeoReport v2, so existing civic-reporting apps file and follow Lapor reports.

Each route serves ``.json`` and ``.xml``. Bodies and errors are the spec's (``lapor.open311``), not Lapor's
JSON error shape: these clients parse a list of ``{code, description}``. Filing goes through the same code
as ``POST /reports`` (routing, deadline, idempotency) and needs an API key issued by an admin.
"""

from __future__ import annotations

import base64
import hmac
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ValidationError

from lapor import open311, runtime
from lapor.domain import ids, reference
from lapor.domain.clock import iso_utc, parse_utc
from lapor.domain.reference import REGION_CODE_PATTERN
from lapor.errors import LaporError
from lapor.models import ReportIn
from lapor.observability import logger
from lapor.settings import get_settings
from lapor.views import report_view
from lapor_api.reports import file_report

router = APIGatewayHttpRouter()
BASE = "/open311/v2"
TAGS = {"tags": ["open311"], "include_in_schema": True}


def _reply(kind: str, payload: Any, fmt: str, status: int = 200) -> Response:
    body, content_type = open311.render(kind, payload, fmt)
    return Response(status_code=status, content_type=content_type, body=body)


def _refuse(error: open311.Open311Error, fmt: str) -> Response:
    return _reply("errors", error.body(), fmt, error.status)


def _split(file_name: str) -> tuple[str, str]:
    """``LPR-7K3M9Q2X.json`` → (``LPR-7K3M9Q2X``, ``json``); an unknown suffix is the spec's 404."""
    name, _, fmt = file_name.rpartition(".")
    if fmt not in open311.FORMATS or not name:
        raise open311.Open311Error(404, f"no such resource: {file_name} (use .json or .xml)")
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
        status_notes=record.get("status_notes") if record["privacy"] == "public"
        and record["status"] in ("responded", "closed") else None,
        updated_datetime=updated)


# -- services ---------------------------------------------------------------------------------------------------

def _services(fmt: str) -> Response:
    return _reply("services", open311.services(), fmt)


def _service_definition(service_file: str):  # noqa: ANN202 (see _in)
    fmt = "xml"
    try:
        code, fmt = _split(service_file)
        category = reference.categories().get(code)
        if category is None:
            raise open311.Open311Error(404, f"service_code {code} not found")
        return _reply("service_definition", open311.service_definition(category, get_settings().home_province), fmt)
    except open311.Open311Error as error:
        return _refuse(error, fmt)


# -- requests ---------------------------------------------------------------------------------------------------

def _api_key_valid(api_key: str) -> bool:
    parts = ids.split_api_key(api_key)
    record = runtime.store().get_api_key(parts[0]) if parts else None
    return bool(record and not record.get("revoked_at")
                and hmac.compare_digest(record["secret_hash"], ids.hash_api_secret(parts[1])))  # type: ignore[index]


def _create(fmt: str) -> Response:
    event = router.current_event
    # API Gateway sends form bodies base64-encoded; bytes that are not UTF-8 must not crash the handler.
    raw = event.body or ""
    text = base64.b64decode(raw).decode("utf-8", "replace") if event.is_base64_encoded else raw
    form = parse_qs(text, keep_blank_values=True)
    try:
        api_key = open311.form_value(form, "api_key")
        if api_key is None or not _api_key_valid(api_key):  # before anything else is read: nothing is stored
            raise open311.Open311Error(403, "api_key is missing, unknown or revoked")
        jurisdiction = open311.form_value(form, "jurisdiction_id")
        if jurisdiction and re.fullmatch(REGION_CODE_PATTERN, jurisdiction) and reference.region(jurisdiction) is None:
            raise open311.Open311Error(404, f"jurisdiction_id {jurisdiction} not found")
        request = open311.parse_create(form, province_code=get_settings().home_province)
        region_code = request.report["region_code"]
        if jurisdiction and re.fullmatch(REGION_CODE_PATTERN, jurisdiction) and not (
                region_code + ".").startswith(jurisdiction + "."):
            raise open311.Open311Error(400, f"attribute[region_code] {region_code} is outside jurisdiction_id "
                                            f"{jurisdiction}")
        try:
            report = ReportIn.model_validate(request.report)
        except ValidationError as exc:
            raise open311.Open311Error(400, *(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                              for e in exc.errors())) from exc
        try:
            created = file_report(report, channel="open311", lambda_context=router.lambda_context,
                                  idempotency_key=event.headers.get("idempotency-key"))
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
        query = open311.list_query(parse_qs(router.current_event.raw_query_string or "", keep_blank_values=True),
                                   now=now)
    except open311.Open311Error as error:
        return _refuse(error, fmt)
    store = runtime.store()
    if query.ids:
        records = store.get_reports(i for i in (ids.normalize_tracking_id(raw) for raw in query.ids) if i)
    else:
        wanted = frozenset().union(*(open311.lapor_statuses(s) for s in query.statuses)) if query.statuses else None
        records = []
        for record in store.reports_filed_between(iso_utc(query.start), iso_utc(query.end)):
            if (not query.service_codes or record["category"] in query.service_codes) and (
                    wanted is None or record["status"] in wanted):
                records.append(record)
                if len(records) >= query.limit:
                    break
    return _reply("service_requests", [_request(r, now) for r in records], fmt)


def _read(request_file: str):  # noqa: ANN202 (see _in)
    fmt = "xml"
    try:
        raw, fmt = _split(request_file)
        tracking_id = ids.normalize_tracking_id(raw)
        record = runtime.store().get_report(tracking_id) if tracking_id else None
        if record is None:
            raise open311.Open311Error(404, f"service_request_id {raw} not found")
    except open311.Open311Error as error:
        return _refuse(error, fmt)
    return _reply("service_requests", [_request(record, datetime.now(UTC))], fmt)


def _in(fmt: str, serve: Any) -> Any:
    """A handler for one format: the suffix is part of the path in the spec, not a parameter."""
    def handler():  # noqa: ANN202 (no return type: the OpenAPI generator cannot model a raw Response)
        return serve(fmt)

    handler.__name__ = f"open311{serve.__name__}_{fmt}"  # a distinct OpenAPI operation per route
    return handler


for _fmt in open311.FORMATS:
    router.get(f"{BASE}/services.{_fmt}", summary=f"Open311: services ({_fmt})", **TAGS)(_in(_fmt, _services))
    router.post(f"{BASE}/requests.{_fmt}", summary=f"Open311: file a request, form-encoded ({_fmt})", **TAGS)(
        _in(_fmt, _create))
    router.get(f"{BASE}/requests.{_fmt}", summary=f"Open311: list requests ({_fmt})", **TAGS)(_in(_fmt, _list))
router.get(f"{BASE}/services/<service_file>", summary="Open311: a service definition (.json or .xml)", **TAGS)(
    _service_definition)
router.get(f"{BASE}/requests/<request_file>", summary="Open311: one request (.json or .xml)", **TAGS)(_read)
