"""Routing rules, identifiers and reference data (pure domain)."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lapor.domain import ids, reference
from lapor.domain.routing import NoRouteError, Route, region_lineage, resolve_route


def rules(*routes: Route) -> dict:
    return {(r.region_code, r.category): r for r in routes}


NATIONAL = Route("*", "*", "nasional")
PROVINCE_ANY = Route("64", "*", "64-diskominfo")
PROVINCE_HEALTH = Route("64", "health", "64-dinkes")
CITY_ANY = Route("64.72", "*", "64-72-setda")
CITY_ROADS = Route("64.72", "infrastructure", "64-72-pupr")
DISTRICT_ANY = Route("64.72.01", "*", "64-72-01-camat")


def test_region_lineage_goes_from_the_region_up_to_national():
    assert region_lineage("64.72.01") == ["64.72.01", "64.72", "64", "*"]
    assert region_lineage("64") == ["64", "*"]


@pytest.mark.parametrize(("region", "category", "agency"), [
    ("64.72", "infrastructure", "64-72-pupr"),      # exact region and category
    ("64.72", "education", "64-72-setda"),          # city wildcard beats province and national
    ("64.72.02", "infrastructure", "64-72-pupr"),   # a kecamatan without rules inherits its city's
    ("64.72.01", "infrastructure", "64-72-01-camat"),  # the most specific region wins, even by wildcard
    ("64.71", "health", "64-dinkes"),               # province rule for a city without rules
    ("64.71", "education", "64-diskominfo"),
    ("31.71", "health", "nasional"),                # national default
])
def test_the_most_specific_rule_wins(region, category, agency):
    table = rules(NATIONAL, PROVINCE_ANY, PROVINCE_HEALTH, CITY_ANY, CITY_ROADS, DISTRICT_ANY)
    assert resolve_route(table, region, category).agency_id == agency


def test_without_a_national_default_there_is_no_route():
    with pytest.raises(NoRouteError):
        resolve_route(rules(CITY_ROADS), "31.71", "health")


def test_shipped_routes_reach_every_regency_of_kalimantan_timur_and_default_nationally():
    routes = rules(*(Route(**r) for r in reference.load_data("routes.json")))
    for regency in reference.child_regions("64"):
        assert resolve_route(routes, regency.code, "infrastructure").agency_id.endswith("-pupr")
        assert resolve_route(routes, regency.code, "other_public_services").agency_id.endswith("-setda")
    assert resolve_route(routes, "11.01", "health").agency_id == "nasional"


def test_shipped_escalation_ladders_end_at_the_national_administrator():
    agencies = {a["id"]: a for a in reference.load_data("agencies.json")}
    for agency in agencies.values():
        seen, current = set(), agency
        while current["escalates_to"] is not None:
            assert current["id"] not in seen, f"cycle through {current['id']}"
            seen.add(current["id"])
            current = agencies[current["escalates_to"]]
        assert current["id"] == "nasional"


def test_tracking_ids_are_short_random_and_typeable():
    drawn = {ids.new_tracking_id() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(re.fullmatch(ids.TRACKING_ID_PATTERN, t) for t in drawn)


@given(st.text(alphabet=ids.CROCKFORD, min_size=8, max_size=8))
def test_typed_tracking_ids_are_normalised(body):
    canonical = f"LPR-{body}"
    assert ids.normalize_tracking_id(canonical.lower()) == canonical
    assert ids.normalize_tracking_id(f"lpr {body[:4]} {body[4:]}") == canonical
    assert ids.normalize_tracking_id(f"LPR-{body[:7]}") is None


def test_confusable_characters_read_as_crockford_digits():
    assert ids.normalize_tracking_id("LPR-OOIL2345") == "LPR-00112345"
    assert ids.normalize_tracking_id("ABC-12345678") is None


def test_access_codes_are_checked_against_their_hash_only():
    code = ids.new_access_code()
    stored = ids.hash_access_code("LPR-00000000", code)
    assert code not in stored
    assert ids.access_code_matches("LPR-00000000", code.lower(), stored)
    assert not ids.access_code_matches("LPR-00000001", code, stored)  # bound to its report
    assert not ids.access_code_matches("LPR-00000000", ids.new_access_code(), stored)


def test_reference_data_has_every_province_with_its_time_zone():
    provinces = reference.child_regions(None)
    assert len(provinces) == 38
    zones = {p.code: p.timezone for p in provinces}
    assert zones["64"] == "Asia/Makassar" and zones["31"] == "Asia/Jakarta" and zones["94"] == "Asia/Jayapura"
    assert [c.code for c in reference.child_regions("64.72")][:1] == ["64.72.01"]
    assert reference.region("64.72").name == "Kota Samarinda"
    assert reference.region("64.99") is None and reference.region("6472") is None
    assert len(reference.categories()) == 11


def test_agency_rules_catch_unknown_targets_cycles_and_a_missing_top():
    from lapor.domain.routing import Agency
    from lapor.domain.rules import agency_problems

    good = [Agency("nasional", "Admin Nasional", "ID", "national"), Agency("64-insp", "Inspektorat", "64", "province",
                                                                           "nasional")]
    assert agency_problems(good) == []
    loop = good + [Agency("a", "A", "64", "kabupaten_kota", "b"), Agency("b", "B", "64", "kabupaten_kota", "a")]
    assert any("loops" in p["msg"] for p in agency_problems(loop))
    dangling = good + [Agency("c", "C", "64", "kabupaten_kota", "nope")]
    assert agency_problems(dangling)[0]["loc"] == ["items", 2, "escalates_to"]
    two_tops = good + [Agency("d", "D", "64", "province")]
    assert any("exactly one" in p["msg"] for p in agency_problems(two_tops))
    assert any("duplicate" in p["msg"] for p in agency_problems(good + [good[1]]))


def test_route_rules_check_regions_categories_agencies_and_the_national_default():
    from lapor.domain.rules import route_problems

    def check(routes):
        return route_problems(routes, {"nasional", "64-72-pupr"}, lambda c: reference.region(c) is not None,
                              reference.categories())

    assert check([Route("*", "*", "nasional"), Route("64.72", "infrastructure", "64-72-pupr")]) == []
    assert "national default" in check([Route("64.72", "*", "64-72-pupr")])[0]["msg"]
    problems = check([Route("*", "*", "nasional"), Route("64.99", "potholes", "ghost", 0)])
    assert [p["loc"][-1] for p in problems] == ["region_code", "category", "agency_id", "deadline_working_days"]
    assert "two routes" in check([Route("*", "*", "nasional"), Route("*", "*", "nasional")])[0]["msg"]


def test_the_shipped_reference_data_passes_the_admin_rules():
    from lapor.domain.routing import Agency
    from lapor.domain.rules import agency_problems, route_problems

    agencies = [Agency(**a) for a in reference.load_data("agencies.json")]
    routes = [Route(**r) for r in reference.load_data("routes.json")]
    assert agency_problems(agencies) == []
    assert route_problems(routes, [a.id for a in agencies], lambda c: reference.region(c) is not None,
                          reference.categories()) == []
