"""Photos in the web app, in a real browser (chromium) against a real ``lapor dev`` (its S3 under /s3 and its
MediaFunction, run in the background on each upload): a photo filed with a report is made smaller in the page,
uploaded after the report, shown pending then ready with a thumbnail that loads; a photo chosen offline is
uploaded once after the connection returns; the reporter removes one before the answer (after it, a plain
409); a file too large is refused in the page; the desk shows thumbnails and lets admins hide one; every page
with attachments at 360×640, labelled, keyboard reachable, axe-clean, without console errors."""

from __future__ import annotations

import io
import re
import time

import requests
from PIL import Image

from browser.test_citizen import fill_report, reports_titled, unique_title
from browser.test_desk import file_report, open_report, sign_in
from browser.test_pages import axe_violations
from e2e.helpers import token, wait_for

TIMEOUT = 10
# The browser logs a refused request as a console error: the 409 the removal after an answer causes on purpose.
REFUSED = ("status of 409",)


def jpeg(width: int, height: int, *, gps: bool = False) -> bytes:
    """A real JPEG with some detail (a gradient and stripes), optionally with an EXIF GPS position."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    for x in range(0, width, 97):
        image.paste((200, 40, 40), (x, 0, min(x + 9, width), height))
    exif = Image.Exif()
    if gps:
        exif[0x8825] = {1: "S", 2: (0.0, 30.0, 7.9), 3: "E", 4: (117.0, 9.0, 13.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def photo_file(name: str, data: bytes, mime: str = "image/jpeg") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def reporter_view(site, tracking_id: str, code: str) -> dict:
    reply = requests.get(f"{site.url}/reports/{tracking_id}", headers={"X-Access-Code": code}, timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    return reply.json()


def upload_over_api(site, tracking_id: str, code: str, name: str = "bukti.jpg") -> str:
    """An attachment uploaded as curl would (README, "A photo with curl"), ready: its id."""
    data = jpeg(800, 600)
    started = requests.post(f"{site.url}/reports/{tracking_id}/attachments", headers={"X-Access-Code": code},
                            json={"filename": name, "content_type": "image/jpeg", "size": len(data)}, timeout=TIMEOUT)
    assert started.status_code == 201, started.text
    upload = started.json()["upload"]
    stored = requests.post(upload["url"], data=upload["fields"], files={"file": (name, data, "image/jpeg")},
                           timeout=TIMEOUT)
    assert stored.status_code in (200, 201, 204), stored.text
    attachment_id = started.json()["attachment_id"]
    wait_for(lambda: any(a["attachment_id"] == attachment_id and a["status"] == "ready"
                         for a in reporter_view(site, tracking_id, code).get("attachments") or []),
             seconds=30, what="MediaFunction")
    return attachment_id


def thumbnail_loaded(page, scope: str = "#attachments") -> bool:
    return page.evaluate(f"""() => [...document.querySelectorAll('{scope} img.thumb')]
        .some(img => img.complete && img.naturalWidth > 0)""")


def kept_photos(page) -> int:
    """How many photos the device still keeps (IndexedDB) for upload."""
    return page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('lapor', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('photos', {keyPath: 'id'});
        open.onsuccess = () => { const r = open.result.transaction('photos').objectStore('photos').count();
                                 r.onsuccess = () => resolve(r.result); };
    })""")


def test_a_photo_filed_with_the_report_is_made_smaller_uploaded_and_shown_ready(site, page, console, screenshots):
    title = unique_title("Trotoar rusak")
    fill_report(page, title)
    big = jpeg(3000, 2000, gps=True)
    page.get_by_label("Pilih foto atau dokumen").set_input_files(photo_file("trotoar.jpg", big))
    item = page.locator("#photo-list li")
    item.wait_for()
    assert "diperkecil dari" in item.inner_text()  # 3000 px wide: drawn again at 2048 px, smaller
    assert page.get_by_text("Foto besar diperkecil di perangkat Anda").is_visible()
    assert page.get_by_role("button", name="Hapus trotoar.jpg").is_visible()
    page.screenshot(path=str(screenshots / "file-photo.png"), full_page=True)
    page.get_by_role("button", name="Kirim laporan").click()

    page.wait_for_url(re.compile(r"/receipt\.html#LPR-"))
    tracking_id = page.locator("#tracking-id").inner_text()
    code = page.locator("#access-code").inner_text()
    attachments = page.locator("#attachments")
    # Uploading, then pending (MediaFunction in the background), then ready: the receipt reads it again.
    attachments.get_by_text(re.compile(r"Mengirim|Menunggu giliran|Menyiapkan|Sedang diproses|Siap")).first.wait_for()
    attachments.get_by_text("Siap", exact=True).wait_for(timeout=30_000)
    page.wait_for_function("() => [...document.querySelectorAll('#attachments img.thumb')]"
                           ".some(img => img.complete && img.naturalWidth > 0)")
    assert attachments.get_by_role("link", name="Lihat foto ukuran penuh trotoar.jpg").is_visible()
    assert kept_photos(page) == 0  # uploaded: nothing left on the device

    view = reporter_view(site, tracking_id, code)
    assert [(a["filename"], a["status"], a["content_type"]) for a in view["attachments"]] == [
        ("trotoar.jpg", "ready", "image/jpeg")]
    assert view["attachments"][0]["size"] < len(big)
    served = Image.open(io.BytesIO(requests.get(view["attachments"][0]["url"], timeout=TIMEOUT).content))
    assert max(served.size) == 2048 and not served.getexif().get_ifd(0x8825)  # smaller, and no GPS
    page.screenshot(path=str(screenshots / "receipt-photo.png"), full_page=True)

    # The track page lists it too, with its thumbnail.
    page.get_by_role("link", name="Lacak laporan ini").click()
    page.get_by_label("Kode akses").fill(code)
    page.get_by_role("button", name="Lihat laporan").click()
    page.locator("#attachments").get_by_text("Siap", exact=True).wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('#attachments img.thumb')]"
                           ".some(img => img.complete && img.naturalWidth > 0)")
    assert console.unexpected() == []


