"""Hostile input on the SMS webhooks (security issue #10): control characters, noncharacters, bidi overrides,
bytes that are not UTF-8, deep nesting and oversized bodies get a clean reply or a clear 4xx, never a 500; TwiML
always parses; what is stored is clean. Also the webhooks' OpenAPI entries (lapor.sms_openapi) against what the
handler really answers. Signed with the development secrets of ``lapor dev``, as tests/test_sms.py signs."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from conftest import report_items
from lapor import runtime
from lapor.domain import sms
from lapor_cli.devserver import DEV_SECRETS, LambdaContext

ROOT = Path(__file__).resolve().parents[1]
TWILIO_TOKEN = DEV_SECRETS["LAPOR_TWILIO_AUTH_TOKEN"]
HMAC_SECRET = DEV_SECRETS["LAPOR_SMS_HMAC_SECRET"]
URL = "http://localhost/webhooks/sms/twilio"  # how the test client's requests reach the handler
PHONE = "+6281298765432"
TWILIO_ROUTE, GENERIC_ROUTE = "POST /webhooks/sms/twilio", "POST /webhooks/sms/generic"

# Written out here rather than imported, so the tests check the code instead of repeating it.
# What XML 1.0 cannot carry, and the bidi embeddings, overrides and isolates: never in a reply.
NOT_IN_REPLY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
# Stored text: no control character but tab and newline (C0, DEL, C1), besides the above.
NOT_STORED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    for name, value in DEV_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LAPOR_SMS_NUMBERS", json.dumps({"+621708": "64.71"}))
    runtime.reset()
    yield
    runtime.reset()


def twilio_signature(raw: str | bytes, url: str = URL, token: str = TWILIO_TOKEN) -> str:
    """Signed over the fields as they arrive, the way Twilio signs what it sends (bytes read leniently)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    fields = {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}
    return RequestValidator(token).compute_signature(url, fields)


def generic_signature(raw: bytes, secret: str = HMAC_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
def twilio(call_api):
    """``twilio(text)`` or ``twilio(raw=<form body>)``: a Twilio webhook call, signed."""
    counter = itertools.count()

    def send(text: str = "", *, raw: str | bytes | None = None, sid: str | None = None, token: str = TWILIO_TOKEN,
             headers: dict[str, str] | None = None):
        if raw is None:
            raw = urlencode({"MessageSid": sid or f"SM{next(counter):032d}", "AccountSid": "AC" + "0" * 32,
                             "From": PHONE, "To": "+621708", "Body": text, "NumMedia": "0"})
        return call_api("POST", "/webhooks/sms/twilio", body=raw, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(raw, token=token), **(headers or {})})

    return send


@pytest.fixture
def generic(call_api):
    """``generic(text)`` or ``generic(raw=<bytes>)``: a generic webhook call, signed."""
    counter = itertools.count()

    def send(text: str = "", *, raw: bytes | None = None, secret: str = HMAC_SECRET):
        if raw is None:
            raw = json.dumps({"message_id": f"g-{next(counter)}", "from": "0812-9876-5432", "to": "1708",
                              "text": text}).encode()
        return call_api("POST", "/webhooks/sms/generic", body=raw,
                        headers={"Content-Type": "application/json", "X-Signature": generic_signature(raw, secret)})

    return send


def lambda_event(route_key: str, body: str, headers: dict[str, str], *, base64_encoded: bool = False) -> dict:
    """A payload 2.0 event as API Gateway would build it, for bodies a test client cannot send."""
    path = route_key.split()[1]
    return {"version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "",
            "headers": {"host": "localhost", "x-forwarded-proto": "http", **headers},
            "requestContext": {"requestId": "hostile", "routeKey": route_key, "stage": "$default",
                               "http": {"method": "POST", "path": path}},
            "body": body, "isBase64Encoded": base64_encoded}


def invoke(event: dict) -> tuple[int, str, dict]:
    from lapor_sms.app import lambda_handler

    result = lambda_handler(event, LambdaContext("SmsFunction"))
    return result["statusCode"], result["body"], result["headers"]


