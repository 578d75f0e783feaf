"""SMS webhooks on moto: signatures checked first (signed here by twilio's own RequestValidator), then
dedupe, file, check and help, with replies in Bahasa Indonesia, and the phone number kept out of views and logs."""

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from conftest import report_items
from lapor import runtime

TWILIO_TOKEN = "test-twilio-token"
HMAC_SECRET = "test-sms-secret"
URL = "http://localhost/webhooks/sms/twilio"  # how the test client's requests reach the handler
PHONE = "+6281298765432"
LOCAL_PHONE = "0812-9876-5432"


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("LAPOR_TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("LAPOR_SMS_HMAC_SECRET", HMAC_SECRET)
    monkeypatch.setenv("LAPOR_SMS_NUMBERS", json.dumps({"+621708": "64.71"}))
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def twilio(call_api):
    """``twilio(body, sid=..., sender=...)``: a Twilio webhook call signed as Twilio signs it."""
    counter = iter(range(10_000))

    def send(body, *, sid=None, sender=PHONE, to="+621708", token=TWILIO_TOKEN, url=URL, headers=None,
             params=None):
        params = params or {"MessageSid": sid or f"SM{next(counter):032d}", "AccountSid": "AC" + "0" * 32,
                            "From": sender, "To": to, "Body": body, "NumMedia": "0"}
        signature = RequestValidator(token).compute_signature(url, params)
        return call_api("POST", "/webhooks/sms/twilio", body=urlencode(params), headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
            **(headers or {})})

    return send


@pytest.fixture
def generic(call_api):
    def send(payload, *, secret=HMAC_SECRET, signature=None):
        raw = json.dumps(payload).encode()
        signature = signature or "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return call_api("POST", "/webhooks/sms/generic", body=raw,
                        headers={"Content-Type": "application/json", "X-Signature": signature})

    return send


def message(text, message_id="gen-1", sender=LOCAL_PHONE):
    return {"message_id": message_id, "from": sender, "to": "1708", "text": text,
            "received_at": "2026-11-29T08:00:00+08:00"}


def tracking_id_in(reply):
    import re

    return re.search(r"LPR-[0-9A-Z]{8}", reply).group(0)


