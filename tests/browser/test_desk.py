"""The operator desk in a real browser (chromium) against a real ``lapor dev``: local sign-in, the queue, an
answer the citizen then sees and rates; a 409 on a stale version and a refused token both keep the typed
answer; the admin's sweep (dry run, confirm, progress to finished) and Open311 API keys; every desk page at
360×640 without horizontal scroll, labelled, keyboard reachable, axe-clean, without console errors."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from browser.conftest import ROOT
from browser.test_pages import check_phone_page
from e2e.conftest import REPORTS_TABLE, dynamodb_client
from e2e.helpers import token

TIMEOUT = 10
PUPR = "64-72-pupr"
# The agencies lapor dev seeds (lapor_cli/seed.py): the names the desk's header shows.
AGENCY_NAMES = {a["id"]: a["name"] for a in json.loads(
    (ROOT / "layers" / "core" / "lapor" / "data" / "agencies.json").read_text(encoding="utf-8"))}
REPORT = {"kind": "complaint", "category": "infrastructure", "region_code": "64.72.01",
          "description": "Lubang besar di depan pasar, sudah dua minggu, membahayakan pengendara.",
          "privacy": "public", "reporter": {"name": "Siti", "phone": "0812-3456-7890"}}
ROLE_LABELS = {"operator": "Operator", "supervisor": "Supervisor", "admin": "Admin"}
# The browser logs a refused request as a console error: the 409 and 401 these tests cause on purpose.
REFUSED = ("status of 409", "status of 401")


def file_report(site, prefix: str) -> tuple[str, str, str]:
    """A report filed over the API (as a citizen's form would): its tracking id, access code and title."""
    title = f"{prefix} {uuid.uuid4().hex[:8]}"
    reply = requests.post(f"{site.url}/reports", json=REPORT | {"title": title}, timeout=TIMEOUT,
                          headers={"Idempotency-Key": str(uuid.uuid4())})
    assert reply.status_code == 201, reply.text
    return reply.json()["tracking_id"], reply.json()["access_code"], title


def overdue_report(site) -> str:
    """A report filed over the API whose deadline is then moved into the past in the local stack's table (as if
    filed weeks ago, which the API cannot do): the sweep's dry run lists it."""
    tracking_id, _, _ = file_report(site, "Terlambat")
    client = dynamodb_client(site.dynamodb_endpoint)
    key = {"PK": {"S": f"REPORT#{tracking_id}"}, "SK": {"S": "META"}}
    due_sk = client.get_item(TableName=REPORTS_TABLE, Key=key)["Item"]["due_sk"]["S"]
    past = "2026-01-05T15:59:59Z"  # 23:59:59 WITA, Samarinda's
    client.update_item(TableName=REPORTS_TABLE, Key=key, UpdateExpression="SET due_at = :l, due_at_utc = :u, due_sk = :s",
                       ExpressionAttributeValues={":l": {"S": "2026-01-05T23:59:59+08:00"}, ":u": {"S": past},
                                                  ":s": {"S": past + due_sk[due_sk.index("#"):]}})
    return tracking_id


def sign_in(page, role: str, agency: str | None, *, start: str = "/desk/") -> None:
    """Sign in with lapor dev's local sign-in, as a person would: by the labels they read."""
    if start:
        page.goto(start)
    page.wait_for_url(re.compile(r"/desk/signin\.html"))
    page.get_by_label(ROLE_LABELS[role], exact=True).check()
    agencies = page.get_by_label("Instansi", exact=True)
    agencies.locator(f"option[value='{agency or ''}']").wait_for(state="attached")
    agencies.select_option(agency or "")
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.wait_for_url(re.compile(r"/desk/(?!signin)"))


def open_report(page, tracking_id: str) -> None:
    page.goto(f"/desk/report.html#{tracking_id}")
    page.locator("#report").wait_for()
    page.locator("#tracking-id").get_by_text(tracking_id).wait_for()


def test_operator_signs_in_answers_and_the_citizen_sees_and_rates_it(site, browser, page, console, screenshots):
    tracking_id, access_code, title = file_report(site, "Jalan berlubang")
    sign_in(page, "operator", PUPR)
    expect(page.locator("#who")).to_have_text(f"Operator · {AGENCY_NAMES[PUPR]}")  # its name, not its id
    line = page.locator("#queue li").filter(has=page.get_by_role("link", name=title))
    line.wait_for()
    assert re.search(r"\d+ hari kerja lagi", line.inner_text())  # the API's working_days_left, in words
    dues = page.evaluate("""() => [...document.querySelectorAll('#queue li a')].map(a => a.textContent)""")
    assert title in dues
    page.screenshot(path=str(screenshots / "desk-queue.png"), full_page=True)

    # Sorted by due date: the queue's lines in the order of the API's due_at.
    queue = requests.get(f"{site.url}/agency/reports", params={"limit": 100}, headers=token(site, "operator", PUPR),
                         timeout=TIMEOUT).json()["items"]
    if len(queue) < 100:
        expected = [i["tracking_id"] for i in sorted(queue, key=lambda i: (i["due_at"][:19], i["tracking_id"]))]
        shown = page.evaluate("""() => [...document.querySelectorAll('#queue li a')]
            .map(a => decodeURIComponent(a.getAttribute('href').split('#')[1]))""")
        assert [s for s in shown if s in expected] == [e for e in expected if e in shown]

    line.get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(rf"/desk/report\.html#{tracking_id}$"))
    page.locator("#report").wait_for()
    assert page.locator("#reporter").inner_text().startswith("Siti")
    assert "Diteruskan ke Dinas Pekerjaan Umum" in page.locator("#timeline").inner_text()
    page.get_by_label("Jawaban akhir").check()
    page.get_by_label("Pesan untuk pelapor").fill("Lubang sudah ditambal pada 3 Desember.")
    page.screenshot(path=str(screenshots / "desk-report.png"), full_page=True)
    page.get_by_role("button", name="Kirim tanggapan").click()
    page.get_by_text("Jawaban terkirim.").wait_for()
    assert page.locator("#status").inner_text() == "Sudah dijawab"
    assert page.locator("#answer").is_hidden()  # answered: nothing more to answer
    assert console.unexpected() == []

    # The citizen, on a device of their own, sees the answer and rates it.
    citizen = browser.new_context(viewport={"width": 360, "height": 640}, locale="id-ID", base_url=site.url)
    track = citizen.new_page()
    track.goto(f"/track.html#{tracking_id}")
    track.get_by_label("Kode akses").fill(access_code)
    track.get_by_role("button", name="Lihat laporan").click()
    track.locator("#result").wait_for()
    assert track.locator("#answers").get_by_text("Lubang sudah ditambal pada 3 Desember.").is_visible()
    track.get_by_label("5 — sangat puas").check()
    track.get_by_role("button", name="Kirim penilaian").click()
    track.get_by_text("Terima kasih, penilaian Anda tersimpan.").wait_for()
    citizen.close()

    # ... and the desk shows the rating in the report's history.
    page.reload()
    page.locator("#timeline").get_by_text("Pelapor menilai jawaban: 5 dari 5.").wait_for()