def twiml_message(result) -> str | None:
    """The reply of a TwiML answer, after checking it is one, parses, and carries nothing it may not."""
    assert result.status == 200, result.body
    assert result.headers["Content-Type"].startswith("text/xml")
    assert isinstance(result.body, str) and not NOT_IN_REPLY.search(result.body)
    return ElementTree.fromstring(result.body).findtext("Message")


def json_reply(result) -> str:
    assert result.status == 200, result.body
    assert not NOT_IN_REPLY.search(result.body["reply"])
    return result.body["reply"]


def stored_reports(aws) -> list[dict]:
    reports = [runtime.store().plain(item) for item in report_items(aws)]
    for report in reports:
        assert not NOT_STORED.search(report["title"] + report["description"]), report
    return reports


def stored_replies(aws) -> list[str]:
    return [i["reply"]["S"] for i in aws.scan(TableName="ReportsTable")["Items"] if i["PK"]["S"].startswith("SMS#")]


HOSTILE = [
    ("nul", "Jalan\x00 rusak di depan\x00 pasar", "Jalan rusak di depan pasar"),
    ("c0", "Lampu\x07 jalan\x1b[2J mati\x08 sejak\x0c kemarin\r\nsore", "Lampu jalan[2J mati sejak\n kemarin\nsore"),
    ("c1-and-del", "Air\x7f PDAM\x85mati\x9b total", "Air PDAM\nmati total"),
    ("noncharacters", "Sampah\ufffe menumpuk\uffff di pasar", "Sampah menumpuk di pasar"),
    ("bidi", "Jalan rusak \u202eRT 05\u202c di \u2066Jl. Merdeka\u2069 parah",
     "Jalan rusak RT 05 di Jl. Merdeka parah"),
    ("emoji", "Banjir lagi 🌊🏠 tolong 🙏🏽 👨‍👩‍👧 ❤️", "Banjir lagi 🌊🏠 tolong 🙏🏽 👨‍👩‍👧 ❤️"),
    ("tab-kept", "Pipa bocor:\tRT 01\tRW 02", "Pipa bocor:\tRT 01\tRW 02"),
]


# --- Twilio ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "stored"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_twilio_files_hostile_text_clean_and_answers_valid_twiml(aws, twilio, text, stored):
    reply = twiml_message(twilio(text))
    assert "akan diteruskan" in reply
    [report] = stored_reports(aws)
    assert report["description"] == stored
    assert report["title"] == " ".join(stored.split())
    assert all(not NOT_IN_REPLY.search(r) for r in stored_replies(aws))


def test_a_1600_character_hostile_message_is_filed_whole_and_clean(aws, twilio, generic):
    text = ("Jalan \x00rusak \u202e🚧 parah\x07 " * 100)[:1600]
    expected = text.replace("\x00", "").replace("\u202e", "").replace("\x07", "").strip()
    assert "LPR-" in twiml_message(twilio(text))
    assert "LPR-" in json_reply(generic(text))
    assert [r["description"] for r in stored_reports(aws)] == [expected, expected]
    # Twilio cuts what is longer; the generic webhook refuses it.
    assert "LPR-" in twiml_message(twilio("x" * 1700))
    assert sorted(len(r["description"]) for r in stored_reports(aws)) == [len(expected)] * 2 + [1600]
    assert generic("x" * 1601).status == 422


@pytest.mark.parametrize("text", ["\x00\x01\x02", "\u202e\u2066\u2069", "\u200b\ufeff\u3164", "\ufffe\uffff",
                                  "\ufffd\ufffd", "LAPOR Samarinda kesehatan: \x00\u202e\u200b", "LAPOR \x00",
                                  "\ufeffINFO", "CEK\x00"])
def test_a_message_with_nothing_visible_gets_help_and_files_nothing(aws, twilio, generic, text):
    """What the free-text path does for an empty message: CEK alone asks for the code, the rest gets help."""
    expected = sms.reply_not_found("") if text.startswith("CEK") else sms.reply_help()
    assert twiml_message(twilio(text)) == expected
    assert json_reply(generic(text)) == expected
    assert report_items(aws) == []