def twiml_text(result):
    from xml.etree import ElementTree

    assert result.status == 200 and result.headers["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(result.body).findtext("Message")


def test_lapor_with_region_and_category_files_an_anonymous_report_routed_there(aws, twilio, call_api):
    result = twilio("lapor  KAB. BERAU   Kesehatan: Puskesmas Tanjung Redeb tutup sejak pagi")
    reply = twiml_text(result)
    tracking_id = tracking_id_in(reply)
    assert reply.startswith(f"Laporan {tracking_id} diteruskan ke ") and f"CEK {tracking_id}" in reply
    stored = report_items(aws)
    assert len(stored) == 1
    item = runtime.store().plain(stored[0])
    assert (item["region_code"], item["category"], item["channel"], item["privacy"]) == (
        "64.03", "health", "sms", "anonymous")
    assert item["reply_to"] == PHONE and "reporter" not in item
    assert item["description"] == "Puskesmas Tanjung Redeb tutup sejak pagi"
    assert PHONE not in item["title"] + item["description"]  # the title comes from the text, never the sender
    public = call_api("GET", f"/reports/{tracking_id}")
    assert public.status == 200 and public.body["agency"]["id"] == item["agency_id"]


def test_a_missing_or_wrong_signature_is_403_and_stores_nothing_echoes_nothing(aws, twilio, call_api):
    secret_text = "Jalan rusak di depan rumah saya sejak lama"
    forged = twilio(secret_text, token="someone-else")
    assert forged.status == 403 and forged.body["error"]["code"] == "invalid_signature"
    unsigned = call_api("POST", "/webhooks/sms/twilio", body=urlencode({"From": PHONE, "Body": secret_text}),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status == 403
    # Signed for another URL (a replay against this endpoint) or with a field changed after signing.
    assert twilio(secret_text, url="https://elsewhere.example/webhooks/sms/twilio").status == 403
    params = {"MessageSid": "SM1", "From": PHONE, "To": "+621708", "Body": secret_text}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(URL, params)
    tampered = call_api("POST", "/webhooks/sms/twilio", body=urlencode(params | {"Body": "LAPOR lain"}),
                        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    assert tampered.status == 403
    for result in (forged, unsigned, tampered):
        assert secret_text not in json.dumps(result.body) and PHONE not in json.dumps(result.body)
    assert report_items(aws) == [] and [i for i in aws.scan(TableName="ReportsTable")["Items"]
                                        if i["PK"]["S"].startswith("SMS")] == []


def test_the_url_is_rebuilt_as_the_provider_called_it_behind_api_gateway(aws, twilio):
    # API Gateway terminates TLS: the handler sees http inside, the provider signed https://<host>/path?query.
    signed_url = "https://sms.lapor.example/webhooks/sms/twilio"
    result = twilio("INFO", url=signed_url, headers={"Host": "sms.lapor.example", "X-Forwarded-Proto": "https"})
    assert result.status == 200
    # Twilio may or may not sign the default port; either form is accepted, as its own validator does.
    assert twilio("INFO", url="https://sms.lapor.example:443/webhooks/sms/twilio",
                  headers={"Host": "sms.lapor.example", "X-Forwarded-Proto": "https"}).status == 200


def test_twilio_sha256_signatures_are_checked_too(aws, twilio):
    params = {"MessageSid": "SM-sha256", "From": PHONE, "To": "+621708", "Body": "INFO"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(URL, params, algorithm="HMAC_SHA256")
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert twilio("", params=params, headers={"X-Twilio-Signature": signature,
                                              "X-Twilio-Webhooks-Signature-Settings": settings}).status == 200
    # The same signature read as SHA-1 (no settings header) does not pass.
    assert twilio("", params=params, headers={"X-Twilio-Signature": signature}).status == 403


def test_a_resent_message_id_never_files_twice_and_gets_the_same_reply(aws, twilio):
    text = "LAPOR Samarinda infrastruktur: Jembatan Mahakam retak"
    first = twiml_text(twilio(text, sid="SM-resent"))
    again = twiml_text(twilio(text, sid="SM-resent"))
    assert again == first and len(report_items(aws)) == 1
    # A new message with the same complaint names the open report (a resend, below); from another phone it files.
    assert "sudah tercatat" in twiml_text(twilio(text, sid="SM-other")) and len(report_items(aws)) == 1
    assert tracking_id_in(twiml_text(twilio(text, sid="SM-other-phone", sender="+6281311112222"))) != tracking_id_in(first)


def test_a_message_id_reused_by_another_phone_is_another_message(aws, generic):
    # Some gateways number messages per phone or per day: the id alone does not name a message.
    first = generic(message("LAPOR Samarinda kesehatan: Puskesmas tutup siang hari", message_id="7"))
    other = generic(message("LAPOR Samarinda infrastruktur: Lampu jalan mati", message_id="7",
                            sender="+6281311112222"))
    assert first.status == other.status == 200
    assert tracking_id_in(other.body["reply"]) != tracking_id_in(first.body["reply"])
    assert len(report_items(aws)) == 2
    # Each phone's resend still gets its own reply back, and files nothing.
    again = generic(message("LAPOR Samarinda kesehatan: Puskesmas tutup siang hari", message_id="7",
                            sender="+6281298765432"))  # LOCAL_PHONE in E.164
    assert again.body["reply"] == first.body["reply"] and len(report_items(aws)) == 2


def test_cek_answers_only_the_phone_that_filed_and_0812_is_plus62812(aws, twilio, generic):
    tracking_id = tracking_id_in(twiml_text(twilio("LAPOR 64.72 kesehatan: Antrian BPJS terlalu panjang")))
    # The same reporter writing from the generic gateway in local format.
    own = generic(message(f"cek {tracking_id.lower()}", sender=LOCAL_PHONE))
    assert own.status == 200
    assert own.body["reply"].startswith(f"Laporan {tracking_id}: diteruskan. Instansi: ")
    assert "Batas jawaban" in own.body["reply"]
    stranger = generic(message(f"CEK {tracking_id}", message_id="gen-2", sender="+6281311112222"))
    assert "tidak ditemukan" in stranger.body["reply"] and "Instansi" not in stranger.body["reply"]
    unknown = generic(message("CEK LPR-00000000", message_id="gen-3"))
    assert "tidak ditemukan" in unknown.body["reply"]


def test_free_text_goes_to_the_receiving_numbers_region_awaiting_triage(aws, twilio):
    reply = twiml_text(twilio("Lampu jalan di Jl. Sudirman mati semua 😡", to="+621708"))
    assert "akan diteruskan" in reply
    item = runtime.store().plain(report_items(aws)[0])
    assert (item["region_code"], item["category"]) == ("64.71", "other_public_services")  # Balikpapan's number
    assert item["description"] == "Lampu jalan di Jl. Sudirman mati semua 😡"
    elsewhere = twiml_text(twilio("Sampah menumpuk di pasar pagi", to="+629999"))  # an unmapped number
    tracking_id = tracking_id_in(elsewhere)
    assert runtime.store().get_report(tracking_id)["region_code"] == "64.72"  # LAPOR_SMS_DEFAULT_REGION


def test_long_messages_and_emoji_are_filed_whole(aws, generic):
    text = ("Jalan di RT 05 rusak parah 🚧🙏 " * 60)[:1600]
    result = generic(message(text, message_id="long"))
    assert result.status == 200, result.body
    item = runtime.store().plain(report_items(aws)[0])
    assert item["description"] == text.strip() and len(item["title"]) <= 150
    too_long = generic(message("x" * 1601, message_id="too-long"))
    assert too_long.status == 422 and too_long.body["error"]["details"][0]["loc"] == ["text"]


def test_help_for_info_bantuan_help_and_empty_and_it_is_escaped_in_twiml(aws, twilio, generic):
    for text in ("INFO", " bantuan ", "Help", ""):
        assert "LAPOR <kab/kota> <kategori>" in twiml_text(twilio(text))
    raw = twilio("info").body
    assert "&lt;kab/kota&gt;" in raw and "<kab/kota>" not in raw
    assert "CEK" in generic(message("BANTUAN", message_id="help")).body["reply"]
    assert report_items(aws) == []


def test_an_unknown_region_is_explained_and_files_nothing(aws, twilio):
    reply = twiml_text(twilio("LAPOR Atlantis kesehatan: Puskesmas tutup"))
    assert "tidak dikenali" in reply and report_items(aws) == []


def test_the_daily_limit_answers_politely_and_stores_no_report(aws, twilio, monkeypatch):
    monkeypatch.setenv("LAPOR_SMS_DAILY_LIMIT", "2")
    runtime.reset()
    for n in range(2):
        assert "LPR-" in twiml_text(twilio(f"Laporan nomor {n} tentang jalan rusak"))
    limited = twiml_text(twilio("Laporan ketiga tentang jalan rusak"))
    assert "batas 2 laporan per hari" in limited and "LPR-" not in limited
    assert len(report_items(aws)) == 2
    assert "LPR-" in twiml_text(twilio("Laporan dari nomor lain", sender="+6281311112222"))  # per phone
    assert "LPR-" not in twiml_text(twilio("Lagi dengan format lokal", sender="081298765432"))  # same phone
    assert "LPR-" not in twiml_text(twilio("INFO")) and "LAPOR" in twiml_text(twilio("INFO"))  # help still works


def test_generic_webhook_signature_and_schema(aws, generic):
    ok = generic(message("INFO", message_id="g-ok"))
    assert ok.status == 200 and ok.headers["Content-Type"] == "application/json" and "CEK" in ok.body["reply"]
    forged = generic(message("Jalan rusak parah sekali", message_id="g-forged"), secret="wrong")
    assert forged.status == 403 and forged.body["error"]["code"] == "invalid_signature"
    assert "Jalan rusak" not in json.dumps(forged.body)
    malformed = generic({"message_id": "g-bad", "from": PHONE})  # no "to"
    assert malformed.status == 422 and PHONE not in json.dumps(malformed.body)
    assert generic(message("Jalan rusak", sender="not-a-phone")).status == 422
    assert report_items(aws) == []


def test_the_phone_number_is_in_no_view_and_no_log_line(aws, twilio, call_api, token, log_lines):
    tracking_id = tracking_id_in(twiml_text(twilio("LAPOR Samarinda kesehatan: Obat di puskesmas habis")))
    twilio(f"CEK {tracking_id}")
    views = [call_api("GET", f"/reports/{tracking_id}").body,
             call_api("GET", f"/agency/reports/{tracking_id}",
                      headers={"Authorization": token("admin")}).body,
             call_api("GET", "/agency/reports", headers={"Authorization": token("operator", "64-72-dinkes")}).body]
    assert views[1]["tracking_id"] == tracking_id
    for body in views + [log_lines.getvalue()]:
        text = json.dumps(body)
        assert "8129876" not in text and "reply_to" not in text


def test_the_sample_events_pass_with_the_documented_dev_secrets(aws, monkeypatch):
    from conftest import ROOT
    from lapor_cli.devserver import DEV_SECRETS, LambdaContext
    from lapor_sms.app import lambda_handler

    for name, value in DEV_SECRETS.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    filed = lambda_handler(json.loads((ROOT / "events/sms/twilio-lapor.json").read_text()), LambdaContext("SmsFunction"))
    assert filed["statusCode"] == 200 and "diteruskan ke" in filed["body"]
    helped = lambda_handler(json.loads((ROOT / "events/sms/generic-help.json").read_text()), LambdaContext("SmsFunction"))
    assert helped["statusCode"] == 200 and "CEK" in json.loads(helped["body"])["reply"]
    monkeypatch.setenv("LAPOR_TWILIO_AUTH_TOKEN", "")  # no secret configured: every call is refused
    runtime.reset()
    refused = lambda_handler(json.loads((ROOT / "events/sms/twilio-lapor.json").read_text()), LambdaContext("SmsFunction"))
    assert refused["statusCode"] == 403 and len(report_items(aws)) == 1


def test_a_transaction_conflict_on_the_phones_quota_is_retried_not_lost(aws, twilio, monkeypatch):
    """Two SMS from one phone at once contend for its quota item; DynamoDB cancels one with TransactionConflict."""
    client = runtime.sms_store().client
    real, calls = client.transact_write_items, []

    def conflict_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise client.exceptions.TransactionCanceledException(
                {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                 "CancellationReasons": [{"Code": "None"}, {"Code": "None"}, {"Code": "TransactionConflict"}]},
                "TransactWriteItems")
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", conflict_once)
    reply = twiml_text(twilio("LAPOR Samarinda kesehatan: Antrian puskesmas sangat panjang"))
    assert "LPR-" in reply and len(calls) == 2 and len(report_items(aws)) == 1


def test_a_sender_that_is_not_a_phone_gets_empty_twiml_and_nothing_is_stored(aws, twilio):
    result = twilio("LAPOR Samarinda kesehatan: promo paket data", sender="TELKOMSEL")
    assert result.status == 200 and result.headers["Content-Type"].startswith("text/xml")
    assert twiml_text(result) is None and report_items(aws) == []


def test_the_same_complaint_sent_again_within_a_day_names_the_open_report(aws, twilio, generic, call_api, token):
    first = tracking_id_in(twiml_text(twilio("LAPOR Berau kesehatan: Puskesmas Tanjung Redeb tutup sejak pagi")))
    # Sent again, in other words and by the other gateway (0812... is the same phone): no second report.
    again = generic(message("lapor kab berau KESEHATAN: puskesmas masih tutup, tolong", message_id="g-again"))
    assert again.body["reply"] == (f"Laporan ini sudah tercatat: {first}, belum selesai. Tidak dibuat laporan baru. "
                                   f"Cek status: CEK {first}")
    assert len(again.body["reply"]) <= 160 and len(report_items(aws)) == 1
    # Another category, another region, or another phone: new reports.
    assert tracking_id_in(twiml_text(twilio("LAPOR Berau pendidikan: SD 3 kekurangan guru"))) != first
    assert tracking_id_in(twiml_text(twilio("LAPOR Samarinda kesehatan: Puskesmas tutup"))) != first
    assert tracking_id_in(twiml_text(twilio("LAPOR Berau kesehatan: Puskesmas tutup", sender="+6281311112222"))) != first
    assert len(report_items(aws)) == 4
    # Once the agency has answered, the same complaint is a new report (the problem came back or was not fixed).
    answered = call_api("POST", f"/reports/{first}/responses", headers={"Authorization": token("admin")},
                        json_body={"message": "Puskesmas sudah buka kembali.", "status": "responded"})
    assert answered.status == 200, answered.body
    assert tracking_id_in(twiml_text(twilio("LAPOR Berau kesehatan: Puskesmas tutup lagi"))) != first


def test_free_text_is_a_resend_only_when_its_words_are_the_same(aws, twilio):
    first = tracking_id_in(twiml_text(twilio("Lampu jalan di Jl. Sudirman mati semua")))
    assert f"sudah tercatat: {first}" in twiml_text(twilio("lampu jalan di jl. sudirman  MATI semua"))
    assert tracking_id_in(twiml_text(twilio("Sampah menumpuk di pasar pagi"))) != first
    assert len(report_items(aws)) == 2


def test_a_resend_is_counted_within_24_hours_only_across_the_phones_days(aws, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from lapor.settings import get_settings
    from lapor.sms_intake import InboundSms, SmsDesk

    desk = SmsDesk(runtime.store(), runtime.sms_store(), runtime.config_cache().get(), get_settings())
    evening = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # 22:00 WITA on Monday

    def send(at, n):
        return desk.answer(InboundSms(provider="generic", message_id=f"m{n}", sender=PHONE, recipient="1708",
                                      text="LAPOR Berau kesehatan: Puskesmas tutup"), now=at)

    reply, outcome = send(evening, 1)
    assert outcome["outcome"] == "filed"
    # The next morning (another local day, 11 hours later): still the same report.
    assert send(evening + timedelta(hours=11), 2)[1] == {"outcome": "resend", "tracking_id": outcome["tracking_id"]}
    # A day and a bit later: a new one.
    assert send(evening + timedelta(hours=25), 3)[1]["outcome"] == "filed"
    assert len(report_items(aws)) == 2


def test_every_dynamodb_call_of_an_sms_is_granted_by_the_sms_function_s_policy(aws, twilio, call_api, token):
    """moto enforces no IAM: the SMS paths' calls (file, resend, check, limit, help) are checked against
    SmsFunction's statements in template.yaml, by action and partition key (``dynamodb:LeadingKeys``)."""
    from iam_calls import not_granted, table_calls

    with table_calls(runtime.store().client, runtime.sms_store().client) as calls:
        tracking_id = tracking_id_in(twiml_text(twilio("LAPOR Berau kesehatan: Puskesmas tutup")))
        assert "sudah tercatat" in twiml_text(twilio("LAPOR Berau kesehatan: Puskesmas masih tutup"))
        assert tracking_id in twiml_text(twilio(f"CEK {tracking_id}"))
        twiml_text(twilio("INFO"))
    assert {"Query", "GetItem", "PutItem", "UpdateItem"} <= {action for action, _ in calls}
    assert not_granted("SmsFunction", calls) == []


def test_cek_of_a_report_merged_as_a_duplicate_names_the_report_that_goes_on(aws, twilio, call_api, token):
    duplicate = tracking_id_in(twiml_text(twilio("LAPOR Berau kesehatan: Puskesmas Tanjung Redeb tutup")))
    master = call_api("POST", "/reports", json_body={
        "kind": "complaint", "category": "health", "region_code": "64.03", "privacy": "public",
        "title": "Puskesmas Tanjung Redeb tutup", "description": "Puskesmas tutup sejak pagi, warga tidak dilayani."})
    assert master.status == 201, master.body
    master_id = master.body["tracking_id"]
    merged = call_api("POST", f"/reports/{duplicate}/merge", headers={"Authorization": token("admin")},
                      json_body={"into": master_id, "reason": "Masalah yang sama"})
    assert merged.status == 200, merged.body
    reply = twiml_text(twilio(f"CEK {duplicate}"))
    assert reply == (f"Laporan {duplicate} digabung dengan {master_id} (masalah yang sama); kabar {master_id} "
                     f"dikirim ke nomor ini juga. Cek status: CEK {master_id}")
    assert len(reply) <= 160
