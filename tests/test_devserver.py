"""lapor dev's translation of HTTP to API Gateway HTTP API payload 2.0 events, and back."""

import base64
import json

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from lapor_cli.devserver import build_event, build_response
from lapor_cli.template import FunctionSpec, HttpRoute

ROUTE = HttpRoute("POST", "/reports/{tracking_id}", FunctionSpec("ApiFunction", "functions/api", "x.y"))


def request(**kwargs) -> Request:
    return Request(EnvironBuilder(**kwargs).get_environ())


def test_event_has_the_payload_2_shape_api_gateway_sends():
    req = request(method="POST", path="/reports/LPR-1", base_url="http://127.0.0.1:3000",
                  query_string="a=1&a=2&b=x%20y", data='{"k": 1}',
                  headers={"Content-Type": "application/json", "X-Access-Code": "abc",
                           "Cookie": "session=1; theme=dark"})
    event = build_event(req, ROUTE, ROUTE.match("POST", "/reports/LPR-1"))
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /reports/{tracking_id}"
    assert event["rawPath"] == "/reports/LPR-1"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["pathParameters"] == {"tracking_id": "LPR-1"}
    assert event["headers"]["x-access-code"] == "abc"  # lower-cased names
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"] and event["cookies"] == ["session=1", "theme=dark"]
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["sourceIp"]) == ("POST", "/reports/LPR-1", "127.0.0.1")
    assert event["requestContext"]["stage"] == "$default" and event["requestContext"]["requestId"]
    assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False


def test_binary_bodies_are_base64_encoded():
    payload = bytes(range(256))
    req = request(method="POST", path="/reports/x", data=payload, headers={"Content-Type": "image/png"})
    event = build_event(req, ROUTE, {"tracking_id": "x"})
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_route_matching_follows_api_gateway_path_parameters():
    assert ROUTE.match("POST", "/reports/abc") == {"tracking_id": "abc"}
    assert ROUTE.match("GET", "/reports/abc") is None
    assert ROUTE.match("POST", "/reports/abc/def") is None
    greedy = HttpRoute("ANY", "/open311/{proxy+}", ROUTE.function)
    assert greedy.match("GET", "/open311/v2/services.json") == {"proxy": "v2/services.json"}


def test_lambda_results_become_http_responses():
    response = build_response({"statusCode": 201, "headers": {"Content-Type": "application/json"},
                                "cookies": ["a=1"], "body": '{"ok": true}'})
    assert response.status_code == 201
    assert json.loads(response.get_data()) == {"ok": True}
    assert response.headers.getlist("Set-Cookie") == ["a=1"]
    binary = build_response({"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"\x00\x01").decode()})
    assert binary.get_data() == b"\x00\x01"
    # A bare JSON value (payload 2.0 allows it) is a 200 with that JSON.
    assert json.loads(build_response({"hello": "world"}).get_data()) == {"hello": "world"}


def test_the_access_log_prints_method_path_status_and_milliseconds_only():
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from lapor_cli.devserver import AccessLog

    lines: list[str] = []

    def app(environ, start_response):
        environ["PATH_INFO"] = "/rewritten"  # a mounted app may rewrite the environ: the path is read first
        return Response("nope", status=403)(environ, start_response)

    client = Client(AccessLog(app, lines.append))
    client.get("/s3/bucket/ready/LPR-1/a%0Ab?X-Amz-Signature=secret", headers={"X-Access-Code": "CODE-1234"}).close()
    (line,) = lines
    method, path, status, millis, unit = line.split(" ")
    assert (method, path, status, unit) == ("GET", "/s3/bucket/ready/LPR-1/a%0Ab", "403", "ms")
    assert int(millis) >= 0 and "secret" not in line and "CODE" not in line and "\n" not in line

    def crashing(environ, start_response):
        raise RuntimeError("boom")

    import pytest

    with pytest.raises(RuntimeError):
        Client(AccessLog(crashing, lines.append)).post("/reports")
    assert lines[-1].startswith("POST /reports 500 ")