def test_what_a_reply_echoes_is_cleaned(aws, twilio, generic):
    not_found = twiml_message(twilio("CEK \x00LPR-\u202eZZ\x07ZZ"))
    assert not_found.startswith("Laporan LPR-ZZZZ tidak ditemukan")
    unknown = twiml_message(twilio("LAPOR Atl\x00antis\u202e kesehatan: Puskesmas tutup"))
    assert "'Atlantis'" in unknown and "tidak dikenali" in unknown
    assert "'Atlantis'" in json_reply(generic("LAPOR \u2066Atlantis\u2069 kesehatan: Puskesmas tutup"))
    assert report_items(aws) == []


def test_undecodable_bytes_in_a_twilio_form_become_one_replacement_character_each_run(aws, twilio):
    raw = (b"MessageSid=SM-bytes&From=%2B6281298765432&To=%2B621708&"
           b"Body=Jalan+rusak+\xff\xfe\xfd+parah+caf\xe9+%C0%AF%FF")
    reply = twiml_message(twilio(raw=raw))  # the test client sends such a body base64-encoded, as API Gateway does
    assert "akan diteruskan" in reply
    [report] = stored_reports(aws)
    assert report["description"] == "Jalan rusak \ufffd parah caf\ufffd \ufffd"
    # Nothing but undecodable bytes is an empty message.
    assert twiml_message(twilio(raw=b"MessageSid=SM-junk&From=%2B6281298765432&To=%2B621708&Body=%FF%FE\xfd")) == (
        sms.reply_help())
    assert len(report_items(aws)) == 1


def test_a_raw_body_with_lone_surrogates_is_read_leniently_on_twilio_refused_on_generic(aws):
    """API Gateway sends bytes that are not UTF-8 base64-encoded; a text body with surrogates can still be built."""
    form = b"MessageSid=SM-surrogate&From=%2B6281298765432&To=%2B621708&Body=Jalan+rusak+\xff+parah"
    text = form.decode("utf-8", "surrogateescape")
    status, body, _ = invoke(lambda_event(TWILIO_ROUTE, text, {"x-twilio-signature": twilio_signature(form)}))
    assert status == 200 and not NOT_IN_REPLY.search(body) and ElementTree.fromstring(body) is not None
    assert stored_reports(aws)[0]["description"] == "Jalan rusak \ufffd parah"
    payload = b'{"message_id": "g-surrogate", "from": "0812-9876-5432", "to": "1708", "text": "rusak \xff"}'
    for raw_text in (payload.decode("utf-8", "surrogateescape"), '{"text": "\ud800"}'):
        signed = raw_text.encode("utf-8", "surrogateescape" if "\ud800" not in raw_text else "surrogatepass")
        status, body, _ = invoke(lambda_event(GENERIC_ROUTE, raw_text, {"x-signature": generic_signature(signed)}))
        assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_encoding")
    assert len(report_items(aws)) == 1


def test_the_last_line_of_defence_cleans_any_reply(aws, twilio, generic):
    from lapor_sms.app import _twiml

    body = _twiml("ok\x00 \u202e<b>&\ufffe\ud800\x1b")["body"]
    assert not NOT_IN_REPLY.search(body) and ElementTree.fromstring(body).findtext("Message") == "ok <b>&"
    # A reply stored before the text was cleaned comes back from the dedupe item: it is cleaned on the way out.
    from lapor.sms_intake import e164, phone_key

    store, sender = runtime.sms_store(), phone_key(e164(PHONE))  # messages are keyed by sender and id
    store.remember_sms("twilio", f"{sender}#SM-dirty", "Balasan\x00 lama\u202e", expires_at=2_000_000_000)
    store.remember_sms("generic", f"{sender}#g-dirty", "Balasan\x00 lama\u202e", expires_at=2_000_000_000)
    assert twiml_message(twilio("INFO", sid="SM-dirty")) == "Balasan lama"
    raw = json.dumps({"message_id": "g-dirty", "from": PHONE, "to": "1708", "text": "INFO"}).encode()
    assert json_reply(generic(raw=raw)) == "Balasan lama"