def test_a_photo_chosen_offline_is_uploaded_once_after_the_connection_returns(site, context, page, console):
    title = unique_title("Lampu jalan mati")
    fill_report(page, title)
    context.set_offline(True)
    page.get_by_label("Pilih foto atau dokumen").set_input_files(photo_file("lampu.jpg", jpeg(1200, 900)))
    page.locator("#photo-list li").wait_for()
    page.get_by_role("button", name="Kirim laporan").click()
    page.locator("#send-status").get_by_text("menunggu", exact=False).wait_for()
    assert kept_photos(page) == 1  # on the device (IndexedDB), with the report in the outbox

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    reports = wait_for(lambda: reports_titled(site, title), seconds=30, what="the report from the outbox")
    assert len(reports) == 1
    wait_for(lambda: kept_photos(page) == 0, seconds=30, what="the upload")
    tracking_id = reports[0]["tracking_id"]
    headers = token(site, "operator", "64-72-pupr")

    def attachments():
        reply = requests.get(f"{site.url}/agency/reports/{tracking_id}", headers=headers, timeout=TIMEOUT)
        return reply.json().get("attachments") or []

    wait_for(lambda: [a["status"] for a in attachments()] == ["ready"], seconds=30, what="MediaFunction")
    time.sleep(3)  # a second upload (another retry, another tab) would show by now
    assert [a["filename"] for a in attachments()] == ["lampu.jpg"]
    assert len(reports_titled(site, title)) == 1
    assert console.unexpected("net::ERR_INTERNET_DISCONNECTED") == []


def test_a_file_too_large_is_refused_in_the_page(page, console):
    page.goto("/")
    page.get_by_label("Pilih foto atau dokumen").set_input_files(
        photo_file("laporan-lengkap.pdf", b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024), "application/pdf"))
    error = page.locator("#photos-error")
    error.get_by_text("terlalu besar").wait_for()
    assert error.inner_text() == "laporan-lengkap.pdf berukuran 11 MB: terlalu besar. Paling besar 10 MB per berkas."
    assert page.locator("#photo-list li").count() == 0
    page.get_by_label("Pilih foto atau dokumen").set_input_files(photo_file("catatan.txt", b"hello", "text/plain"))
    error.get_by_text("jenis berkas tidak diterima").wait_for()
    assert console.unexpected() == []


def test_anonymous_report_with_a_pdf_warns_about_its_author(page, console, axe_source):
    fill_report(page, unique_title("Pungutan liar"), privacy="Anonim")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    page.get_by_label("Pilih foto atau dokumen").set_input_files([
        photo_file("kuitansi.pdf", pdf, "application/pdf"), photo_file("loket.jpg", jpeg(640, 480))])
    warning = page.get_by_text("Dokumen PDF bisa menyimpan nama pembuatnya")
    warning.wait_for()
    page.get_by_label("Publik", exact=True).check()
    assert warning.is_hidden()  # only for anonymous reports
    page.get_by_label("Anonim", exact=True).check()
    assert warning.is_visible()
    page.get_by_role("button", name="Hapus kuitansi.pdf").click()
    assert warning.is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_violations(page, axe_source) == []
    assert console.unexpected() == []


