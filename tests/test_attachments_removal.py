"""Taking attachments down (issue #12): the reporter removes their own before the agency answers, an admin hides
one with a reason; both on the timeline, gone from the views, never brought back by a redelivered S3 event."""

from __future__ import annotations

import json

import pytest

from conftest import event_items
from test_attachments import (  # noqa: F401 (media is a fixture)
    BUCKET,
    context,
    file_report,
    media,
    png_bytes,
    s3_event,
    start,
    upload_and_process,
)


def ready_attachment(call_api, s3, created, content_type="image/png"):
    data = png_bytes()
    reply = start(call_api, created, content_type=content_type, size=len(data))
    assert upload_and_process(s3, reply, data) == {"outcomes": ["ready"]}
    return reply.body["attachment_id"]


def remove(call_api, created, attachment_id, code=None):
    return call_api("DELETE", f"/reports/{created['tracking_id']}/attachments/{attachment_id}",
                    headers={"X-Access-Code": code or created["access_code"]})


def hide(call_api, token, created, attachment_id, reason="Memperlihatkan wajah orang lain", **body):
    return call_api("POST", f"/reports/{created['tracking_id']}/attachments/{attachment_id}/hide",
                    json_body={"reason": reason, **body}, headers={"Authorization": token("admin")})


def keys_in(s3):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def types(aws, tracking_id):
    return [e["event"]["M"]["type"]["S"] for e in event_items(aws, tracking_id)]


def answer(call_api, token, created, status="responded"):
    reply = call_api("POST", f"/reports/{created['tracking_id']}/responses",
                     json_body={"message": "Sudah diperbaiki.", "status": status},
                     headers={"Authorization": token("operator", "64-72-pupr")})
    assert reply.status == 200, reply.body


# -- the reporter removes -----------------------------------------------------------------------------------------

def test_the_reporter_removes_a_ready_attachment_before_the_answer(call_api, media, aws, token):
    created = file_report(call_api)
    tid = created["tracking_id"]
    aid = ready_attachment(call_api, media, created)
    assert keys_in(media) == [f"ready/{tid}/{aid}", f"ready/{tid}/{aid}.thumb.jpg"]

    reply = remove(call_api, created, aid)
    assert reply.status == 200, reply.body
    assert reply.body["attachments"] == []
    assert reply.body["timeline"][-1]["type"] == "attachment_removed"
    assert reply.body["timeline"][-1]["attachment_id"] == aid
    assert keys_in(media) == []  # deleted at once, not left to a lifecycle
    assert types(aws, tid).count("attachment_removed") == 1
    # Gone from every view.
    assert call_api("GET", f"/reports/{tid}").body.get("attachments") in (None, [])
    agency = call_api("GET", f"/agency/reports/{tid}", headers={"Authorization": token("operator", "64-72-pupr")})
    assert agency.body["attachments"] == [] and aid not in json.dumps(agency.body["attachments"])
    # Removing it again answers the same and writes nothing.
    again = remove(call_api, created, aid)
    assert again.status == 200 and types(aws, tid).count("attachment_removed") == 1


def test_a_pending_upload_can_be_removed_and_a_late_upload_is_deleted_unread(call_api, media, aws):
    created = file_report(call_api)
    data = png_bytes()
    reply = start(call_api, created, content_type="image/png", size=len(data))
    aid = reply.body["attachment_id"]
    assert remove(call_api, created, aid).status == 200
    # The presigned POST is still valid: the file arrives after the removal.
    assert upload_and_process(media, reply, data) == {"outcomes": ["ignored"]}
    assert keys_in(media) == []
    assert "attachment_added" not in types(aws, created["tracking_id"])


def test_after_the_first_answer_removal_is_a_409(call_api, media, token):
    created = file_report(call_api)
    aid = ready_attachment(call_api, media, created)
    answer(call_api, token, created, "in_progress")  # an acknowledgement is not an answer
    answer(call_api, token, created)
    refused = remove(call_api, created, aid)
    assert refused.status == 409 and refused.body["error"]["code"] == "already_answered"
    assert len(media.list_objects_v2(Bucket=BUCKET)["Contents"]) == 2  # the files stay


