"""Configuration changes under concurrency (issue #11, item 5): every save of agencies, routes or calendar is
conditional on the configuration's version, so two saves validated against the same version never both land."""

from __future__ import annotations

import time
from datetime import date

import pytest
import yaml

from conftest import ROOT
from lapor import runtime
from lapor.config import ConfigCache
from lapor.dal import configuration
from lapor.dal.configuration import ConfigHead, SaveInterrupted, StaleConfiguration
from lapor.domain.routing import Agency
from lapor_cli.template import _CfnLoader

NEW_AGENCY = {"id": "64-72-bpbd", "name": "BPBD Kota Samarinda", "region_code": "64.72", "level": "kabupaten_kota",
              "escalates_to": "64-72-inspektorat"}
NEW_ROUTE = {"region_code": "64.72.01", "category": "*", "agency_id": "64-72-bpbd",
             "deadline_working_days": None}


@pytest.fixture
def admin(token):
    return {"Authorization": token("admin")}


def get(call_api, admin, what):
    reply = call_api("GET", f"/admin/{what}", headers=admin)
    assert reply.status == 200, reply.body
    return reply


def consistent(aws) -> None:
    """The invariant the versions protect: every route names an agency that exists."""
    store = runtime.config_store()
    agencies = {a.id for a in store.list_agencies(consistent=True)}
    assert {r.agency_id for r in store.list_routes(consistent=True)} <= agencies


def test_get_returns_the_version_as_a_field_and_an_etag_and_a_put_moves_it_on(call_api, admin):
    agencies, routes, calendar = (get(call_api, admin, what) for what in ("agencies", "routes", "calendar"))
    version = agencies.body["version"]
    assert version >= 1 and agencies.body["incomplete"] is False
    # One version for the whole configuration: a route check depends on the agencies and the other way round.
    assert routes.body["version"] == calendar.body["version"] == version
    assert agencies.headers["ETag"] == f'"{version}"'
    saved = call_api("PUT", "/admin/routes", headers=admin | {"If-Match": f'"{version}"'},
                     json_body={"items": routes.body["items"]})
    assert saved.status == 200, saved.body
    assert saved.body["version"] > version and saved.headers["ETag"] == f'"{saved.body["version"]}"'
    assert get(call_api, admin, "agencies").body["version"] == saved.body["version"]


def test_two_admins_who_read_the_same_version_the_second_save_is_a_409_with_the_current_version(call_api, admin):
    first, second = get(call_api, admin, "agencies"), get(call_api, admin, "agencies")  # both read
    renamed = [a | {"name": a["name"] + " (baru)"} if a["id"] == "64-inspektorat" else a for a in first.body["items"]]
    won = call_api("PUT", "/admin/agencies", headers=admin | {"If-Match": first.headers["ETag"]},
                   json_body={"items": renamed})
    assert won.status == 200, won.body
    lost = call_api("PUT", "/admin/agencies", headers=admin | {"If-Match": second.headers["ETag"]},
                    json_body={"items": second.body["items"] + [NEW_AGENCY]})
    assert (lost.status, lost.body["error"]["code"]) == (409, "stale_version")
    assert lost.body["error"]["details"]["current_version"] == won.body["version"]
    after = get(call_api, admin, "agencies").body
    assert after["version"] == won.body["version"] and after["items"] == won.body["items"]  # the loser saved nothing
    assert "64-72-bpbd" not in {a["id"] for a in after["items"]}


@pytest.mark.parametrize("stale", ['"1"', 'W/"1"', '"nonsense"', "1", '"1", "2"'])
def test_a_stale_or_foreign_if_match_is_a_409_and_saves_nothing(call_api, admin, stale):
    routes = get(call_api, admin, "routes").body
    call_api("PUT", "/admin/calendar", headers=admin, json_body={"items": []})  # moves the version past 1
    before = get(call_api, admin, "routes").body
    reply = call_api("PUT", "/admin/routes", headers=admin | {"If-Match": stale},
                     json_body={"items": routes["items"][:-1]})
    assert (reply.status, reply.body["error"]["code"]) == (409, "stale_version")
    assert reply.body["error"]["details"] == {"current_version": before["version"]}
    assert get(call_api, admin, "routes").body == before


def test_the_version_may_come_in_the_body_and_a_get_body_can_be_sent_back_as_it_is(call_api, admin):
    calendar = get(call_api, admin, "calendar").body
    day_off = {"date": "2027-03-02", "working": False, "reason": "Banjir: kantor tutup"}
    saved = call_api("PUT", "/admin/calendar", headers=admin, json_body=calendar | {"items": [day_off]})
    assert saved.status == 200, saved.body
    again = call_api("PUT", "/admin/calendar", headers=admin, json_body=calendar)  # the version read before
    assert (again.status, again.body["error"]["code"]) == (409, "stale_version")
    assert call_api("PUT", "/admin/calendar", headers=admin, json_body=saved.body).status == 200
    mixed = call_api("PUT", "/admin/calendar", headers=admin | {"If-Match": "*"},
                     json_body={"items": [], "version": calendar["version"]})
    assert mixed.status == 409  # both are checked: here the body's is stale


