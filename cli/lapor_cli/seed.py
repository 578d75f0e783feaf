"""Loads the versioned reference data (agencies, routes) into the table."""

from __future__ import annotations

from lapor.dal import ConfigStore
from lapor.domain.reference import load_data
from lapor.domain.routing import Agency, Route


def seed(store: ConfigStore) -> dict[str, int]:
    agencies = [Agency(**a) for a in load_data("agencies.json")]
    routes = [Route(**r) for r in load_data("routes.json")]
    known = {a.id for a in agencies}
    missing = sorted({r.agency_id for r in routes} - known)
    if missing:
        raise ValueError(f"routes name unknown agencies: {', '.join(missing)}")
    return {"agencies": store.put_agencies(agencies), "routes": store.put_routes(routes)}
