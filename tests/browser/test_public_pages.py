"""The public pages in a real browser: statistics as charts from real data, recent public reports (a public
report listed, a confidential one never), and /docs (Swagger UI from local files only); each on a 360×640 phone
with no horizontal scroll, labels, keyboard, axe-core, no console error, and the citizen pages within 150 KB."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from browser.test_pages import BUDGET_BYTES, _transferred, check_phone_page

PUBLIC_TITLE = "Halte bus rusak di Jl. Slamet Riyadi"
SECRET_TITLE = "Rahasia: pungutan liar di kantor kelurahan"


def file_via_api(site, **changes) -> str:
    body = {"kind": "complaint", "category": "infrastructure", "region_code": "64.72.01",
            "title": PUBLIC_TITLE, "description": "Atap halte bocor dan bangkunya patah sejak sebulan.",
            "privacy": "public", "location": {"lat": -0.5, "lon": 117.15}} | changes
    reply = requests.post(f"{site.url}/reports", json=body, timeout=10,
                          headers={"Idempotency-Key": str(uuid.uuid4())})
    assert reply.status_code == 201, reply.text
    return reply.json()["tracking_id"]


@pytest.fixture(scope="module")
def filed(site) -> dict[str, str]:
    """A public and a confidential report in Kota Samarinda, counted by the statistics (from the stream)."""
    reports = {"public": file_via_api(site), "confidential": file_via_api(site, privacy="confidential",
                                                                          title=SECRET_TITLE)}
    deadline = time.monotonic() + 20
    while requests.get(f"{site.url}/stats?region=64.72", timeout=10).json()["total"] < 2:
        assert time.monotonic() < deadline, "the statistics never counted the reports"
        time.sleep(0.3)
    return reports


def settled_stats(site, region="64.72") -> dict:
    """The region's figures once the stream has counted every report filed so far (two reads a second apart
    agree): other modules' reports may still be on their way into the counters."""
    last = None
    for _ in range(30):
        figures = requests.get(f"{site.url}/stats?region={region}", timeout=10).json()
        if figures == last:
            return figures
        last = figures
        time.sleep(1)
    raise AssertionError("the statistics kept changing")


def test_statistics_page_draws_charts_from_the_api(page, console, axe_source, site, filed, screenshots):
    supported = requests.post(f"{site.url}/reports/{filed['public']}/supporters", timeout=10,
                              json={"device_key": str(uuid.uuid4())})
    assert supported.status_code == 200, supported.text
    figures = settled_stats(site)
    assert figures["supporters"] >= 1
    page.goto("/stats.html#64.72")
    page.locator("#charts figure").first.wait_for()
    assert page.locator("#regency").input_value() == "64.72"
    assert page.locator("#total").inner_text() == str(figures["total"])
    supporters = page.locator("#supporters")
    assert supporters.inner_text() == str(figures["supporters"])
    assert supporters.locator("xpath=../dt").inner_text() == "Dukungan warga"
    captions = page.locator("#charts figcaption").all_inner_texts()
    assert captions[:3] == ["Laporan menurut status", "Laporan menurut kategori", "Laporan menurut wilayah"]
    # Each chart says its figures in words (role=img with a label) and has them as a table too.
    status_chart = page.locator("#charts figure").first
    label = status_chart.locator("svg[role=img]").get_attribute("aria-label")
    routed = figures["by_status"]["routed"]
    assert f"Diteruskan ke instansi: {routed}" in label
    assert status_chart.locator("svg rect").count() == len(figures["by_status"])
    status_chart.locator("summary").click()
    rows = status_chart.locator("tbody tr").all_inner_texts()
    assert any(r.startswith("Diteruskan ke instansi") and f"\t{routed}\t" in r for r in rows), rows
    # The regions below Kota Samarinda by name, not by code.
    region_chart = page.locator("#charts figure").nth(2)
    assert "Palaran" in region_chart.locator("svg[role=img]").get_attribute("aria-label") or \
        "64.72" not in region_chart.locator("svg[role=img]").get_attribute("aria-label")
    page.screenshot(path=str(screenshots / "stats.png"), full_page=True)
    check_phone_page(page, console, axe_source)
    # English, and the whole country.
    page.get_by_role("button", name="English").click()
    page.locator("#province").select_option("")
    from playwright.sync_api import expect

    expect(page.locator("#range")).to_have_text(re.compile(r"^All of Indonesia: "))
    assert page.locator("#charts figcaption").first.inner_text() == "Reports by status"
    assert page.locator("#supporters").locator("xpath=../dt").inner_text() == "Citizens' support"
    assert console.unexpected() == []


def test_recent_reports_list_a_public_report_and_never_a_confidential_one(page, console, axe_source, site, filed,
                                                                           screenshots):
    page.goto("/recent.html")
    assert page.locator("#choose").is_visible()
    page.locator("#province").select_option("64")
    page.locator("#regency option[value='64.72']").wait_for(state="attached")
    page.locator("#regency").select_option("64.72")
    page.get_by_role("heading", name=PUBLIC_TITLE).first.wait_for()
    assert SECRET_TITLE not in page.content()
    assert filed["confidential"] not in page.content()
    assert filed["public"] in page.locator("#reports").inner_text()
    assert page.url.endswith("#64.72")
    # The API itself never lists it either, at any level.
    for region in ("64", "64.72", "64.72.01"):
        listed = requests.get(f"{site.url}/reports", params={"region_code": region}, timeout=10).json()["items"]
        assert filed["public"] in {i["tracking_id"] for i in listed}
        assert filed["confidential"] not in {i["tracking_id"] for i in listed}
    page.screenshot(path=str(screenshots / "recent.png"), full_page=True)
    check_phone_page(page, console, axe_source)
    # A filter that matches nothing says so.
    page.locator("#status-filter").select_option("closed")
    page.locator("#empty").wait_for()
    assert console.unexpected() == []


@pytest.mark.parametrize("path", ["/stats.html#64.72", "/recent.html#64.72"])
def test_public_pages_first_load_weighs_at_most_150_kb(browser, site, filed, path, record_property):
    context = browser.new_context(viewport={"width": 360, "height": 640}, base_url=site.url)
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(path, wait_until="networkidle")
    page.locator("#charts figure, #reports li").first.wait_for()
    page.wait_for_load_state("networkidle")
    weights = {r.url.replace(site.url, ""): _transferred(r) for r in responses}
    context.close()
    compressed = sum(c for _, c in weights.values())
    record_property("first_load_bytes", compressed)
    print(f"\n{path}: {compressed / 1024:.1f} KB compressed, {len(weights)} requests: "
          f"{json.dumps({u: c for u, (_, c) in weights.items()})}")
    assert compressed <= BUDGET_BYTES, weights


def test_docs_is_swagger_ui_from_local_files_only(page, console, site, screenshots):
    origin = urlsplit(site.url).netloc
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Lapor" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-summary-path", has_text="/reports/{tracking_id}").first.wait_for()
    page.wait_for_load_state("networkidle")
    outside = [u for u in requested if urlsplit(u).netloc != origin and not u.startswith("data:")]
    assert outside == []
    assert f"{site.url}/openapi.json" in requested
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(screenshots / "docs.png"))
    assert console.unexpected() == []
