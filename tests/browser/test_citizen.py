"""The citizen's journeys in a real browser (chromium) against a real ``lapor dev``: file, receipt, track, rate,
reopen; offline and lost replies never file twice; the draft survives a reload; field errors from the API."""

from __future__ import annotations

import re
import uuid

import requests
from playwright.sync_api import expect

from e2e.helpers import token

TIMEOUT = 10
DUE = re.compile(r"^\d{1,2} (Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|Desember) "
                 r"\d{4}, 23:59 WITA$")
SAMARINDA_PUPR = "Dinas Pekerjaan Umum dan Penataan Ruang Kota Samarinda"


def unique_title(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def fill_report(page, title: str, *, privacy: str = "Publik", district: bool = True) -> None:
    """Fill the form as a person would: by the labels they read."""
    page.goto("/")
    page.get_by_label("Pengaduan").check()
    page.get_by_label("Kategori").select_option("infrastructure")
    page.get_by_label("Provinsi").select_option("64")
    regency = page.get_by_label("Kabupaten/kota")
    regency.locator("option[value='64.72']").wait_for(state="attached")
    regency.select_option("64.72")
    if district:
        kecamatan = page.get_by_label("Kecamatan")
        kecamatan.locator("option[value='64.72.01']").wait_for(state="attached")
        kecamatan.select_option("64.72.01")
    page.get_by_label("Judul").fill(title)
    page.get_by_label("Isi laporan").fill("Lubang besar di depan pasar, sudah dua minggu, membahayakan pengendara.")
    page.get_by_label(privacy, exact=True).check()


def reports_titled(site, title: str) -> list[dict]:
    """Every report with this title, from the API (the Samarinda public works queue, where the form's reports go,
    every page, read by an admin): what was really filed."""
    headers, found, cursor = token(site, "admin"), [], None
    while True:
        params = {"limit": 100, "agency_id": "64-72-pupr"} | ({"cursor": cursor} if cursor else {})
        page = requests.get(f"{site.url}/agency/reports", headers=headers, params=params, timeout=TIMEOUT)
        assert page.status_code == 200, page.text
        body = page.json()
        found += [item for item in body["items"] if item["title"] == title]
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def outbox_size(page) -> int:
    return page.evaluate("JSON.parse(localStorage.getItem('lapor.outbox') || '[]').length")


def test_file_then_receipt_then_track_rate_and_reopen(site, page, console, screenshots):
    title = unique_title("Jalan berlubang")
    fill_report(page, title)
    page.get_by_label("Nama").fill("Siti")
    page.get_by_label("Nomor HP").fill("0812-3456-7890")
    assert page.get_by_text("0 dari 5000 karakter").count() == 0  # the counter follows the description
    assert page.locator("#description-counter").inner_text() == "71 dari 5000 karakter"
    page.get_by_role("button", name="Gunakan posisi saya").click()
    page.get_by_text("Posisi tersimpan: -0.50220, 117.15360").wait_for()
    page.screenshot(path=str(screenshots / "file.png"), full_page=True)
    page.get_by_role("button", name="Kirim laporan").click()

    page.wait_for_url(re.compile(r"/receipt\.html#LPR-"))
    tracking_id = page.locator("#tracking-id").inner_text()
    access_code = page.locator("#access-code").inner_text()
    assert re.fullmatch(r"LPR-[0-9A-Z]+", tracking_id) and re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}",
                                                                         access_code)
    assert page.get_by_text("Kode hanya ditampilkan sekali").is_visible()
    assert page.locator("#agency").inner_text() == SAMARINDA_PUPR  # the name, not the id
    assert DUE.match(page.locator("#due").inner_text()), page.locator("#due").inner_text()
    page.get_by_role("button", name="Salin kode akses").click()
    page.get_by_text("Tersalin.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == access_code
    page.screenshot(path=str(screenshots / "receipt.png"), full_page=True)
    page.emulate_media(media="print")  # printed: the codes and facts, not the menu nor the buttons
    assert page.locator("#access-code").is_visible() and page.locator("#due").is_visible()
    assert page.locator("header").is_hidden() and page.get_by_role("button", name="Salin kode akses").is_hidden()
    page.emulate_media(media="screen")

    # What was filed is what the form said, with the device's position and the reporter's identity kept apart.
    stored = requests.get(f"{site.url}/reports/{tracking_id}", headers={"X-Access-Code": access_code},
                          timeout=TIMEOUT).json()
    assert (stored["title"], stored["region_code"], stored["privacy"]) == (title, "64.72.01", "public")
    assert stored["location"] == {"lat": -0.5022, "lon": 117.1536}
    assert len(reports_titled(site, title)) == 1

    # The agency answers (over the API, as an operator would from the desk).
    answered = requests.post(f"{site.url}/reports/{tracking_id}/responses",
                             headers=token(site, "operator", "64-72-pupr"), timeout=TIMEOUT,
                             json={"message": "Lubang sudah ditambal pada 3 Desember.", "status": "responded"})
    assert answered.status_code == 200, answered.text

    page.get_by_role("link", name="Lacak laporan ini").click()
    page.wait_for_url(re.compile(r"/track\.html#LPR-"))
    assert page.get_by_label("Nomor pelacakan").input_value() == tracking_id
    page.get_by_label("Kode akses").fill(access_code.lower())  # typed as people type it
    page.get_by_role("button", name="Lihat laporan").click()
    page.locator("#result").wait_for()
    assert page.locator("#status").inner_text() == "Sudah dijawab"
    assert page.locator("#agency").inner_text() == SAMARINDA_PUPR
    assert page.locator("#region").inner_text() == "Palaran"  # 64.72.01, by its name
    assert DUE.match(page.locator("#due").inner_text())
    assert page.locator("#answers").get_by_text("Lubang sudah ditambal pada 3 Desember.").is_visible()
    timeline = page.locator("#timeline").inner_text()
    assert f"Diteruskan ke {SAMARINDA_PUPR}." in timeline and "Instansi menjawab laporan." in timeline
    reopen = page.get_by_role("button", name=re.compile(r"^Buka kembali laporan \(bisa sampai .+ WITA\)$"))
    assert reopen.is_visible()
    page.screenshot(path=str(screenshots / "track.png"), full_page=True)

    page.get_by_label("4 — puas").check()
    page.get_by_label("Komentar").fill("Cepat, terima kasih.")
    page.get_by_role("button", name="Kirim penilaian").click()
    page.get_by_text("Terima kasih, penilaian Anda tersimpan.").wait_for()
    assert "Anda menilai jawaban: 4 dari 5." in page.locator("#timeline").inner_text()
    assert page.get_by_role("button", name="Kirim penilaian").is_hidden()  # one rating per answer

    page.get_by_label("1 — sangat tidak puas").check()
    reopen.click()
    page.get_by_text("Laporan dibuka kembali.").first.wait_for()
    assert page.locator("#status").inner_text() == "Diteruskan ke instansi"
    assert page.locator("#overdue").inner_text() == "Masih dalam batas waktu"  # awaiting the agency again
    assert page.locator("#feedback").is_hidden()  # reopened once: no second time
    view = requests.get(f"{site.url}/reports/{tracking_id}", headers={"X-Access-Code": access_code},
                        timeout=TIMEOUT).json()
    assert [e["type"] for e in view["timeline"]][-2:] == ["feedback", "reopened"]
    assert console.unexpected() == []


def test_a_report_sent_offline_is_filed_once_when_the_connection_returns(site, context, page, console):
    title = unique_title("Lampu jalan mati")
    fill_report(page, title, privacy="Anonim")
    assert page.locator("#identity").is_hidden()  # identity fields disappear for anonymous reports
    context.set_offline(True)
    send = page.get_by_role("button", name="Kirim laporan")
    send.click()
    page.get_by_text("1 laporan menunggu dikirim.").wait_for()
    assert outbox_size(page) == 1
    # The form is free for another report (cleared once the draft's photos are stored too: wait for it).
    expect(page.get_by_label("Judul")).to_have_value("", timeout=5_000)
    assert page.locator("#offline").is_visible()
    assert reports_titled(site, title) == []

    context.set_offline(False)
    notice = page.get_by_role("link", name="Lihat tanda terima")
    notice.wait_for(timeout=15_000)
    assert outbox_size(page) == 0
    notice.click()
    page.wait_for_url(re.compile(r"/receipt\.html#LPR-"))
    assert page.locator("#agency").inner_text() == SAMARINDA_PUPR
    [filed] = reports_titled(site, title)
    assert filed["tracking_id"] == page.locator("#tracking-id").inner_text() and filed["privacy"] == "anonymous"
    # Only the browser's own reports of the failed requests while offline.
    assert console.unexpected("net::ERR_INTERNET_DISCONNECTED") == []


def test_a_lost_reply_and_a_double_tap_never_file_twice(site, page):
    """The first POST reaches the server and files the report, but its reply is lost; the retry carries the same
    Idempotency-Key and gets the same report back. Tapping send twice sends it once."""
    title = unique_title("Sampah menumpuk")
    keys: list[str] = []

    def lose_the_first_reply(route):
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the server files it ...
            route.abort("connectionreset")  # ... and the reply never arrives
        else:
            route.continue_()

    page.route("**/reports", lose_the_first_reply)
    fill_report(page, title, district=False)
    page.get_by_role("button", name="Kirim laporan").dblclick()
    page.get_by_role("link", name="Lihat tanda terima").wait_for(timeout=20_000)
    assert len(keys) == 2 and len(set(keys)) == 1, keys
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", keys[0])
    assert len(reports_titled(site, title)) == 1
    assert outbox_size(page) == 0


def test_the_draft_survives_a_reload(page):
    title = unique_title("Draf")
    fill_report(page, title, privacy="Rahasia")
    page.get_by_label("Nama").fill("Budi")
    page.reload()
    page.get_by_text("Draf laporan Anda dipulihkan.").wait_for()
    assert page.get_by_label("Judul").input_value() == title
    assert page.get_by_label("Kategori").input_value() == "infrastructure"
    assert page.get_by_label("Kabupaten/kota").input_value() == "64.72"
    assert page.get_by_label("Kecamatan").input_value() == "64.72.01"
    assert page.get_by_label("Rahasia", exact=True).is_checked()
    assert page.get_by_label("Nama").input_value() == "Budi"
    key = page.evaluate("JSON.parse(localStorage.getItem('lapor.draft')).key")
    page.reload()
    assert page.evaluate("JSON.parse(localStorage.getItem('lapor.draft')).key") == key  # one key per draft
    page.get_by_role("button", name="Kosongkan formulir").click()
    assert page.evaluate("localStorage.getItem('lapor.draft')") is None


def test_field_errors_sit_beside_their_fields(site, page, console):
    page.goto("/")
    page.get_by_role("button", name="Kirim laporan").click()
    title = page.get_by_label("Judul")
    assert title.get_attribute("aria-invalid") == "true"
    assert page.locator("#title-error").inner_text() == "Wajib diisi."
    assert "title-error" in title.get_attribute("aria-describedby").split()
    assert page.locator("#kind-error").inner_text() == "Pilih salah satu."

    # A title the API refuses (a bidi override) and the page cannot know: the 422's details say where.
    fill_report(page, "Jalan rusak \u202e parah")
    page.get_by_role("button", name="Kirim laporan").click()
    error = page.locator("#title-error")
    error.wait_for()
    assert error.inner_text() == "Isian tidak valid."
    assert title.get_attribute("aria-invalid") == "true"
    assert page.locator("#form-error").inner_text() == "Periksa kembali isian yang ditandai."
    assert page.get_by_label("Judul").input_value() == "Jalan rusak \u202e parah"  # kept, to be fixed
    assert outbox_size(page) == 0
    assert console.unexpected("status of 422") == []


def test_english_switch_changes_every_string(page):
    page.goto("/")
    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text() == "File a report"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_label("Category").locator("option[value='infrastructure']").inner_text() != ""
    page.reload()
    assert page.locator("h1").inner_text() == "File a report"  # remembered
    page.get_by_role("button", name="Bahasa Indonesia").click()
    assert page.locator("h1").inner_text() == "Buat laporan"
    # Both languages have every key.
    assert page.evaluate("""async () => {
        const {STRINGS} = await import('/js/i18n.js');
        const id = Object.keys(STRINGS.id).sort(), en = Object.keys(STRINGS.en).sort();
        return JSON.stringify(id) === JSON.stringify(en);
    }""")