def test_without_a_version_a_save_still_works_and_if_match_star_means_any(call_api, admin):
    routes = get(call_api, admin, "routes").body["items"]
    assert call_api("PUT", "/admin/routes", headers=admin, json_body={"items": routes}).status == 200
    star = call_api("PUT", "/admin/routes", headers=admin | {"If-Match": "*"}, json_body={"items": routes})
    assert star.status == 200
    version = get(call_api, admin, "routes").body["version"]
    for tag in ('W/"{}"', "{}"):  # a weak tag, or the number typed by hand
        reply = call_api("PUT", "/admin/routes", headers=admin | {"If-Match": tag.format(version)},
                         json_body={"items": routes})
        assert reply.status == 200, tag
        version = reply.body["version"]


def _interleave(store, method, during):
    """The first time a request reads ``store.<method>`` (it read the version already and now validates), the
    other admin's whole save lands right after that read: between this request's check and its write."""
    original = getattr(store, method)
    ran = []

    def hooked(*args, **kwargs):
        result = original(*args, **kwargs)
        if not ran:
            ran.append(None)
            ran[0] = during()
        return result

    setattr(store, method, hooked)
    return ran


def test_removing_an_agency_while_another_admin_routes_to_it_one_of_them_gets_409(call_api, admin, aws):
    agencies = get(call_api, admin, "agencies").body["items"]
    assert call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": agencies + [NEW_AGENCY]}).status == 200
    routes = get(call_api, admin, "routes").body["items"]
    # Admin B removes the new agency (no route names it yet); while B checks the routes, admin A routes to it.
    ran = _interleave(runtime.config_store(), "list_routes", lambda: call_api(
        "PUT", "/admin/routes", headers=admin, json_body={"items": routes + [NEW_ROUTE]}))
    removed = call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": agencies})
    assert ran[0].status == 200, ran[0].body  # A validated against the agency, which was still there
    assert (removed.status, removed.body["error"]["code"]) == (409, "stale_version")
    assert "64-72-bpbd" in {a.id for a in runtime.config_store().list_agencies()}
    consistent(aws)


def test_routing_to_an_agency_while_another_admin_removes_it_one_of_them_gets_409(call_api, admin, aws):
    agencies = get(call_api, admin, "agencies").body["items"]
    assert call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": agencies + [NEW_AGENCY]}).status == 200
    routes = get(call_api, admin, "routes").body["items"]
    # Admin A routes to the new agency; while A checks the agencies, admin B removes it.
    ran = _interleave(runtime.config_store(), "list_agencies", lambda: call_api(
        "PUT", "/admin/agencies", headers=admin, json_body={"items": agencies}))
    routed = call_api("PUT", "/admin/routes", headers=admin, json_body={"items": routes + [NEW_ROUTE]})
    assert ran[0].status == 200, ran[0].body
    assert (routed.status, routed.body["error"]["code"]) == (409, "stale_version")
    assert NEW_ROUTE["agency_id"] not in {r.agency_id for r in runtime.config_store().list_routes()}
    consistent(aws)


def test_a_save_is_one_conditional_version_bump_before_the_writes_and_one_after(aws):
    store = runtime.config_store()
    head = store.head(consistent=True)
    calls = []
    store.client.meta.events.register("provide-client-params.dynamodb.*",
                                      lambda params, model, **_: calls.append((model.name, dict(params))))
    version = store.replace_calendar_overrides([{"date": "2027-03-02", "working": False, "reason": "Banjir"}],
                                               read=head, by="admin:x", now=time.time())
    assert version == head.version + 2
    assert [op for op, _ in calls] == ["UpdateItem", "Query", "BatchWriteItem", "UpdateItem"]
    assert calls[1][1]["ConsistentRead"] is True  # what to delete: the previous save's puts included
    (_, begin), (_, finish) = calls[0], calls[-1]
    assert begin["Key"] == finish["Key"] == {"PK": {"S": "CONFIG#VERSION"}, "SK": {"S": "HEAD"}}
    assert begin["ConditionExpression"] == "#v = :read"
    assert begin["ExpressionAttributeValues"][":read"] == {"N": str(head.version)}
    assert "#saving = :what" in begin["UpdateExpression"]
    assert finish["ConditionExpression"] == "#v = :mine" and "REMOVE #saving" in finish["UpdateExpression"]
    assert finish["ExpressionAttributeValues"][":mine"] == {"N": str(head.version + 1)}


