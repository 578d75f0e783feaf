"""SMS commands: parsing, region/category resolution and the replies (pure domain, no AWS)."""

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lapor.domain import sms
from lapor.domain.sms import (
    Check,
    File,
    Help,
    Problem,
    Resolved,
    parse,
    resolve_category,
    resolve_file,
    resolve_region,
)
from lapor.models import ReportIn, Status

ROOT = Path(__file__).resolve().parents[1]
TRACKING_ID = "LPR-7K3M9Q2X"
AGENCY = "Dinas Kesehatan Kota Samarinda, Kaltim 01"  # ~40 characters
assert 38 <= len(AGENCY) <= 42
# GSM 03.38 basic character set: a message made of these costs one character each (160 per SMS).
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def code(result: object) -> str:
    assert not isinstance(result, Problem), result
    return result.code  # type: ignore[attr-defined]


# --- parse ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n ", "INFO", "info", "  Bantuan  ", "BANTUAN?", "help!", "Info."])
def test_help(text):
    assert parse(text) == Help()


def test_a_help_word_followed_by_text_is_a_complaint():
    assert parse("Bantuan sosial belum cair") == File(None, "Bantuan sosial belum cair")


@pytest.mark.parametrize(
    "text",
    ["CEK LPR-7K3M9Q2X", "cek lpr-7k3m9q2x", "  Cek   LPR 7K3M 9Q2X ", "CEK: lpr7k3m9q2x", "cek LPR-7K3M-9Q2X", "lpr-7k3m9q2x"],
)
def test_check_normalises_a_sloppy_tracking_id(text):
    assert parse(text).tracking_id == TRACKING_ID


def test_check_keeps_what_was_typed_when_it_is_not_a_tracking_id():
    assert parse("CEK 12345") == Check(None, "12345")
    assert parse("cek") == Check(None, "")


def test_a_long_message_starting_with_cek_is_a_complaint():
    text = "Cek kesehatan gratis di puskesmas tidak ada"
    assert parse(text) == File(None, text)


def test_lapor_with_region_and_category():
    assert parse("LAPOR Kab. Berau administrasi kependudukan: KTP saya belum jadi") == File(
        "Kab. Berau administrasi kependudukan", "KTP saya belum jadi"
    )


def test_lapor_tolerates_case_and_spaces_and_keeps_the_text_as_sent():
    text = "  lapor   Samarinda   KESEHATAN  :   Puskesmas tutup 😡  ✓ ñ \n"
    assert parse(text) == File("Samarinda   KESEHATAN", "Puskesmas tutup 😡  ✓ ñ")


def test_long_text_is_kept_whole():
    body = ("Jalan berlubang 🚧 " * 200)[:1600].strip()
    assert parse(f"LAPOR Samarinda infrastruktur: {body}").text == body
    assert parse(body).text == body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LAPOR jalan rusak di depan pasar", "jalan rusak di depan pasar"),
        ("Lapor: jalan rusak", "jalan rusak"),
        ("LAPOR jalan rusak sejak jam 10:30 tadi", "jalan rusak sejak jam 10:30 tadi"),  # a time is no head
        ("LAPOR sampah 🗑️ menumpuk: sudah seminggu", "sampah 🗑️ menumpuk: sudah seminggu"),  # nor is an emoji
        ("Laporan saya belum dijawab", "Laporan saya belum dijawab"),  # "Laporan" is not the keyword
        ("jalan rusak", "jalan rusak"),
    ],
)
def test_free_text(text, expected):
    assert parse(text) == File(None, expected)


def test_lapor_without_a_report_asks_for_help():
    assert parse("LAPOR") == Help()
    assert parse("LAPOR Samarinda kesehatan:  ") == Help()


def test_file_message_puts_the_head_back_when_it_was_not_one():
    assert parse("LAPOR jalan rusak: sudah 3 bulan").message == "jalan rusak: sudah 3 bulan"
    assert parse("jalan rusak").message == "jalan rusak"


@settings(deadline=None, max_examples=300)
@given(st.text(max_size=300) | st.builds("LAPOR {}: {}".format, st.text(max_size=40), st.text(max_size=40)))
def test_parse_never_raises_and_keeps_the_text(text):
    command = parse(text)
    assert isinstance(command, Help | Check | File)
    if isinstance(command, File):
        assert command.text and command.text == command.text.strip()
        assert command.text in sms.clean_text(text)  # what is filed is the cleaned text (test_sms_hostile)
        if command.head is not None:
            assert isinstance(resolve_file(command.head, "64"), Resolved | Problem)


