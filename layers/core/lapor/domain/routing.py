"""Routing rules: which agency answers a report from a region about a category.

The most specific region wins (kecamatan, then kabupaten/kota, then province, then the national default);
within one region an exact category beats the wildcard ``*``. The national default (``*``, ``*``) always
exists, so every known region and category has an agency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ANY = "*"


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    region_code: str
    level: str
    escalates_to: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    region_code: str
    category: str
    agency_id: str
    deadline_working_days: int | None = None


class NoRouteError(LookupError):
    """No rule matched: the routing table lacks its national default."""


def region_lineage(region_code: str) -> list[str]:
    """``64.72.01`` → ``["64.72.01", "64.72", "64", "*"]``: the region, its parents, then national."""
    parts = region_code.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)] + [ANY]


def resolve_route(routes: Mapping[tuple[str, str], Route], region_code: str, category: str) -> Route:
    for region in region_lineage(region_code):
        for cat in (category, ANY):
            route = routes.get((region, cat))
            if route is not None:
                return route
    raise NoRouteError(f"no route for {region_code}/{category} and no national default")
