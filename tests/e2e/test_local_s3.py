"""Attachments end to end on ``lapor dev``: a real JPEG with a GPS position uploaded with the presigned POST the
API returns, MediaFunction run on the local S3's event, the clean photo and thumbnail downloaded with the
presigned GETs the view lists; what S3 refuses (a changed signature, an expired URL, an upload outside its
policy), the local stack refuses."""

import io
import time
import uuid

import boto3
import pytest
import requests
from botocore.config import Config
from PIL import Image

from .helpers import wait_for

pytestmark = pytest.mark.e2e
GPS_IFD = 0x8825


def photo_with_gps() -> bytes:
    image = Image.effect_noise((1600, 1200), 40).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "LaporCam"  # Make
    exif[GPS_IFD] = {1: "S", 2: (0.0, 30.0, 7.92), 3: "E", 4: (117.0, 9.0, 12.96)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    assert Image.open(io.BytesIO(out.getvalue())).getexif().get_ifd(GPS_IFD)  # the photo really has it
    return out.getvalue()


def file_report(api_url: str) -> dict:
    reply = requests.post(f"{api_url}/reports", headers={"Idempotency-Key": str(uuid.uuid4())}, json={
        "kind": "complaint", "category": "infrastructure", "region_code": "64.72", "privacy": "public",
        "title": "Lampu jalan mati", "description": "Lampu jalan di Jl. Juanda mati sejak seminggu."})
    assert reply.status_code == 201, reply.text
    return reply.json()


def ask_upload(api_url: str, report: dict, size: int, content_type: str = "image/jpeg") -> dict:
    reply = requests.post(f"{api_url}/reports/{report['tracking_id']}/attachments",
                          headers={"X-Access-Code": report["access_code"]},
                          json={"filename": "photo.jpg", "content_type": content_type, "size": size})
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_a_photo_uploaded_with_its_presigned_post_is_served_clean(lapor_dev, api_url):
    photo = photo_with_gps()
    report = file_report(api_url)
    started = ask_upload(api_url, report, len(photo))
    upload = started["upload"]
    assert upload["url"] == f"{api_url}/s3/lapor-media-local" == f"{lapor_dev.s3_endpoint}/lapor-media-local"
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("photo.jpg", photo, "image/jpeg")})
    assert sent.status_code == 204, sent.text

    def ready():
        view = requests.get(f"{api_url}/reports/{report['tracking_id']}",
                            headers={"X-Access-Code": report["access_code"]}).json()
        found = [a for a in view.get("attachments", []) if a["attachment_id"] == started["attachment_id"]]
        return found[0] if found and found[0]["status"] != "pending" else None

    attachment = wait_for(ready, seconds=30)
    assert attachment["status"] == "ready", attachment
    served = requests.get(attachment["url"])
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    clean = Image.open(io.BytesIO(served.content))
    assert clean.format == "JPEG" and clean.size == (1600, 1200)
    assert GPS_IFD not in clean.getexif() and not clean.getexif().get_ifd(GPS_IFD) and not dict(clean.getexif())
    thumbnail = requests.get(attachment["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert Image.open(io.BytesIO(thumbnail.content)).size == (640, 480)
    # The public view of a public report lists it too, with URLs that work.
    public = requests.get(f"{api_url}/reports/{report['tracking_id']}").json()["attachments"]
    assert requests.get(public[0]["url"]).content == served.content

    # What S3 would refuse.
    changed = attachment["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0")
    refused = requests.get(changed)
    assert refused.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in refused.text
    assert requests.get(attachment["url"].split("?")[0]).status_code == 403  # the bucket is private
    key = attachment["url"].split("/lapor-media-local/", 1)[1].split("?")[0]
    local = boto3.client("s3", endpoint_url=lapor_dev.s3_endpoint, region_name="ap-southeast-3",
                         aws_access_key_id="lapor-local", aws_secret_access_key="lapor-local",
                         config=Config(signature_version="s3v4"))
    short = local.generate_presigned_url("get_object", Params={"Bucket": "lapor-media-local", "Key": key},
                                         ExpiresIn=1)
    assert requests.get(short).status_code == 200
    time.sleep(2.1)
    expired = requests.get(short)
    assert expired.status_code == 403 and "Request has expired" in expired.text

    # The stack printed one access-log line per request, without query strings or header values.
    printed = lapor_dev.printed()
    assert f"POST /reports/{report['tracking_id']}/attachments 201 " in printed
    assert "POST /s3/lapor-media-local 204 " in printed
    assert f"GET /s3/lapor-media-local/{key} 200 " in printed and f"GET /s3/lapor-media-local/{key} 403 " in printed
    assert "X-Amz-Signature" not in printed and report["access_code"] not in printed


def test_an_upload_outside_its_policy_is_refused_and_nothing_is_stored(api_url):
    photo = photo_with_gps()
    report = file_report(api_url)
    upload = ask_upload(api_url, report, 1000)["upload"]  # declared 1000 bytes, sends more
    too_big = requests.post(upload["url"], data=upload["fields"], files={"file": ("photo.jpg", photo, "image/jpeg")})
    assert too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text
    upload = ask_upload(api_url, report, len(photo))["upload"]
    other_type = requests.post(upload["url"], data=upload["fields"] | {"Content-Type": "text/html"},
                               files={"file": ("photo.jpg", photo, "text/html")})
    assert other_type.status_code == 403 and "Policy Condition failed" in other_type.text
    time.sleep(1)
    view = requests.get(f"{api_url}/reports/{report['tracking_id']}",
                        headers={"X-Access-Code": report["access_code"]}).json()
    assert {a["status"] for a in view["attachments"]} == {"pending"}  # nothing arrived, nothing processed
