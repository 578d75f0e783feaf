"""``lapor dev`` serves the web app (lapor_cli/site.py): known files only, never outside web/, no listings."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from lapor_cli.site import serve_site

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    (web / "js").mkdir(parents=True)
    (web / "desk").mkdir()
    (web / "vendor" / "leaflet-1.9.4").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Lapor</title>" + "<p>lapor</p>" * 200)
    (web / "track.html").write_text("<!doctype html><title>Lacak</title>")
    (web / "js" / "api.js").write_text("export const x = 1;\n")
    (web / "js" / "app.3f9a1c2b.js").write_text("export const y = 2;\n")
    (web / "vendor" / "leaflet-1.9.4" / "leaflet.js").write_text("/* leaflet */\n")
    (web / "desk" / "notes.txt").write_text("no index here")
    (web / ".env").write_text("SECRET=1")
    (web / "js" / "tool.py").write_text("print('not served')")
    (tmp_path / "template.yaml").write_text("secret: outside web/")
    os.symlink(tmp_path / "template.yaml", web / "link.html")
    return tmp_path


@pytest.fixture
def client(project: Path) -> Client:
    def app(environ, start_response):
        response = serve_site(Request(environ), project) or Response('{"message":"Not Found"}', status=404)
        return response(environ, start_response)

    return Client(app)


def test_pages_and_modules_with_their_types_and_revalidation(client):
    page = client.get("/")
    assert page.status_code == 200 and page.content_type == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/index.html").get_data() == page.get_data()
    module = client.get("/js/api.js")
    assert module.content_type == "text/javascript; charset=utf-8" and module.headers["Cache-Control"] == "no-cache"
    assert "Content-Security-Policy" not in module.headers


def test_vendored_and_hashed_assets_are_immutable(client):
    for path in ("/vendor/leaflet-1.9.4/leaflet.js", "/js/app.3f9a1c2b.js"):
        assert client.get(path).headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_etag_revalidation_and_gzip(client):
    first = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(first.get_data()).startswith(b"<!doctype html>")
    assert int(first.headers["Content-Length"]) == len(first.get_data())
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers and plain.get_data().startswith(b"<!doctype html>")
    head = client.head("/track.html")
    assert head.status_code == 200 and head.get_data() == b""


@pytest.mark.parametrize("path", [
    "/../template.yaml", "/%2e%2e/template.yaml", "/js/../../template.yaml", "/js/%2e%2e/%2e%2e/template.yaml",
    "/..%2ftemplate.yaml", "/js/..%5c..%5ctemplate.yaml", "/%5c..%5ctemplate.yaml", "/js//../../template.yaml",
    "/.env", "/js/.%2e/.env", "/link.html", "/js/tool.py", "/desk/", "/desk", "/js/", "/nope.html",
    "/index.html%00.js", "/vendor/",
])
def test_nothing_outside_web_no_hidden_files_no_listing(client, path):
    response = client.get(path)
    assert response.status_code == 404, (path, response.get_data())
    assert b"secret" not in response.get_data().lower()


def test_only_get_and_head(client):
    assert client.post("/index.html").status_code == 404
    assert client.put("/index.html").status_code == 404


def test_the_real_site_has_the_citizen_pages():
    from lapor_cli.site import resolve

    for page in ("/", "/receipt.html", "/track.html", "/config.js", "/stats.html", "/recent.html"):
        assert resolve(ROOT / "web", page) is not None, page
    # /docs (Swagger UI) with or without its slash: the folder's index page, as CloudFront's rewrite serves it.
    for page in ("/docs", "/docs/"):
        assert resolve(ROOT / "web", page) == (ROOT / "web" / "docs" / "index.html").resolve(), page


def test_the_vendored_libraries_carry_their_licences():
    vendor = ROOT / "web" / "vendor"
    for library in vendor.iterdir():
        if library.is_dir():
            assert (library / "LICENSE").is_file(), library.name


def test_the_pages_policy_allows_the_media_origin_config_js_names(client, project: Path):
    policy = client.get("/").headers["Content-Security-Policy"]
    # lapor dev: S3 under /s3; no config.js: OpenStreetMap's tiles, the pages' default (web/js/map.js).
    assert "connect-src 'self';" in policy and "img-src 'self' data: blob: https://tile.openstreetmap.org;" in policy
    origin = "https://lapor-media-abc.s3.ap-southeast-3.amazonaws.com"
    config = project / "web" / "config.js"
    config.write_text(f'export const config = {{\n  apiBase: "",\n  mediaOrigin: "{origin}",\n}};\n')
    policy = client.get("/").headers["Content-Security-Policy"]
    assert f"connect-src 'self' {origin};" in policy
    assert f"img-src 'self' data: blob: {origin} https://tile.openstreetmap.org;" in policy
    # Anything but a plain origin is not put into the policy.
    config.write_text('export const config = {\n  mediaOrigin: "https://x.example; script-src *",\n};\n')
    assert "x.example" not in client.get("/").headers["Content-Security-Policy"]


def test_the_pages_policy_allows_the_tile_server_config_js_names(client, project: Path):
    config = project / "web" / "config.js"
    # The checkout's config.js: OpenStreetMap's tiles, in img-src only.
    config.write_text((ROOT / "web" / "config.js").read_text())
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org;" in policy
    assert "connect-src 'self';" in policy
    tiles = ('  mapTiles: {\n    url: "%s",\n    attribution: "&copy; x",\n    maxZoom: 18,\n  },\n')

    def policy_with(url: str) -> str:
        config.write_text('export const config = {\n  mediaOrigin: "",\n' + tiles % url + '  signIn: "local",\n};\n')
        return client.get("/").headers["Content-Security-Policy"]

    assert "img-src 'self' data: blob: https://tiles.example.id:8443;" in policy_with(
        "https://tiles.example.id:8443/osm/{z}/{x}/{y}.png")
    # A server's subdomains ({s}) as a wildcard.
    assert "img-src 'self' data: blob: https://*.tile.example.org;" in policy_with(
        "https://{s}.tile.example.org/{z}/{x}/{y}.png")
    # No tiles, or anything but a plain URL: nothing added.
    assert "img-src 'self' data: blob:;" in policy_with("")
    for hostile in ("https://x.example/{z}; script-src *", "javascript:alert(1)", "https://x.example"):
        assert "img-src 'self' data: blob:;" in policy_with(hostile), hostile
    # publish's config.js (JSON, quoted keys) reads the same.
    config.write_text('export const config = {"mapTiles": {"attribution": "a", "maxZoom": 19, '
                      '"url": "https://t.example.id/{z}/{x}/{y}.png"}};\n')
    assert "img-src 'self' data: blob: https://t.example.id;" in client.get("/").headers["Content-Security-Policy"]


def test_the_pages_policy_allows_the_hosted_ui_when_config_js_signs_in_with_cognito(client, project: Path):
    config = project / "web" / "config.js"
    # The checkout's shape (bare keys, comments): the Hosted UI only when signIn says "cognito".
    checkout = ('export const config = {{\n  apiBase: "",\n  mediaOrigin: "",\n  signIn: "{mode}",\n'
                '  cognito: {{\n    domain: "{domain}", // e.g. "https://lapor.auth.ap-southeast-3.amazoncognito.com"\n'
                '    clientId: "abc",\n  }},\n}};\n')
    hosted = "https://lapor-1a2b.auth.ap-southeast-3.amazoncognito.com"
    config.write_text(checkout.format(mode="local", domain=hosted))
    assert "amazoncognito" not in client.get("/").headers["Content-Security-Policy"]
    config.write_text(checkout.format(mode="cognito", domain=hosted))
    policy = client.get("/").headers["Content-Security-Policy"]
    assert f"connect-src 'self' {hosted};" in policy
    # only connect-src (img-src: the default map tiles, config.js naming none)
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org;" in policy and "form-action 'self';" in policy
    # A bare host is read as https (as auth.js reads it); a port is kept; a path is not an origin.
    config.write_text(checkout.format(mode="cognito", domain="lapor-1a2b.auth.ap-southeast-3.amazoncognito.com"))
    assert f"connect-src 'self' {hosted};" in client.get("/").headers["Content-Security-Policy"]
    config.write_text(checkout.format(mode="cognito", domain="https://127.0.0.1:8443"))
    assert "connect-src 'self' https://127.0.0.1:8443;" in client.get("/").headers["Content-Security-Policy"]
    for bad in ("http://plain.example", "https://x.example/path", "https://x.example; script-src *", "", "https://u@x.example"):
        config.write_text(checkout.format(mode="cognito", domain=bad))
        policy = client.get("/").headers["Content-Security-Policy"]
        assert "connect-src 'self';" in policy and "script-src 'self';" in policy, (bad, policy)
    # Only the cognito block's domain: nothing else that says domain.
    config.write_text('export const config = {\n  signIn: "cognito",\n  domain: "https://evil.example",\n'
                      '  cognito: {\n    clientId: "abc",\n  },\n};\n')
    assert "evil" not in client.get("/").headers["Content-Security-Policy"]


def test_the_pages_policy_reads_the_config_js_that_lapor_site_publish_writes(client, project: Path):
    from lapor_cli.publish import config_js

    media = "https://lapor-media-abc.s3.ap-southeast-3.amazonaws.com"
    (project / "web" / "config.js").write_text(config_js({
        "SiteUrl": "https://d111.cloudfront.net", "MediaOrigin": media,
        "OperatorPoolDomain": "lapor-1a2b.auth.ap-southeast-3.amazoncognito.com", "OperatorPoolClientId": "abc"}))
    policy = client.get("/").headers["Content-Security-Policy"]
    assert (f"connect-src 'self' {media} https://lapor-1a2b.auth.ap-southeast-3.amazoncognito.com;" in policy
            and f"img-src 'self' data: blob: {media} https://tile.openstreetmap.org;" in policy), policy
