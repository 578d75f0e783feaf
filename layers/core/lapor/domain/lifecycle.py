"""The report lifecycle (design §2): which agency answers are allowed from which status."""

from __future__ import annotations

# An agency acknowledges (in_progress, repeatable with progress notes) or responds.
RESPONSE_TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"in_progress", "responded"}),
    "routed": frozenset({"in_progress", "responded"}),
    "escalated": frozenset({"in_progress", "responded"}),
    "in_progress": frozenset({"in_progress", "responded"}),
}
EVENT_FOR_STATUS = {"in_progress": "acknowledged", "responded": "responded"}


def response_allowed(current: str, target: str) -> bool:
    return target in RESPONSE_TRANSITIONS.get(current, frozenset())
