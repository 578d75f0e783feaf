"""Working days and deadlines.

A working day is not a Saturday or Sunday, not an Indonesian public holiday and not a cuti bersama day
(``holidays`` country ID, categories public and government), unless an operator override says otherwise.
A deadline of N working days falls at 23:59:59 local time of the N-th working day after the submission day,
in the report region's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=1)
def _indonesian_holidays() -> Any:
    # Imported on first use (not at cold start); years are added on demand as dates are looked up.
    import holidays

    return holidays.country_holidays("ID", categories=(holidays.PUBLIC, holidays.GOVERNMENT))


class WorkingCalendar:
    """Indonesia's working days, adjusted by operator overrides of single dates."""

    def __init__(self, extra_non_working: Iterable[date] = (), extra_working: Iterable[date] = ()) -> None:
        self.extra_non_working = frozenset(extra_non_working)
        self.extra_working = frozenset(extra_working)
        if self.extra_non_working & self.extra_working:
            raise ValueError("a date cannot be both a working and a non-working override")

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working:
            return True
        if day in self.extra_non_working:
            return False
        return day.weekday() < 5 and day not in _indonesian_holidays()

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself never counts)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        day = start
        while n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        return sum(self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))

    def due_at(self, submitted_at: datetime, tz: ZoneInfo, working_days: int) -> datetime:
        """23:59:59 local time of the ``working_days``-th working day after the local submission day."""
        if submitted_at.tzinfo is None:
            raise ValueError("submitted_at must be timezone-aware")
        local_day = submitted_at.astimezone(tz).date()
        return datetime.combine(self.add_working_days(local_day, working_days), END_OF_DAY, tzinfo=tz)
