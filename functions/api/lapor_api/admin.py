"""Admin routes: agencies and their escalation ladders, routing rules, calendar overrides, sweeps (admin only)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor import runtime, sweep
from lapor.dal.configuration import ConfigHead, ConfigStore, SaveInterrupted, StaleConfiguration
from lapor.domain import ids, reference
from lapor.domain.clock import iso_utc
from lapor.domain.access import Caller
from lapor.domain.routing import Agency, Route
from lapor.domain.rules import agency_problems, route_problems
from lapor.errors import Conflict, LaporError, NotFound, Unprocessable
from lapor.models import (
    AgencyList,
    AgencyListOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    CalendarList,
    CalendarListOut,
    RouteList,
    RouteListOut,
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
ETAG = {"ETag": {"description": 'The configuration\'s version, quoted (`"7"`): send it back as `If-Match`',
                 "required": True, "schema": {"type": "string"}}}
CONFIG_STALE = (409, "The configuration was saved since the version sent (`If-Match` or `version`) or since this "
                     "request read it, or another save is writing (`stale_version`; details give `current_version`): "
                     "read it again")
IfMatch = Annotated[str | None, Header(
    alias="if-match", max_length=200,
    description='The `ETag` of the GET this list was read with (e.g. `"7"`; `*`: any): if the configuration was '
                "saved since, 409 `stale_version`. Omitted: the version current when the request starts.")]


def _etag(version: int) -> str:
    return f'"{version}"'


def _read(what: str, model: Any, load: Callable[[ConfigStore], list[dict]]) -> Response:
    """A GET: the version first, then the list (so a save in between shows as a stale version)."""
    config = runtime.config_store()
    head = config.head(consistent=True)
    return _listed(model, load(config), head.version, incomplete=head.is_incomplete(what))


def _listed(model: Any, items: list[dict], version: int, *, incomplete: bool) -> Response:
    body = model.model_validate({"items": items, "version": version, "incomplete": incomplete})
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=body.model_dump(mode="json"), headers={"ETag": _etag(version)})


def _listing(model: Any, description: str) -> dict:
    """The 200 of a GET or PUT of a configuration list: the list, its version, the ETag."""
    return {200: {"description": description, "headers": ETAG, "content": {"application/json": {"model": model}}}}


def _replaced(what: str, model: Any, *more: tuple[int, str]) -> dict:
    """The responses of a PUT that replaces a whole configuration list."""
    return _listing(model, f"The {what} as saved, with the configuration's new version") | errors(
        ADMIN, JSON_BODY, (422, (f"The body does not match the schema (`validation_error`), or the {what} are "
                                 "inconsistent (`invalid_configuration`; details list each problem); nothing was "
                                 "saved")), CONFIG_STALE, *more)


def _refuse(problems: list[dict], what: str) -> None:
    if problems:
        raise Unprocessable(f"the {what} were not saved: {problems[0]['msg']}", code="invalid_configuration",
                            details=problems)


def _stale(head: ConfigHead, message: str) -> Conflict:
    details: dict[str, Any] = {"current_version": head.version}
    if head.saving:
        details["saving"] = head.saving
    return Conflict(message, code="stale_version", details=details)


def _start_save(sent_version: int | None, if_match: str | None) -> tuple[ConfigStore, ConfigHead, float]:
    """The configuration's head, read once at the start: the version this save is validated against and will
    be conditional on. 409 if the client read another version, or a save is writing now."""
    config, now = runtime.config_store(), time.time()
    head = config.head(consistent=True)
    # Entity tags as sent ("7", W/"7", or a bare 7 typed by hand), compared by their number.
    tags = {t.strip().removeprefix("W/").strip('"') for t in (if_match or "").split(",")} - {""}
    if (sent_version is not None and sent_version != head.version) or (tags and not tags & {"*", str(head.version)}):
        raise _stale(head, f"the configuration changed since you read it (now version {head.version}); "
                           "read it again")
    if head.writing(now):
        raise _stale(head, f"another save of the {head.saving} is in progress; read the configuration again")
    return config, head, now


def _save(what: str, save: Callable[..., int], head: ConfigHead, now: float, caller: Caller, count: int) -> int:
    try:
        version = save(read=head, by=f"{caller.role}:{caller.subject}", now=now)
    except SaveInterrupted as exc:
        logger.error("configuration save interrupted", extra={"what": what, "by": caller.subject})
        raise _stale(exc.current, f"the configuration changed while the {what} were written; read it again and "
                                  "save them again if they are not as you sent them") from exc
    except StaleConfiguration as exc:
        raise _stale(exc.current, "the configuration changed while this request checked it; nothing was saved: "
                                  "read it again") from exc
    runtime.config_cache().invalidate()
    logger.info("configuration replaced", extra={"what": what, "count": count, "version": version,
                                                 "by": caller.subject})
    return version


@router.get("/admin/agencies", summary="Agencies and their escalation ladders", **ADMIN_ONLY,
            responses=_listing(AgencyListOut, "Every agency, with the configuration's version") | READ)
def get_agencies() -> Response[AgencyListOut]:
    auth.admin(router)
    return _read("agencies", AgencyListOut,
                 lambda config: [asdict(a) for a in config.list_agencies(consistent=True)])


@router.put("/admin/agencies", summary="Replace the agencies", **ADMIN_ONLY, responses=_replaced(
    "agencies", AgencyListOut, (409, CONFIG_STALE[1] + "; or agencies it removes still have reports "
                                                       "(`agency_in_use`; details name them)")))
def put_agencies(body: AgencyList, if_match: IfMatch = None) -> Response[AgencyListOut]:
    caller = auth.admin(router)
    config, head, now = _start_save(body.version, if_match)
    reports = runtime.store()
    agencies = [Agency(**a.model_dump()) for a in body.items]
    problems = agency_problems(agencies)
    kept = {a.id for a in agencies}
    problems += [{"loc": ["items"], "msg": f"route {r.region_code}/{r.category} still names {r.agency_id!r}"}
                 for r in config.list_routes(consistent=True) if r.agency_id not in kept]
    _refuse(problems, "agencies")
    in_use = sorted(a.id for a in config.list_agencies(consistent=True)
                    if a.id not in kept and reports.agency_has_reports(a.id))
    if in_use:
        raise Conflict("agencies with reports cannot be removed; reassign their reports first",
                       code="agency_in_use", details={"agency_ids": in_use})
    version = _save("agencies", partial(config.replace_agencies, agencies), head, now, caller, len(agencies))
    return _listed(AgencyListOut, [asdict(a) for a in agencies], version, incomplete=False)


@router.get("/admin/routes", summary="Routing rules", **ADMIN_ONLY,
            responses=_listing(RouteListOut, "Every routing rule, with the configuration's version") | READ)
def get_routes() -> Response[RouteListOut]:
    auth.admin(router)
    return _read("routes", RouteListOut, lambda config: [asdict(r) for r in config.list_routes(consistent=True)])


@router.put("/admin/routes", summary="Replace the routing rules", **ADMIN_ONLY,
            responses=_replaced("routes", RouteListOut))
def put_routes(body: RouteList, if_match: IfMatch = None) -> Response[RouteListOut]:
    caller = auth.admin(router)
    config, head, now = _start_save(body.version, if_match)
    routes = [Route(**r.model_dump()) for r in body.items]
    _refuse(route_problems(routes, [a.id for a in config.list_agencies(consistent=True)],
                           lambda code: reference.region(code) is not None, reference.categories()), "routes")
    version = _save("routes", partial(config.replace_routes, routes), head, now, caller, len(routes))
    return _listed(RouteListOut, [asdict(r) for r in routes], version, incomplete=False)


@router.get("/admin/calendar", summary="Working-day overrides", **ADMIN_ONLY,
            responses=_listing(CalendarListOut, "Every working-day override, with the configuration's "
                                                "version") | READ)
def get_calendar() -> Response[CalendarListOut]:
    auth.admin(router)
    return _read("calendar", CalendarListOut, lambda config: config.list_calendar_overrides(consistent=True))


@router.put("/admin/calendar", summary="Replace the working-day overrides", **ADMIN_ONLY,
            responses=_replaced("calendar overrides", CalendarListOut))
def put_calendar(body: CalendarList, if_match: IfMatch = None) -> Response[CalendarListOut]:
    caller = auth.admin(router)
    config, head, now = _start_save(body.version, if_match)
    days = [o.date for o in body.items]
    duplicates = sorted({d.isoformat() for d in days if days.count(d) > 1})
    _refuse([{"loc": ["items"], "msg": f"{d} is listed twice"} for d in duplicates], "calendar overrides")
    overrides = [{"date": o.date.isoformat(), "working": o.working, "reason": o.reason} for o in body.items]
    version = _save("calendar", partial(config.replace_calendar_overrides, overrides), head, now, caller, len(days))
    return _listed(CalendarListOut, overrides, version, incomplete=False)


def _run_view(item: dict, *, listing: bool = False) -> SweepOut:
    """A run as the API shows it; with ``listing``, a dry run's list of what would escalate too."""
    now = datetime.now(UTC).replace(microsecond=0)
    view = sweep.run_view(item, now=now, stall_seconds=get_settings().sweep_stall_seconds)
    if listing and view.get("dry_run"):
        view["would_escalate"], view["would_escalate_truncated"] = runtime.sweep_runs().escalations(view["id"])
    return SweepOut.model_validate(view)


