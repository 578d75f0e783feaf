"""SMS over HTTP against lapor dev, signed with the documented dev secrets: file, check, dedupe, reject, and
a notice in the outbox, exactly once, when the agency answers."""

import hashlib
import hmac
import json
import re
import time
import uuid
from xml.etree import ElementTree

import pytest
import requests
from twilio.request_validator import RequestValidator

from lapor.dal import keys
from lapor.sms_intake import e164, phone_key
from lapor_cli.devserver import DEV_SECRETS
from e2e.helpers import lapor, notices, token, wait_for

pytestmark = pytest.mark.e2e
TIMEOUT = 30
PHONE = "+6281355550101"


def twilio(api_url, body, *, sid=None, sender=PHONE, token_value=DEV_SECRETS["LAPOR_TWILIO_AUTH_TOKEN"]):
    url = f"{api_url}/webhooks/sms/twilio"
    params = {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "From": sender, "To": "+621708", "Body": body}
    signature = RequestValidator(token_value).compute_signature(url, params)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=TIMEOUT)


def generic(api_url, payload):
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(DEV_SECRETS["LAPOR_SMS_HMAC_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    return requests.post(f"{api_url}/webhooks/sms/generic", data=raw, timeout=TIMEOUT,
                         headers={"Content-Type": "application/json", "X-Signature": signature})


def reply_of(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.text).findtext("Message")


def test_sms_files_checks_dedupes_and_refuses_forgeries_over_http(lapor_dev, api_url, dynamodb):
    text = "LAPOR Kota Bontang infrastruktur: Jalan di Jl. Ahmad Yani berlubang 🚧"
    sid = f"SM{uuid.uuid4().hex}"
    first = reply_of(twilio(api_url, text, sid=sid))
    tracking_id = re.search(r"LPR-[0-9A-Z]{8}", first).group(0)
    assert "Dinas Pekerjaan Umum" in first
    assert reply_of(twilio(api_url, text, sid=sid)) == first  # the provider resends: same reply, no new report
    stored = dynamodb.query(TableName="ReportsTable", KeyConditionExpression="PK = :pk",
                            ExpressionAttributeValues={":pk": {"S": f"REPORT#{tracking_id}"}})["Items"]
    # The report and its two filing events, nothing more.
    assert [i["SK"]["S"] for i in stored] == ["EVENT#00000001#0", "EVENT#00000001#1", "META"]
    assert stored[-1]["region_code"]["S"] == "64.74"
    sms_items = dynamodb.query(TableName="ReportsTable", KeyConditionExpression="PK = :pk",
                               ExpressionAttributeValues={":pk": keys.sms_message_key(
                                   "twilio", f"{phone_key(e164(PHONE))}#{sid}")["PK"]})["Items"]
    assert len(sms_items) == 1 and sms_items[0]["tracking_id"]["S"] == tracking_id

    status = generic(api_url, {"message_id": f"g-{uuid.uuid4().hex}", "from": "0813-5555-0101", "to": "1708",
                               "text": f"CEK {tracking_id}", "received_at": "2026-11-29T08:00:00+08:00"})
    assert status.status_code == 200 and status.json()["reply"].startswith(f"Laporan {tracking_id}: diteruskan")

    forged = twilio(api_url, "LAPOR Samarinda kesehatan: palsu", token_value="not-the-token")
    assert forged.status_code == 403 and "palsu" not in forged.text

    public = requests.get(f"{api_url}/reports/{tracking_id}", timeout=TIMEOUT).json()
    assert public["privacy"] == "anonymous" and "5555" not in json.dumps(public)


def test_an_answer_reaches_the_sms_reporter_once_through_the_outbox(lapor_dev, api_url):
    reply = reply_of(twilio(api_url, "LAPOR Bontang kesehatan: Obat di puskesmas habis sejak minggu lalu"))
    tracking_id = re.search(r"LPR-[0-9A-Z]{8}", reply).group(0)
    agency = requests.get(f"{api_url}/reports/{tracking_id}", timeout=TIMEOUT).json()["agency"]["id"]
    answer = requests.post(f"{api_url}/reports/{tracking_id}/responses", timeout=TIMEOUT,
                           headers=token(lapor_dev, "operator", agency),
                           json={"message": "Stok obat sudah dikirim hari ini.", "status": "responded"})
    assert answer.status_code == 200, answer.text
    sent = wait_for(lambda: notices(lapor_dev, tracking_id, "responded"))
    assert [(n["channel"], n["address"]) for n in sent] == [("sms", PHONE)]
    assert "Stok obat sudah dikirim hari ini." in sent[0]["text"]
    # The routing was in the reply to the SMS: the reporter got no second message about it.
    assert [n["recipient"] for n in notices(lapor_dev, tracking_id, "routed")] == [f"agency:{agency}"]
    time.sleep(2)
    assert len(notices(lapor_dev, tracking_id, "responded")) == 1
    printed = lapor(lapor_dev, "outbox", tracking_id)
    assert "Stok obat" in printed.stdout
