"""Notices from the table's stream: which change calls for which notice, sent once each, failures retried alone."""

import json
import re
from datetime import UTC, datetime

import pytest
from conftest import VALID_REPORT
from lapor import notify, runtime, sweep
from lapor.domain.notices import notices_for
from lapor.intake import submit_report
from lapor.models import ReportIn

LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
PHONE = "+6281234567890"  # an SMS reporter's number (their reply channel)


@pytest.fixture
def outbox(aws, tmp_path, monkeypatch):
    path = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("LAPOR_NOTIFY_TRANSPORT", "outbox")
    monkeypatch.setenv("LAPOR_OUTBOX_PATH", str(path))
    runtime.reset()

    def sent():
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    return sent


def raw_item(client, tracking_id):
    return client.get_item(TableName="ReportsTable", Key={"PK": {"S": f"REPORT#{tracking_id}"},
                                                          "SK": {"S": "META"}})["Item"]


def stream_record(old, new, sequence):
    """A DynamoDB stream record as Lambda delivers it (NEW_AND_OLD_IMAGES)."""
    change = {"Keys": {"PK": new["PK"], "SK": new["SK"]}, "NewImage": new, "SequenceNumber": str(sequence),
              "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old:
        change["OldImage"] = old
    return {"eventID": f"e{sequence}", "eventName": "MODIFY" if old else "INSERT", "eventSource": "aws:dynamodb",
            "awsRegion": "ap-southeast-3", "dynamodb": change}


def file_report(channel="sms", **changes):
    """A report filed long ago; by SMS (anonymous, the phone as reply channel) unless ``channel="web"``."""
    sms = {"privacy": "anonymous", "reporter": None} if channel == "sms" else {}
    return submit_report(ReportIn.model_validate(VALID_REPORT | sms | changes), channel=channel,
                         store=runtime.store(), config=runtime.config_cache().get(), default_deadline_days=30,
                         now=LONG_AGO, extra={"reply_to": PHONE} if channel == "sms" else None)["tracking_id"]


def escalate_all():
    sweep.run_sweep(runtime.store(), runtime.config_cache().get(), as_of=datetime.now(UTC), dry_run=False, shards=8)


def invoke(records, lambda_context):
    from lapor_notify.app import lambda_handler

    return lambda_handler({"Records": records}, lambda_context)


@pytest.fixture
def lambda_context():
    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "NotifyFunction", 512, "req-1"
        invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:NotifyFunction"

        def get_remaining_time_in_millis(self):
            return 60_000

    return Context()


def plain(item):
    return runtime.store().plain(item)


def test_intake_tells_the_agency_and_never_texts_a_phone_typed_into_a_form(aws):
    tracking_id = file_report()
    notices = notices_for(None, plain(raw_item(aws, tracking_id)))
    # The SMS reporter read the routing in the reply to their message; the agency is told.
    assert [(n.recipient, n.channel, n.address, n.event_type) for n in notices] == [
        ("agency:64-72-pupr", "agency", "64-72-pupr", "routed")]
    assert tracking_id in notices[0].text
    # A web reporter's phone is whatever was typed, perhaps a stranger's: it gets no SMS, now or later.
    web = file_report(channel="web")
    old = plain(raw_item(aws, web))
    assert [n.recipient for n in notices_for(None, old)] == ["agency:64-72-pupr"]
    escalate_all()
    assert "reporter" not in {n.recipient for n in notices_for(old, plain(raw_item(aws, web)))}


def test_escalation_tells_the_reporter_and_both_agencies_and_the_ids_are_stable(aws):
    tracking_id = file_report()
    old = plain(raw_item(aws, tracking_id))
    escalate_all()
    new = plain(raw_item(aws, tracking_id))
    notices = notices_for(old, new)
    assert {(n.recipient, n.event_type) for n in notices} == {
        ("reporter", "escalated"), ("agency:64-72-inspektorat", "escalated"), ("agency:64-72-pupr", "escalated")}
    reporter = next(n for n in notices if n.recipient == "reporter")
    assert "Inspektorat" in reporter.text and len(reporter.text) <= 160
    # The same change read again asks for the same notices (same ids): the sender can refuse the copies.
    assert [n.id for n in notices_for(old, new)] == [n.id for n in notices]
    assert notices_for(new, new) == [] and notices_for(old, None) == []
    # People read agency names, never ids: the agency it left is named in its own notice.
    left = next(n for n in notices if n.recipient == "agency:64-72-pupr")
    assert "Dinas Pekerjaan Umum dan Penataan Ruang Kota Samarinda" in left.text
    assert not any("64-72" in n.text for n in notices)


def test_a_response_reaches_an_sms_reporter_with_its_text(aws, call_api, token):
    tracking_id = file_report()
    old = plain(raw_item(aws, tracking_id))
    answer = call_api("POST", f"/reports/{tracking_id}/responses", headers={
        "Authorization": token("operator", "64-72-pupr")}, json_body={"message": "Jalan sudah ditambal.",
                                                                         "status": "responded"})
    assert answer.status == 200
    notices = notices_for(old, plain(raw_item(aws, tracking_id)))
    assert [(n.recipient, n.event_type) for n in notices] == [("reporter", "responded")]
    assert "Jalan sudah ditambal." in notices[0].text


def test_the_handler_sends_each_notice_once_even_when_the_record_comes_again(aws, outbox, lambda_context):
    tracking_id = file_report()
    old = raw_item(aws, tracking_id)
    escalate_all()
    record = stream_record(old, raw_item(aws, tracking_id), 1)
    assert invoke([record], lambda_context) == {"batchItemFailures": []}
    first = outbox()
    assert sorted(n["recipient"] for n in first) == ["agency:64-72-inspektorat", "agency:64-72-pupr", "reporter"]
    assert {n["tracking_id"] for n in first} == {tracking_id} and all(n["sent_at"] for n in first)
    invoke([record], lambda_context)  # the stream delivers it again
    assert outbox() == first


def test_one_failing_notice_fails_its_record_alone_and_the_retry_sends_only_what_is_missing(
        aws, outbox, lambda_context, monkeypatch):
    first, second = file_report(), file_report(region_code="64.71")
    olds = [raw_item(aws, first), raw_item(aws, second)]
    escalate_all()
    records = [stream_record(olds[0], raw_item(aws, first), 1), stream_record(olds[1], raw_item(aws, second), 2)]
    real = notify.OutboxTransport.send

    def flaky(self, notice):
        if notice.tracking_id == first and notice.recipient == "reporter":
            raise ConnectionError("SMS gateway down")
        real(self, notice)

    monkeypatch.setattr(notify.OutboxTransport, "send", flaky)
    assert invoke(records, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert {n["tracking_id"] for n in outbox() if n["recipient"] == "reporter"} == {second}
    assert len(outbox()) == 5  # the failed record's two agency notices went out; its reporter notice did not

    monkeypatch.setattr(notify.OutboxTransport, "send", real)
    assert invoke([records[0]], lambda_context) == {"batchItemFailures": []}
    sent = outbox()
    assert len(sent) == 6 and len({n["id"] for n in sent}) == 6  # the missing notice, and no copy of the others


def test_the_phone_number_never_reaches_the_logs(aws, outbox, lambda_context, log_lines, monkeypatch):
    tracking_id = file_report()
    old = raw_item(aws, tracking_id)
    escalate_all()
    record = stream_record(old, raw_item(aws, tracking_id), 1)

    def refused(self, notice):  # a gateway error that quotes the number
        raise ValueError(f"Invalid parameter: PhoneNumber {notice.address}")

    monkeypatch.setattr(notify.OutboxTransport, "send", refused)
    from lapor.observability import HandlerFailed

    with pytest.raises(HandlerFailed, match="^BatchProcessingError"):  # every record failed: Lambda retries the batch
        invoke([record], lambda_context)
    monkeypatch.undo()
    invoke([record], lambda_context)
    logs = log_lines.getvalue()
    assert "notice not sent" in logs and "notice sent" in logs
    # The number however written (+62..., 62..., 0812-...): its 11-digit national number, or a longer run of it
    # (a shorter run may sit in an id or a timestamp by chance: the test account id holds "1234567890").
    numbers = [re.sub(r"\D", "", run) for run in re.findall(r"\d[\d -]*\d", logs)]
    number = PHONE.lstrip("+")
    assert not any(number[i:i + 11] in n for n in numbers for i in range(len(number) - 10)) and "Siti" not in logs


def test_on_aws_sms_go_through_sns_and_agency_notices_to_the_event_bus(aws, monkeypatch):
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    boto3.client("events").create_event_bus(Name="lapor-notices")
    transport = notify.AwsTransport("lapor-notices")
    tracking_id = file_report()
    old = plain(raw_item(aws, tracking_id))
    escalate_all()
    for notice in notices_for(old, plain(raw_item(aws, tracking_id))):  # one SMS, two agency events
        transport.send(notice)
    sms = sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-3"].sms_messages
    assert [(number, tracking_id in text) for number, text in ((v[0], v[1]) for v in sms.values())] == [
        (PHONE, True)]


def test_an_event_bus_refusal_is_an_error_so_the_notice_is_retried(aws):
    transport = notify.AwsTransport("no-such-bus")
    tracking_id = file_report()
    agency_notice = next(n for n in notices_for(None, plain(raw_item(aws, tracking_id))) if n.channel == "agency")
    with pytest.raises(Exception):  # noqa: B017 (moto raises ResourceNotFound; AWS reports a failed entry)
        transport.send(agency_notice)


def test_the_sample_event_sends_the_escalation_notices(aws, outbox, lambda_context):
    from conftest import ROOT

    event = json.loads((ROOT / "events" / "notify" / "report-escalated.json").read_text())
    assert invoke(event["Records"], lambda_context) == {"batchItemFailures": []}
    assert sorted((n["recipient"], n["event_type"]) for n in outbox()) == [
        ("agency:64-72-inspektorat", "escalated"), ("agency:64-72-pupr", "escalated"), ("reporter", "escalated")]


def test_closing_a_silent_answer_tells_the_reporter(aws, call_api, token):
    from datetime import timedelta

    tracking_id = file_report()
    call_api("POST", f"/reports/{tracking_id}/responses", headers={"Authorization": token("operator", "64-72-pupr")},
             json_body={"message": "Sudah ditambal.", "status": "responded"})
    old = plain(raw_item(aws, tracking_id))
    sweep.run_sweep(runtime.store(), runtime.config_cache().get(), dry_run=False, shards=8,
                    as_of=datetime.fromisoformat(old["closes_at_utc"]) + timedelta(seconds=1))
    new = plain(raw_item(aws, tracking_id))
    notices = notices_for(old, new)
    assert [(n.recipient, n.event_type) for n in notices] == [("reporter", "closed")]
    # It closed because no reopen came within the window, not because the reporter said nothing (a rating is
    # a word, and the report still closes).
    assert notices[0].text.startswith(f"Laporan {tracking_id} ditutup karena tidak dibuka kembali dalam 10 hari kerja")
    assert "tanggapan pelapor" not in notices[0].text
    assert new["latest_events"][0]["message"] == "Ditutup otomatis: tidak dibuka kembali dalam 10 hari kerja setelah dijawab"


def test_a_rated_answer_closes_with_the_same_words(aws, call_api, token):
    from datetime import timedelta

    filed = submit_report(ReportIn.model_validate(VALID_REPORT), channel="web", store=runtime.store(),
                          config=runtime.config_cache().get(), default_deadline_days=30, now=LONG_AGO)
    tracking_id, code = filed["tracking_id"], filed["access_code"]
    call_api("POST", f"/reports/{tracking_id}/responses", headers={"Authorization": token("operator", "64-72-pupr")},
             json_body={"message": "Sudah ditambal.", "status": "responded"})
    call_api("POST", f"/reports/{tracking_id}/feedback", headers={"X-Access-Code": code}, json_body={"rating": 5})
    old = plain(raw_item(aws, tracking_id))
    sweep.run_sweep(runtime.store(), runtime.config_cache().get(), dry_run=False, shards=8,
                    as_of=datetime.fromisoformat(old["closes_at_utc"]) + timedelta(seconds=1))
    new = plain(raw_item(aws, tracking_id))
    assert new["status"] == "closed"
    assert "tidak dibuka kembali" in new["latest_events"][0]["message"]


# -- merged duplicates (issue 15): the master's notices reach its duplicates' reporters -----------------------------

OTHER_PHONE = "+6285298765432"


def file_sms(phone, **changes):
    """An SMS report (anonymous) from ``phone``, filed long ago."""
    return submit_report(ReportIn.model_validate(VALID_REPORT | {"privacy": "anonymous", "reporter": None} | changes),
                         channel="sms", store=runtime.store(), config=runtime.config_cache().get(),
                         default_deadline_days=30, now=LONG_AGO, extra={"reply_to": phone})["tracking_id"]


def merge_into(call_api, token, duplicate, master):
    reply = call_api("POST", f"/reports/{duplicate}/merge", headers={"Authorization": token("operator", "64-72-pupr")},
                     json_body={"into": master, "reason": "Lubang yang sama"})
    assert reply.status == 200, reply.body


def answer_master(aws, call_api, token, master, status="responded", message="Lubang sudah ditambal."):
    old = raw_item(aws, master)
    reply = call_api("POST", f"/reports/{master}/responses", headers={"Authorization": token("operator", "64-72-pupr")},
                     json_body={"message": message, "status": status})
    assert reply.status == 200, reply.body
    return old, raw_item(aws, master)


def test_the_duplicates_sms_reporter_is_told_of_the_merge(aws, call_api, token, outbox, lambda_context):
    duplicate, master = file_sms(PHONE), file_report(channel="web")
    old = raw_item(aws, duplicate)
    merge_into(call_api, token, duplicate, master)
    assert invoke([stream_record(old, raw_item(aws, duplicate), 1)], lambda_context) == {"batchItemFailures": []}
    assert [(n["recipient"], n["event_type"], n["address"]) for n in outbox()] == [("reporter", "merged", PHONE)]
    assert f"Laporan {duplicate} digabung dengan laporan {master}" in outbox()[0]["text"]


def test_a_masters_answer_reaches_its_duplicates_sms_reporters_once_each(aws, call_api, token, outbox,
                                                                          lambda_context):
    master = file_report(channel="web")  # public, no reply channel
    first, second, web = file_sms(PHONE), file_sms(OTHER_PHONE), file_report(channel="web")
    again = file_sms(PHONE)  # the same phone's second report: one SMS, not two
    for duplicate in (first, second, web, again):
        merge_into(call_api, token, duplicate, master)
    old, new = answer_master(aws, call_api, token, master)
    record = stream_record(old, new, 1)
    assert invoke([record], lambda_context) == {"batchItemFailures": []}
    sms = sorted((n["address"], n["tracking_id"], n["text"]) for n in outbox() if n["channel"] == "sms")
    assert [(address, tid) for address, tid, _ in sms] == sorted([(PHONE, min(first, again)), (OTHER_PHONE, second)])
    for _, tid, text in sms:  # about the reporter's own report, naming the master, with the answer (public master)
        assert text == (f"Laporan {tid} (digabung dengan {master}) dijawab oleh Dinas Pekerjaan Umum dan Penataan "
                        f"Ruang Kota Samarinda: Lubang sudah ditambal.")
    invoke([record], lambda_context)  # delivered again: nothing sent twice
    assert len([n for n in outbox() if n["channel"] == "sms"]) == 2


def test_a_non_public_masters_words_stay_with_it(aws, call_api, token, outbox, lambda_context):
    master, duplicate = file_sms(OTHER_PHONE), file_sms(PHONE)  # SMS reports are anonymous
    merge_into(call_api, token, duplicate, master)
    old, new = answer_master(aws, call_api, token, master, message="Pelaku sudah kami panggil.")
    invoke([stream_record(old, new, 1)], lambda_context)
    texts = {n["address"]: n["text"] for n in outbox() if n["channel"] == "sms"}
    assert "Pelaku sudah kami panggil." in texts[OTHER_PHONE]  # the master's own reporter: in full
    assert texts[PHONE] == (f"Laporan {duplicate} (digabung dengan {master}) dijawab oleh Dinas Pekerjaan Umum dan "
                            f"Penataan Ruang Kota Samarinda.")


def test_only_notice_worthy_changes_of_a_master_read_its_duplicates(aws, call_api, token, outbox, lambda_context,
                                                                    monkeypatch):
    master, duplicate = file_report(channel="web"), file_sms(PHONE)
    merge_into(call_api, token, duplicate, master)
    reads = []
    real = runtime.store().absorbed_reply_channels
    monkeypatch.setattr(runtime.store(), "absorbed_reply_channels", lambda m: reads.append(m) or real(m))
    old, new = answer_master(aws, call_api, token, master, status="in_progress", message="Sedang dicek.")
    invoke([stream_record(old, new, 1)], lambda_context)
    assert reads == [] and not [n for n in outbox() if n["channel"] == "sms"]
    escalate_all()  # overdue since LONG_AGO: escalated, which the duplicate's reporter hears of
    invoke([stream_record(new, raw_item(aws, master), 2)], lambda_context)
    assert reads == [master]
    assert [(n["event_type"], n["tracking_id"]) for n in outbox() if n["channel"] == "sms"] == [
        ("escalated", duplicate)]


def test_an_unmerged_duplicate_hears_no_more_of_the_master(aws, call_api, token, outbox, lambda_context):
    master, duplicate = file_report(channel="web"), file_sms(PHONE)
    merge_into(call_api, token, duplicate, master)
    assert call_api("DELETE", f"/reports/{duplicate}/merge", headers={"Authorization": token("admin")}).status == 200
    old, new = answer_master(aws, call_api, token, master)
    invoke([stream_record(old, new, 1)], lambda_context)
    assert [n for n in outbox() if n["channel"] == "sms"] == []


def test_every_dynamodb_call_of_a_forwarded_notice_is_granted_by_the_notify_function_s_policy(
        aws, call_api, token, outbox, lambda_context):
    from iam_calls import not_granted, table_calls

    master, duplicate = file_report(channel="web"), file_sms(PHONE)
    merge_into(call_api, token, duplicate, master)
    old, new = answer_master(aws, call_api, token, master)
    with table_calls(runtime.store().client) as calls:
        invoke([stream_record(old, new, 1)], lambda_context)
    assert {action for action, _ in calls} == {"Query", "BatchGetItem"}
    assert not_granted("NotifyFunction", calls) == []
