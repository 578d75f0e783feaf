"""Admin routes: agencies and their escalation ladders, routing rules, calendar overrides, sweeps (admin only)."""

from __future__ import annotations

import re
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
from lapor.errors import Conflict, LaporError, NotFound, Unprocessable
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
RUN_ID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")  # a ULID, as sweep.new_run makes them
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


def _run_view(item: dict) -> SweepOut:
    now = datetime.now(UTC).replace(microsecond=0)
    return SweepOut.model_validate(sweep.run_view(item, now=now, stall_seconds=get_settings().sweep_stall_seconds))


@router.post("/admin/sweeps", summary="Start a deadline sweep now (or as of an instant, or dry)", **ADMIN_ONLY,
             responses=ok("A dry run small enough to finish inside this call (within LAPOR_SWEEP_INLINE_SECONDS, "
                          "3 s): the run, `finished`", model=SweepOut)
             | ok("The run is started: recorded `running`, its shards handed to the sweep queue; follow it with "
                  "`GET /admin/sweeps/{id}`", status=202, model=SweepOut)
             | errors(ADMIN, JSON_BODY, (503, (
                 "The run was recorded but not all of its shards could be handed on (`sweep_interrupted`; details "
                 "give `run_id`, whose record now says `failed`, and the error's type). Shards handed on before "
                 "are still swept; escalation is exactly once, so starting another run is safe"))))
def run_sweep(body: SweepIn) -> Response[SweepOut]:
    caller = auth.admin(router)
    settings = get_settings()
    started = datetime.now(UTC).replace(microsecond=0)
    run = sweep.new_run(as_of=body.as_of or started, dry_run=body.dry_run, by=f"{caller.role}:{caller.subject}",
                        shards=settings.due_index_shards, started_at=started)
    runs = runtime.sweep_runs()
    try:
        if body.dry_run and settings.sweep_inline_seconds > 0:
            # Writes nothing but its record: swept here while the time lasts, the rest handed on.
            runs.start_run(run)
            sweep.sweep_inline(run, store=runtime.store(), config=runtime.config_cache().get(), runs=runs,
                               send=runtime.send_sweep_message, seconds=settings.sweep_inline_seconds,
                               page_size=settings.sweep_page_size)
            reply = _run_view(runs.get_sweep_run(run["id"]) or run)
        else:
            sweep.start_run(runs, runtime.send_sweep_message, run)
            reply = SweepOut.model_validate(run)
    except sweep.RunInterrupted as interrupted:
        raise LaporError(f"sweep run {run['id']} was recorded but stopped before all its shards were handed on; "
                         "those handed on are still swept", code="sweep_interrupted", status=503,
                         details={"run_id": run["id"], "error": interrupted.error_type}) from None
    logger.info("sweep started", extra={"run_id": run["id"], "as_of": run["as_of"], "dry_run": run["dry_run"],
                                        "status": reply.status, "by": caller.subject})
    return Response(status_code=200 if reply.status == "finished" else 202,
                    content_type=content_types.APPLICATION_JSON, body=reply.model_dump(mode="json"))


@router.get("/admin/sweeps", summary="Recent sweep runs, newest first", **ADMIN_ONLY,
            responses=ok("The recent runs") | READ)
def list_sweeps() -> SweepList:
    auth.admin(router)
    return SweepList(items=[_run_view(item) for item in runtime.sweep_runs().list_sweep_runs()])


@router.get("/admin/sweeps/<run_id>", summary="One sweep run: its state and its counts so far", **ADMIN_ONLY,
            responses=ok("The run") | errors(ADMIN, (404, "No sweep run with this id (`not_found`)")))
def get_sweep(run_id: str) -> SweepOut:
    auth.admin(router)
    item = runtime.sweep_runs().get_sweep_run(run_id) if RUN_ID.fullmatch(run_id) else None
    if item is None:
        raise NotFound("no sweep run with this id")
    return _run_view(item)


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