def test_the_reporter_removes_a_photo_before_the_answer_and_adds_one_later(site, page, console, axe_source):
    tracking_id, code, _ = file_report(site, "Saluran tersumbat")
    first = upload_over_api(site, tracking_id, code, "saluran.jpg")
    page.goto(f"/track.html#{tracking_id}")
    page.get_by_label("Kode akses").fill(code)
    page.get_by_role("button", name="Lihat laporan").click()
    attachments = page.locator("#attachments")
    attachments.locator("p.name", has_text="saluran.jpg").wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('#attachments img.thumb')]"
                           ".some(img => img.complete && img.naturalWidth > 0)")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_violations(page, axe_source) == []

    page.get_by_role("button", name="Hapus saluran.jpg").click()
    page.get_by_text("Lampiran saluran.jpg dihapus.").wait_for()
    assert attachments.locator("p.name", has_text="saluran.jpg").count() == 0
    assert reporter_view(site, tracking_id, code).get("attachments") in ([], None)
    assert first not in str(reporter_view(site, tracking_id, code).get("attachments"))

    # A photo added later, on the same page: the same upload, then ready.
    page.get_by_label("Tambah foto atau dokumen").set_input_files(photo_file("nanti.jpg", jpeg(900, 700)))
    attachments.get_by_text("Siap", exact=True).wait_for(timeout=30_000)
    assert [a["filename"] for a in reporter_view(site, tracking_id, code)["attachments"]] == ["nanti.jpg"]

    # The agency answers: the photo is part of what was answered, and the page says so plainly.
    answered = requests.post(f"{site.url}/reports/{tracking_id}/responses", timeout=TIMEOUT,
                             headers=token(site, "operator", "64-72-pupr"),
                             json={"message": "Saluran sudah dibersihkan.", "status": "responded"})
    assert answered.status_code == 200, answered.text
    page.get_by_role("button", name="Hapus nanti.jpg").click()  # the page still offers it: it had not heard
    page.get_by_text("Instansi sudah menjawab laporan ini, jadi lampirannya tidak bisa dihapus lagi.").wait_for()
    page.get_by_role("button", name="Hapus nanti.jpg").wait_for(state="detached")  # read again: no more offer
    assert [a["filename"] for a in reporter_view(site, tracking_id, code)["attachments"]] == ["nanti.jpg"]
    assert console.unexpected(*REFUSED) == []


def test_the_desk_shows_thumbnails_and_an_admin_hides_one_with_a_reason(site, page, console, axe_source,
                                                                          screenshots):
    tracking_id, code, _ = file_report(site, "Papan nama rusak")
    upload_over_api(site, tracking_id, code, "papan.jpg")
    sign_in(page, "operator", "64-72-pupr")
    open_report(page, tracking_id)
    attachments = page.locator("#attachments")
    attachments.locator("p.name", has_text="papan.jpg").wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('#attachments img.thumb')]"
                           ".some(img => img.complete && img.naturalWidth > 0)")
    assert page.get_by_role("button", name="Sembunyikan papan.jpg").count() == 0  # operators never take one down
    assert attachments.get_by_role("button").count() == 0

    page = page.context.new_page()  # another tab: its own session (sessionStorage)
    console.attach(page)
    sign_in(page, "admin", None, start=f"/desk/report.html#{tracking_id}")
    page.locator("#attachments p.name", has_text="papan.jpg").wait_for()
    assert axe_violations(page, axe_source) == []
    page.get_by_role("button", name="Sembunyikan papan.jpg").click()
    page.get_by_role("button", name="Sembunyikan lampiran").click()
    page.get_by_text("Wajib diisi.").wait_for()
    page.get_by_label("Alasan menyembunyikan papan.jpg").fill("Memperlihatkan wajah orang lain")
    page.get_by_role("button", name="Sembunyikan lampiran").click()
    page.get_by_text("Lampiran papan.jpg disembunyikan.").wait_for()
    assert "Disembunyikan admin: Memperlihatkan wajah orang lain" in page.locator("#attachments").inner_text()
    assert reporter_view(site, tracking_id, code).get("attachments") in ([], None)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(screenshots / "desk-photo.png"), full_page=True)
    assert console.unexpected() == []


def test_a_hide_reason_being_typed_survives_the_desks_redraws_while_an_upload_is_pending(site, page, console):
    """The desk reads the report again every 3 s while an attachment is pending; it redrew the hide forms empty."""
    tracking_id, code, _ = file_report(site, "Lampu jalan padam")
    started = requests.post(f"{site.url}/reports/{tracking_id}/attachments", headers={"X-Access-Code": code},
                            json={"filename": "nanti.jpg", "content_type": "image/jpeg", "size": 1000},
                            timeout=TIMEOUT)
    assert started.status_code == 201, started.text  # never uploaded: it stays pending, the desk keeps reading
    sign_in(page, "admin", None, start=f"/desk/report.html#{tracking_id}")
    page.locator("#attachments p.name", has_text="nanti.jpg").wait_for()
    page.get_by_role("button", name="Sembunyikan nanti.jpg").click()
    reason = page.get_by_label("Alasan menyembunyikan nanti.jpg")
    reason.fill("Bukan foto laporan ini")
    for _ in range(2):  # two redraws
        with page.expect_response(lambda r: f"/agency/reports/{tracking_id}" in r.url, timeout=15_000):
            pass
    page.wait_for_timeout(200)
    assert reason.input_value() == "Bukan foto laporan ini"
    assert reason.is_visible()  # the form stays open, and the focus in the reason
    assert page.evaluate("document.activeElement && document.activeElement.id") == reason.get_attribute("id")
    assert console.unexpected() == []
