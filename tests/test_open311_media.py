"""Open311 with photos (issue #12): a multipart/form-data POST as FixMyStreet sends it, its file parts stored as
attachments and processed by MediaFunction, and GET's media_url pointing at the first ready image."""

from __future__ import annotations

import io
import json
import urllib.parse
import uuid

import pytest
from PIL import Image

from conftest import report_items
from test_attachments import (BUCKET, GPS_IFD, context, jpeg_with_gps, media, pdf_bytes,  # noqa: F401 (fixture)
                              png_bytes)
from test_open311 import api_key, request_form  # noqa: F401 (fixture)

BASE = "/open311/v2"


def multipart(fields: dict[str, str], files: list[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    """A real multipart/form-data body (as LWP or a browser writes it) and its Content-Type."""
    boundary = "----LaporTest" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, filename, content_type, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: {content_type}\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post(call_api, fields, files, fmt="json", headers=None):
    body, content_type = multipart(fields, files)
    return call_api("POST", f"{BASE}/requests.{fmt}", body=body,
                    headers={"Content-Type": content_type, **(headers or {})})


def process_uploads(s3):
    """What S3 does next: an ObjectCreated event per upload, to MediaFunction."""
    from lapor_media.app import lambda_handler

    uploads = s3.list_objects_v2(Bucket=BUCKET, Prefix="uploads/").get("Contents", [])
    records = [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": {"key": urllib.parse.quote_plus(o["Key"]),
                                                              "size": o["Size"]}}} for o in uploads]
    return lambda_handler({"Records": records}, context())


def read_request(call_api, tracking_id, fmt="json"):
    reply = call_api("GET", f"{BASE}/requests/{tracking_id}.{fmt}")
    assert reply.status == 200
    return reply.body