def test_a_stale_version_says_someone_changed_it_first_and_keeps_the_answer(site, page, console):
    tracking_id, _, _ = file_report(site, "Saluran tersumbat")
    sign_in(page, "operator", PUPR)
    open_report(page, tracking_id)
    typed = "Tim kami akan datang hari Senin."
    page.get_by_label("Pesan untuk pelapor").fill(typed)

    # Someone else acknowledges it meanwhile.
    other = requests.post(f"{site.url}/reports/{tracking_id}/responses", headers=token(site, "operator", PUPR),
                          json={"message": "Sedang kami cek.", "status": "in_progress"}, timeout=TIMEOUT)
    assert other.status_code == 200, other.text

    page.get_by_role("button", name="Kirim tanggapan").click()
    conflict = page.locator("#conflict")
    conflict.wait_for()
    assert "Orang lain sudah mengubah laporan ini" in conflict.inner_text()
    assert page.get_by_label("Pesan untuk pelapor").input_value() == typed
    assert page.locator("#status").inner_text() == "Diteruskan ke instansi"  # still what was read

    page.get_by_role("button", name="Muat ulang laporan").click()
    page.get_by_text("Laporan dimuat ulang.").wait_for()
    assert conflict.is_hidden() and page.get_by_label("Pesan untuk pelapor").input_value() == typed
    assert page.locator("#status").inner_text() == "Sedang ditangani"
    assert "Sedang kami cek." in page.locator("#timeline").inner_text()
    page.get_by_role("button", name="Kirim tanggapan").click()
    page.get_by_text("Jawaban terkirim.").wait_for()
    view = requests.get(f"{site.url}/agency/reports/{tracking_id}", headers=token(site, "operator", PUPR),
                        timeout=TIMEOUT).json()
    assert [e.get("message") for e in view["timeline"] if e["type"] == "responded"] == [typed]
    assert console.unexpected(*REFUSED) == []


