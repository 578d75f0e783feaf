"""Which report read is offered as a merge candidate (domain/duplicates.py ``offer``: pure, no table)."""

import pytest

from lapor.domain.duplicates import CANDIDATE_RADIUS_M, offer

ORIGIN = (-0.5022, 117.1537)  # Samarinda
METRE = 1 / 111_195  # a metre along a meridian, in degrees of latitude
SINCE = "2026-01-01T00:00:00Z"
OWN, OTHER = "64-72-pupr", "64-71-pupr"


def report(north_m=30.0, **changes):
    return {"agency_id": OWN, "status": "routed", "category": "infrastructure", "submitted_at": "2026-01-15T08:00:00Z",
            "privacy": "confidential", "location": {"lat": ORIGIN[0] + north_m * METRE, "lon": ORIGIN[1]}} | changes


def offered(item, *, scope=frozenset({OWN}), origin=ORIGIN):
    return offer(item, category="infrastructure", since=SINCE, scope=scope, origin=origin)


def test_a_report_in_scope_nearby_is_offered_with_its_distance():
    found = offered(report(north_m=30))
    assert found is not None and found.in_scope is True
    assert found.distance_m == pytest.approx(30, abs=0.5)


@pytest.mark.parametrize("changes", [
    {"merged_into": "ABCD-EFGH"},  # merged, even if its status read says open
    {"status": "closed"},
    {"status": "rejected"},
    {"category": "health"},
    {"submitted_at": "2025-12-31T23:59:59Z"},  # before the window
    {"agency_id": OTHER},  # confidential, outside the caller's scope
    {"agency_id": OTHER, "privacy": "anonymous"},
    {"location": None},  # nothing to measure from it
], ids=["merged", "closed", "rejected", "category", "old", "confidential-outside", "anonymous-outside", "unlocated"])
def test_dropped(changes):
    assert offered(report(**changes)) is None


def test_beyond_the_radius_is_dropped_within_it_kept():
    assert offered(report(north_m=CANDIDATE_RADIUS_M + 5)) is None
    assert offered(report(north_m=CANDIDATE_RADIUS_M - 5)) is not None


def test_a_public_report_outside_scope_is_offered_as_such_and_an_admin_sees_every_agency():
    assert offered(report(agency_id=OTHER, privacy="public")).in_scope is False
    assert offered(report(agency_id=OTHER), scope=None).in_scope is True


def test_without_an_origin_there_is_no_distance_and_no_radius():
    found = offered(report(north_m=3000, location=None), origin=None)
    assert found == (True, None)
    assert offered(report(status="responded"), origin=None) is not None  # answered, and the reporter may reopen it