def test_wrong_code_unknown_attachment_and_the_agencys_own_files(call_api, media, token):
    created = file_report(call_api)
    aid = ready_attachment(call_api, media, created)
    wrong = remove(call_api, created, aid, code="WRONG-CODE-1234")
    assert wrong.status == 404 and wrong.body["error"]["code"] == "not_found"
    unknown = remove(call_api, created, "no-such-attachment")
    assert unknown.status == 404 and unknown.body["error"]["code"] == "attachment_not_found"
    missing_code = call_api("DELETE", f"/reports/{created['tracking_id']}/attachments/{aid}")
    assert missing_code.status == 422
    # An operator's upload is not the reporter's to remove; operators have no route to delete at all.
    agency_upload = call_api("POST", f"/agency/reports/{created['tracking_id']}/attachments",
                             json_body={"filename": "bukti.pdf", "content_type": "application/pdf", "size": 100},
                             headers={"Authorization": token("operator", "64-72-pupr")})
    refused = remove(call_api, created, agency_upload.body["attachment_id"])
    assert refused.status == 403 and refused.body["error"]["code"] == "not_own_attachment"


def test_removals_free_slots_only_up_to_a_bound(call_api, media, aws):
    from lapor import attachments

    created = file_report(call_api)
    tid = created["tracking_id"]
    first = [start(call_api, created).body["attachment_id"] for _ in range(attachments.MAX_PER_REPORT)]
    assert start(call_api, created).body["error"]["code"] == "attachment_limit"
    # Each of the first MAX_FREED_BY_REMOVAL removals frees its slot for another upload ...
    freed = []
    for aid in first:
        assert remove(call_api, created, aid).status == 200
        again = start(call_api, created)
        assert again.status == 201, again.body
        freed.append(again.body["attachment_id"])
    # ... later ones still remove (the reporter can always take a photo back) but keep their slot: bounded.
    for aid in freed:
        assert remove(call_api, created, aid).status == 200
    refused = start(call_api, created)
    assert refused.status == 409 and refused.body["error"]["code"] == "attachment_limit"
    assert types(aws, tid).count("attachment_removed") == 2 * attachments.MAX_PER_REPORT


def test_a_removal_racing_the_media_function_leaves_no_file(call_api, media, aws):
    """The reporter removes a pending attachment while MediaFunction re-encodes it: MediaFunction's ready write
    is refused and the files it just wrote are deleted."""
    from lapor import runtime
    from lapor_media.app import lambda_handler

    created = file_report(call_api)
    data = png_bytes()
    reply = start(call_api, created, content_type="image/png", size=len(data))
    key = reply.body["upload"]["fields"]["key"]
    media.put_object(Bucket=BUCKET, Key=key, Body=data)
    store = runtime.store()
    real = store.get_report

    def removed_first(tracking_id, **kwargs):  # MediaFunction reads the report just before its ready write
        store.get_report = real
        assert remove(call_api, created, reply.body["attachment_id"]).status == 200
        return real(tracking_id, **kwargs)

    store.get_report = removed_first
    try:
        assert lambda_handler(s3_event(key, len(data)), context()) == {"outcomes": ["ignored"]}
    finally:
        store.get_report = real
    assert keys_in(media) == []
    assert "attachment_added" not in types(aws, created["tracking_id"])


# -- an admin hides -----------------------------------------------------------------------------------------------

def test_an_admin_hides_with_a_reason_on_the_timeline_and_only_admins_still_see_it(call_api, media, aws, token):
    created = file_report(call_api)
    tid = created["tracking_id"]
    aid = ready_attachment(call_api, media, created)
    other = ready_attachment(call_api, media, created)

    reply = hide(call_api, token, created, aid)
    assert reply.status == 200, reply.body
    [hidden] = [a for a in reply.body["attachments"] if a["attachment_id"] == aid]
    assert hidden["status"] == "hidden" and hidden["reason"] == "Memperlihatkan wajah orang lain"
    assert hidden["url"]  # the admin can still look at it
    event = reply.body["timeline"][-1]
    assert event["type"] == "attachment_hidden" and event["attachment_id"] == aid
    assert event["message"] == "Memperlihatkan wajah orang lain" and event["actor_role"] == "admin"

    public = call_api("GET", f"/reports/{tid}").body
    reporter = call_api("GET", f"/reports/{tid}", headers={"X-Access-Code": created["access_code"]}).body
    operator = call_api("GET", f"/agency/reports/{tid}",
                        headers={"Authorization": token("operator", "64-72-pupr")}).body
    admin = call_api("GET", f"/agency/reports/{tid}", headers={"Authorization": token("admin")}).body
    for view in (public, reporter, operator):
        assert [a["attachment_id"] for a in view["attachments"]] == [other]
    assert reporter["timeline"][-1]["type"] == "attachment_hidden"  # the reporter is told, with the reason
    assert {a["attachment_id"]: a["status"] for a in admin["attachments"]} == {aid: "hidden", other: "ready"}
    # The files are kept (the admin's view serves them), never handed to anyone else.
    assert f"ready/{tid}/{aid}" in keys_in(media)
    # The reporter cannot remove what an admin hid, nor hide twice.
    assert remove(call_api, created, aid).body["error"]["code"] == "attachment_not_found"
    twice = hide(call_api, token, created, aid)
    assert twice.status == 409 and twice.body["error"]["code"] == "already_hidden"