def test_a_refused_token_asks_to_sign_in_again_and_keeps_the_answer(site, page, console):
    from lapor_cli.issuer import LocalIssuer

    tracking_id, _, _ = file_report(site, "Lampu jalan mati")
    sign_in(page, "operator", PUPR)
    open_report(page, tracking_id)
    typed = "Lampu diganti besok pagi."
    page.get_by_label("Pesan untuk pelapor").fill(typed)

    # The token expires while the answer is typed (the page still believes it valid: the API decides).
    expired = LocalIssuer(site.data_dir / "issuer").issue("operator", PUPR, ttl_seconds=-60)
    page.evaluate("""(token) => { const s = JSON.parse(sessionStorage.getItem('lapor.desk.session'));
        s.idToken = token; sessionStorage.setItem('lapor.desk.session', JSON.stringify(s)); }""", expired)
    page.get_by_role("button", name="Kirim tanggapan").click()
    page.get_by_text("Sesi Anda sudah berakhir.").wait_for()
    assert page.get_by_label("Pesan untuk pelapor").input_value() == typed

    page.get_by_role("link", name="Masuk lagi").click()
    page.get_by_text("Masuk untuk melanjutkan.").wait_for()
    sign_in(page, "operator", PUPR, start="")
    page.wait_for_url(re.compile(rf"/desk/report\.html#{tracking_id}$"))
    page.locator("#report").wait_for()
    assert page.get_by_label("Pesan untuk pelapor").input_value() == typed  # restored after signing in
    page.get_by_role("button", name="Kirim tanggapan").click()
    page.get_by_text("Jawaban terkirim.").wait_for()
    assert console.unexpected(*REFUSED) == []


def test_admin_sweep_dry_run_then_confirm_and_follow_it_to_the_end(site, page, console, screenshots):
    tracking_id = overdue_report(site)
    sign_in(page, "admin", None)
    page.get_by_role("link", name="Admin").click()
    page.wait_for_url(re.compile(r"/desk/admin\.html"))
    page.get_by_role("button", name="Lihat dulu (uji coba)").click()
    preview = page.locator("#sweep-preview")
    preview.wait_for()
    assert "belum ada yang diubah" in page.locator("#sweep-preview-heading").inner_text()
    assert int(page.locator("#sweep-preview-counts-scanned").inner_text()) >= 1
    assert page.get_by_text("Akan dinaikkan ke instansi atasan").is_visible()
    # Which reports, before the confirm button: ours, its agency, where it would go, its deadline.
    listed = page.locator("#sweep-preview-list li", has_text=tracking_id)
    assert listed.is_visible()
    assert re.search(r"Dinas Pekerjaan Umum dan Penataan Ruang Kota Samarinda → .*Inspektorat.* \(kabupaten/kota\)",
                     listed.inner_text()), listed.inner_text()
    assert "batas waktu 5 Januari 2026, 23:59 WITA" in listed.inner_text()
    assert re.match(r"Akan dinaikkan: \d+ laporan", page.locator("#sweep-preview-listed").inner_text())
    page.get_by_role("button", name="Jalankan sekarang").click()
    page.get_by_text(re.compile(r"^Selesai\. \d+ / \d+$")).wait_for(timeout=30_000)
    assert page.evaluate("(() => { const p = document.getElementById('sweep-progress'); return p.value === p.max })()")
    page.screenshot(path=str(screenshots / "desk-admin.png"), full_page=True)
    runs = requests.get(f"{site.url}/admin/sweeps", headers=token(site, "admin"), timeout=TIMEOUT).json()["items"]
    assert [r["dry_run"] for r in runs[:2]] == [False, True] and runs[0]["status"] == "finished"
    assert runs[0]["as_of"] == runs[1]["as_of"]  # the run the dry run showed
    escalated = requests.get(f"{site.url}/reports/{tracking_id}", timeout=TIMEOUT).json()
    assert escalated["escalation_level"] == 1  # the listed report, escalated by the confirmed run
    assert console.unexpected() == []