# --- regions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("64.72", "64.72"),
        ("6472", "64.72"),
        ("64.72.01", "64.72.01"),
        ("64", "64"),
        ("Samarinda", "64.72"),
        ("Kota Samarinda", "64.72"),
        ("kota  samarinda!", "64.72"),
        ("Kab. Berau", "64.03"),
        ("KABUPATEN BERAU", "64.03"),
        ("KAB BERAU", "64.03"),
        ("kutai kartanegara", "64.02"),
        ("Kalimantan Timur", "64"),
        ("Kaltim", "64"),
        ("Jakarta Pusat", "31.71"),  # "Kota Administrasi Jakarta Pusat"
        ("Kep. Seribu", "31.01"),  # "Kabupaten Administrasi Kepulauan Seribu"
        ("Tolitoli", "72.04"),  # "Kabupaten Toli-Toli"
        ("Kota Baru", "63.02"),  # "Kabupaten Kotabaru": the kecamatan-like spelling still finds it
        ("Kota Berau", "64.03"),  # a wrong prefix is a slip, not a different place
        ("Provinsi Jambi", "15"),
        ("Kota Jambi", "15.71"),
    ],
)
def test_region_by_code_or_name(query, expected):
    assert code(resolve_region(query)) == expected
    assert code(resolve_region(query, "64")) == expected


def test_unknown_region():
    assert resolve_region("Atlantis", "64") == Problem("unknown_region", "Atlantis")
    assert resolve_region("99.99") == Problem("unknown_region", "99.99")
    assert resolve_region("") == Problem("unknown_region", "")


def test_a_name_in_two_provinces_is_ambiguous_until_the_province_or_prefix_says_which():
    problem = resolve_region("Banjar")
    assert problem.code == "ambiguous_region"
    assert {r.code for r in problem.candidates} == {"32.79", "63.03"}
    assert code(resolve_region("Banjar", "63")) == "63.03"
    assert code(resolve_region("Banjar", "32")) == "32.79"  # not the kecamatan Banjar (32.79.01) either
    assert code(resolve_region("Kab. Banjar")) == "63.03"


def test_a_kabupaten_and_a_kota_of_one_name_need_the_prefix():
    assert resolve_region("Bogor", "32").code == "ambiguous_region"
    assert code(resolve_region("Kota Bogor", "32")) == "32.71"
    assert code(resolve_region("Kabupaten Bogor")) == "32.01"


def test_kecamatan_only_within_the_province_and_below_a_kota_of_the_same_name():
    assert code(resolve_region("Samarinda Ulu", "64")) == "64.72.03"
    assert code(resolve_region("kota bangun", "64.72")) == "64.02.08"  # a kecamatan whose name starts with "Kota"
    assert resolve_region("Samarinda Ulu").code == "unknown_region"
    assert code(resolve_region("Makassar", "73")) == "73.71"  # not kecamatan Makassar 73.71.03
    assert code(resolve_region("Kec. Makassar", "73")) == "73.71.03"


def test_the_first_lookup_is_fast_from_a_cold_start():
    script = (
        "import time; from lapor.domain import sms; t = time.perf_counter(); "
        "sms.resolve_file('Samarinda Ulu kesehatan', '64'); print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert float(out.stdout) < 1.0


# --- categories ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("health", "health"),
        ("Kesehatan", "health"),
        ("HEALTH", "health"),
        ("population_administration", "population_administration"),
        ("population administration", "population_administration"),
        ("administrasi kependudukan", "population_administration"),
        ("Administrasi", "population_administration"),  # first word, unique among categories
        ("Perilaku Aparatur Sipil Negara", "civil_servant_conduct"),
        ("Other Public Services", "other_public_services"),
    ],
)
def test_category(query, expected):
    assert resolve_category(query).id == expected


@pytest.mark.parametrize("query", ["", "kesehtan", "ktp", "publik"])
def test_unknown_category(query):
    assert resolve_category(query) is None


def test_every_short_name_offered_resolves():
    for name in sms.category_short_names():
        assert resolve_category(name) is not None, name


# --- resolve_file --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "region", "category"),
    [
        ("Kab. Berau administrasi kependudukan", "64.03", "population_administration"),
        ("Samarinda   KESEHATAN", "64.72", "health"),
        ("kesehatan Samarinda", "64.72", "health"),  # category first
        ("Samarinda, kesehatan", "64.72", "health"),
        ("Kutai Kartanegara perilaku aparatur sipil negara", "64.02", "civil_servant_conduct"),
        ("Kota Bangun pelayanan publik lainnya", "64.02.08", "other_public_services"),
        ("64.72.01 population_administration", "64.72.01", "population_administration"),
        ("Kota Bogor health", "32.71", "health"),
    ],
)
def test_resolve_file(head, region, category):
    resolved = resolve_file(head, "64")
    assert isinstance(resolved, Resolved), resolved
    assert (resolved.region.code, resolved.category.id) == (region, category)