def test_only_admins_hide_and_a_stale_version_is_a_409(call_api, media, token):
    created = file_report(call_api)
    aid = ready_attachment(call_api, media, created)
    path = f"/reports/{created['tracking_id']}/attachments/{aid}/hide"
    operator = call_api("POST", path, json_body={"reason": "x"}, headers={"Authorization": token("operator", "64-72-pupr")})
    assert operator.status == 403
    assert call_api("POST", path, json_body={"reason": "x"}).status == 401
    assert hide(call_api, token, created, aid, reason="").status == 422
    stale = hide(call_api, token, created, aid, version=1)
    assert stale.status == 409 and stale.body["error"]["code"] == "stale_version"
    assert hide(call_api, token, created, "nope").body["error"]["code"] == "attachment_not_found"


def test_hiding_a_pending_upload_means_it_is_never_processed(call_api, media, aws, token):
    created = file_report(call_api)
    data = png_bytes()
    reply = start(call_api, created, content_type="image/png", size=len(data))
    assert hide(call_api, token, created, reply.body["attachment_id"]).status == 200
    assert upload_and_process(media, reply, data) == {"outcomes": ["ignored"]}
    assert keys_in(media) == []
    assert "attachment_added" not in types(aws, created["tracking_id"])


@pytest.mark.parametrize("action", ["remove", "hide"])
def test_a_redelivered_event_after_the_takedown_brings_nothing_back(call_api, media, aws, token, action):
    from lapor_media.app import lambda_handler

    created = file_report(call_api)
    tid = created["tracking_id"]
    data = png_bytes()
    reply = start(call_api, created, content_type="image/png", size=len(data))
    key = reply.body["upload"]["fields"]["key"]
    media.put_object(Bucket=BUCKET, Key=key, Body=data)
    assert lambda_handler(s3_event(key, len(data)), context()) == {"outcomes": ["ready"]}
    aid = reply.body["attachment_id"]
    taken = remove(call_api, created, aid) if action == "remove" else hide(call_api, token, created, aid)
    assert taken.status == 200
    before = keys_in(media)
    # S3 delivers the old event again, and even the same bytes again under the upload key.
    media.put_object(Bucket=BUCKET, Key=key, Body=data)
    assert lambda_handler(s3_event(key, len(data)), context()) == {"outcomes": ["ignored"]}
    assert keys_in(media) == before
    reporter = call_api("GET", f"/reports/{tid}", headers={"X-Access-Code": created["access_code"]}).body
    assert reporter["attachments"] == []
    assert types(aws, tid).count("attachment_added") == 1
    assert call_api("GET", f"/reports/{tid}").body.get("attachments") in (None, [])


def test_the_takedown_transaction_is_conditional_on_the_attachment_and_the_report(call_api, media):
    from lapor import runtime

    created = file_report(call_api)
    aid = ready_attachment(call_api, media, created)
    sent = []
    runtime.store().client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: sent.append(params))
    assert remove(call_api, created, aid).status == 200
    [request] = sent
    report, event, attachment = (next(iter(item.values())) for item in request["TransactItems"])
    assert report["ConditionExpression"] == "#version = :version AND #status = :old_status"
    assert event["ConditionExpression"] == "attribute_not_exists(PK)"
    assert attachment["ConditionExpression"] == "#a.#st = :ready AND #a.#id = :id"
    assert attachment["ExpressionAttributeValues"][":id"] == {"S": aid}