def test_twilio_form_errors_are_4xx(aws, call_api, twilio):
    missing = twilio(raw=urlencode({"From": PHONE, "Body": "Jalan rusak"}))
    assert (missing.status, missing.body["error"]["code"]) == (400, "missing_fields")
    assert missing.body["error"]["details"] == [{"loc": ["MessageSid", "To"]}]
    long_sid = twilio("Jalan rusak parah sekali", sid="SM" + "0" * 3000)  # a table key holds 2048 bytes at most
    assert (long_sid.status, long_sid.body["error"]["code"]) == (400, "invalid_fields")
    # A Host no URL can have is no URL Twilio signed.
    for host in ("localhost:abc", "[localhost", "localhost:99999999"):
        status, body, _ = invoke(lambda_event(TWILIO_ROUTE, "Body=INFO", {"host": host, "x-twilio-signature": "x"}))
        assert (status, json.loads(body)["error"]["code"]) == (403, "invalid_signature")
    assert report_items(aws) == []


# --- generic webhook ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "stored"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_generic_files_hostile_text_clean_and_answers_clean_json(aws, generic, text, stored):
    result = generic(text)  # JSON escapes: "\u0000", "\ufffe", "\u202e"
    assert result.headers["Content-Type"] == "application/json" and "akan diteruskan" in json_reply(result)
    [report] = stored_reports(aws)
    assert report["description"] == stored


def test_generic_bodies_that_are_not_utf8_json_are_400_after_the_signature(aws, generic):
    raw = b'{"message_id": "g-bytes", "from": "0812-9876-5432", "to": "1708", "text": "Jalan \xff\xfe rusak"}'
    not_utf8 = generic(raw=raw)  # sent base64-encoded, as API Gateway sends a body that is not UTF-8
    assert (not_utf8.status, not_utf8.body["error"]["code"]) == (400, "invalid_encoding")
    assert generic(raw=raw, secret="wrong").status == 403  # the signature first: nothing is read before
    for raw in (
        '{"message_id": "g-nul", "from": "0812-9876-5432", "to": "1708", "text": "a\x00b"}'.encode(),  # raw NUL
        b'{"message_id": "g-sur", "from": "0812-9876-5432", "to": "1708", "text": "a \\ud800 b"}',  # lone surrogate
        b'\xef\xbb\xbf{"message_id": "g-bom"}',
        b"[" * 60_000,
        b'{"message_id": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    ):
        result = generic(raw=raw)
        assert (result.status, result.body["error"]["code"]) == (400, "invalid_json"), raw[:40]
    assert report_items(aws) == []


def test_100000_nested_brackets_are_a_4xx_never_a_recursion_error(aws, generic, twilio, monkeypatch):
    deep = b"[" * 100_000
    too_large = generic(raw=deep)  # over the 64 KiB limit: refused before the HMAC
    assert (too_large.status, too_large.body["error"]["code"]) == (413, "payload_too_large")
    assert twilio(raw=b"Body=" + b"%5B" * 30_000).status == 413
    monkeypatch.setenv("LAPOR_MAX_BODY_BYTES", str(1024 * 1024))
    runtime.reset()
    nested = generic(raw=deep)
    assert (nested.status, nested.body["error"]["code"]) == (400, "invalid_json")
    # On Twilio brackets are only text.
    assert "akan diteruskan" in twiml_message(twilio("[" * 100_000))
    assert len(stored_reports(aws)[0]["description"]) == 1600


def test_an_invalid_base64_body_is_400_on_both_webhooks(aws):
    for route in (TWILIO_ROUTE, GENERIC_ROUTE):
        status, body, _ = invoke(lambda_event(route, "not base64!", {}, base64_encoded=True))
        assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_encoding")


def test_oversized_bodies_are_413_before_the_signature(aws, call_api):
    for path in ("/webhooks/sms/twilio", "/webhooks/sms/generic"):
        result = call_api("POST", path, body=b"x" * (64 * 1024 + 1), headers={"Content-Type": "text/plain"})
        assert (result.status, result.body["error"]["code"]) == (413, "payload_too_large")


# --- domain ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "cleaned"), [
    *[case[1:] for case in HOSTILE],
    ("  \u200b\ufeffLapor\u200b  ", "Lapor"),
    ("a\r\nb\rc\x0bd\x0ce\x85f", "a\nb\nc\nd\ne\nf"),
    ("\ufffd\ufffd\ufffd x \ufffd", "\ufffd x \ufffd"),
    ("jantung \u2764\ufe0f", "jantung \u2764\ufe0f"),  # the variation selector stays with its emoji
    ("\x00\u202e\u200b \ufffd\n", ""),
    ("bad \ud800 surrogate \udfff", "bad  surrogate"),
    ("\ufdd0noncharacter\ufdef", "noncharacter"),
])
def test_clean_text(text, cleaned):
    assert sms.clean_text(text) == cleaned


