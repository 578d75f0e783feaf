"""Validation of what admins configure: agencies and their escalation ladders, routes, calendar overrides.

Pure functions returning a list of problems (``{"loc", "msg"}``), empty when the set is valid; the admin API
and ``lapor routes import`` use the same ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lapor.domain.routing import ANY, Agency, Route

NATIONAL_LEVEL = "national"


def agency_problems(agencies: list[Agency]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    by_id: dict[str, Agency] = {}
    for i, agency in enumerate(agencies):
        if agency.id in by_id:
            problems.append({"loc": ["items", i, "id"], "msg": f"duplicate agency id {agency.id!r}"})
        by_id[agency.id] = agency
    tops = [a for a in by_id.values() if a.escalates_to is None]
    if [a.level for a in tops] != [NATIONAL_LEVEL]:
        problems.append({"loc": ["items"], "msg": "exactly one agency, the national administrator (level "
                                                  "'national'), must escalate to nobody"})
    for i, agency in enumerate(agencies):
        if agency.escalates_to is not None and agency.escalates_to not in by_id:
            problems.append({"loc": ["items", i, "escalates_to"],
                             "msg": f"{agency.id!r} escalates to unknown agency {agency.escalates_to!r}"})
    for i, agency in enumerate(agencies):
        seen, current = {agency.id}, agency
        while current.escalates_to in by_id:
            current = by_id[current.escalates_to]
            if current.id in seen:
                problems.append({"loc": ["items", i, "escalates_to"],
                                 "msg": f"the escalation ladder of {agency.id!r} loops through {current.id!r}"})
                break
            seen.add(current.id)
    return problems


def route_problems(routes: list[Route], agency_ids: Iterable[str], region_exists: Callable[[str], bool],
                   category_ids: Iterable[str]) -> list[dict[str, Any]]:
    agencies, categories = set(agency_ids), set(category_ids)
    problems: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for i, route in enumerate(routes):
        key = (route.region_code, route.category)
        if key in seen:
            problems.append({"loc": ["items", i], "msg": f"two routes for region {key[0]!r}, category {key[1]!r}"})
        seen.add(key)
        if route.region_code != ANY and not region_exists(route.region_code):
            problems.append({"loc": ["items", i, "region_code"], "msg": f"unknown region {route.region_code!r}"})
        if route.category != ANY and route.category not in categories:
            problems.append({"loc": ["items", i, "category"], "msg": f"unknown category {route.category!r}"})
        if route.agency_id not in agencies:
            problems.append({"loc": ["items", i, "agency_id"], "msg": f"unknown agency {route.agency_id!r}"})
        if route.deadline_working_days is not None and not 1 <= route.deadline_working_days <= 365:
            problems.append({"loc": ["items", i, "deadline_working_days"], "msg": "must be 1 to 365"})
    if (ANY, ANY) not in seen:
        problems.append({"loc": ["items"], "msg": "the national default route (region '*', category '*') is "
                                                  "required: every report must reach an agency"})
    return problems
