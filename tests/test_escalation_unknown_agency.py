"""A report whose agency the configuration no longer knows (issue #11, item 5) goes to the national administrator,
flagged ``unknown_agency``, instead of stopping as ``overdue_final`` where it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import VALID_REPORT
from lapor import runtime, sweep
from lapor.config import RoutingConfig
from lapor.dal import keys
from lapor.domain.escalation import UNKNOWN_AGENCY, national_administrator, next_agency
from lapor.domain.routing import Agency
from lapor.intake import submit_report
from lapor.models import ReportIn

LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
NATIONAL = Agency("nasional", "Administrator Nasional", "ID", "national")
PROVINCE = Agency("64-inspektorat", "Inspektorat Provinsi", "64", "province", "nasional")
CITY = Agency("64-72-pupr", "Dinas PUPR Kota Samarinda", "64.72", "kabupaten_kota", "64-inspektorat")
DANGLING = Agency("64-72-dinkes", "Dinas Kesehatan Kota Samarinda", "64.72", "kabupaten_kota", "64-72-removed")
LADDER = {a.id: a for a in (NATIONAL, PROVINCE, CITY, DANGLING)}


def overdue(agency_id: str) -> dict:
    return {"tracking_id": "LPR-ABCDEFGH", "agency_id": agency_id, "status": "routed", "escalation_level": 0,
            "region_code": "64.72", "version": 1, "due_at_utc": "2026-02-01T15:59:59Z"}


@pytest.mark.parametrize(("agency_id", "expected"), [
    ("64-72-pupr", ("64-inspektorat", None)),  # on its ladder
    ("nasional", (None, None)),  # the top: overdue_final
    ("64-72-ghost", ("nasional", "64-72-ghost")),  # its own agency is gone
    ("64-72-dinkes", ("nasional", "64-72-removed")),  # its ladder names an agency that is gone
])
def test_next_agency_leaves_a_broken_ladder_for_the_national_administrator(agency_id, expected):
    upper, unknown = next_agency(LADDER, agency_id)
    assert (upper.id if upper else None, unknown) == expected


def test_the_national_administrator_is_the_one_national_agency_at_the_top():
    assert national_administrator(LADDER) == NATIONAL
    assert national_administrator({"x": CITY}) is None
    assert national_administrator(LADDER | {"n2": Agency("n2", "Dua", "ID", "national")}) is None  # not one


def test_escalating_a_report_of_an_unknown_agency_sends_it_to_the_national_administrator_flagged():
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    outcome, changes, event = sweep.escalation(RoutingConfig(agencies=LADDER, routes={}), overdue("64-72-ghost"),
                                               now, now)
    assert outcome == "escalated"
    assert changes["agency_id"] == "nasional" and changes["escalation_level"] == 1
    assert changes["status"] == "escalated" and changes["flags"] == [UNKNOWN_AGENCY]
    assert "overdue_final" not in changes and changes["due_at_utc"] > now.isoformat()
    assert (event["type"], event["from_agency_id"], event["unknown_agency_id"]) == (
        "escalated", "64-72-ghost", "64-72-ghost")


def test_a_known_report_is_not_flagged_and_without_any_national_administrator_it_stops_flagged():
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    config = RoutingConfig(agencies=LADDER, routes={})
    outcome, changes, _ = sweep.escalation(config, overdue("64-72-pupr"), now, now)
    assert outcome == "escalated" and "flags" not in changes
    outcome, changes, _ = sweep.escalation(config, overdue("nasional"), now, now)
    assert outcome == "flagged_final" and "flags" not in changes
    headless = RoutingConfig(agencies={CITY.id: CITY}, routes={})
    outcome, changes, event = sweep.escalation(headless, overdue("64-72-ghost"), now, now)
    assert outcome == "flagged_final" and changes["flags"] == [UNKNOWN_AGENCY] and changes["overdue_final"] is True
    assert event["unknown_agency_id"] == "64-72-ghost"


def test_the_sweep_sends_a_report_whose_agency_was_removed_to_the_national_administrator(aws, call_api, token):
    store, config = runtime.store(), runtime.config_store()
    filed = submit_report(ReportIn.model_validate(VALID_REPORT), channel="web", store=store,
                          config=runtime.config_cache().get(), default_deadline_days=30, now=LONG_AGO)
    assert filed["agency"]["id"] == "64-72-pupr"
    # The agency leaves the configuration (as when a container still routed with a cached configuration while
    # an admin removed it); the table's report still names it.
    config._batch_delete([keys.key(keys.AGENCIES, "64-72-pupr")])
    runtime.config_cache().invalidate()

    as_of = datetime.now(UTC)
    dry = sweep.run_sweep(store, runtime.config_cache().get(), as_of=as_of, dry_run=True, shards=8)
    assert (dry.escalated, dry.flagged_final) == (1, 0)
    counts = sweep.run_sweep(store, runtime.config_cache().get(), as_of=as_of, dry_run=False, shards=8)
    assert (counts.escalated, counts.flagged_final, counts.failed) == (1, 0, 0)
    report = store.get_report(filed["tracking_id"], timeline=True)
    assert (report["agency_id"], report["status"], report["escalation_level"]) == ("nasional", "escalated", 1)
    assert report["flags"] == [UNKNOWN_AGENCY] and not report.get("overdue_final")
    assert report["timeline"][-1]["unknown_agency_id"] == "64-72-pupr"

    view = call_api("GET", f"/agency/reports/{filed['tracking_id']}", headers={"Authorization": token("admin")})
    assert view.status == 200 and view.body["flags"] == [UNKNOWN_AGENCY]
    assert view.body["timeline"][-1]["unknown_agency_id"] == "64-72-pupr"
    assert view.body["agency"]["id"] == "nasional"
    public = call_api("GET", f"/reports/{filed['tracking_id']}").body
    assert "flags" not in public  # an operator's concern

    # At the national administrator it is on the ladder again: overdue there, it is flagged overdue_final.
    sweep.run_sweep(store, runtime.config_cache().get(), as_of=as_of + timedelta(days=30), dry_run=False, shards=8)
    report = store.get_report(filed["tracking_id"])
    assert report["overdue_final"] is True and report["agency_id"] == "nasional"
    assert report["flags"] == [UNKNOWN_AGENCY]
