"""Routing configuration (agencies, routes, calendar overrides), read from the table and kept per warm container.

Intake must cost about one write, so the configuration is not read per request: it is cached for
``LAPOR_CONFIG_CACHE_SECONDS`` (admin changes show within that time). After that, one read of the head item
says whether the configuration's version moved on; only then are the lists read again. A filing needs no such
read: its own transaction carries a condition on the head's version (``ConfigCache.for_write``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

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


def load_routing_config(store: ConfigStore, version: int | None = None, *, consistent: bool = False) -> RoutingConfig:
    """The lists as they are now; ``version``: the head's, when just read (it must be read before the lists)."""
    version = store.head(consistent=consistent).version if version is None else version
    overrides = store.list_calendar_overrides(consistent=consistent)
    return RoutingConfig(
        agencies={a.id: a for a in store.list_agencies(consistent=consistent)},
        routes={(r.region_code, r.category): r for r in store.list_routes(consistent=consistent)},
        calendar=WorkingCalendar(
            extra_non_working=[date.fromisoformat(o["date"]) for o in overrides if not o["working"]],
            extra_working=[date.fromisoformat(o["date"]) for o in overrides if o["working"]],
        ),
        version=version,
    )


class ConfigCache:
    def __init__(self, store: ConfigStore, ttl_seconds: float) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._value: RoutingConfig | None = None
        self._checked_at = 0.0

    def invalidate(self) -> None:
        """Forget the cached configuration (after an admin changed it through this container)."""
        self._value = None

    def expire(self) -> None:
        """Check the version before trusting the held configuration again (its clock is not to be trusted after a
        SnapStart restore: the snapshot may be days old)."""
        self._checked_at = float("-inf")

    def prime(self, value: RoutingConfig) -> None:
        """Hold ``value`` as if just read (SnapStart's priming: a stand-in, forgotten after it)."""
        self._value, self._checked_at = value, time.monotonic()

    def get(self) -> RoutingConfig:
        held = self._value
        if held is not None and not self._check_due():
            return held
        return self._check(consistent=False)

    def _check_due(self) -> bool:
        return time.monotonic() - self._checked_at >= self.ttl_seconds

    def for_write(self) -> tuple[RoutingConfig, dict[str, Any] | None]:
        """For a write that can carry one more transaction entry (a filing): the configuration and, when its version
        check is due (after the TTL, after a restore), the held configuration unchecked with that entry, a
        ConditionCheck that the head is still at its version. The write then checks the version in its own round
        trip instead of after a Query of the head; the caller reports the outcome (:meth:`confirmed`, or
        :meth:`recheck` when the write was refused). Otherwise :meth:`get` and None."""
        held = self._value  # one read: lapor dev serves requests in threads, and an admin change forgets it
        if held is not None and self._check_due():
            return held, self.store.version_condition(held.version)
        return self.get(), None

    def recheck(self) -> RoutingConfig:
        """After a write conditional on the held version was refused: the check, strongly consistent (the refusal
        proves the head moved on or was being written a moment ago; an eventually consistent read could still show
        the old version and have it trusted for another TTL)."""
        return self._check(consistent=True)

    def _check(self, *, consistent: bool) -> RoutingConfig:
        """The head read; the lists too when nothing is held or its version moved on. Trusted from now on."""
        now = time.monotonic()
        version = self.store.head(consistent=consistent).version
        held = self._value
        if held is None or version != held.version:
            held = self._value = load_routing_config(self.store, version, consistent=consistent)
        self._checked_at = now
        return held

    def confirmed(self, version: int) -> None:
        """A write conditional on the head at ``version`` went through: as good as a check that found it."""
        if self._value is not None and self._value.version == version:
            self._checked_at = time.monotonic()
