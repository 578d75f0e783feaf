"""The form's "is this the same problem?" in a real browser against a real ``lapor dev``: with a location and a
category, the open public reports of that category within 250 m are listed before sending, each with "Dukung
laporan ini" first and sending a new report second; supporting counts once per device; confidential reports and
other categories are never offered; without a location nothing is asked."""

from __future__ import annotations

import uuid

import requests
from playwright.sync_api import expect

from browser.test_citizen import fill_report
from browser.test_pages import check_phone_page

TIMEOUT = 10
POINT = {"lat": -0.5022, "lon": 117.1536}  # the browser's position (conftest's SAMARINDA)
NEAR = {"lat": -0.5030, "lon": 117.1540}  # ~100 m away


def file_via_api(site, title: str, *, category: str, location: dict | None, privacy: str = "public") -> str:
    body = {"kind": "complaint", "category": category, "region_code": "64.72", "title": title, "privacy": privacy,
            "description": "Laporan untuk uji laporan serupa, cukup panjang untuk diterima."}
    if location:
        body["location"] = location
    reply = requests.post(f"{site.url}/reports", json=body, timeout=TIMEOUT,
                          headers={"Idempotency-Key": str(uuid.uuid4())})
    assert reply.status_code == 201, reply.text
    return reply.json()["tracking_id"]


def supporters(site, tracking_id: str) -> int:
    return requests.get(f"{site.url}/reports/{tracking_id}", timeout=TIMEOUT).json()["supporters"]


def test_a_report_nearby_is_offered_to_support_before_sending(site, page, console, axe_source):
    tag = uuid.uuid4().hex[:6]
    same = file_via_api(site, f"Puskesmas tutup {tag}", category="health", location=NEAR)
    file_via_api(site, f"Rahasia puskesmas {tag}", category="health", location=NEAR, privacy="confidential")
    file_via_api(site, f"Jalan rusak {tag}", category="infrastructure", location=NEAR)

    fill_report(page, f"Puskesmas masih tutup {tag}")
    page.get_by_label("Kategori").select_option("health")
    nearby = page.get_by_role("region", name="Apakah ini masalah yang sama?")
    expect(nearby).to_be_hidden()  # no location yet: nothing asked
    send = page.locator("#send")
    expect(send).to_have_text("Kirim laporan")

    page.get_by_role("button", name="Gunakan posisi saya").click()
    ours = nearby.get_by_role("listitem").filter(has_text=f"Puskesmas tutup {tag}")
    expect(ours).to_be_visible()
    expect(ours).to_contain_text("m dari titik Anda")
    expect(ours).to_contain_text("0 pendukung")
    expect(nearby).not_to_contain_text(f"Rahasia puskesmas {tag}")  # confidential: never offered
    expect(nearby).not_to_contain_text(f"Jalan rusak {tag}")  # another category
    expect(send).to_have_text("Tetap kirim laporan baru")
    check_phone_page(page, console, axe_source)

    ours.get_by_role("button", name="Dukung laporan ini").click()
    expect(ours).to_contain_text(f"dukungan Anda untuk {same} tercatat")
    expect(ours).to_contain_text("1 pendukung")
    expect(ours.get_by_role("button", name="Sudah Anda dukung")).to_be_disabled()
    assert supporters(site, same) == 1

    # The same device, after a reload (the draft comes back with its location): shown as supported, counted once.
    page.reload()
    ours = page.get_by_role("region", name="Apakah ini masalah yang sama?").get_by_role("listitem").filter(
        has_text=f"Puskesmas tutup {tag}")
    expect(ours.get_by_role("button", name="Sudah Anda dukung")).to_be_disabled()
    key = page.evaluate("JSON.parse(localStorage.getItem('lapor.device'))")
    again = requests.post(f"{site.url}/reports/{same}/supporters", json={"device_key": key}, timeout=TIMEOUT)
    assert again.status_code == 200 and again.json()["added"] is False and supporters(site, same) == 1

    # In English too; and removing the location takes the list away and the submit button back.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("region", name="Is this the same problem?")).to_be_visible()
    expect(send).to_have_text("Send a new report anyway")
    page.get_by_role("button", name="Remove position").click()
    expect(page.get_by_role("region", name="Is this the same problem?")).to_be_hidden()
    expect(send).to_have_text("Send report")
    assert console.unexpected() == []
