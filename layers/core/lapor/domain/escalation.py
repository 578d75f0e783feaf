"""The escalation ladder (design §2): who a silent agency's report goes to next, and when it is overdue.

The top of every ladder is the national administrator: the one agency of level ``national`` that escalates to
nobody (``rules.agency_problems`` refuses any configuration without exactly one; ``nasional`` in the seed data).
A report whose agency the configuration no longer knows (removed while a cached configuration still routed to
it, say), or whose ladder names an agency it does not know, has no ladder to climb: it goes straight to the
national administrator and is flagged ``unknown_agency``, rather than stopping as ``overdue_final`` where it is.

A report is overdue once ``as_of`` is past its ``due_at`` (23:59:59 local on the last working day), so one due
at 23:59:59 WITA is overdue from 00:00:00 WITA the next day, not before. Deadlines compare in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from lapor.domain.clock import parse_utc
from lapor.domain.routing import Agency
from lapor.domain.rules import NATIONAL_LEVEL

ESCALATION_WORKING_DAYS = 5
# A report's flag (``flags``) once it left its ladder because the configuration did not know an agency on it.
UNKNOWN_AGENCY = "unknown_agency"


def national_administrator(agencies: Mapping[str, Agency]) -> Agency | None:
    """The top of every ladder, or None when the configuration has not exactly one (never once validated)."""
    tops = [a for a in agencies.values() if a.escalates_to is None and a.level == NATIONAL_LEVEL]
    return tops[0] if len(tops) == 1 else None


def next_agency(agencies: Mapping[str, Agency], agency_id: str) -> tuple[Agency | None, str | None]:
    """Where an overdue report of ``agency_id`` goes: (the agency, or None at the top of the ladder; the agency id
    the configuration does not know, when the report leaves its ladder for the national administrator)."""
    current = agencies.get(agency_id)
    if current is None:
        unknown = agency_id
    elif current.escalates_to is None:
        return None, None
    elif current.escalates_to in agencies:
        return agencies[current.escalates_to], None
    else:
        unknown = current.escalates_to
    national = national_administrator(agencies)
    return (national if national is not None and national.id != agency_id else None), unknown


def is_overdue(due_at_utc: str, as_of: datetime) -> bool:
    return as_of > parse_utc(due_at_utc)