def test_two_saves_from_the_same_version_at_the_store_only_one_lands(aws):
    store = runtime.config_store()
    first, second = store.head(consistent=True), store.head(consistent=True)
    store.replace_calendar_overrides([], read=first, by="admin:a", now=time.time())
    with pytest.raises(StaleConfiguration) as lost:
        store.replace_calendar_overrides([{"date": "2027-03-02", "working": False, "reason": "x"}], read=second,
                                         by="admin:b", now=time.time())
    assert lost.value.current.version == first.version + 2
    assert store.list_calendar_overrides(consistent=True) == []


def test_a_save_that_dies_between_the_version_and_the_writes_is_flagged_refused_a_while_then_repaired(
        call_api, admin, aws, monkeypatch):
    store = runtime.config_store()
    agencies = [Agency(**a) for a in get(call_api, admin, "agencies").body["items"]]
    renamed = [Agency(a.id, a.name + " (baru)", a.region_code, a.level, a.escalates_to) for a in agencies]
    original, batches = store._batch_write, []

    def dies_after_two_batches(requests):
        requests = list(requests)
        for start in range(0, len(requests), 25):
            if len(batches) == 2:
                raise TimeoutError("the function ran out of time")
            batches.append(original(requests[start:start + 25]))
        return len(requests)

    monkeypatch.setattr(store, "_batch_write", dies_after_two_batches)
    with pytest.raises(TimeoutError):
        store.replace_agencies(renamed, read=store.head(consistent=True), by="admin:a", now=time.time())
    monkeypatch.undo()

    # Half written: some agencies carry the new name, some the old; the head says a save is writing them.
    listed = get(call_api, admin, "agencies").body
    names = [a["name"].endswith("(baru)") for a in listed["items"]]
    assert 0 < sum(names) < len(names) and listed["incomplete"] is True
    assert get(call_api, admin, "routes").body["incomplete"] is False
    consistent(aws)  # puts before deletes: even half way, no route names a missing agency
    # Until the save's time is up it may still be writing: other saves wait (409, naming what is being saved).
    routes = get(call_api, admin, "routes").body
    busy = call_api("PUT", "/admin/routes", headers=admin, json_body={"items": routes["items"]})
    assert (busy.status, busy.body["error"]["code"]) == (409, "stale_version")
    assert busy.body["error"]["details"] == {"current_version": routes["version"], "saving": "agencies"}
    # Then saves go ahead; the agencies stay marked incomplete until they are saved again, which repairs them.
    monkeypatch.setattr(configuration, "SAVE_TIMEOUT_SECONDS", 0)
    assert call_api("PUT", "/admin/routes", headers=admin, json_body={"items": routes["items"]}).status == 200
    assert get(call_api, admin, "agencies").body["incomplete"] is True
    repaired = call_api("PUT", "/admin/agencies", headers=admin,
                        json_body={"items": [a | {"name": a["name"].removesuffix(" (baru)") + " (baru)"}
                                             for a in listed["items"]]})
    assert repaired.status == 200, repaired.body
    after = get(call_api, admin, "agencies").body
    assert after["incomplete"] is False and all(a["name"].endswith("(baru)") for a in after["items"])
    assert store.head(consistent=True) == ConfigHead(version=after["version"])


def test_a_save_whose_version_moved_on_while_it_wrote_says_so(aws):
    store = runtime.config_store()
    head = store.head(consistent=True)
    version = store.begin_save("calendar", head, by="admin:a", now=time.time())
    store.put_calendar_override(date(2027, 3, 2), working=False, reason="x")  # unversioned
    with pytest.raises(SaveInterrupted):
        store.finish_save("calendar", version)


def test_the_cache_reads_one_head_item_per_period_and_the_lists_only_when_the_version_moved(aws):
    store = runtime.config_store()
    cache = ConfigCache(store, ttl_seconds=0)
    calls = []
    store.client.meta.events.register("provide-client-params.dynamodb.Query",
                                      lambda params, **_: calls.append(params["ExpressionAttributeValues"][":pk"]["S"]))
    loaded = cache.get()
    assert calls == ["CONFIG#VERSION", "CONFIG#CALENDAR", "CONFIG#AGENCY", "CONFIG#ROUTE"]  # head first
    calls.clear()
    assert cache.get() is loaded and calls == ["CONFIG#VERSION"]  # unchanged: one small read
    store.replace_calendar_overrides([{"date": "2027-03-02", "working": False, "reason": "Banjir"}],
                                     read=store.head(consistent=True), by="admin:a", now=time.time())
    calls.clear()
    fresh = cache.get()
    assert fresh.version == loaded.version + 2 and calls[0] == "CONFIG#VERSION" and len(calls) == 4
    assert loaded.calendar.is_working_day(date(2027, 3, 2)) and not fresh.calendar.is_working_day(date(2027, 3, 2))


def test_a_save_older_than_the_timeout_cannot_still_be_running():
    document = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
    admin = document["Resources"]["AdminFunction"]["Properties"]
    timeout = admin.get("Timeout", document["Globals"]["Function"]["Timeout"])
    assert configuration.SAVE_TIMEOUT_SECONDS > 2 * timeout
