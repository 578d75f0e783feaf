"""Routing configuration: agencies, routes and calendar overrides, one partition each (``keys.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date
from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table
from lapor.domain.routing import Agency, Route


def _fields(item: dict[str, Any], cls: type) -> dict[str, Any]:
    return {k: item.get(k) for k in cls.__dataclass_fields__}


class ConfigStore(Table):
    def list_agencies(self) -> list[Agency]:
        return [Agency(**_fields(i, Agency)) for i in self._query_partition(keys.AGENCIES)]

    def list_routes(self) -> list[Route]:
        return [Route(**_fields(i, Route)) for i in self._query_partition(keys.ROUTES)]

    def list_calendar_overrides(self) -> list[dict[str, Any]]:
        """``[{date, working, reason}]``: single dates an operator declared working or non-working."""
        return [{k: i.get(k) for k in ("date", "working", "reason")} for i in self._query_partition(keys.CALENDAR)]

    def replace_agencies(self, agencies: Iterable[Agency]) -> None:
        self._replace_partition(keys.AGENCIES, {keys.agency_sk(a): asdict(a) for a in agencies})

    def replace_routes(self, routes: Iterable[Route]) -> None:
        self._replace_partition(keys.ROUTES, {keys.route_sk(r): asdict(r) for r in routes})

    def replace_calendar_overrides(self, overrides: Iterable[dict[str, Any]]) -> None:
        self._replace_partition(keys.CALENDAR, {o["date"]: o for o in overrides})

    def put_agencies(self, agencies: Iterable[Agency]) -> int:
        return self._batch_put(keys.key(keys.AGENCIES, keys.agency_sk(a)) | self._item(asdict(a)) for a in agencies)

    def put_routes(self, routes: Iterable[Route]) -> int:
        return self._batch_put(keys.key(keys.ROUTES, keys.route_sk(r)) | self._item(asdict(r)) for r in routes)

    def put_calendar_override(self, day: date, *, working: bool, reason: str) -> None:
        item = {"date": day.isoformat(), "working": working, "reason": reason}
        self.client.put_item(TableName=self.table_name,
                             Item=keys.key(keys.CALENDAR, day.isoformat()) | self._item(item))
