"""Security hardening (issue 10): idempotency keys, operator attribution, group claims, token use, hostile input.

Each refusal is checked for its status and machine-readable code, and for storing nothing.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid

import pytest

from conftest import VALID_REPORT, report_items
from lapor.domain.access import Caller, claim_list
from lapor.domain.ids import idempotency_key_is_strong

# -- Idempotency keys (design 4.3) ------------------------------------------------------------------------------

WEAK_KEYS = ["readme-1732892345", "mobile-7f3a", "1", "a" * 40, "1234567890123456789012345678",
             str(uuid.uuid1()), "00000000-0000-0000-0000-000000000000", "retry 1 2 3 4 5 6 7 8 9 10 11"]


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_weak_idempotency_keys_are_refused_and_store_nothing(call_api, aws, key):
    reply = call_api("POST", "/reports", json_body=VALID_REPORT, headers={"Idempotency-Key": key})
    assert reply.status == 422, reply.body
    assert reply.body["error"]["code"] in ("weak_idempotency_key", "validation_error")
    if key.isprintable() and " " not in key:
        assert reply.body["error"]["code"] == "weak_idempotency_key"
    assert report_items(aws) == []
    assert not [i for i in aws.scan(TableName="ReportsTable")["Items"] if i["PK"]["S"].startswith(("INTAKE#", "REPORT#"))]


def test_random_keys_are_strong_and_replay():
    assert all(idempotency_key_is_strong(str(uuid.uuid4())) for _ in range(2000))
    assert all(idempotency_key_is_strong(secrets.token_urlsafe(16)) for _ in range(2000))
    assert all(idempotency_key_is_strong(secrets.token_hex(16)) for _ in range(2000))
    assert not any(idempotency_key_is_strong(k) for k in WEAK_KEYS)


def test_a_strong_key_files_once(call_api, aws):
    headers = {"Idempotency-Key": secrets.token_urlsafe(16)}
    first = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    again = call_api("POST", "/reports", json_body=VALID_REPORT, headers=headers)
    assert (first.status, again.status) == (201, 201) and first.body == again.body
    assert len(report_items(aws)) == 1


def test_open311_refuses_a_weak_key_as_the_spec_error(call_api, aws, token):
    key = call_api("POST", "/admin/apikeys", json_body={"name": "test"}, headers={"Authorization": token("admin")})
    form = {"api_key": key.body["key"], "service_code": "infrastructure", "attribute[region_code]": "64.72",
            "description": "Lubang besar di jalan depan pasar", "lat": "-0.5", "long": "117.1"}
    from urllib.parse import urlencode

    reply = call_api("POST", "/open311/v2/requests.json", body=urlencode(form),
                     headers={"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": "open311-1"})
    assert reply.status == 400 and "Idempotency-Key" in reply.body[0]["description"]
    assert report_items(aws) == []


# -- Groups and token use ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("claim", "groups"), [
    ("[operator admin]", ["operator", "admin"]), ("[x,admin]", ["x,admin"]), ("[admin]", ["admin"]),
    ("admin", ["admin"]), ("x,admin", ["x,admin"]), ("[]", []), ("", []), (["admin"], ["admin"]), (None, []),
])
def test_groups_are_parsed_as_api_gateway_flattens_them(claim, groups):
    assert claim_list(claim) == groups


def test_a_group_named_with_a_comma_is_not_admin():
    claims = {"sub": "s", "token_use": "id", "cognito:groups": "[x,admin]", "custom:agency_id": "64-72-pupr"}
    assert Caller.from_claims(claims) is None
    assert Caller.from_claims(claims | {"cognito:groups": "[x,admin operator]"}).role == "operator"


def test_the_api_refuses_odd_groups_and_access_tokens(call_api, issuer):
    odd = "Bearer " + issuer.issue("admin", claims={"cognito:groups": ["x,admin"]})
    assert call_api("GET", "/admin/agencies", headers={"Authorization": odd}).status == 403
    access = "Bearer " + issuer.issue("admin", claims={"token_use": "access"})
    refused = call_api("GET", "/admin/agencies", headers={"Authorization": access})
    assert (refused.status, refused.body["error"]["code"]) == (403, "id_token_required")
    queue = call_api("GET", "/agency/reports", headers={
        "Authorization": "Bearer " + issuer.issue("operator", "64-72-pupr", claims={"token_use": "access"})})
    assert queue.status == 403
    assert call_api("GET", "/admin/agencies", headers={"Authorization": "Bearer " + issuer.issue("admin")}).status == 200


# -- Attribution ------------------------------------------------------------------------------------------------

def test_every_operator_action_names_the_operator_but_never_to_the_reporter(call_api, issuer, aws, log_lines):
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    tracking_id, code = filed["tracking_id"], filed["access_code"]
    operator_sub, admin_sub = str(uuid.uuid4()), str(uuid.uuid4())
    operator = {"Authorization": "Bearer " + issuer.issue("operator", "64-72-pupr", subject=operator_sub)}
    admin = {"Authorization": "Bearer " + issuer.issue("admin", subject=admin_sub)}
    answered = call_api("POST", f"/reports/{tracking_id}/responses", headers=operator,
                        json_body={"message": "Sedang dicek petugas", "status": "in_progress"})
    assert answered.status == 200
    moved = call_api("POST", f"/reports/{tracking_id}/reassign", headers=admin,
                     json_body={"agency_id": "64-72-dinkes", "reason": "Urusan kesehatan"})
    assert moved.status == 200
    rejected = call_api("POST", f"/reports/{tracking_id}/reject", headers=admin, json_body={"reason": "Spam"})
    assert rejected.status == 200
    timeline = rejected.body["timeline"]
    acted = {e["type"]: e.get("actor_sub") for e in timeline if e["actor_role"] in ("operator", "admin")}
    assert acted == {"acknowledged": operator_sub, "reassigned": admin_sub, "rejected": admin_sub}
    # The reporter sees the same events, without the operators' ids; the public view has no timeline.
    own = call_api("GET", f"/reports/{tracking_id}", headers={"X-Access-Code": code})
    assert [e["type"] for e in own.body["timeline"]] == [e["type"] for e in timeline]
    assert operator_sub not in json.dumps(own.body) and admin_sub not in json.dumps(own.body)
    assert all("actor_sub" not in e for e in own.body["timeline"])
    public = call_api("GET", f"/reports/{tracking_id}")
    assert operator_sub not in json.dumps(public.body) and public.body.get("timeline") is None
    logged = {line["message"]: line.get("by") for line in map(json.loads, log_lines.getvalue().splitlines())}
    assert logged["report answered"] == operator_sub
    assert logged["report reassigned"] == admin_sub and logged["report rejected"] == admin_sub


# -- Hostile input ----------------------------------------------------------------------------------------------

JSON_ROUTES = [  # (method, path, role): every route that takes a JSON body
    ("POST", "/reports", None), ("POST", "/reports/{id}/feedback", None), ("POST", "/reports/{id}/responses", "admin"),
    ("POST", "/reports/{id}/reassign", "admin"), ("POST", "/reports/{id}/reject", "admin"),
    ("PUT", "/admin/agencies", "admin"), ("PUT", "/admin/routes", "admin"), ("PUT", "/admin/calendar", "admin"),
    ("POST", "/admin/sweeps", "admin"), ("POST", "/admin/apikeys", "admin"),
]


@pytest.fixture
def filed(call_api):
    return call_api("POST", "/reports", json_body=VALID_REPORT).body


def _headers(token, role, filed, content_type="application/json"):
    headers = {"Content-Type": content_type, "X-Access-Code": filed["access_code"]}
    return headers | ({"Authorization": token(role)} if role else {})


@pytest.mark.parametrize(("method", "path", "role"), JSON_ROUTES)
def test_every_json_route_refuses_bad_bytes_deep_nesting_and_lookalike_types(call_api, token, filed, aws,
                                                                            method, path, role):
    path = path.replace("{id}", filed["tracking_id"])
    before = table_snapshot(aws)
    not_utf8 = call_api(method, path, body=b'{"title": "\xff\xfe\xc3("}', headers=_headers(token, role, filed))
    assert (not_utf8.status, not_utf8.body["error"]["code"]) == (400, "invalid_encoding")
    deep = call_api(method, path, body="[" * 30_000 + "]" * 30_000, headers=_headers(token, role, filed))
    assert (deep.status, deep.body["error"]["code"]) == (400, "invalid_json")
    deep_in_object = call_api(method, path, body='{"items": ' + "[" * 5000 + "]" * 5000 + "}",
                              headers=_headers(token, role, filed))
    assert (deep_in_object.status, deep_in_object.body["error"]["code"]) == (400, "invalid_json")
    for lookalike in ("application/jsonx", "application/json-patch+json", "text/json"):
        wrong = call_api(method, path, body="{}", headers=_headers(token, role, filed, lookalike))
        assert (wrong.status, wrong.body["error"]["code"]) == (415, "unsupported_media_type"), lookalike
    assert table_snapshot(aws) == before


def table_snapshot(client):
    return sorted(json.dumps(i, sort_keys=True) for i in client.scan(TableName="ReportsTable")["Items"])


def test_brackets_inside_strings_do_not_count_as_nesting(call_api, aws):
    report = VALID_REPORT | {"description": "[[[[" * 40 + " jalan rusak berat sekali " + "]]]]" * 40}
    assert call_api("POST", "/reports", json_body=report).status == 201


@pytest.mark.parametrize(("field", "value"), [
    ("title", "\u200b\u200b\u200b\u200b\u200b\u200b"), ("title", "\u3164" * 6), ("title", " \u00ad\ufeff\u2060 " * 3),
    ("description", "Jalan rusak\x00 parah sekali"), ("description", "Jalan rusak \x1b[31m parah sekali"),
    ("title", "Jalan \u202egnasur\u202c parah"), ("description", "Lihat \u2066kiri\u2069 jalan itu rusak"),
    ("description", "Jalan rusak parah \ud800 sekali"), ("title", "Jalan\x7f rusak"),
])
def test_text_with_nothing_visible_or_with_controls_is_refused(call_api, aws, field, value):
    reply = call_api("POST", "/reports", body=json.dumps(VALID_REPORT | {field: value}),
                     headers={"Content-Type": "application/json"})
    assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error")
    assert reply.body["error"]["details"][0]["loc"][-1] == field
    assert report_items(aws) == []


def test_text_keeps_line_breaks_tabs_emoji_and_other_scripts(call_api, aws):
    text = "Jalan rusak 🚧\nBaris kedua\tdengan tab; \u0627\u0644\u0637\u0631\u064a\u0642 \u200f; 道路"
    reply = call_api("POST", "/reports", json_body=VALID_REPORT | {"description": text})
    assert reply.status == 201
    own = call_api("GET", f"/reports/{reply.body['tracking_id']}", headers={"X-Access-Code": reply.body["access_code"]})
    assert own.body["description"] == text


@pytest.mark.parametrize("location", [{"lat": True, "lon": 117.1}, {"lat": "1.5", "lon": 117.1},
                                      {"lat": -0.5, "lon": "117"}, {"lat": None, "lon": 117.1}])
def test_coordinates_are_numbers_not_booleans_or_strings(call_api, aws, location):
    reply = call_api("POST", "/reports", json_body=VALID_REPORT | {"location": location})
    assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error")
    assert report_items(aws) == []
    whole = call_api("POST", "/reports", json_body=VALID_REPORT | {"location": {"lat": -1, "lon": 117}})
    assert whole.status == 201  # integers are numbers


def test_ratings_flags_and_versions_are_strict(call_api, token, filed):
    path = f"/reports/{filed['tracking_id']}/feedback"
    for body in ({"rating": True}, {"rating": "5"}, {"rating": 5, "reopen": "true"}, {"rating": 4.5}):
        assert call_api("POST", path, json_body=body, headers={"X-Access-Code": filed["access_code"]}).status == 422
    response = {"message": "Sedang dicek", "status": "in_progress", "version": "1"}
    assert call_api("POST", f"/reports/{filed['tracking_id']}/responses", json_body=response,
                    headers={"Authorization": token("admin")}).status == 422
    assert call_api("POST", "/admin/sweeps", json_body={"dry_run": "yes"},
                    headers={"Authorization": token("admin")}).status == 422


@pytest.mark.parametrize("query", ["to=0001-01-01", "from=0001-01-02", "from=9999-12-31", "to=9999-12-31",
                                   "from=1999-12-31&to=2000-06-01", "from=2100-01-01"])
def test_stats_dates_out_of_range_are_a_clear_422(call_api, query):
    reply = call_api("GET", "/stats", query=query)
    assert (reply.status, reply.body["error"]["code"]) == (422, "date_out_of_range")


@pytest.mark.parametrize("query", ["start_date=9999-12-31T00:00:00Z", "end_date=0001-01-02T00:00:00Z",
                                   "start_date=0001-01-01T00:00:00%2B08:00&end_date=0001-01-02T00:00:00Z",
                                   "end_date=9999-12-31T23:59:59Z"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_dates_out_of_range_are_the_spec_400(call_api, query, fmt):
    reply = call_api("GET", f"/open311/v2/requests.{fmt}", query=query)
    assert reply.status == 400
    text = reply.body if fmt == "xml" else json.dumps(reply.body)
    assert "between 2000 and 2100" in text


@pytest.mark.parametrize("as_of", ["9999-12-31T00:00:00Z", "0001-01-02T00:00:00+08:00", "1999-12-31T23:59:59Z"])
def test_sweep_as_of_out_of_range_is_a_422(call_api, token, aws, as_of):
    reply = call_api("POST", "/admin/sweeps", json_body={"as_of": as_of}, headers={"Authorization": token("admin")})
    assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error")
    assert not [i for i in aws.scan(TableName="ReportsTable")["Items"] if i["PK"]["S"] == "SWEEP"]


# -- Cursors ----------------------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_cursors_are_signed_for_their_queue(call_api, token, aws):
    for _ in range(3):
        call_api("POST", "/reports", json_body=VALID_REPORT)
    own = {"Authorization": token("operator", "64-72-pupr")}
    first = call_api("GET", "/agency/reports", headers=own, query="limit=1").body
    cursor = first["next_cursor"]
    assert call_api("GET", "/agency/reports", headers=own, query=f"limit=1&cursor={cursor}").status == 200
    payload, _, signature = cursor.partition(".")
    key = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # A key the server never issued, well-formed for DynamoDB or not: today's 500 is a 400.
    forged_keys = [key | {"agency_sk": {"S": "routed#2000"}}, {"PK": {"S": "CONFIG#APIKEY"}, "SK": {"S": "x"}},
                   {"agency_pk": {"N": "1"}}, key | {"PK": {"S": "REPORT#LPR-00000000"}}]
    forged = [_b64(json.dumps(k).encode()) for k in forged_keys]
    forged += [f"{f}.{signature}" for f in forged] + [f"{payload}.{_b64(b'x' * 16)}", f"{payload}.", "bm9wZQ",
                                                      "....", "%%%", cursor + "A"]
    for bad in forged:
        reply = call_api("GET", "/agency/reports", headers=own, query=f"cursor={bad}")
        assert (reply.status, reply.body["error"]["code"]) == (400, "invalid_cursor"), bad
    # Signed for another queue or another filter: refused as well.
    admin = {"Authorization": token("admin")}
    assert call_api("GET", "/agency/reports", headers=admin, query=f"agency_id=64-71-pupr&cursor={cursor}").status == 400
    assert call_api("GET", "/agency/reports", headers=own, query=f"status=routed&cursor={cursor}").status == 400


def test_a_text_body_with_a_lone_surrogate_is_a_4xx_not_a_500(aws):
    from conftest import ROOT
    from lapor_api.app import lambda_handler
    from lapor_cli.devserver import LambdaContext

    event = json.loads((ROOT / "events/api/post-report.json").read_text())
    event["headers"].pop("idempotency-key", None)
    # API Gateway's event is JSON: a "\ud800" escape in it arrives as a lone surrogate in the body string.
    event["body"] = json.dumps(VALID_REPORT, ensure_ascii=False).replace("Jalan", "Jalan \ud800", 1)
    result = lambda_handler(event, LambdaContext("ApiFunction"))
    assert (result["statusCode"], json.loads(result["body"])["error"]["code"]) == (422, "validation_error")
    assert report_items(aws) == []