def test_a_multipart_request_with_a_photo_round_trips_without_its_gps(call_api, media, api_key, aws, token):
    photo = jpeg_with_gps((1200, 900))
    reply = post(call_api, request_form(api_key), [("media", "DCIM/jalan.jpg", "image/jpeg", photo)])
    assert reply.status == 200, reply.body
    tracking_id = reply.body[0]["service_request_id"]
    # The file went to the uploads prefix, as a presigned POST would have put it; nothing is ready yet.
    [upload] = media.list_objects_v2(Bucket=BUCKET, Prefix="uploads/")["Contents"]
    assert upload["Key"].startswith(f"uploads/{tracking_id}/") and upload["Size"] == len(photo)
    assert read_request(call_api, tracking_id)[0]["media_url"] is None

    assert process_uploads(media) == {"outcomes": ["ready"]}
    request = read_request(call_api, tracking_id)[0]
    url = urllib.parse.urlsplit(request["media_url"])
    assert url.path.endswith(f"/ready/{tracking_id}/" + upload["Key"].rsplit("/", 1)[1])
    assert "X-Amz-Signature" in url.query and "X-Amz-Expires=300" in url.query
    xml = read_request(call_api, tracking_id, "xml")
    assert "<media_url>https://" in xml and "X-Amz-Signature" in xml
    # What the URL serves has no position left.
    key = url.path.split(f"/{BUCKET}/", 1)[-1] if f"/{BUCKET}/" in url.path else url.path.lstrip("/")
    served = Image.open(io.BytesIO(media.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    assert served.size == (1200, 900) and not served.getexif().get_ifd(GPS_IFD) and not served.getexif()
    # The attachment is the reporter's, listed under its cleaned name.
    [item] = report_items(aws)
    assert item["media_key"]["S"] == key
    agency = call_api("GET", f"/agency/reports/{tracking_id}", headers={"Authorization": token("admin")})
    [attachment] = agency.body["attachments"]
    assert attachment["filename"] == "jalan.jpg" and attachment["status"] == "ready"


def test_fields_are_the_same_as_the_urlencoded_forms(call_api, media, api_key):
    """No file at all, or an empty file input: a multipart form files exactly as its urlencoded twin."""
    form = request_form(api_key, **{"attribute[privacy]": "confidential"})
    reply = post(call_api, form, [("media", "", "application/octet-stream", b"")])
    assert reply.status == 200, reply.body
    request = read_request(call_api, reply.body[0]["service_request_id"])[0]
    assert request["description"] is None and request["media_url"] is None  # confidential, as urlencoded
    assert "Contents" not in media.list_objects_v2(Bucket=BUCKET)
    missing_key = post(call_api, {k: v for k, v in form.items() if k != "api_key"}, [])
    assert missing_key.status == 403 and missing_key.body[0]["code"] == 403  # no longer a misleading 403


def test_a_file_that_is_not_an_image_or_a_pdf_is_a_400_and_nothing_is_filed(call_api, media, api_key, aws):
    files = [("media", "notes.txt", "text/plain", b"bukan foto"),
             ("media", "foto.jpg", "image/jpeg", b"GIF89a" + b"\x00" * 50),
             ("media", "foto.png", "image/jpeg", png_bytes())]
    reply = post(call_api, request_form(api_key), files, "xml")
    assert reply.status == 400
    text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
    assert text.count("<error>") == 3 and "notes.txt" in text and "sent as image/jpeg but is image/png" in text
    assert report_items(aws) == [] and "Contents" not in media.list_objects_v2(Bucket=BUCKET)


def test_more_than_five_files_is_a_400(call_api, media, api_key, aws):
    files = [("media", f"f{i}.png", "image/png", png_bytes()) for i in range(6)]
    reply = post(call_api, request_form(api_key), files)
    assert reply.status == 400 and "at most 5 files" in reply.body[0]["description"]
    assert report_items(aws) == []


def test_a_body_over_the_multipart_limit_is_a_413_in_the_specs_format(call_api, media, api_key, aws, monkeypatch):
    from lapor import runtime

    import os

    # Over the 64 KiB form limit but within the multipart one: accepted.
    out = io.BytesIO()
    Image.frombytes("RGB", (300, 200), os.urandom(300 * 200 * 3)).save(out, "JPEG", quality=95)
    big = out.getvalue()
    assert len(big) > 64 * 1024
    assert post(call_api, request_form(api_key), [("media", "big.jpg", "image/jpeg", big)]).status == 200
    monkeypatch.setenv("LAPOR_MAX_MULTIPART_BYTES", str(32 * 1024))
    runtime.reset()
    reply = post(call_api, request_form(api_key), [("media", "big.jpg", "image/jpeg", big)])
    assert reply.status == 413 and reply.body[0]["code"] == 413 and "over" in reply.body[0]["description"]
    assert len(report_items(aws)) == 1


def test_a_file_part_over_ten_mib_is_a_413():
    from lapor import attachments, open311

    part = open311.FilePart("media", "besar.jpg", "image/jpeg", b"\xff\xd8\xff" + b"\x00" * attachments.MAX_BYTES)
    with pytest.raises(open311.Open311Error) as refused:
        open311.check_files([part], max_files=5, max_bytes=attachments.MAX_BYTES, sniff=attachments.sniff,
                            accepted=attachments.CONTENT_TYPES)
    assert refused.value.status == 413


def test_the_parser_keeps_every_byte_of_a_binary_part():
    import os

    from lapor import open311

    for data in (os.urandom(5000) + b"\r", b"\r\n--not-the-boundary\r\n" + os.urandom(100), b"\n\r\n\r"):
        body, content_type = multipart({"description": "Jalan rusak — lubang besar"}, [("media", "a.bin", "x/y", data)])
        form, [part] = open311.parse_multipart(content_type, body)
        assert part.data == data and form == {"description": ["Jalan rusak — lubang besar"]}


def test_odd_multipart_bodies_get_the_specs_400_never_a_500(call_api, api_key):
    fields = "".join(f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                     for k, v in request_form(api_key).items())
    bogus_charset = (fields + '--b\r\nContent-Disposition: form-data; name="first_name"\r\n'
                     'Content-Type: text/plain; charset=no-such-charset\r\n\r\nSiti\r\n--b--\r\n')
    assert call_api("POST", f"{BASE}/requests.json", body=bogus_charset.encode(),
                    headers={"Content-Type": "multipart/form-data; boundary=b"}).status == 200
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=zzz"):
        reply = call_api("POST", f"{BASE}/requests.json", body=b"--b\r\nnot a part--b--",
                         headers={"Content-Type": content_type})
        assert reply.status in (400, 403) and isinstance(reply.body, list), reply.body


def test_a_replay_with_the_same_key_stores_the_files_once(call_api, media, api_key, aws):
    key = str(uuid.uuid4())
    files = [("media", "a.png", "image/png", png_bytes())]
    first = post(call_api, request_form(api_key), files, headers={"Idempotency-Key": key})
    again = post(call_api, request_form(api_key), files, headers={"Idempotency-Key": key})
    assert first.status == again.status == 200 and first.body == again.body
    assert len(media.list_objects_v2(Bucket=BUCKET, Prefix="uploads/")["Contents"]) == 1
    other = post(call_api, request_form(api_key), [("media", "b.png", "image/png", png_bytes((10, 10)))],
                 headers={"Idempotency-Key": key})
    assert other.status == 400  # the same key with other files is another request


def test_media_url_falls_back_to_the_link_and_stays_private_for_private_reports(call_api, media, api_key, token):
    link = "https://fixmystreet.example.org/photo/1.jpeg"
    reply = post(call_api, request_form(api_key, media_url=link),
                 [("media", "a.png", "image/png", png_bytes()), ("media", "b.pdf", "application/pdf", pdf_bytes())])
    tracking_id = reply.body[0]["service_request_id"]
    assert read_request(call_api, tracking_id)[0]["media_url"] == link  # nothing ready yet: the link
    assert sorted(process_uploads(media)["outcomes"]) == ["ready", "ready"]
    assert "/ready/" in read_request(call_api, tracking_id)[0]["media_url"]  # the image, not the PDF
    # An admin hides the image: back to the link.
    agency = call_api("GET", f"/agency/reports/{tracking_id}", headers={"Authorization": token("admin")}).body
    [image] = [a for a in agency["attachments"] if a["content_type"] == "image/png"]
    hidden = call_api("POST", f"/reports/{tracking_id}/attachments/{image['attachment_id']}/hide",
                      json_body={"reason": "Wajah terlihat"}, headers={"Authorization": token("admin")})
    assert hidden.status == 200
    assert read_request(call_api, tracking_id)[0]["media_url"] == link

    confidential = post(call_api, request_form(api_key, **{"attribute[privacy]": "anonymous"}),
                        [("media", "a.png", "image/png", png_bytes())])
    assert confidential.status == 200
    process_uploads(media)
    assert read_request(call_api, confidential.body[0]["service_request_id"])[0]["media_url"] is None
