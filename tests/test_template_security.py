"""template.yaml's security properties (issue #10, docs/security.md "Infrastructure"): throttling, reserved
concurrency, access logs, least-privilege IAM, MFA, log retention. moto enforces no IAM, so these are checked here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from conftest import ROOT
from lapor_cli.template import _CfnLoader, load_template

DOCUMENT: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
RESOURCES: dict[str, Any] = DOCUMENT["Resources"]
TEMPLATE = load_template(ROOT / "template.yaml")
FUNCTIONS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
API = RESOURCES["HttpApi"]["Properties"]

TABLE_ARN = {"Fn::GetAtt": ["ReportsTable", "Arn"]}
PUBLIC_WRITE_ROUTES = ("POST /reports", "POST /reports/{tracking_id}/feedback", "POST /reports/{tracking_id}/supporters",
                       "POST /reports/{tracking_id}/attachments",
                       "DELETE /reports/{tracking_id}/attachments/{attachment_id}", "POST /webhooks/sms/twilio",
                       "POST /webhooks/sms/generic", "POST /open311/v2/requests.json",
                       "POST /open311/v2/requests.xml",
                       # Any method: it stores nothing (only the spec's errors), but takes every method unsigned.
                       "ANY /open311/v2/{proxy+}")
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                 "dynamodb:ConditionCheckItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate",
                 "dynamodb:PartiQLDelete"}
# Each function's writes to the reports table: action -> the partition keys (dal/keys.py's item types) it may write.
EXPECTED_WRITES = {
    # ConditionCheckItem CONFIG#VERSION: a filing checks the configuration's version in its own transaction.
    "ApiFunction": {"dynamodb:PutItem": {"REPORT#*", "INTAKE#*", "SUPPORT#*"}, "dynamodb:UpdateItem": {"REPORT#*"},
                    "dynamodb:ConditionCheckItem": {"CONFIG#VERSION"}},
    "AdminFunction": {"dynamodb:BatchWriteItem": {"CONFIG#AGENCY", "CONFIG#ROUTE", "CONFIG#CALENDAR"},
                      # SWEEPRUN#*: an inline dry run's listing (its entries and their counter).
                      "dynamodb:PutItem": {"CONFIG#APIKEY", "SWEEP", "SWEEPRUN#*"},
                      "dynamodb:UpdateItem": {"SWEEP", "SWEEPRUN#*", "CONFIG#APIKEY", "CONFIG#VERSION"}},
    "StatsFunction": {"dynamodb:PutItem": {"STATSEEN#*"}, "dynamodb:UpdateItem": {"STATS#*"}},
    "SmsFunction": {"dynamodb:PutItem": {"SMS#*", "REPORT#*"}, "dynamodb:UpdateItem": {"SMSQUOTA#*"}},
    "SweepFunction": {"dynamodb:PutItem": {"SWEEP"}, "dynamodb:UpdateItem": {"SWEEP"}},
    # PutItem REPORT#*: the timeline event of each escalation and closing (one transaction with the change);
    # SWEEPRUN#*: a dry run's listing of what would escalate (its entries and their counter).
    "SweepWorkerFunction": {"dynamodb:UpdateItem": {"REPORT#*", "SWEEP", "SWEEPRUN#*"},
                            "dynamodb:PutItem": {"REPORT#*", "SWEEPRUN#*"}},
    "NotifyFunction": {},
    # An attachment ready or rejected (UpdateItem), with the report's change and its event (one transaction).
    "MediaFunction": {"dynamodb:PutItem": {"REPORT#*"}, "dynamodb:UpdateItem": {"REPORT#*"}},
}
RESERVED = {"ApiFunction": "ApiReservedConcurrency", "AdminFunction": "AdminReservedConcurrency",
            "SmsFunction": "SmsReservedConcurrency", "SweepWorkerFunction": "SweepWorkerReservedConcurrency"}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(function: str) -> list[dict[str, Any]]:
    return [s for policy in FUNCTIONS[function].get("Policies", []) if isinstance(policy, dict)
            for s in policy.get("Statement", [])]


def leading_keys(statement: dict[str, Any]) -> set[str] | None:
    """The partition keys a statement is limited to, or None when it is not limited."""
    keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
    return set(as_list(keys)) if keys is not None else None


def resolved(value: Any) -> Any:
    """A parameter reference as its default (what a deploy without overrides gets); any other value as is."""
    if isinstance(value, dict) and "Ref" in value:
        return DOCUMENT["Parameters"][value["Ref"]]["Default"]
    return value


def on_table(statement: dict[str, Any]) -> bool:
    return TABLE_ARN in as_list(statement["Resource"])


def on_reports_table_or_index(resource: Any) -> bool:
    return resource == TABLE_ARN or (isinstance(resource, dict) and "${ReportsTable.Arn}" in str(resource.get("Fn::Sub")))


# -- throttling -------------------------------------------------------------------------------------------------

def test_every_route_of_the_stage_is_throttled():
    default = API["DefaultRouteSettings"]
    assert 0 < default["ThrottlingRateLimit"] <= 100
    assert 0 < default["ThrottlingBurstLimit"] <= 200


@pytest.mark.parametrize("route_key", PUBLIC_WRITE_ROUTES)
def test_public_write_routes_are_throttled_tighter_than_the_rest(route_key):
    default, route = API["DefaultRouteSettings"], API["RouteSettings"][route_key]
    assert 0 < route["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
    assert 0 < route["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    assert route["ThrottlingBurstLimit"] >= route["ThrottlingRateLimit"]


def test_every_public_write_route_has_its_own_limit_and_every_limit_names_a_route():
    routes = {r.route_key: r for r in TEMPLATE.http_routes}
    public_writes = {key for key, r in routes.items() if r.authorizer is None and r.method != "GET"}
    assert public_writes == set(PUBLIC_WRITE_ROUTES)  # a new public write route needs a limit (and this list)
    # A key naming no route fails the deploy ("Unable to find Route by key").
    assert set(API["RouteSettings"]) <= set(routes)


# -- reserved concurrency ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("function", "parameter"), RESERVED.items())
def test_reserved_concurrency_is_a_parameter_where_zero_means_none(function, parameter):
    wired = FUNCTIONS[function]["ReservedConcurrentExecutions"]
    condition, value, otherwise = wired["Fn::If"]
    assert value == {"Ref": parameter} and otherwise == {"Ref": "AWS::NoValue"}
    assert DOCUMENT["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}
    declared = DOCUMENT["Parameters"][parameter]
    assert declared["Type"] == "Number" and declared["MinValue"] == 0 and declared["Default"] > 0


def test_no_function_reserves_a_fixed_concurrency():
    for name, props in FUNCTIONS.items():
        assert name in RESERVED or "ReservedConcurrentExecutions" not in props, name


# -- access logs ------------------------------------------------------------------------------------------------

def access_log_format() -> str:
    return API["AccessLogSettings"]["Format"]


def test_the_stage_writes_access_logs_to_a_group_with_retention():
    destination = API["AccessLogSettings"]["DestinationArn"]
    group = RESOURCES[destination["Fn::GetAtt"][0]]
    assert destination["Fn::GetAtt"][1] == "Arn" and group["Type"] == "AWS::Logs::LogGroup"
    assert resolved(group["Properties"]["RetentionInDays"]) > 0


def test_access_log_lines_are_json_with_request_route_status_latency_and_caller():
    line = json.loads(access_log_format())
    values = set(line.values())
    assert {"$context.requestId", "$context.routeKey", "$context.status", "$context.responseLatency",
            "$context.authorizer.claims.sub"} <= values


def test_access_logs_never_hold_ip_user_agent_path_query_or_body():
    variables = re.findall(r"\$[\w.]+", access_log_format())
    assert variables
    forbidden = ("identity", "sourceip", "useragent", "path", "query", "body", "$input", "$request", "$stagevariables")
    for variable in variables:
        assert not any(word in variable.lower() for word in forbidden), variable


# -- IAM --------------------------------------------------------------------------------------------------------

def test_only_the_admin_function_may_batch_write():
    for name in FUNCTIONS:
        granted = {a for s in statements(name) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
        assert ("dynamodb:BatchWriteItem" in granted) == (name == "AdminFunction"), name


@pytest.mark.parametrize("function", EXPECTED_WRITES)
def test_writes_to_the_reports_table_are_limited_to_the_item_types_the_function_writes(function):
    writes: dict[str, set[str]] = {}
    for statement in statements(function):
        actions = WRITE_ACTIONS & set(as_list(statement["Action"]))
        if statement["Effect"] != "Allow" or not actions:
            continue
        resources = as_list(statement["Resource"])
        if not any(on_reports_table_or_index(r) for r in resources):
            continue
        assert resources == [TABLE_ARN], f"{function} writes to an index or to more than the table: {resources}"
        keys = leading_keys(statement)
        assert keys, f"{function}: {sorted(actions)} on the reports table without dynamodb:LeadingKeys"
        for action in actions:
            writes.setdefault(action, set()).update(keys)
    assert writes == EXPECTED_WRITES[function]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_grant_on_the_reports_table_itself_names_its_item_types(function):
    for statement in statements(function):
        if statement["Effect"] == "Allow" and on_table(statement):
            assert leading_keys(statement), f"{function}: {statement['Action']} on any item"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_nothing_scans_nor_grants_a_whole_service(function):
    for statement in statements(function):
        for action in as_list(statement["Action"]):
            assert not action.endswith("*") and action not in ("dynamodb:Scan", "dynamodb:PartiQLSelect"), action


def test_the_item_types_granted_are_the_data_layers_key_prefixes():
    dal = (ROOT / "layers" / "core" / "lapor" / "dal" / "keys.py").read_text(encoding="utf-8")
    for function in FUNCTIONS:
        for statement in statements(function):
            for key in leading_keys(statement) or ():
                prefix = key.rstrip("*")
                assert f'"{prefix}' in dal or f'f"{prefix}' in dal, f"{function}: {key} is no item type of dal/keys.py"


def test_only_sms_publishing_is_granted_on_any_resource_and_never_to_topics_or_endpoints():
    for name in FUNCTIONS:
        for statement in statements(name):
            if statement["Effect"] == "Allow" and "*" in as_list(statement["Resource"]):
                assert (name, as_list(statement["Action"])) == ("NotifyFunction", ["sns:Publish"])
                assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": {"Ref": "AWS::Region"}}}
    denies = [s for s in statements("NotifyFunction") if s["Effect"] == "Deny"]
    assert any(as_list(s["Action"]) == ["sns:Publish"]
               and as_list(s["Resource"]) == [{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}] for s in denies)
    for name in set(FUNCTIONS) - {"NotifyFunction"}:
        assert not any("sns:Publish" in as_list(s["Action"]) for s in statements(name)), name


def test_admin_routes_run_in_the_admin_function_and_only_they_do():
    served = {r.route_key: r.function.logical_id for r in TEMPLATE.http_routes}
    for route_key, function in served.items():
        assert (function == "AdminFunction") == route_key.split(" ", 1)[1].startswith("/admin/"), route_key
    api, admin = FUNCTIONS["ApiFunction"], FUNCTIONS["AdminFunction"]
    assert (admin["CodeUri"], admin["Handler"]) == (api["CodeUri"], api["Handler"])


def test_lapor_dev_runs_both_api_functions_on_the_one_handler():
    from lapor_cli.devserver import DevApp

    app = DevApp(TEMPLATE, {name: name for name in TEMPLATE.tables}, lambda: None, issuer=None)  # type: ignore[arg-type]
    api, admin = TEMPLATE.functions["ApiFunction"], TEMPLATE.functions["AdminFunction"]
    assert app.handler(api) is app.handler(admin)
    assert app.environment(admin)["LAPOR_TABLE_NAME"] == "ReportsTable"


# -- Cognito, logs, traces --------------------------------------------------------------------------------------

def test_every_operator_signs_in_with_a_totp_second_factor():
    pool = RESOURCES["OperatorPool"]["Properties"]
    assert pool["MfaConfiguration"] == "ON"  # the string: a bare ON in YAML would be True
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_logs_to_a_group_with_retention(function):
    group = FUNCTIONS[function]["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert resolved(RESOURCES[group]["Properties"]["RetentionInDays"]) > 0


def test_traces_record_no_response_nor_error():
    variables = DOCUMENT["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"


# -- Operations: every alarm pages someone; the reports table survives a stray delete -------------------------------

ALARMS = {resource_id: resource["Properties"] for resource_id, resource in TEMPLATE.resources.items()
          if resource["Type"] == "AWS::CloudWatch::Alarm"}


def test_every_alarm_notifies_the_alarm_topic_and_an_address_can_subscribe():
    assert len(ALARMS) >= 10
    for name, alarm in ALARMS.items():
        assert alarm.get("AlarmActions") == [{"Ref": "AlarmTopic"}], name
    assert TEMPLATE.resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    email = TEMPLATE.resources["AlarmTopicEmail"]
    assert email["Condition"] == "HasAlarmEmail" and email["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert TEMPLATE.parameters["AlarmEmail"]["Default"] == ""


def _watched(alarm: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, what) of every metric an alarm reads; ``what`` is the resource it names."""
    stats = [alarm] + [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
    found = set()
    for stat in stats:
        if "MetricName" not in stat:
            continue
        dims = {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])}
        what = next(iter(dims.values()), {}) if dims else {}
        what = what.get("Ref") or (what.get("Fn::GetAtt") or [""])[0] if isinstance(what, dict) else what
        found.add((stat["Namespace"], stat["MetricName"], what))
    return found