@router.post("/admin/sweeps", summary="Start a deadline sweep now (or as of an instant, or dry)", **ADMIN_ONLY,
             responses=ok("A dry run small enough to finish inside this call (within LAPOR_SWEEP_INLINE_SECONDS, "
                          "3 s): the run, `finished`, with `would_escalate` (at most 200; "
                          "`would_escalate_truncated` when more would)", model=SweepOut)
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
            reply = _run_view(runs.get_sweep_run(run["id"]) or run, listing=True)
        else:
            sweep.start_run(runs, runtime.send_sweep_message, run)
            reply = SweepOut.model_validate(run | ({"would_escalate": [], "would_escalate_truncated": False}
                                                   if run["dry_run"] else {}))
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
            responses=ok("The run; a dry run with `would_escalate`, the reports it would escalate as its shards "
                         "list them (at most 200, oldest deadline first; `would_escalate_truncated` when more would)")
            | errors(ADMIN, (404, "No sweep run with this id (`not_found`)")))
def get_sweep(run_id: str) -> SweepOut:
    auth.admin(router)
    item = runtime.sweep_runs().get_sweep_run(run_id) if RUN_ID.fullmatch(run_id) else None
    if item is None:
        raise NotFound("no sweep run with this id")
    return _run_view(item, listing=True)


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