def test_replies_echo_only_clean_fragments():
    problem = sms.Problem("unknown_region", "Atl\x00antis\u202e\ud800")
    assert "'Atlantis'" in sms.reply_problem(problem)
    assert sms.reply_not_found("LPR\x00-\u2066X\u2069") == sms.reply_not_found("LPR-X")
    assert sms.reply_not_found("\x00\u202e") == sms.TEMPLATES["check_format"]
    assert sms.safe_reply("a\x00\u202eb\ufffe\ud800\x1bc") == "abc"


# Any character, lone surrogates included, with controls, format characters and surrogates drawn often.
ANY_TEXT = st.text(st.characters(exclude_categories=()) | st.characters(categories=["Cc", "Cf", "Cs", "Zs"]),
                   max_size=200)
HOSTILE_CHARS = st.text(st.sampled_from("\x00\x07\x1b\x7f\x85\x9b\ufffe\uffff\ud800\u202a\u202e\u2066\u2069"
                                        "\u200b\ufeff\ufffd\r\n\t LAPOR Samarinda kesehatan:CEK LPR-7K3M9Q2X"),
                        max_size=80)


@settings(deadline=None, max_examples=300)
@given(ANY_TEXT | HOSTILE_CHARS)
def test_nothing_a_sender_writes_reaches_a_report_or_a_reply_unclean(text):
    from lapor.models import ReportIn

    cleaned = sms.clean_text(text)
    assert not NOT_STORED.search(cleaned) and sms.clean_text(cleaned) == cleaned
    command = sms.parse(text)
    if isinstance(command, sms.File):
        ReportIn(kind="complaint", category="health", region_code="64.72", privacy="anonymous",
                 title=sms.title_from_text(command.message), description=sms.description_from_text(command.message))
        if command.head is not None:
            resolved = sms.resolve_file(command.head, "64")
            if isinstance(resolved, sms.Problem):
                assert not NOT_IN_REPLY.search(sms.reply_problem(resolved))
    if isinstance(command, sms.Check):
        assert not NOT_IN_REPLY.search(sms.reply_not_found(command.raw))
    assert not NOT_IN_REPLY.search(sms.reply_not_found(text) + sms.reply_problem(sms.Problem("unrecognized", text)))


# --- OpenAPI -----------------------------------------------------------------------------------------------------