@pytest.mark.parametrize(
    ("head", "problem"),
    [
        ("Samarindaa kesehatan", Problem("unknown_region", "Samarindaa")),
        ("Kab Beraau administrasi kependudukan", Problem("unknown_region", "Kab Beraau")),
        ("Samarinda kesehtan", Problem("unknown_category", "kesehtan")),
        ("Kab. Berau adminduk", Problem("unknown_category", "adminduk")),
        ("Samarinda", Problem("unknown_category", "")),  # missing
        ("kesehatan", Problem("unknown_region", "")),  # missing
        ("jalan rusak", Problem("unrecognized", "jalan rusak")),
    ],
)
def test_resolve_file_says_which_part_is_wrong(head, problem):
    assert resolve_file(head, "64") == problem


def test_resolve_file_with_an_ambiguous_region():
    problem = resolve_file("Bogor kesehatan", "64")
    assert (problem.code, problem.query) == ("ambiguous_region", "Bogor")
    assert [r.code for r in problem.candidates] == ["32.01", "32.71"]


# --- replies -------------------------------------------------------------------------------------------------


def one_sms(text: str) -> bool:
    return len(text) <= sms.SMS_LENGTH and set(text) <= GSM7


DUE = date(2025, 8, 12)
TYPICAL_REPLIES = [
    sms.reply_help(),
    sms.reply_filed(TRACKING_ID, AGENCY, DUE),
    sms.reply_filed_for_triage(TRACKING_ID),
    *(sms.reply_status(TRACKING_ID, s, AGENCY, DUE, overdue=True) for s in get_args(Status)),
    sms.reply_status(TRACKING_ID, "escalated", AGENCY, DUE, overdue=True, overdue_final=True),
    sms.reply_not_found("LPR-7K3M9Q2Y"),
    sms.reply_not_found(""),
    sms.reply_limit(5),
    *(
        sms.reply_problem(p)
        for p in [
            Problem("unknown_region", "Samarindaa"),
            Problem("unknown_region", ""),
            Problem("unknown_category", "kesehtan"),
            Problem("unknown_category", ""),
            Problem("unrecognized", "jalan rusak"),
        ]
    ),
]


@pytest.mark.parametrize("reply", TYPICAL_REPLIES)
def test_replies_fit_one_sms(reply):
    assert one_sms(reply), (len(reply), reply)


def test_ambiguous_reply_names_the_candidates_with_their_codes():
    reply = sms.reply_problem(resolve_region("Gorontalo"))
    assert "Provinsi Gorontalo (75)" in reply and "Kota Gorontalo (75.71)" in reply
    assert one_sms(reply)


def test_filed_reply_says_where_when_and_how_to_check():
    reply = sms.reply_filed(TRACKING_ID, AGENCY, DUE)
    assert AGENCY in reply and "12 Agu 2025" in reply and f"CEK {TRACKING_ID}" in reply


def test_a_very_long_agency_name_is_shortened_to_keep_one_sms():
    agency = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Administrasi Kepulauan Seribu Provinsi DKI"
    reply = sms.reply_filed(TRACKING_ID, agency, DUE)
    assert one_sms(reply) and f"CEK {TRACKING_ID}" in reply and "Dinas Kependudukan" in reply


def test_status_words_cover_every_status():
    assert set(sms.STATUS_WORDS) == set(get_args(Status))
    assert "diproses" in sms.reply_status(TRACKING_ID, "in_progress", AGENCY, DUE)
    closed = sms.reply_status(TRACKING_ID, "closed", AGENCY, DUE, overdue=True)
    assert "selesai" in closed and "Batas" not in closed and "Lewat" not in closed
    assert "Ombudsman" in sms.reply_status(TRACKING_ID, "escalated", AGENCY, None, overdue_final=True)


# --- title and description -----------------------------------------------------------------------------------


def test_title_and_description_from_short_and_long_text():
    assert sms.title_from_text("Jalan rusak parah") == "Jalan rusak parah"
    assert sms.title_from_text("ok") == "Laporan SMS: ok"
    assert sms.title_from_text(" ") == "Laporan SMS"
    long_title = sms.title_from_text("jalan " * 100)
    assert long_title.endswith("jalan…") and len(long_title) <= sms.TITLE_MAX
    assert sms.description_from_text("  Jalan rusak parah 🚧 ") == "Jalan rusak parah 🚧"
    assert sms.description_from_text("rusak") == "Laporan via SMS: rusak"


@settings(max_examples=300)
@given(st.text(max_size=1600))
def test_title_and_description_always_fit_the_report_model(text):
    ReportIn(
        kind="complaint",
        category="health",
        region_code="64.72",
        title=sms.title_from_text(text),
        description=sms.description_from_text(text),
        privacy="public",
    )