@pytest.mark.parametrize(("namespace", "metric", "resource"), [
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "StreamDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "NoticeDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "SweepDeadLetterQueue"),
    ("AWS/ApiGateway", "5xx", "HttpApi"),
    ("AWS/Lambda", "Errors", "SmsFunction"),
    ("AWS/Lambda", "IteratorAge", "StatsFunction"),
    ("AWS/Lambda", "IteratorAge", "NotifyFunction"),
])
def test_the_failures_that_matter_are_alarmed(namespace, metric, resource):
    assert any((namespace, metric, resource) in _watched(alarm) for alarm in ALARMS.values())


def test_the_api_error_alarm_is_a_rate_not_a_count():
    alarm = ALARMS["ApiServerErrorsAlarm"]
    [rate] = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert "errors / requests" in rate["Expression"] and alarm["Threshold"] == 1


def test_the_reports_table_is_protected_from_deletion_and_recoverable():
    table = TEMPLATE.resources["ReportsTable"]
    assert table["DeletionPolicy"] == "Retain" and table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


@pytest.mark.parametrize("function", ["AdminFunction", "SweepFunction", "SweepWorkerFunction"])
def test_functions_that_start_or_continue_sweeps_send_to_the_sweep_queue_alone(function):
    sends = [s for s in statements(function) if "sqs:SendMessage" in as_list(s["Action"])]
    assert [as_list(s["Resource"]) for s in sends] == [[{"Fn::GetAtt": ["SweepQueue", "Arn"]}]]
    assert as_list(sends[0]["Action"]) == ["sqs:SendMessage"]
    assert FUNCTIONS[function]["Environment"]["Variables"]["LAPOR_SWEEP_QUEUE_URL"] == {"Ref": "SweepQueue"}


