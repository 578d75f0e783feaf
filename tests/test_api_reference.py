"""GET /categories, /regions and /openapi.json, and the template's routes matching the app's."""

from conftest import ROOT

# The functions running lapor_api's resolver: citizen/operator/Open311 routes, and the admin routes.
API_FUNCTIONS = ("ApiFunction", "AdminFunction")


def test_categories_list_every_category_with_both_names_and_its_deadline(call_api):
    reply = call_api("GET", "/categories")
    assert reply.status == 200
    items = {c["id"]: c for c in reply.body["items"]}
    assert len(items) == 11
    assert items["health"]["name_id"] == "Kesehatan" and items["health"]["name_en"] == "Health"
    assert all(c["deadline_working_days"] == 30 for c in items.values())


def test_regions_cascade_from_provinces_to_kecamatan(call_api):
    provinces = call_api("GET", "/regions").body["items"]
    assert len(provinces) == 38
    kaltim = call_api("GET", "/regions", query="parent=64").body["items"]
    assert len(kaltim) == 10
    samarinda = next(r for r in kaltim if r["code"] == "64.72")
    assert samarinda == {"code": "64.72", "name": "Kota Samarinda", "type": "kota",
                         "timezone": "Asia/Makassar", "timezone_abbreviation": "WITA"}
    kecamatan = call_api("GET", "/regions", query="parent=64.72").body["items"]
    assert {"64.72.01", "64.72.02"} <= {r["code"] for r in kecamatan}
    assert call_api("GET", "/regions", query="parent=91").body["items"][0]["timezone"] == "Asia/Jayapura"


def test_there_are_514_kabupaten_and_kota():
    from lapor.domain.reference import child_regions

    assert sum(len(child_regions(p.code)) for p in child_regions(None)) == 514


def test_unknown_or_malformed_parents_are_clear_errors(call_api):
    unknown = call_api("GET", "/regions", query="parent=99")
    assert (unknown.status, unknown.body["error"]["code"]) == (404, "unknown_region")
    malformed = call_api("GET", "/regions", query="parent=abc")
    assert (malformed.status, malformed.body["error"]["code"]) == (422, "validation_error")


def test_openapi_document_describes_every_public_route(call_api):
    reply = call_api("GET", "/openapi.json")
    assert reply.status == 200
    document = reply.body
    assert document["openapi"].startswith("3.")
    from lapor_cli.template import load_template

    served = {r.path for r in load_template(ROOT / "template.yaml").http_routes}
    # The catch-all under /open311/v2 answers only the spec's errors (app.not_found): no operation to describe.
    assert set(document["paths"]) == served - {"/openapi.json", "/open311/v2/{proxy+}"}
    assert set(document["paths"]["/webhooks/sms/generic"]["post"]["responses"]) >= {"200", "403"}
    assert {"/reports", "/reports/{tracking_id}", "/admin/sweeps", "/admin/apikeys"} <= served
    assert document["components"]["securitySchemes"]["operatorJwt"]["scheme"] == "bearer"
    assert document["paths"]["/agency/reports"]["get"]["security"] == [{"operatorJwt": []}]
    assert "security" not in document["paths"]["/reports"]["post"]
    post = document["paths"]["/reports"]["post"]
    assert {"201", "400", "409", "413", "415", "422"} <= set(post["responses"])
    assert any(p["name"] == "idempotency-key" for p in post["parameters"])
    assert "ReportIn" in document["components"]["schemas"]


def test_template_routes_and_app_routes_are_the_same_set():
    """template.yaml is the one source of routes: the app must serve exactly those."""
    from lapor_api.app import app
    from lapor_cli.template import load_template

    template_routes = {(r.method, r.path) for r in load_template(ROOT / "template.yaml").http_routes
                       if r.function.logical_id in API_FUNCTIONS}
    # A greedy route is no route of the app: what it catches is the app's not_found (the spec's errors).
    greedy = {route for route in template_routes if "+}" in route[1]}
    assert greedy == {("ANY", "/open311/v2/{proxy+}")}
    template_routes -= greedy
    app_routes = set()
    for route in app._static_routes + app._dynamic_routes:
        for method in route.method.split("|"):
            app_routes.add((method, route.path.replace("<", "{").replace(">", "}")))
    assert app_routes == template_routes


def test_unknown_routes_in_the_app_answer_in_the_error_shape(aws):
    from lapor_api.app import lambda_handler
    from lapor_cli.devserver import LambdaContext

    event = {"version": "2.0", "routeKey": "$default", "rawPath": "/nope", "rawQueryString": "",
             "headers": {}, "requestContext": {"http": {"method": "GET", "path": "/nope"}, "stage": "$default",
                                               "requestId": "r"}, "isBase64Encoded": False}
    result = lambda_handler(event, LambdaContext("ApiFunction"))
    assert result["statusCode"] == 404 and '"route_not_found"' in result["body"]


def test_every_sample_event_runs_through_the_handler(aws):
    """events/ holds a sample for each route; each is answered (not crashed) by the real handler."""
    import json

    from lapor_api.app import lambda_handler
    from lapor_cli.devserver import LambdaContext
    from lapor_cli.template import load_template

    expected = {"post-report": 201, "post-report-invalid": 422, "get-report": 404,
                "get-report-with-access-code": 404, "get-categories": 200, "get-regions": 200, "get-openapi": 200,
                "get-agency-queue": 200, "get-agency-me": 200, "get-agency-report": 404, "get-merge-candidates": 404, "post-response": 404, "post-reassign": 404,
                "post-reject": 404, "post-merge": 404, "delete-merge": 404, "post-feedback": 404, "post-report-supporters": 404, "post-attachment": 404, "post-agency-attachment": 404,
                "delete-attachment": 404, "post-attachment-hide": 404, "get-admin-agencies": 200, "put-admin-agencies": 200,
                "get-admin-routes": 200, "put-admin-routes": 200, "get-admin-calendar": 200, "put-admin-calendar": 200,
                "get-stats": 200, "get-public-reports": 200, "get-nearby-reports": 200, "post-admin-sweep": 200, "get-admin-sweeps": 200, "get-admin-sweep": 404, "post-admin-apikey": 201,
                "get-admin-apikeys": 200, "post-admin-apikey-revoke": 404, "get-open311-services": 200,
                "get-open311-services-xml": 200, "get-open311-discovery-json": 200, "get-open311-discovery-xml": 200, "any-open311-other": 404, "get-open311-updates-json": 200, "get-open311-updates-xml": 200, "get-open311-service-definition": 200,
                "post-open311-request": 403, "post-open311-request-xml": 403,  # the sample key was never issued
                "get-open311-requests": 200, "get-open311-requests-xml": 200, "get-open311-request": 404}
    samples = {p.stem: json.loads(p.read_text()) for p in (ROOT / "events" / "api").glob("*.json")}
    assert set(samples) == set(expected)
    covered = {event["routeKey"] for event in samples.values()}
    assert covered == {r.route_key for r in load_template(ROOT / "template.yaml").http_routes
                       if r.function.logical_id in API_FUNCTIONS}
    for name, event in samples.items():
        assert lambda_handler(event, LambdaContext("ApiFunction"))["statusCode"] == expected[name], name