def test_admin_issues_an_api_key_shown_once_and_revokes_it(site, page, console):
    sign_in(page, "admin", None, start="/desk/admin.html")
    name = f"FixMyStreet {uuid.uuid4().hex[:6]}"
    page.get_by_label("Nama pemakai kunci").fill(name)
    page.get_by_role("button", name="Buat kunci").click()
    page.get_by_text(f"Kunci baru untuk {name}").wait_for()
    key = page.locator("#new-key-value").inner_text()
    listed = requests.get(f"{site.url}/admin/apikeys", headers=token(site, "admin"), timeout=TIMEOUT).json()["items"]
    mine = [k for k in listed if k["name"] == name]
    assert len(mine) == 1 and mine[0]["revoked_at"] is None and key and key not in json.dumps(listed)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Cabut kunci {name}").click()
    page.get_by_text(f"Kunci {name} dicabut.").wait_for()
    listed = requests.get(f"{site.url}/admin/apikeys", headers=token(site, "admin"), timeout=TIMEOUT).json()["items"]
    assert [k["revoked_at"] is not None for k in listed if k["name"] == name] == [True]
    assert console.unexpected() == []


def open_desk_page(site, page, path: str) -> None:
    if path == "/desk/signin.html":
        page.goto(path)
        page.locator("#signin-agency option[value='64-72-pupr']").wait_for(state="attached")
        return
    role = "admin" if path == "/desk/admin.html" else "supervisor"
    sign_in(page, role, None if role == "admin" else "64-72-inspektorat")
    if path == "/desk/":
        file_report(site, "Got mampet")
        page.get_by_label("Instansi").fill(PUPR)  # a supervisor looks at an agency of its chain
        page.get_by_role("button", name="Tampilkan").click()
        page.locator("#queue li").first.wait_for()
    elif path == "/desk/report.html":
        tracking_id, _, _ = file_report(site, "Trotoar rusak")
        open_report(page, tracking_id)
    else:
        page.goto(path)
        page.locator("#key-list li").first.wait_for()


@pytest.mark.parametrize("path", ["/desk/signin.html", "/desk/", "/desk/report.html", "/desk/admin.html"])
def test_desk_pages_on_a_phone(site, page, console, axe_source, path):
    open_desk_page(site, page, path)
    check_phone_page(page, console, axe_source, at_least=4)


