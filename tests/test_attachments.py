"""Attachments (design §4.1, issue #12): presigned uploads, MediaFunction, views by privacy level."""

from __future__ import annotations

import base64
import io
import json

import boto3
import pytest
from PIL import Image

from conftest import VALID_REPORT, event_items

BUCKET = "lapor-media-test"
GPS_IFD = 0x8825


@pytest.fixture
def media(aws, monkeypatch):
    from lapor import runtime

    monkeypatch.setenv("LAPOR_MEDIA_BUCKET", BUCKET)
    runtime.reset()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
    return s3


def file_report(call_api, privacy="public"):
    body = dict(VALID_REPORT, privacy=privacy)
    if privacy == "anonymous":
        body.pop("reporter")
    return call_api("POST", "/reports", json_body=body).body


def jpeg_with_gps(size=(800, 600)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "KameraCo"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber (Exif IFD in practice; any tag must go)
    exif[GPS_IFD] = {1: "S", 2: (0.0, 30.0, 0.0), 3: "E", 4: (117.0, 9.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken by Siti")
    return out.getvalue()


def png_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 255, 128)).save(out, "PNG")
    return out.getvalue()


def pdf_bytes(pages: int = 1) -> bytes:
    """A real PDF (pypdf): MediaFunction rewrites PDFs, so what it is given must be readable."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def start(call_api, created, content_type="image/jpeg", size=1000, filename="jalan.jpg"):
    return call_api("POST", f"/reports/{created['tracking_id']}/attachments",
                    json_body={"filename": filename, "content_type": content_type, "size": size},
                    headers={"X-Access-Code": created["access_code"]})


def upload_and_process(s3, reply, data: bytes):
    """What the browser does with the presigned POST (moto enforces no policy), then the S3 event."""
    from lapor_media.app import lambda_handler

    key = reply.body["upload"]["fields"]["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return lambda_handler(s3_event(key, len(data)), context())


def context():
    from lapor_cli.devserver import LambdaContext

    return LambdaContext("MediaFunction")


def s3_event(key, size):
    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Post",
                         "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": size}}}]}


def policy_of(reply) -> dict:
    return json.loads(base64.b64decode(reply.body["upload"]["fields"]["policy"]))


# -- the presigned POST ---------------------------------------------------------------------------------------

def test_the_presigned_post_itself_limits_size_and_type(call_api, media):
    created = file_report(call_api)
    reply = start(call_api, created, content_type="image/png", size=123_456)
    assert reply.status == 201, reply.body
    assert reply.body["attachment_id"] and reply.body["expires_at"]
    conditions = policy_of(reply)["conditions"]
    assert ["content-length-range", 1, 123_456] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"key": f"uploads/{created['tracking_id']}/{reply.body['attachment_id']}"} in conditions
    assert reply.body["upload"]["fields"]["Content-Type"] == "image/png"
    assert BUCKET in reply.body["upload"]["url"]


@pytest.mark.parametrize(("body", "status"), [
    ({"filename": "a.gif", "content_type": "image/gif", "size": 10}, 422),
    ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10 * 1024 * 1024 + 1}, 422),
    ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 0}, 422),
])
def test_types_and_sizes_beyond_the_policy_are_refused(call_api, media, body, status):
    created = file_report(call_api)
    reply = call_api("POST", f"/reports/{created['tracking_id']}/attachments", json_body=body,
                     headers={"X-Access-Code": created["access_code"]})
    assert reply.status == status


def test_a_wrong_access_code_is_a_404(call_api, media):
    created = file_report(call_api)
    reply = start(call_api, created | {"access_code": "WRONG-CODE"})
    assert reply.status == 404


def test_at_most_five_per_report_and_a_rejected_one_frees_its_slot(call_api, media):
    created = file_report(call_api)
    replies = [start(call_api, created) for _ in range(5)]
    assert [r.status for r in replies] == [201] * 5
    sixth = start(call_api, created)
    assert sixth.status == 409 and sixth.body["error"]["code"] == "attachment_limit"
    upload_and_process(media, replies[0], b"not a jpeg at all")  # rejected: its slot is free again
    assert start(call_api, created).status == 201


def test_closed_or_rejected_reports_take_none(call_api, media, token):
    created = file_report(call_api)
    reply = call_api("POST", f"/reports/{created['tracking_id']}/reject", json_body={"reason": "spam"},
                     headers={"Authorization": token("admin")})
    assert reply.status == 200, reply.body
    refused = start(call_api, created)
    assert refused.status == 409 and refused.body["error"]["code"] == "report_closed"


def test_the_agency_chain_uploads_with_a_token_and_others_cannot(call_api, media, token):
    created = file_report(call_api)
    path = f"/agency/reports/{created['tracking_id']}/attachments"
    body = {"filename": "bukti.pdf", "content_type": "application/pdf", "size": 2000}
    assert call_api("POST", path, json_body=body,
                    headers={"Authorization": token("operator", "64-72-pupr")}).status == 201
    assert call_api("POST", path, json_body=body,
                    headers={"Authorization": token("operator", "64-72-dinkes")}).status == 404
    assert call_api("POST", path, json_body=body).status == 401


# -- MediaFunction ----------------------------------------------------------------------------------------------

def test_gps_and_every_metadata_block_are_gone_and_a_thumbnail_is_made(call_api, media, aws):
    created = file_report(call_api, "anonymous")
    original = jpeg_with_gps((1600, 1200))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test photo does carry a position
    reply = start(call_api, created, size=len(original))
    assert upload_and_process(media, reply, original) == {"outcomes": ["ready"]}

    tid, aid = created["tracking_id"], reply.body["attachment_id"]
    clean = media.get_object(Bucket=BUCKET, Key=f"ready/{tid}/{aid}")
    cleaned = Image.open(io.BytesIO(clean["Body"].read()))
    assert cleaned.format == "JPEG" and cleaned.size == (1600, 1200)
    assert not cleaned.getexif() and not cleaned.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "xmp", "comment", "photoshop", "icc_profile"} & set(cleaned.info)
    thumb = Image.open(io.BytesIO(media.get_object(Bucket=BUCKET, Key=f"ready/{tid}/{aid}.thumb.jpg")["Body"].read()))
    assert max(thumb.size) == 640 and not thumb.getexif()
    # The upload is gone; the attachment is ready and on the timeline.
    assert "Contents" not in media.list_objects_v2(Bucket=BUCKET, Prefix="uploads/")
    events = [e["event"]["M"]["type"]["S"] for e in event_items(aws, tid)]
    assert events.count("attachment_added") == 1


def test_no_byte_of_the_original_metadata_survives(call_api, media):
    created = file_report(call_api)
    original = jpeg_with_gps()
    reply = start(call_api, created, size=len(original))
    upload_and_process(media, reply, original)
    body = media.get_object(Bucket=BUCKET, Key=f"ready/{created['tracking_id']}/{reply.body['attachment_id']}")
    data = body["Body"].read()
    for secret in (b"SERIAL-12345", b"KameraCo", b"taken by Siti", b"Exif\x00\x00"):
        assert secret not in data


def test_a_redelivered_event_does_nothing_twice(call_api, media, aws):
    from lapor_media.app import lambda_handler

    created = file_report(call_api)
    original = png_bytes()
    reply = start(call_api, created, content_type="image/png", size=len(original))
    key = reply.body["upload"]["fields"]["key"]
    media.put_object(Bucket=BUCKET, Key=key, Body=original)
    assert lambda_handler(s3_event(key, len(original)), context()) == {"outcomes": ["ready"]}
    assert lambda_handler(s3_event(key, len(original)), context()) == {"outcomes": ["ignored"]}
    events = [e["event"]["M"]["type"]["S"] for e in event_items(aws, created["tracking_id"])]
    assert events.count("attachment_added") == 1


@pytest.mark.parametrize(("claimed", "data", "reason"), [
    ("image/jpeg", b"%PDF-1.7\n...%%EOF", "type_mismatch"),
    ("image/png", b"GIF89a" + b"\x00" * 100, "unsupported_type"),
    ("image/jpeg", None, "truncated_or_corrupt"),
    ("application/pdf", b"%PDF-1.7\n1 0 obj", "truncated"),
])
def test_what_is_not_what_it_claims_is_rejected_and_deleted(call_api, media, claimed, data, reason):
    if data is None:
        data = jpeg_with_gps()[:2000]  # cut short
    created = file_report(call_api)
    reply = start(call_api, created, content_type=claimed, size=len(data))
    assert upload_and_process(media, reply, data) == {"outcomes": ["rejected"]}
    assert "Contents" not in media.list_objects_v2(Bucket=BUCKET)
    seen = call_api("GET", f"/reports/{created['tracking_id']}", headers={"X-Access-Code": created["access_code"]})
    [attachment] = seen.body["attachments"]
    assert attachment["status"] == "rejected" and attachment["url"] is None
    assert attachment["reason"] in reason.split("_or_") or attachment["reason"] == reason


def test_an_object_over_the_size_is_rejected_before_it_is_read(call_api, media, monkeypatch):
    from lapor import attachments

    created = file_report(call_api)
    reply = start(call_api, created, size=1000)
    key = reply.body["upload"]["fields"]["key"]
    media.put_object(Bucket=BUCKET, Key=key, Body=b"\xff\xd8\xff" + b"\x00" * 2000)
    monkeypatch.setattr(attachments, "process", lambda *a: pytest.fail("read an over-size object"))
    from lapor_media.app import lambda_handler

    assert lambda_handler(s3_event(key, attachments.MAX_BYTES + 1), context()) == {"outcomes": ["rejected"]}


def test_a_decompression_bomb_is_rejected():
    from lapor import attachments

    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, "PNG")  # 50 megapixels in a few kilobytes
    with pytest.raises(attachments.Refused) as refused:
        attachments.process(out.getvalue(), "image/png")
    assert refused.value.reason == "too_many_pixels"


def test_documents_are_rewritten_and_have_no_thumbnail():
    from pypdf import PdfReader

    from lapor import attachments

    processed = attachments.process(pdf_bytes(2), "application/pdf")  # what is stripped: test_attachments_pdf.py
    assert len(PdfReader(io.BytesIO(processed.body)).pages) == 2 and processed.thumbnail is None


# -- views -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("privacy", ["public", "confidential", "anonymous"])
def test_who_sees_which_attachments(call_api, media, token, privacy):
    created = file_report(call_api, privacy)
    tid = created["tracking_id"]
    ready = start(call_api, created, content_type="image/png", size=len(png_bytes()))
    upload_and_process(media, ready, png_bytes())
    start(call_api, created)  # pending: no upload yet
    public = call_api("GET", f"/reports/{tid}").body
    reporter = call_api("GET", f"/reports/{tid}", headers={"X-Access-Code": created["access_code"]}).body
    agency = call_api("GET", f"/agency/reports/{tid}",
                      headers={"Authorization": token("operator", "64-72-pupr")}).body

    if privacy == "public":
        [shown] = public["attachments"]
        assert shown["status"] == "ready" and shown["url"] and shown["thumbnail_url"]
    else:
        assert public.get("attachments") is None
        assert ready.body["attachment_id"] not in json.dumps(public)
    for full in (reporter, agency):
        statuses = sorted(a["status"] for a in full["attachments"])
        assert statuses == ["pending", "ready"]
        [done] = [a for a in full["attachments"] if a["status"] == "ready"]
        assert "X-Amz-Expires=300" in done["url"] and "X-Amz-Signature=" in done["url"]
        assert f"ready/{tid}/" in done["url"] and "uploads/" not in json.dumps(full)
    # the presigned URL serves the clean file
    import urllib.parse

    url = urllib.parse.urlsplit([a for a in reporter["attachments"] if a["status"] == "ready"][0]["url"])
    assert url.path.endswith(ready.body["attachment_id"])


# -- the data layer's requests and races ----------------------------------------------------------------------

def test_two_requests_for_one_slot_get_one_each_and_the_loser_takes_the_next(call_api, media):
    from lapor import attachments, runtime

    created = file_report(call_api)
    store = runtime.store()
    record = store.get_report(created["tracking_id"])
    first = {"attachment_id": "a1", "status": "pending", "upload_expires_at": 2**40}
    assert store.claim_attachment_slot(created["tracking_id"], 1, first, now_epoch=0)
    assert not store.claim_attachment_slot(created["tracking_id"], 1, first | {"attachment_id": "a2"}, now_epoch=0)
    # A request that read the slots before "a1" was put still ends in a free slot, never over "a1".
    stale = store.list_attachments
    store.list_attachments = lambda tracking_id: []
    try:
        taken = attachments.start_upload(store, record, filename="x.jpg", content_type="image/jpeg", size=9,
                                         actor_role="reporter", now_epoch=1, expires_in=900)
    finally:
        store.list_attachments = stale
    assert taken["slot"] == 2
    assert {a["attachment_id"] for a in store.list_attachments(created["tracking_id"])} == {"a1",
                                                                                            taken["attachment_id"]}


def test_the_ready_write_is_conditional_on_the_attachment_and_the_report(call_api, media):
    from lapor import runtime

    created = file_report(call_api)
    original = png_bytes()
    reply = start(call_api, created, content_type="image/png", size=len(original))
    sent = []
    runtime.store().client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: sent.append(params))
    upload_and_process(media, reply, original)
    [request] = sent
    report, event, attachment = (next(iter(item.values())) for item in request["TransactItems"])
    assert report["ConditionExpression"] == "#version = :version AND #status = :old_status"
    assert event["ConditionExpression"] == "attribute_not_exists(PK)"
    assert attachment["Key"]["SK"] == {"S": "ATTACHMENT#1"}
    assert attachment["ConditionExpression"] == "#a.#st = :pending AND #a.#id = :id"
    assert attachment["ExpressionAttributeValues"][":id"] == {"S": reply.body["attachment_id"]}


def test_a_report_change_racing_the_media_function_is_retried_not_lost(call_api, media, aws, token):
    from lapor import runtime

    created = file_report(call_api)
    original = png_bytes()
    reply = start(call_api, created, content_type="image/png", size=len(original))
    store = runtime.store()
    stale = store.get_report(created["tracking_id"])
    reads = []
    real = store.get_report

    def first_stale(tracking_id, **kwargs):
        reads.append(tracking_id)
        if len(reads) == 1:  # the agency answers between MediaFunction's read and its write
            call_api("POST", f"/reports/{created['tracking_id']}/responses",
                     json_body={"message": "Sedang ditinjau.", "status": "in_progress"},
                     headers={"Authorization": token("operator", "64-72-pupr")})
            return stale
        return real(tracking_id, **kwargs)

    store.get_report = first_stale
    try:
        assert upload_and_process(media, reply, original) == {"outcomes": ["ready"]}
    finally:
        store.get_report = real
    types = [e["event"]["M"]["type"]["S"] for e in event_items(aws, created["tracking_id"])]
    assert types[-2:] == ["acknowledged", "attachment_added"] and types.count("attachment_added") == 1
