"""Maps in a real browser, loaded only when asked: the recent reports page's "Tampilkan peta" (a marker per listed
public report with a location, never a confidential one) and the file page's "Pilih di peta" (a pin set by a tap,
a drag or the keyboard, filed as the report's location); neither page fetches Leaflet or a tile on its first load.

The tiles never load here: every request to the tile server (web/config.js's mapTiles, OpenStreetMap's) is
aborted, as on these machines without internet, and so on every machine (no test depends on, or loads,
OpenStreetMap's servers). The maps must work without them. Chromium logs each failed tile as a console error
("Failed to load resource: net::ERR_INTERNET_DISCONNECTED") whatever the page does; those lines, and only those
(the tile origin's network failures), are left out of the console check.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from browser.test_citizen import fill_report
from browser.test_pages import BUDGET_BYTES, _transferred, axe_violations, check_phone_page

TILES = "https://tile.openstreetmap.org"
MAP_FILES = ("/vendor/leaflet-", "/js/map.js")
SECRET_TITLE = "Rahasia: setoran ke oknum di pasar"


def file_via_api(site, region: str, title: str, location=None, privacy="public") -> str:
    body = {"kind": "complaint", "category": "infrastructure", "region_code": region, "title": title,
            "description": "Laporan untuk uji peta, cukup panjang untuk diterima.", "privacy": privacy}
    if location:
        body["location"] = location
    reply = requests.post(f"{site.url}/reports", json=body, timeout=10, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert reply.status_code == 201, reply.text
    return reply.json()["tracking_id"]


@pytest.fixture(scope="module")
def kecamatan(site) -> str:
    """A kecamatan of Kota Samarinda other tests leave alone (they file in 64.72.01), with three located public
    reports, one public report without a location and a confidential one with a location."""
    names = requests.get(f"{site.url}/regions", params={"parent": "64.72"}, timeout=10).json()["items"]
    code = next(r["code"] for r in names if r["code"] != "64.72.01")
    for i, (lat, lon) in enumerate([(-0.52, 117.12), (-0.55, 117.16), (-0.49, 117.2)]):
        file_via_api(site, code, f"Lampu jalan mati nomor {i + 1}", {"lat": lat, "lon": lon})
    file_via_api(site, code, "Trotoar rusak tanpa titik lokasi")
    file_via_api(site, code, SECRET_TITLE, {"lat": -0.5, "lon": 117.15}, privacy="confidential")
    return code


@pytest.fixture
def no_tiles(page, console) -> list[str]:
    """Every tile request fails (recorded), and the console check leaves out those network failures only."""
    asked: list[str] = []

    def abort(route):
        asked.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(f"{TILES}/**", abort)
    console.ignore_failed_loads_from(TILES)
    return asked


def map_requests(requested: list[str]) -> list[str]:
    return [u for u in requested if any(f in u for f in MAP_FILES) or u.startswith(TILES)]


def test_recent_reports_map_shows_a_marker_per_located_public_report(page, console, axe_source, site, kecamatan,
                                                                     no_tiles, screenshots):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"/recent.html#{kecamatan}")
    page.get_by_role("heading", name="Lampu jalan mati nomor 1").wait_for()
    page.wait_for_load_state("networkidle")
    assert map_requests(requested) == []  # the list is the page: no map until asked for

    listed = requests.get(f"{site.url}/reports", params={"region_code": kecamatan, "limit": 20}, timeout=10).json()
    located = [i for i in listed["items"] if i["location"]]
    assert len(located) == 3 and len(listed["items"]) == 4
    assert all(set(i["location"]) == {"lat", "lon"} for i in located)

    show = page.get_by_role("button", name="Tampilkan peta")
    assert show.get_attribute("aria-expanded") == "false"
    show.click()
    markers = page.locator("#map .leaflet-marker-icon")
    expect(markers).to_have_count(len(located))
    expect(page.get_by_role("button", name="Sembunyikan peta")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#map-note")).to_contain_text("3 dari 4 laporan")
    assert any("/vendor/leaflet-1.9.4/leaflet.js" in u for u in requested)
    # Each marker is a focusable button named by its report's title; the confidential one is nowhere.
    assert sorted(markers.evaluate_all("ms => ms.map(m => m.alt)")) == sorted(i["title"] for i in located)
    assert markers.evaluate_all("ms => ms.map(m => [m.tabIndex, m.getAttribute('role')])") == [[0, "button"]] * 3
    assert SECRET_TITLE not in page.content()
    # The map has a name; the tiles were asked of the configured server, and failed: the markers stay.
    assert page.locator("#map").get_attribute("role") == "region"
    assert page.locator("#map").get_attribute("aria-label") == "Peta laporan yang ditampilkan"
    assert no_tiles and all(re.match(rf"{TILES}/\d+/\d+/\d+\.png$", u) for u in no_tiles)
    expect(page.locator("#map .leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    expect(page.get_by_role("button", name="Perbesar peta")).to_be_visible()
    page.locator("#show-map").evaluate("button => button.scrollIntoView()")
    page.screenshot(path=str(screenshots / "recent-map.png"))

    # A marker by keyboard: its popup names the report, its status, and links to track it.
    first = next(i for i in located if i["title"] == "Lampu jalan mati nomor 1")
    marker = page.get_by_role("button", name="Lampu jalan mati nomor 1")
    marker.focus()
    page.keyboard.press("Enter")
    popup = page.locator("#map .leaflet-popup-content")
    expect(popup).to_contain_text("Lampu jalan mati nomor 1")
    expect(popup).to_contain_text("Diteruskan ke instansi")
    assert popup.get_by_role("link", name="Lacak laporan ini").get_attribute("href") == \
        f"/track.html#{first['tracking_id']}"

    check_phone_page(page, console, axe_source)  # 360×640, labels, Tab, axe, console: with the map open
    # In English: the map's buttons and note too.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Zoom in")).to_be_visible()
    expect(page.locator("#map-note")).to_contain_text("3 of the 4 reports listed")
    expect(markers).to_have_count(3)
    page.get_by_role("button", name="Bahasa Indonesia").click()

    # A filter the located reports do not match: the map empties with the list; the map's button goes with it.
    page.locator("#status-filter").select_option("closed")
    page.locator("#empty").wait_for()
    expect(page.get_by_role("button", name="Tampilkan peta")).to_be_hidden()
    page.locator("#status-filter").select_option("")
    page.get_by_role("button", name="Tampilkan peta").click()
    expect(markers).to_have_count(3)
    assert console.unexpected() == []


def test_file_page_pick_on_map_sets_the_filed_location(page, console, axe_source, site, no_tiles, screenshots):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    fill_report(page, "Pohon tumbang menutup jalan")
    page.wait_for_load_state("networkidle")
    assert map_requests(requested) == []

    page.get_by_role("button", name="Pilih di peta").click()
    area = page.get_by_role("region", name="Peta untuk memilih titik lokasi")
    area.locator(".leaflet-control-zoom-in").wait_for()
    status = page.locator("#location-status")
    # A tap on the map puts the pin there.
    box = area.bounding_box()
    area.click(position={"x": box["width"] / 2 - 40, "y": box["height"] / 2})
    pin = area.get_by_role("button", name="Titik lokasi laporan")
    expect(pin).to_be_visible()
    expect(status).to_contain_text("Titik dipilih di peta:")
    tapped = status.inner_text()
    # Dragging the pin moves it.
    pin_box = pin.bounding_box()
    x, y = pin_box["x"] + pin_box["width"] / 2, pin_box["y"] + pin_box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x + 12 * step, y + 6 * step)
    page.mouse.up()
    expect(status).not_to_have_text(tapped)
    # The keyboard's way: the pin at the map's centre (after panning it with the arrow keys).
    area.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.get_by_role("button", name="Taruh pin di tengah peta").click()
    expect(status).not_to_have_text(tapped)
    shown = status.inner_text()
    lat, lon = (float(v) for v in re.search(r"(-?\d+\.\d+), (-?\d+\.\d+)", shown).groups())
    assert -11 < lat < 6 and 95 < lon < 141  # Indonesia, where the map opened
    assert no_tiles  # asked for, failed, and the pin still works

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scroll"
    assert axe_violations(page, axe_source) == []
    page.locator("#locate").evaluate("button => button.scrollIntoView()")
    page.screenshot(path=str(screenshots / "file-map.png"))

    # The draft keeps the pin over a reload; then the report is filed with it.
    page.reload()
    expect(page.locator("#location-status")).to_have_text(shown)
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url(re.compile(r"/receipt\.html#LPR-"))
    tracking_id = page.locator("#tracking-id").inner_text()
    code = page.locator("#access-code").inner_text()
    view = requests.get(f"{site.url}/reports/{tracking_id}", headers={"X-Access-Code": code}, timeout=10).json()
    assert view["location"]["lat"] == pytest.approx(lat, abs=6e-6)
    assert view["location"]["lon"] == pytest.approx(lon, abs=6e-6)
    assert console.unexpected() == []


def test_the_device_position_still_works_without_the_map(page, console, no_tiles):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/")
    page.get_by_role("button", name="Gunakan posisi saya").click()
    expect(page.locator("#location-status")).to_contain_text("-0.50220, 117.15360")
    assert map_requests(requested) == []
    # Opened afterwards, the map shows the pin at the device's position.
    page.get_by_role("button", name="Pilih di peta").click()
    expect(page.get_by_role("button", name="Titik lokasi laporan")).to_be_visible()
    expect(page.locator("#location-status")).to_contain_text("akurasi")
    # Removing the position removes the pin.
    page.get_by_role("button", name="Hapus posisi").click()
    expect(page.get_by_role("button", name="Titik lokasi laporan")).to_have_count(0)
    assert console.unexpected() == []


@pytest.mark.parametrize("path", ["/", "recent"])
def test_first_load_fetches_no_map_and_the_map_weighs_only_when_asked(browser, site, kecamatan, path,
                                                                      record_property):
    """Each page's first load (empty cache) is within the budget and fetches nothing of the map; what opening the
    map adds is printed (Leaflet, its style sheet, map.js and the marker images; tiles excluded)."""
    context = browser.new_context(viewport={"width": 360, "height": 640}, base_url=site.url)
    page = context.new_page()
    page.route(f"{TILES}/**", lambda route: route.abort("internetdisconnected"))
    responses = []
    page.on("response", lambda response: responses.append(response))
    if path == "/":
        page.goto("/", wait_until="networkidle")
        page.locator("#province option[value='64']").wait_for(state="attached")
    else:
        page.goto(f"/recent.html#{kecamatan}", wait_until="networkidle")
        page.locator("#reports li").first.wait_for()
    page.wait_for_load_state("networkidle")
    first = {r.url.replace(site.url, ""): _transferred(r)[1] for r in responses}
    assert map_requests(list(first)) == []
    responses.clear()
    if path == "/":
        page.get_by_role("button", name="Pilih di peta").click()
        page.locator("#pick-map .leaflet-control-zoom-in").wait_for()
        page.locator("#pick-map").click()
        page.locator("#pick-map .leaflet-marker-icon").wait_for()
    else:
        page.get_by_role("button", name="Tampilkan peta").click()
        page.locator("#map .leaflet-marker-icon").first.wait_for()
    page.wait_for_load_state("networkidle")
    opened = {r.url.replace(site.url, ""): _transferred(r)[1] for r in responses if not r.url.startswith(TILES)}
    context.close()
    weight, added = sum(first.values()), sum(opened.values())
    record_property("first_load_bytes", weight)
    record_property("map_bytes", added)
    print(f"\n{path}: first load {weight / 1024:.1f} KB compressed; the map adds {added / 1024:.1f} KB: "
          f"{json.dumps(opened)}")
    assert weight <= BUDGET_BYTES
    assert any("/vendor/leaflet-1.9.4/leaflet.js" in u for u in opened)
