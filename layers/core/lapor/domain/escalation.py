"""The escalation ladder (design §2): who a silent agency's report goes to next, and when it is overdue.

A report is overdue once ``as_of`` is past its ``due_at`` (23:59:59 local on the last working day), so one due
at 23:59:59 WITA is overdue from 00:00:00 WITA the next day, not before. Deadlines compare in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from lapor.domain.clock import parse_utc
from lapor.domain.routing import Agency

ESCALATION_WORKING_DAYS = 5


def next_agency(agencies: Mapping[str, Agency], agency_id: str) -> Agency | None:
    """The agency the report goes to next, or None at the top of the ladder (or for an unknown agency)."""
    current = agencies.get(agency_id)
    if current is None or current.escalates_to is None:
        return None
    return agencies.get(current.escalates_to)


def is_overdue(due_at_utc: str, as_of: datetime) -> bool:
    return as_of > parse_utc(due_at_utc)