def test_the_queue_sorts_by_citizens_support(site, page, console):
    """"Paling banyak didukung": the API's order (sort=supporters), each line with its supporters; kept in the
    address like the filters."""
    most, _, most_title = file_report(site, "Didukung dua")
    some, _, _ = file_report(site, "Didukung satu")
    for tracking_id, times in ((most, 2), (some, 1)):
        for _ in range(times):
            added = requests.post(f"{site.url}/reports/{tracking_id}/supporters", timeout=TIMEOUT,
                                  json={"device_key": str(uuid.uuid4())})
            assert added.status_code == 200 and added.json()["added"], added.text
    sign_in(page, "operator", PUPR)
    # Applied at once, while the first load (nearest deadline) may still be under way: only the latest shows.
    page.get_by_label("Urutkan").select_option("supporters")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.locator("#queue-status")).to_contain_text("laporan, paling banyak didukung lebih dulu")
    expect(page.locator("#queue li").first).to_contain_text(most_title)
    expect(page.locator("#queue li").first).to_contain_text("2 pendukung")
    expect(page.locator("#queue li").nth(1)).to_contain_text("1 pendukung")
    assert len(set(page.locator("#queue li a.title").all_inner_texts())) == page.locator("#queue li").count()
    assert "sort=supporters" in page.url


def located_report(site, prefix: str, lat: float, lon: float, **changes) -> tuple[str, str]:
    """A report with a location, filed over the API: its tracking id and title."""
    title = f"{prefix} {uuid.uuid4().hex[:8]}"
    reply = requests.post(f"{site.url}/reports", timeout=TIMEOUT, headers={"Idempotency-Key": str(uuid.uuid4())},
                          json=REPORT | {"title": title, "location": {"lat": lat, "lon": lon}} | changes)
    assert reply.status_code == 201, reply.text
    return reply.json()["tracking_id"], title


def test_operator_merges_a_duplicate_from_the_desk_and_an_admin_undoes_it(site, page, console, axe_source):
    import random

    # A spot of its own in Samarinda (the local stack is shared by the tests), and two reports of it 33 m apart.
    lat, lon = -0.45 - random.random() * 0.05, 117.10 + random.random() * 0.05
    master, master_title = located_report(site, "Lubang", lat, lon)
    duplicate, _ = located_report(site, "Lubang juga", lat + 0.0003, lon)
    # Balikpapan's confidential report of the same spot: never offered to Samarinda's agency.
    secret, _ = located_report(site, "Rahasia", lat + 0.0001, lon, region_code="64.71", privacy="confidential")
    supported = requests.post(f"{site.url}/reports/{master}/supporters", json={"device_key": str(uuid.uuid4())},
                              timeout=TIMEOUT)
    assert supported.status_code == 200, supported.text

    sign_in(page, "operator", PUPR)
    open_report(page, duplicate)
    line = page.locator("#similar-list li", has_text=master)
    line.wait_for()
    similar = page.locator("#similar").inner_text()
    assert "Laporan serupa" in similar and secret not in similar and "Rahasia" not in similar
    assert master_title in line.inner_text() and "1 pendukung" in line.inner_text()
    assert re.search(r"\b3[0-9] m\b", line.inner_text()), line.inner_text()
    assert page.locator("#supporters").inner_text() == "0"
    check_phone_page(page, console, axe_source, at_least=4)  # the list and its buttons: 360 px, Tab, axe

    line.get_by_role("button", name="Gabungkan ke laporan ini").click()
    assert page.locator("#merge-heading").inner_text() == f"Gabungkan {duplicate} ke {master}?"
    page.get_by_role("button", name="Ya, gabungkan").click()  # no reason yet: nothing is sent
    page.locator("#merge-reason-error").get_by_text("Wajib diisi.").wait_for()
    page.locator("#merge-reason").fill("Lubang yang sama, dilaporkan dua kali")
    page.get_by_role("button", name="Ya, gabungkan").click()
    page.get_by_text(f"Laporan digabungkan ke {master}.").wait_for()
    assert page.locator("#status").inner_text() == "Selesai"
    assert page.locator("#similar").is_hidden() and page.locator("#answer").is_hidden()
    link = page.locator("#merged").get_by_role("link", name=master)
    assert "Digabung ke" in page.locator("#merged").inner_text() and master_title in page.locator("#merged").inner_text()
    assert page.locator("#unmerge").is_hidden()  # operators do not undo
    assert f"Digabungkan ke {master} sebagai laporan ganda." in page.locator("#timeline").inner_text()
    public = requests.get(f"{site.url}/reports/{duplicate}", timeout=TIMEOUT).json()
    assert (public["status"], public["resolution"], public["merged_into"]["tracking_id"]) == ("closed", "duplicate",
                                                                                              master)
    # The master, through the link: it counts what it absorbed and its supporter.
    link.click()
    page.wait_for_url(re.compile(rf"/desk/report\.html#{master}$"))
    page.locator("#tracking-id").get_by_text(master).wait_for()
    page.get_by_text("1 laporan lain digabungkan ke laporan ini.").wait_for()
    assert page.locator("#supporters").inner_text() == "1"

    # An admin undoes it.
    page.locator("#signout").click()
    sign_in(page, "admin", None, start="")
    open_report(page, duplicate)
    page.get_by_role("button", name="Batalkan penggabungan").click()
    page.get_by_role("button", name="Ya, batalkan penggabungan").click()
    page.get_by_text("Penggabungan dibatalkan.").wait_for()
    assert page.locator("#status").inner_text() == "Diteruskan ke instansi"
    assert page.locator("#merged").is_hidden()
    assert f"Penggabungan ke {master} dibatalkan." in page.locator("#timeline").inner_text()
    page.locator("#similar-list li", has_text=master).wait_for()  # offered again
    view = requests.get(f"{site.url}/reports/{master}", timeout=TIMEOUT).json()
    assert view["absorbed"] == 0
    assert console.unexpected() == []


