"""``lapor site publish`` on moto S3 and CloudFormation outputs: types and cache headers as lapor dev sends them,
config.js from the stack's outputs (never the local one), upload order, pruning; and the template's site origin."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lapor_cli import publish
from lapor_cli.main import build_parser
from lapor_cli.template import load_template

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = {"SiteBucketName": "lapor-site-test", "SiteUrl": "https://d111111abcdef8.cloudfront.net",
           "ApiUrl": "https://abc123.execute-api.ap-southeast-3.amazonaws.com",
           "OperatorPoolId": "ap-southeast-3_AbCdEf123", "OperatorPoolClientId": "1example23456789",
           "OperatorPoolDomain": "lapor-ops.auth.ap-southeast-3.amazoncognito.com",
           "MediaOrigin": "https://lapor-media-x.s3.ap-southeast-3.amazonaws.com"}


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=OUTPUTS["SiteBucketName"],
                             CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
        yield client


@pytest.fixture
def web(tmp_path: Path) -> Path:
    root = tmp_path / "web"
    for name, text in {
        "index.html": "<!doctype html><title>Lapor</title>", "stats.html": "<!doctype html>",
        "docs/index.html": "<!doctype html>", "config.js": 'export const config = {apiBase: ""};',
        "js/api.js": "export {};", "js/app.3f9a1c2b.js": "export {};", "css/lapor.css": "body{}",
        "favicon.svg": "<svg/>", "vendor/lib-1.0.0/lib.js": "/* lib */", "vendor/lib-1.0.0/LICENSE": "MIT",
        "vendor/README.md": "notes", ".env": "SECRET=1", "js/tool.py": "print()",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def head(s3, key):
    return s3.head_object(Bucket=OUTPUTS["SiteBucketName"], Key=key)


def test_each_object_has_the_type_and_cache_header_lapor_dev_sends(s3, web):
    done = publish.publish(s3, OUTPUTS["SiteBucketName"], web, OUTPUTS)
    expected = {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        "stats.html": ("text/html; charset=utf-8", "no-cache"),
        "docs/index.html": ("text/html; charset=utf-8", "no-cache"),
        "js/api.js": ("text/javascript; charset=utf-8", "no-cache"),
        "css/lapor.css": ("text/css; charset=utf-8", "no-cache"),
        "config.js": ("text/javascript; charset=utf-8", "no-cache"),
        "favicon.svg": ("image/svg+xml", "no-cache"),
        "js/app.3f9a1c2b.js": ("text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
        "vendor/lib-1.0.0/lib.js": ("text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
        "vendor/lib-1.0.0/LICENSE": ("text/plain; charset=utf-8", "public, max-age=31536000, immutable"),
    }
    for key, (content_type, cache) in expected.items():
        found = head(s3, key)
        assert (found["ContentType"], found["CacheControl"]) == (content_type, cache), key
    # Nothing lapor dev would refuse to serve: hidden files, unknown types, notes.
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=OUTPUTS["SiteBucketName"])["Contents"]}
    assert stored == set(expected) == set(done.uploaded)
    # Immutable assets first, pages last (a page never names a file not uploaded yet); config.js before pages.
    order = done.uploaded
    assert order.index("vendor/lib-1.0.0/lib.js") < order.index("js/api.js") < order.index("index.html")
    assert order.index("config.js") < min(order.index(k) for k in order if k.endswith(".html"))
    assert all(k.endswith(".html") for k in order[min(order.index(k) for k in order if k.endswith(".html")):])


def test_config_js_comes_from_the_stack_outputs_not_the_checkout(s3, web):
    publish.publish(s3, OUTPUTS["SiteBucketName"], web, OUTPUTS)
    body = s3.get_object(Bucket=OUTPUTS["SiteBucketName"], Key="config.js")["Body"].read().decode()
    assert body.startswith("// Written by `lapor site publish`")
    # Still an ES module exporting one object, in the shape the pages read (web/config.js, web/js/auth.js).
    text = body.split("export const config = ", 1)[1].rstrip().rstrip(";")
    import json

    config = json.loads(text)
    local = (ROOT / "web" / "config.js").read_text()
    for key in ("apiBase", "mediaOrigin", "mapTiles", "url", "attribution", "maxZoom", "signIn", "domain", "clientId",
                "redirectUri", "logoutUri"):
        assert f"{key}:" in local, key  # the checkout's config.js has the same keys
    assert config["apiBase"] == ""  # the API shares the site's origin through CloudFront
    assert config["mediaOrigin"] == OUTPUTS["MediaOrigin"] and config["signIn"] == "cognito"
    assert config["cognito"] == {"domain": "https://lapor-ops.auth.ap-southeast-3.amazoncognito.com",
                                 "clientId": "1example23456789",
                                 "redirectUri": "https://d111111abcdef8.cloudfront.net/desk/signin.html",
                                 "logoutUri": "https://d111111abcdef8.cloudfront.net/desk/signin.html"}


def test_a_stack_without_a_hosted_ui_domain_gets_null(s3, web):
    publish.publish(s3, OUTPUTS["SiteBucketName"], web, {k: v for k, v in OUTPUTS.items()
                                                          if k != "OperatorPoolDomain"})
    body = s3.get_object(Bucket=OUTPUTS["SiteBucketName"], Key="config.js")["Body"].read().decode()
    assert '"domain": null' in body


def test_the_template_offers_the_hosted_ui_to_the_desk_once_its_sign_in_page_is_named():
    resources = load_template(ROOT / "template.yaml").resources
    client = resources["OperatorPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False  # a public client: PKCE, no secret in the page
    assert client["AllowedOAuthFlows"]["Fn::If"][1] == ["code"]  # never the implicit flow
    assert client["CallbackURLs"]["Fn::If"][1] == [{"Ref": "OperatorSignInUrl"}]
    assert resources["OperatorPoolDomain"]["Type"] == "AWS::Cognito::UserPoolDomain"


def test_prune_deletes_what_the_site_no_longer_has_and_nothing_by_default(s3, web):
    bucket = OUTPUTS["SiteBucketName"]
    s3.put_object(Bucket=bucket, Key="old.html", Body=b"old")
    assert publish.publish(s3, bucket, web, OUTPUTS).deleted == []
    assert head(s3, "old.html")
    assert publish.publish(s3, bucket, web, OUTPUTS, prune=True).deleted == ["old.html"]
    with pytest.raises(s3.exceptions.ClientError):
        head(s3, "old.html")


def test_the_command_reads_the_stack_outputs_and_publishes_the_real_site(s3, monkeypatch, capsys):
    cloudformation = boto3.client("cloudformation")
    template = ('{"Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}}, "Outputs": {'
                + ", ".join(f'"{k}": {{"Value": "{v}"}}' for k, v in OUTPUTS.items()) + "}}")
    cloudformation.create_stack(StackName="lapor", TemplateBody=template)
    args = build_parser().parse_args(["site", "publish", "--stack", "lapor", "--region", "ap-southeast-3"])
    assert args.func(args) == 0
    assert "published" in capsys.readouterr().out
    keys = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=OUTPUTS["SiteBucketName"])
            for o in page.get("Contents", [])}
    assert {"index.html", "stats.html", "recent.html", "docs/index.html", "config.js", "js/charts.js",
            "vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js", "vendor/swagger-ui-dist-5.35.0/LICENSE"} <= keys
    assert head(s3, "vendor/swagger-ui-dist-5.35.0/swagger-ui.css")["CacheControl"].endswith("immutable")


def test_a_stack_without_the_site_outputs_is_refused(s3, capsys):
    boto3.client("cloudformation").create_stack(
        StackName="old", TemplateBody='{"Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}}}')
    args = build_parser().parse_args(["site", "publish", "--stack", "old", "--region", "ap-southeast-3"])
    assert args.func(args) == 1
    assert "deploy the current template.yaml" in capsys.readouterr().out


def test_the_template_serves_site_and_api_on_one_origin_from_a_private_bucket():
    resources = load_template(ROOT / "template.yaml").resources
    bucket = resources["SiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"][k] for k in
               ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    assert "WebsiteConfiguration" not in bucket
    statements = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in allow["Condition"]["StringEquals"]  # this distribution only
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["site"]["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert origins["api"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    forwarded = {b["PathPattern"] for b in config["CacheBehaviors"] if b["TargetOriginId"] == "api"}
    # Every API route the pages call goes to the API; exact patterns, so /stats.html stays a page.
    assert {"/reports", "/reports/*", "/categories", "/regions", "/stats", "/openapi.json", "/agency/*",
            "/admin/*", "/open311/*"} <= forwarded
    assert not any(p.endswith("*") and not p.endswith("/*") for p in forwarded)
    for behaviour in config["CacheBehaviors"]:
        assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled


def test_config_js_names_the_stacks_tile_server_and_its_origin_is_in_the_policy(s3, web):
    """The tiles in config.js are the stack's MapTilesUrl, whose origin the distribution's img-src allows (the
    policy lapor dev derives from its config.js the same way); the defaults agree with web/config.js."""
    from lapor_cli.site import TILE_URL, tile_origin

    tiles = {"MapTilesUrl": "https://tiles.example.id/osm/{z}/{x}/{y}.png",
             "MapTilesAttribution": "&copy; Contoh", "MapTilesMaxZoom": "18"}
    publish.publish(s3, OUTPUTS["SiteBucketName"], web, OUTPUTS | tiles)
    body = s3.get_object(Bucket=OUTPUTS["SiteBucketName"], Key="config.js")["Body"].read().decode()
    assert '"mapTiles": {' in body
    config = json.loads(body.split("export const config = ", 1)[1].rstrip().rstrip(";"))
    assert config["mapTiles"] == {"url": tiles["MapTilesUrl"], "attribution": "&copy; Contoh", "maxZoom": 18}
    # An older stack without the outputs: OpenStreetMap's, as web/config.js.
    assert json.loads(publish.config_js(OUTPUTS).split("= ", 1)[1].rstrip().rstrip(";"))["mapTiles"] == \
        publish.DEFAULT_TILES
    local = (ROOT / "web" / "config.js").read_text()
    assert f'url: "{publish.DEFAULT_TILES["url"]}"' in local and publish.DEFAULT_TILES["attribution"] in local
    # The template: MapTilesUrl defaults to the same, fits lapor dev's idea of a tile URL, and its host is in img-src.
    template = load_template(ROOT / "template.yaml")
    parameter = template.parameters["MapTilesUrl"]
    assert parameter["Default"] == publish.DEFAULT_TILES["url"] and TILE_URL.match(parameter["Default"])
    policy, variables = template.resources["SiteHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert variables == {"TileHost": {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "MapTilesUrl"}]}]}}
    host = parameter["Default"].split("/")[2]
    assert f"https://{host}" == tile_origin(ROOT / "web")
    img_src = next(d for d in policy.replace("${TileHost}", host).split("; ") if d.startswith("img-src"))
    assert img_src.split()[-1] == tile_origin(ROOT / "web")
    import yaml

    from lapor_cli.template import _CfnLoader

    document = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
    assert set(document["Outputs"]) >= {"MapTilesUrl", "MapTilesAttribution", "MapTilesMaxZoom"}
