"""Every view of a report at every privacy level: who sees content, and that identity never leaks."""

import json

import pytest

from conftest import VALID_REPORT

IDENTITY = ("Siti", "Rahmawati", "6281234567890", "3456-7890", "siti@example.id")


def filed_as(call_api, privacy):
    body = dict(VALID_REPORT, privacy=privacy)
    if privacy == "anonymous":
        body.pop("reporter")
    return call_api("POST", "/reports", json_body=body).body


def views(call_api, token, created):
    """Every way to read the report: (viewer, reply)."""
    tid = created["tracking_id"]
    operator = {"Authorization": token("operator", "64-72-pupr")}
    return {
        "public": call_api("GET", f"/reports/{tid}"),
        "reporter": call_api("GET", f"/reports/{tid}", headers={"X-Access-Code": created["access_code"]}),
        "agency": call_api("GET", f"/agency/reports/{tid}", headers=operator),
        "supervisor": call_api("GET", f"/agency/reports/{tid}",
                               headers={"Authorization": token("supervisor", "64-inspektorat")}),
        "admin": call_api("GET", f"/agency/reports/{tid}", headers={"Authorization": token("admin")}),
        "queue": call_api("GET", "/agency/reports", headers=operator),
        "other agency": call_api("GET", f"/agency/reports/{tid}",
                                 headers={"Authorization": token("operator", "64-72-dinkes")}),
    }


@pytest.mark.parametrize("privacy", ["public", "confidential", "anonymous"])
def test_who_sees_what(call_api, token, privacy):
    created = filed_as(call_api, privacy)
    seen = views(call_api, token, created)
    assert seen["other agency"].status == 404
    content_visible = {"public": privacy == "public", "reporter": True, "agency": True, "supervisor": True,
                       "admin": True}
    for viewer, visible in content_visible.items():
        body = seen[viewer].body
        assert seen[viewer].status == 200, viewer
        assert (body["description"] == VALID_REPORT["description"]) is visible, viewer
        assert (body["location"] is not None) is visible, viewer
    for viewer in ("agency", "supervisor", "admin"):
        reporter = seen[viewer].body["reporter"]
        # The agency chain learns who reported, unless the reporter chose anonymity.
        assert (reporter is None) is (privacy == "anonymous"), viewer
    for viewer in ("public", "reporter", "queue", "other agency"):
        text = json.dumps(seen[viewer].body)
        assert not any(fragment in text for fragment in IDENTITY), viewer
    if privacy == "anonymous":
        for reply in seen.values():
            assert not any(fragment in json.dumps(reply.body) for fragment in IDENTITY)
