"""Routing configuration (agencies, routes, calendar overrides), read from the table and kept per warm container.

Intake must cost about one write, so the configuration is not read per request: it is cached for
``LAPOR_CONFIG_CACHE_SECONDS`` (admin changes show within that time). After that, one read of the head item
says whether the configuration's version moved on; only then are the lists read again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime

from lapor.dal import ConfigStore
from lapor.domain import reference
from lapor.domain.calendar import WorkingCalendar
from lapor.domain.clock import iso_utc
from lapor.domain.routing import Agency, Route


@dataclass(frozen=True)
class RoutingConfig:
    agencies: dict[str, Agency]
    routes: dict[tuple[str, str], Route]
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    version: int = 0  # the head's version when loaded (read before the lists, so a change during a load shows)

    def deadline(self, region_code: str, start: datetime, working_days: int) -> dict[str, str]:
        """``due_at`` (local, as people read it) and ``due_at_utc`` (for comparisons and the due index)."""
        due = self.calendar.due_at(start, reference.region(region_code).zone, working_days)  # type: ignore[union-attr]
        return {"due_at": due.isoformat(), "due_at_utc": iso_utc(due)}


def load_routing_config(store: ConfigStore, version: int | None = None) -> RoutingConfig:
    """The lists as they are now; ``version``: the head's, when just read (it must be read before the lists)."""
    version = store.head().version if version is None else version
    overrides = store.list_calendar_overrides()
    return RoutingConfig(
        agencies={a.id: a for a in store.list_agencies()},
        routes={(r.region_code, r.category): r for r in store.list_routes()},
        calendar=WorkingCalendar(
            extra_non_working=[date.fromisoformat(o["date"]) for o in overrides if not o["working"]],
            extra_working=[date.fromisoformat(o["date"]) for o in overrides if o["working"]],
        ),
        version=version,
    )


class ConfigCache:
    CHECK_WAIT_SECONDS = 5.0  # how long get waits for a check_soon still under way before checking itself

    def __init__(self, store: ConfigStore, ttl_seconds: float) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._value: RoutingConfig | None = None
        self._checked_at = 0.0
        self._checking: threading.Thread | None = None  # a version check under way (check_soon)

    def invalidate(self) -> None:
        """Forget the cached configuration (after an admin changed it through this container)."""
        self._value = None

    def expire(self, store: ConfigStore | None = None) -> None:
        """Check the version on the next ``get`` (its clock is not to be trusted: a SnapStart restore), through
        ``store`` from now on if given (a new client)."""
        self._checked_at = float("-inf")
        if store is not None:
            self.store = store

    def check_soon(self) -> None:
        """Check the version now, in a thread, and have the next :meth:`get` wait for that check rather than make
        its own (after a SnapStart restore: the check's round trip overlaps the first request's own work, its
        validation and its first reads, instead of following them). A check that failed or is still running after
        ``CHECK_WAIT_SECONDS`` leaves ``get`` to check again itself."""
        self.expire()
        checking = threading.Thread(target=self._check_quietly, name="lapor-config-check", daemon=True)
        self._checking = checking
        checking.start()

    def _check_quietly(self) -> None:
        try:
            self._get()
        except Exception:  # noqa: BLE001 (the request's get checks again and raises what it meets)
            pass

    def prime(self, value: RoutingConfig) -> None:
        """Hold ``value`` as if just read (SnapStart's priming: a stand-in, forgotten after it)."""
        self._value, self._checked_at = value, time.monotonic()

    def get(self) -> RoutingConfig:
        checking, self._checking = self._checking, None
        if checking is not None:
            checking.join(self.CHECK_WAIT_SECONDS)
        return self._get()

    def _get(self) -> RoutingConfig:
        now = time.monotonic()
        if self._value is not None and now - self._checked_at < self.ttl_seconds:
            return self._value
        if self._value is None:
            self._value = load_routing_config(self.store)
        else:
            version = self.store.head().version
            if version != self._value.version:
                self._value = load_routing_config(self.store, version)
        self._checked_at = now
        return self._value