def test_the_header_names_the_agency_read_once_per_sign_in(site, page, console):
    """The header shows the id at once, then the agency's name from GET /agency/me (read in the background), in
    both languages; the next pages show it from the session without reading it again."""
    name = AGENCY_NAMES[PUPR]
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if r.url.endswith("/agency/me") else None)
    tracking_id, _, _ = file_report(site, "Papan nama")
    sign_in(page, "supervisor", PUPR)
    expect(page.locator("#who")).to_have_text(f"Supervisor · {name}")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#who")).to_have_text(f"Supervisor · {name}")  # lapor:lang draws it again, with the name
    page.get_by_role("button", name="Bahasa Indonesia").click()
    open_report(page, tracking_id)
    assert page.locator("#who").inner_text() == f"Supervisor · {name}" and len(reads) == 1  # kept with the session
    assert console.unexpected() == []


@pytest.mark.parametrize("failure", ["offline", 401, 500])
def test_the_header_keeps_the_agency_id_when_the_agencies_cannot_be_read(site, page, console, failure):
    """GET /agency/me fails (no connection, a refused token, a server error): the header keeps the id, says
    nothing of it, asks no one to sign in again, and the page works; the next page reads it again."""
    def refuse(route):
        if failure == "offline":
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=failure, content_type="application/json",
                          body=json.dumps({"error": {"code": "refused", "message": "refused"}}))

    page.route("**/agency/me", refuse)
    console.ignore_failed_loads_from(site.url)  # the browser's own line for the aborted request
    # The admin page, signed in for an agency: only the header's read fails; the page's own calls work.
    ended = "requestfailed" if failure == "offline" else "requestfinished"
    with page.expect_event(ended, predicate=lambda r: r.url.endswith("/agency/me")):
        sign_in(page, "admin", PUPR, start="/desk/admin.html")
    page.wait_for_url(re.compile(r"/desk/admin\.html"))
    page.locator("#key-list li").first.wait_for()  # the page's own calls work
    assert page.locator("#who").inner_text() == f"Admin · {PUPR}"
    assert page.locator("#session-expired").is_hidden()
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('lapor.desk.session')).idToken") is not None
    page.get_by_label("Nama pemakai kunci").fill(f"Uji {uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Buat kunci").click()
    page.get_by_text("Kunci baru untuk").wait_for()
    assert console.unexpected(f"status of {failure}") == []

    page.unroute("**/agency/me")
    page.goto("/desk/admin.html")  # a failure is not kept: this page asks again, and gets the name
    expect(page.locator("#who")).to_have_text(f"Admin · {AGENCY_NAMES[PUPR]}")
