"""The report lifecycle (design §2): which change is allowed from which status.

``submitted`` → ``routed`` → ``in_progress`` → ``responded`` → ``closed``; any open state can be
``escalated`` or ``rejected``; the reporter may reopen a responded report once within 10 working days, and
the sweep closes a responded report whose reporter stayed silent for those 10 working days.
"""

from __future__ import annotations

OPEN = frozenset({"submitted", "routed", "in_progress", "escalated"})
# Neither closed nor rejected: awaiting the agency, or answered and open to the reporter's reopening.
ACTIVE = OPEN | {"responded"}
# An agency acknowledges (in_progress, repeatable with progress notes) or responds, while the report is open.
RESPONSE_TARGETS = frozenset({"in_progress", "responded"})
EVENT_FOR_RESPONSE = {"in_progress": "acknowledged", "responded": "responded"}
REOPEN_WINDOW_WORKING_DAYS = 10
MAX_REOPENS = 1


def open311_status(status: str) -> str:
    """A report's status in Open311 (and its filtered listings' keys): ``open`` while it awaits the agency,
    ``closed`` once answered, closed or rejected."""
    return "open" if status in OPEN else "closed"


def response_allowed(current: str, target: str) -> bool:
    return current in OPEN and target in RESPONSE_TARGETS


def reassign_allowed(current: str) -> bool:
    return current in OPEN


def reject_allowed(current: str) -> bool:
    return current in OPEN


def feedback_allowed(current: str) -> bool:
    """Reporters rate an answer: once the agency has responded (and after the report is closed)."""
    return current in {"responded", "closed"}


# Merging duplicates (issue 15): an open report closes as a ``duplicate`` of another ("the master"), which any
# status but rejected may be, unless it is merged itself (no chains). The duplicate keeps the status it had, to
# go back to if an admin undoes the merge.
MERGED_STATUS = "closed"
DUPLICATE = "duplicate"


def merge_allowed(current: str) -> bool:
    return current in OPEN


def merge_target_allowed(status: str, merged_into: str | None) -> bool:
    return status != "rejected" and not merged_into