def test_the_sweep_worker_knows_the_last_delivery_of_a_message():
    worker = FUNCTIONS["SweepWorkerFunction"]["Environment"]["Variables"]
    redrive = RESOURCES["SweepQueue"]["Properties"]["RedrivePolicy"]
    assert int(worker["LAPOR_SWEEP_MAX_RECEIVE_COUNT"]) == redrive["maxReceiveCount"]


# -- attachments bucket (design §4.1) ---------------------------------------------------------------------------

BUCKET = RESOURCES["MediaBucket"]["Properties"]


def test_the_attachments_bucket_is_private_encrypted_and_tls_only():
    assert all(BUCKET["PublicAccessBlockConfiguration"][k] is True for k in
               ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    [rule] = BUCKET["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert BUCKET["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [deny] = RESOURCES["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2  # the bucket and every object


def test_uploads_expire_after_a_day_and_cors_allows_the_site_origin_only():
    rules = {r["Id"]: r for r in BUCKET["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireUploads"]["Prefix"] == "uploads/" and rules["ExpireUploads"]["ExpirationInDays"] == 1
    [cors] = BUCKET["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == [{"Ref": "SiteOrigin"}]
    assert set(cors["AllowedMethods"]) <= {"GET", "POST"}


def test_media_function_runs_on_uploads_only_and_touches_only_its_prefixes():
    media = FUNCTIONS["MediaFunction"]
    [event] = media["Events"].values()
    assert event["Type"] == "S3" and event["Properties"]["Bucket"] == {"Ref": "MediaBucket"}
    assert event["Properties"]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    s3: dict[str, list] = {}
    for s in statements("MediaFunction"):
        for a in as_list(s["Action"]):
            if a.startswith("s3:"):
                s3.setdefault(a, []).append(s["Resource"])
    name = BUCKET["BucketName"]["Fn::Sub"]

    def prefixes(action):
        return sorted(r["Fn::Sub"][0].removeprefix("arn:${AWS::Partition}:s3:::" + name[0]) for r in s3[action])

    assert prefixes("s3:GetObject") == ["/uploads/*"]
    # Uploads once handled; ready files written for an attachment removed or hidden meanwhile.
    assert prefixes("s3:DeleteObject") == ["/ready/*", "/uploads/*"]
    assert prefixes("s3:PutObject") == ["/ready/*"]
    assert all(r["Fn::Sub"][1] == name[1] for rs in s3.values() for r in rs)  # the same bucket, built the same way
    api: dict[str, list] = {}
    for s in statements("ApiFunction"):
        for a in as_list(s["Action"]):
            if a.startswith("s3:"):
                api.setdefault(a, []).extend(as_list(s["Resource"]))
    assert api == {"s3:PutObject": [{"Fn::Sub": "${MediaBucket.Arn}/uploads/*"}],
                   "s3:GetObject": [{"Fn::Sub": "${MediaBucket.Arn}/ready/*"}],
                   # a reporter's removal deletes the attachment's files
                   "s3:DeleteObject": [{"Fn::Sub": "${MediaBucket.Arn}/uploads/*"},
                                       {"Fn::Sub": "${MediaBucket.Arn}/ready/*"}]}
