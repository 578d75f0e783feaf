"""Admin routes: agencies and their escalation ladders, routing rules, calendar overrides, sweeps (admin only)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import runtime, sweep
from lapor.domain import ids, reference
from lapor.domain.clock import iso_utc
from lapor.domain.access import Caller
from lapor.domain.routing import Agency, Route
from lapor.domain.rules import agency_problems, route_problems
from lapor.errors import Conflict, NotFound, Unprocessable
from lapor.models import (
    AgencyList,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    CalendarList,
    RouteList,
    SweepIn,
    SweepList,
    SweepOut,
)
from lapor.observability import logger
from lapor.settings import get_settings
from lapor_api import auth
from lapor_api.responses import ADMIN, JSON_BODY, errors, ok

router = APIGatewayHttpRouter()
ADMIN_ONLY = auth.OPERATOR_ONLY | {"tags": ["admin"]}
READ = errors(ADMIN)


def _replaced(what: str, *more: tuple[int, str]) -> dict:
    """The responses of a PUT that replaces a whole configuration list."""
    return ok(f"The {what} as saved") | errors(ADMIN, JSON_BODY, (422, (
        f"The body does not match the schema (`validation_error`), or the {what} are inconsistent "
        "(`invalid_configuration`; details list each problem); nothing was saved")), *more)


def _refuse(problems: list[dict], what: str) -> None:
    if problems:
        raise Unprocessable(f"the {what} were not saved: {problems[0]['msg']}", code="invalid_configuration",
                            details=problems)


def _changed(what: str, count: int, caller: Caller) -> None:
    runtime.config_cache().invalidate()
    logger.info("configuration replaced", extra={"what": what, "count": count, "by": caller.subject})


@router.get("/admin/agencies", summary="Agencies and their escalation ladders", **ADMIN_ONLY,
            responses=ok("Every agency") | READ)
def get_agencies() -> AgencyList:
    auth.admin(router)
    return AgencyList.model_validate({"items": [asdict(a) for a in runtime.config_store().list_agencies()]})


@router.put("/admin/agencies", summary="Replace the agencies", **ADMIN_ONLY, responses=_replaced("agencies", (
    409, "It removes agencies that still have reports (`agency_in_use`; details name them); nothing was saved")))
def put_agencies(body: AgencyList) -> AgencyList:
    caller = auth.admin(router)
    config, reports = runtime.config_store(), runtime.store()
    agencies = [Agency(**a.model_dump()) for a in body.items]
    problems = agency_problems(agencies)
    kept = {a.id for a in agencies}
    problems += [{"loc": ["items"], "msg": f"route {r.region_code}/{r.category} still names {r.agency_id!r}"}
                 for r in config.list_routes() if r.agency_id not in kept]
    _refuse(problems, "agencies")
    in_use = sorted(a.id for a in config.list_agencies() if a.id not in kept and reports.agency_has_reports(a.id))
    if in_use:
        raise Conflict("agencies with reports cannot be removed; reassign their reports first",
                       code="agency_in_use", details={"agency_ids": in_use})
    config.replace_agencies(agencies)
    _changed("agencies", len(agencies), caller)
    return body


@router.get("/admin/routes", summary="Routing rules", **ADMIN_ONLY, responses=ok("Every routing rule") | READ)
def get_routes() -> RouteList:
    auth.admin(router)
    return RouteList.model_validate({"items": [asdict(r) for r in runtime.config_store().list_routes()]})


@router.put("/admin/routes", summary="Replace the routing rules", **ADMIN_ONLY, responses=_replaced("routes"))
def put_routes(body: RouteList) -> RouteList:
    caller = auth.admin(router)
    config = runtime.config_store()
    routes = [Route(**r.model_dump()) for r in body.items]
    _refuse(route_problems(routes, [a.id for a in config.list_agencies()],
                           lambda code: reference.region(code) is not None, reference.categories()), "routes")
    config.replace_routes(routes)
    _changed("routes", len(routes), caller)
    return body


@router.get("/admin/calendar", summary="Working-day overrides", **ADMIN_ONLY,
            responses=ok("Every working-day override") | READ)
def get_calendar() -> CalendarList:
    auth.admin(router)
    return CalendarList.model_validate({"items": runtime.config_store().list_calendar_overrides()})


@router.put("/admin/calendar", summary="Replace the working-day overrides", **ADMIN_ONLY,
            responses=_replaced("calendar overrides"))
def put_calendar(body: CalendarList) -> CalendarList:
    caller = auth.admin(router)
    days = [o.date for o in body.items]
    duplicates = sorted({d.isoformat() for d in days if days.count(d) > 1})
    _refuse([{"loc": ["items"], "msg": f"{d} is listed twice"} for d in duplicates], "calendar overrides")
    runtime.config_store().replace_calendar_overrides(
        {"date": o.date.isoformat(), "working": o.working, "reason": o.reason} for o in body.items)
    _changed("calendar", len(days), caller)
    return body


@router.post("/admin/sweeps", summary="Run the deadline sweep now (or as of an instant, or dry)", **ADMIN_ONLY,
             responses=ok("The run, as recorded") | errors(ADMIN, JSON_BODY))
def run_sweep(body: SweepIn) -> SweepOut:
    caller = auth.admin(router)
    started = datetime.now(UTC).replace(microsecond=0)
    as_of = body.as_of or started
    counts = sweep.run_sweep(runtime.store(), runtime.config_cache().get(), as_of=as_of, dry_run=body.dry_run,
                             shards=get_settings().due_index_shards)
    run = sweep.sweep_record(counts, as_of=as_of, dry_run=body.dry_run, by=f"{caller.role}:{caller.subject}",
                             started_at=started, finished_at=datetime.now(UTC).replace(microsecond=0))
    runtime.sweep_runs().put_sweep_run(run)
    if not body.dry_run:
        sweep.emit_metrics(counts, "on_demand")
    logger.info("sweep finished", extra={k: run[k] for k in ("id", "as_of", "dry_run", "scanned", "escalated",
                                                            "flagged_final", "closed", "skipped", "failed")})
    return SweepOut.model_validate(run)


@router.get("/admin/sweeps", summary="Recent sweep runs, newest first", **ADMIN_ONLY,
            responses=ok("The recent runs") | READ)
def list_sweeps() -> SweepList:
    auth.admin(router)
    return SweepList.model_validate({"items": runtime.sweep_runs().list_sweep_runs()})


@router.post("/admin/apikeys", summary="Issue an Open311 API key (shown once)", **ADMIN_ONLY,
             responses=ok("Issued; the key itself is in this reply only", status=201, model=ApiKeyCreated)
             | errors(ADMIN, JSON_BODY))
def create_api_key(body: ApiKeyIn) -> Response[ApiKeyCreated]:
    caller = auth.admin(router)
    key_id, key, secret_hash = ids.new_api_key()
    record = {"id": key_id, "name": body.name, "secret_hash": secret_hash,
              "created_at": iso_utc(datetime.now(UTC)), "created_by": f"{caller.role}:{caller.subject}"}
    runtime.api_keys().put_api_key(record)
    logger.info("api key issued", extra={"key_id": key_id, "by": caller.subject})
    created = ApiKeyCreated.model_validate(record | {"key": key}).model_dump(mode="json")
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)


@router.get("/admin/apikeys", summary="Open311 API keys (never the keys themselves)", **ADMIN_ONLY,
            responses=ok("Every key issued, revoked ones included") | READ)
def list_api_keys() -> ApiKeyList:
    auth.admin(router)
    return ApiKeyList.model_validate({"items": runtime.api_keys().list_api_keys()})


@router.post("/admin/apikeys/<key_id>/revoke", summary="Revoke an Open311 API key at once", **ADMIN_ONLY,
             responses=ok("The key, revoked (revoking it again changes nothing)")
             | errors(ADMIN, (404, "No API key with this id (`not_found`)")))
def revoke_api_key(key_id: str) -> ApiKeyOut:
    caller = auth.admin(router)
    store = runtime.api_keys()
    if not store.revoke_api_key(key_id, revoked_at=iso_utc(datetime.now(UTC)), by=f"{caller.role}:{caller.subject}"):
        raise NotFound(f"no API key {key_id!r}")
    logger.info("api key revoked", extra={"key_id": key_id, "by": caller.subject})
    return ApiKeyOut.model_validate(store.get_api_key(key_id))
