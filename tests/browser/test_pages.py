"""Every citizen page on a 360×640 phone: no horizontal scroll, a label on every field, every control reachable
by keyboard, no serious or critical axe-core violation, no console error, at most 150 KB on its first load;
and the site's files served safely by lapor dev."""

from __future__ import annotations

import gzip
import http.client
import json
import re
from urllib.parse import urlsplit

import pytest
import requests

from browser.test_citizen import fill_report

BUDGET_BYTES = 150 * 1024
PAGES = ["/", "/receipt.html", "/track.html"]


def file_one(page) -> str:
    """File a report through the form; the receipt page is left open. Its tracking id."""
    fill_report(page, "Drainase tersumbat di Jl. Juanda")
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url(re.compile(r"/receipt\.html#LPR-"))
    return page.locator("#tracking-id").inner_text()


def open_page(page, path: str) -> None:
    """The page as its user sees it: the form (with its lists loaded), a receipt, a tracked report."""
    if path == "/":
        page.goto("/")
        page.locator("#province option[value='64']").wait_for(state="attached")
    elif path == "/receipt.html":
        file_one(page)
    else:
        page.goto("/")
        tracking_id = file_one(page)
        code = page.locator("#access-code").inner_text()
        page.goto(f"/track.html#{tracking_id}")
        page.get_by_label("Kode akses").fill(code)
        page.get_by_role("button", name="Lihat laporan").click()
        page.locator("#result").wait_for()


def axe_violations(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["version"] == "4.14.1"
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def check_phone_page(page, console, axe_source, *, at_least: int = 5, tabs: int = 150) -> None:
    """On the page as it stands (a 360×640 viewport): no horizontal scroll, a label on every field, every visible,
    enabled control reached with Tab (radio groups: one stop each; at least ``at_least`` of them), axe-core clean
    (serious, critical), no console error. Every browser test module checks its pages with this."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"

    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, progress')]
        .filter(f => f.type !== 'hidden' && !(f.labels && f.labels.length) && !f.getAttribute('aria-label'))
        .map(f => f.id || f.name)""")
    assert unlabelled == []

    page.evaluate("document.activeElement && document.activeElement.blur()")
    reached = set()
    for _ in range(tabs):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("(() => { const e = document.activeElement; "
                                  "return e.type === 'radio' ? 'radio:' + e.name : e.id || e.href || e.tagName })()"))
    wanted = set(page.evaluate("""() => [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
        .filter(e => !e.disabled && e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden')
        .map(e => e.type === 'radio' ? 'radio:' + e.name : e.id || e.href || e.tagName)"""))
    assert len(wanted) >= at_least and wanted - reached == set()

    assert axe_violations(page, axe_source) == []
    assert console.unexpected() == []


@pytest.mark.parametrize("path", PAGES)
def test_phone_layout_labels_keyboard_and_axe(page, console, axe_source, path):
    open_page(page, path)
    check_phone_page(page, console, axe_source)


def test_field_errors_and_english_pass_axe_too(page, console, axe_source):
    page.goto("/")
    page.get_by_role("button", name="English").click()
    page.get_by_role("button", name="Send report").click()
    assert page.locator("#title-error").inner_text() == "Required."
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_violations(page, axe_source) == []
    assert console.unexpected() == []


def _transferred(response) -> tuple[int, int]:
    """(bytes on the wire, bytes as gzip would send them): the encoded body if the server compressed it, else
    its gzip estimate (CloudFront compresses what lapor dev's API does not), plus the headers."""
    sizes = response.request.sizes()
    body = response.body()
    encoded = (response.headers.get("content-encoding") or "") == "gzip"
    compressed = sizes["responseBodySize"] if encoded else len(gzip.compress(body, compresslevel=6)) if body else 0
    return sizes["responseBodySize"] + sizes["responseHeadersSize"], compressed + sizes["responseHeadersSize"]


@pytest.mark.parametrize("path", ["/", "/receipt.html", "/track.html"])
def test_first_load_weighs_at_most_150_kb(browser, site, path, record_property):
    context = browser.new_context(viewport={"width": 360, "height": 640}, base_url=site.url)  # an empty cache
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(path, wait_until="networkidle")
    if path == "/":
        page.locator("#province option[value='64']").wait_for(state="attached")
    weights = {r.url.replace(site.url, ""): _transferred(r) for r in responses}
    context.close()
    wire, compressed = sum(w for w, _ in weights.values()), sum(c for _, c in weights.values())
    record_property("first_load_bytes", compressed)
    print(f"\n{path}: {compressed / 1024:.1f} KB compressed ({wire / 1024:.1f} KB as lapor dev sent it), "
          f"{len(weights)} requests: {json.dumps({u: c for u, (_, c) in weights.items()})}")
    assert compressed <= BUDGET_BYTES, weights


def _raw_get(url: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


@pytest.mark.parametrize("path", ["/../template.yaml", "/%2e%2e/template.yaml", "/js/../../template.yaml",
                                  "/js/%2e%2e/%2e%2e/template.yaml", "//template.yaml", "/..%2fMakefile",
                                  "/js/..%5c..%5ctemplate.yaml", "/.gitignore", "/js/", "/css", "/nope.html"])
def test_lapor_dev_serves_nothing_outside_web(site, path):
    status, body = _raw_get(site.url, path)
    assert status == 404, (path, body[:200])
    assert body == b'{"message":"Not Found"}'  # API Gateway's answer for what it does not have


def test_lapor_dev_serves_the_site_with_types_and_cache_headers(site):
    expected = {"/": "text/html; charset=utf-8", "/track.html": "text/html; charset=utf-8",
                "/js/api.js": "text/javascript; charset=utf-8", "/css/lapor.css": "text/css; charset=utf-8",
                "/favicon.svg": "image/svg+xml", "/config.js": "text/javascript; charset=utf-8"}
    for path, content_type in expected.items():
        response = requests.get(f"{site.url}{path}", timeout=10)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        again = requests.get(f"{site.url}{path}", headers={"If-None-Match": response.headers["ETag"]}, timeout=10)
        assert again.status_code == 304
    # The API keeps its routes beside the site.
    assert requests.get(f"{site.url}/categories", timeout=10).json()["items"]