def _answers(call_api, twilio, generic) -> dict[str, list[tuple[int, str, str | None, object]]]:
    """Drives the handler to every status it can answer on each webhook: (status, content type, code, body)."""
    def seen(result):
        code = result.body["error"]["code"] if isinstance(result.body, dict) and "error" in result.body else None
        return result.status, result.headers["Content-Type"], code, result.body

    def direct(route, text, *, base64_encoded=False):
        status, body, headers = invoke(lambda_event(route, text, {}, base64_encoded=base64_encoded))
        return status, headers["Content-Type"], json.loads(body)["error"]["code"], json.loads(body)

    big = b"x" * (64 * 1024 + 1)
    return {
        "/webhooks/sms/twilio": [
            seen(twilio("INFO")),
            seen(twilio("Jalan rusak", headers={"X-Twilio-Signature": "forged"})),
            seen(twilio(raw=urlencode({"From": PHONE, "Body": "x"}))),
            seen(twilio("INFO", sid="S" * 200)),
            direct(TWILIO_ROUTE, "%%%", base64_encoded=True),
            seen(call_api("POST", "/webhooks/sms/twilio", body=big,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})),
        ],
        "/webhooks/sms/generic": [
            seen(generic("INFO")),
            seen(generic("INFO", secret="wrong")),
            seen(generic(raw=b'{"message_id": "\xff"}')),
            seen(generic(raw=b"[" * 1000)),
            seen(generic(raw=b'{"message_id": "g-1", "from": "0812"}')),
            seen(generic(raw=b'{"message_id": "g-2", "from": "TELKOMSEL", "to": "1708", "text": "INFO"}')),
            direct(GENERIC_ROUTE, "%%%", base64_encoded=True),
            seen(call_api("POST", "/webhooks/sms/generic", body=big, headers={"Content-Type": "application/json"})),
        ],
    }


def test_sms_paths_document_every_status_code_and_body_the_handler_answers(aws, call_api, twilio, generic):
    from jsonschema import Draft202012Validator

    from lapor.sms_openapi import sms_paths

    paths = sms_paths()
    for path, answers in _answers(call_api, twilio, generic).items():
        responses = paths[path]["post"]["responses"]
        assert {str(status) for status, *_ in answers} == set(responses), path  # exactly these, no more
        for status, content_type, code, body in answers:
            media_type = content_type.split(";")[0]
            documented = responses[str(status)]["content"]
            assert media_type in documented, (path, status, content_type)
            if media_type == "application/json":
                Draft202012Validator(documented[media_type]["schema"]).validate(body)
                assert code is None or code in documented[media_type]["examples"], (path, status, code)
            else:
                ElementTree.fromstring(body)
    # The handler's 404 answers route keys other than these two, which API Gateway never sends to it.
    status, body, _ = invoke(lambda_event("POST /webhooks/sms/other", "", {}))
    assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")


def test_sms_paths_is_a_valid_openapi_31_fragment_with_the_models_schemas():
    from openapi_spec_validator import validate

    from lapor.sms_models import TWILIO_REQUIRED
    from lapor.sms_openapi import sms_paths

    paths = sms_paths()
    validate({"openapi": "3.1.0", "info": {"title": "Lapor SMS", "version": "0"}, "paths": paths})
    assert "$ref" not in json.dumps(paths)  # self-contained: merged as is into any document's paths
    generic, twilio = paths["/webhooks/sms/generic"]["post"], paths["/webhooks/sms/twilio"]["post"]
    body = generic["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"message_id", "from", "to"}
    assert body["properties"]["text"]["maxLength"] == 1600
    form = twilio["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert set(form["required"]) == set(TWILIO_REQUIRED) == {"MessageSid", "From", "To"}
    assert {"MessageSid", "From", "To", "Body"} <= set(form["properties"])
    headers = {(op["operationId"], p["name"]): p["required"] for op in (generic, twilio) for p in op["parameters"]}
    assert headers == {("sms_webhook_generic", "X-Signature"): True,
                       ("sms_webhook_twilio", "X-Twilio-Signature"): True,
                       ("sms_webhook_twilio", "X-Twilio-Webhooks-Signature-Settings"): False}
    assert generic["tags"] == twilio["tags"] == ["sms"]
    assert set(twilio["responses"]["200"]["content"]) == {"text/xml"}


def test_sms_openapi_imports_no_aws_sdk():
    script = ("import sys, json; from lapor.sms_openapi import sms_paths; json.dumps(sms_paths()); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore'}))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_generic_model_lives_in_the_layer():
    from lapor_sms import app

    from lapor.sms_models import GenericSms

    assert app.GenericSms is GenericSms
