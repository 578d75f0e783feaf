"""SMS commands (design §4 "SMS"): parsing, region and category resolution, and the replies.

Pure: no I/O, no AWS. The handler parses a message, resolves a structured ``LAPOR`` head against the
receiving number's default province, files or looks up the report, and answers with one of the replies below.

- ``INFO`` / ``BANTUAN`` / ``HELP`` (or an empty message) → :class:`Help`
- ``CEK <tracking id>`` (or a bare tracking id) → :class:`Check`
- ``LAPOR <region> <category>: <text>`` → :class:`File` with a ``head`` for :func:`resolve_file`
- ``LAPOR <text>`` or any other text → :class:`File` without a head (free text, awaiting triage)

Every text from a sender is cleaned before it is parsed, stored or echoed (:func:`clean_text`): no control
characters, bidi overrides or noncharacters reach a report or a reply (TwiML is XML 1.0, and an operator must read
what the sender wrote in the order it was written); a message with nothing visible left is an empty one (help).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

from lapor.domain.ids import normalize_tracking_id
from lapor.domain.reference import Category, Region, categories, child_regions, region
from lapor.domain.text import FORBIDDEN, INVISIBLE

# ---------------------------------------------------------------------------------------------------------------
# Replies: every text a citizen can receive, in one place so they are easy to review and translate.
# Plain GSM-7 text (no [ ] { } ~ ^ | \ €, which cost two characters each), one SMS (160) where possible.
# ---------------------------------------------------------------------------------------------------------------
SMS_LENGTH = 160
TEMPLATES = {
    "help": (
        "Lapor via SMS: LAPOR <kab/kota> <kategori>: <isi>, mis. LAPOR Samarinda kesehatan: puskesmas tutup. "
        "Atau kirim isi laporan saja. Cek status: CEK <kode>"
    ),
    "filed": "Laporan {tracking_id} diteruskan ke {agency}, batas jawaban {due}. Cek status: CEK {tracking_id}",
    "merged": "Laporan {tracking_id} digabung dengan {master} (masalah yang sama); kabar {master} dikirim ke nomor ini juga. Cek status: CEK {master}",
    "resend": "Laporan ini sudah tercatat: {tracking_id}, belum selesai. Tidak dibuat laporan baru. Cek status: CEK {tracking_id}",
    "filed_for_triage": (
        "Laporan {tracking_id} diterima dan akan diteruskan ke instansi terkait. Cek status: CEK {tracking_id}"
    ),
    "status": "Laporan {tracking_id}: {status}. Instansi: {agency}.{details}",
    "status_due": " Batas jawaban {due}.",
    "status_overdue": " Lewat batas waktu.",
    "status_overdue_final": " Lewat batas waktu di tingkat akhir; dapat diadukan ke Ombudsman.",
    "not_found": "Laporan {raw} tidak ditemukan. Periksa kodenya, mis. CEK LPR-7K3M9Q2X",
    "check_format": "Kirim CEK <kode laporan>, mis. CEK LPR-7K3M9Q2X",
    "limit": "Maaf, batas {limit} laporan per hari dari nomor ini sudah tercapai. Silakan kirim lagi besok. Terima kasih.",
    "unknown_region": (
        "Wilayah '{query}' tidak dikenali. Tulis nama kab/kota atau kodenya, mis. LAPOR Samarinda kesehatan: <isi>"
    ),
    "missing_region": (
        "Wilayah belum ditulis. Format: LAPOR <kab/kota> <kategori>: <isi>, mis. LAPOR Samarinda kesehatan: <isi>"
    ),
    "ambiguous_region": "Wilayah '{query}' ada beberapa: {candidates}. Tulis nama lengkap atau kodenya.",
    # The list of categories alone takes most of an SMS, so these two do not echo what was sent.
    "unknown_category": "Kategori tidak dikenali. Pilih: {categories}",
    "missing_category": "Kategori belum ditulis. Pilih: {categories}",
    "unrecognized": (
        "Wilayah/kategori '{query}' tidak dikenali. Format: LAPOR <kab/kota> <kategori>: <isi>. "
        "Atau kirim isi laporan saja."
    ),
    "title_short": "Laporan SMS: {text}",
    "description_short": "Laporan via SMS: {text}",
}
STATUS_WORDS = {
    "submitted": "diterima",
    "routed": "diteruskan",
    "in_progress": "diproses",
    "responded": "dijawab",
    "closed": "selesai",
    "escalated": "dieskalasi",
    "rejected": "ditolak",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
# Statuses for which a deadline no longer means anything to the reporter.
_NO_DEADLINE = {"responded", "closed", "rejected"}

TITLE_MAX = 80  # ReportIn allows 150; a title is for scanning lists, the whole text stays in the description
DESCRIPTION_MAX = 5000
MAX_HEAD_WORDS = 10  # longest real head: a 5-word kabupaten + a 4-word category


# ---------------------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Check:
    tracking_id: str | None  # canonical, or None when what was typed is not a tracking id
    raw: str  # as typed, for the "not found" reply


@dataclass(frozen=True, slots=True)
class File:
    head: str | None  # "<region> <category>" before the colon, for resolve_file; None for free text
    text: str  # the report text as sent (outer whitespace stripped)

    @property
    def message(self) -> str:
        """The whole text, head included: what to file when the head turns out not to be a head."""
        return f"{self.head}: {self.text}" if self.head else self.text


Command = Help | Check | File

_KEYWORD = re.compile(r"(?P<word>[^\W\d_]+)(?P<sep>[\s.,:;!?]*)(?P<rest>.*)", re.DOTALL)
# A colon between digits is a time ("jam 10:30"), not the end of a head.
_HEAD_END = re.compile(r"(?<!\d):|:(?!\d)")
_HEAD_CHARS = re.compile(r"[\w\s.,'()/-]+")


# ---------------------------------------------------------------------------------------------------------------
# Hostile or garbled text
# ---------------------------------------------------------------------------------------------------------------
# Line breaks other than \n (\r\n is folded first) become \n; every other control character goes (FORBIDDEN).
_LINE_BREAKS = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n"})
_REPLACEMENTS = re.compile("\ufffd{2,}")  # lenient decoding leaves one U+FFFD per undecodable byte
# Kept at the end of a text: they give the emoji before them its colour presentation ("❤️").
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\u180b-\u180f]")


def _invisible_at(text: str, index: int) -> bool:
    return INVISIBLE.fullmatch(text[index]) is not None


def clean_text(text: str) -> str:
    """``text`` as a report may store it and a reply echo it: line breaks as ``\\n``; no other control character,
    bidi embedding/override/isolate, noncharacter or lone surrogate; one U+FFFD where lenient decoding lost
    bytes; no white space or zero-width characters at either end (a leading BOM must not hide ``INFO``).
    "" when nothing visible is left (only white space, zero-width characters and U+FFFD)."""
    text = FORBIDDEN.sub("", text.replace("\r\n", "\n").translate(_LINE_BREAKS))
    text = _REPLACEMENTS.sub("\ufffd", text)
    if not INVISIBLE.sub("", text).replace("\ufffd", ""):
        return ""
    start, end = 0, len(text)
    while _invisible_at(text, start):  # something visible is left: neither loop runs off the text
        start += 1
    while _invisible_at(text, end - 1) and not _VARIATION_SELECTORS.fullmatch(text[end - 1]):
        end -= 1
    return text[start:end]


def safe_reply(reply: str) -> str:
    """A reply with nothing XML 1.0 or an SMS cannot carry: the last line of defence, for replies stored
    before the text was cleaned or written by code that forgot to."""
    return FORBIDDEN.sub("", reply)


def parse(text: str) -> Command:
    message = clean_text(text)
    if not message:
        return Help()
    if tracking_id := normalize_tracking_id(message):
        return Check(tracking_id, message)
    match = _KEYWORD.fullmatch(message)
    # A keyword is a whole first word: "LAPOR:" and "Lapor ..." are, "Laporan ..." is not.
    keyword = match["word"].lower() if match and (match["sep"] or not match["rest"]) else ""
    rest = match["rest"].strip() if keyword else message
    if keyword in {"info", "bantuan", "help"} and not rest:
        return Help()  # "bantuan sosial belum cair" is a complaint, not a request for help
    if keyword in {"cek", "check"} and len(rest.split()) <= 3:  # "LPR 7K3M 9Q2X" is three words
        return Check(normalize_tracking_id(rest), rest)
    if keyword != "lapor":
        return File(None, message)
    if not rest:
        return Help()
    end = _HEAD_END.search(rest)
    head = rest[: end.start()].strip() if end else ""
    if head and len(head.split()) <= MAX_HEAD_WORDS and _HEAD_CHARS.fullmatch(head):
        body = rest[end.end() :].strip()
        return File(head, body) if body else Help()
    return File(None, rest)


# ---------------------------------------------------------------------------------------------------------------
# Resolution of "<region> <category>"
# ---------------------------------------------------------------------------------------------------------------
ProblemCode = Literal["unknown_region", "ambiguous_region", "unknown_category", "unrecognized"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a head did not resolve. ``query`` is the part at fault ("" when it is missing)."""

    code: ProblemCode
    query: str
    candidates: tuple[Region, ...] = ()  # for ambiguous_region


@dataclass(frozen=True, slots=True)
class Resolved:
    region: Region
    category: Category


_TYPE_PREFIXES = {
    "provinsi": {"provinsi"}, "propinsi": {"provinsi"}, "prov": {"provinsi"},
    "kabupaten": {"kabupaten"}, "kab": {"kabupaten"},
    "kota": {"kota"}, "kotamadya": {"kota"}, "kodya": {"kota"},
    "kecamatan": {"kecamatan", "distrik"}, "kec": {"kecamatan", "distrik"}, "distrik": {"kecamatan", "distrik"},
}  # fmt: skip
_ABBREVIATIONS = {"kep": "kepulauan", "adm": "administrasi"}
# Names people text instead of the official province names, as keys (see _key).
_PROVINCE_ALIASES = {
    "dki": "31", "jakarta": "31", "dkijakarta": "31", "diy": "34", "diyogyakarta": "34",
    "ntb": "52", "ntt": "53", "kalbar": "61", "kalteng": "62", "kalsel": "63", "kaltim": "64", "kaltara": "65",
    "jabar": "32", "jateng": "33", "jatim": "35", "sumut": "12", "sumbar": "13", "sumsel": "16",
    "sulut": "71", "sulteng": "72", "sulsel": "73", "sultra": "74", "sulbar": "76", "babel": "19", "kepri": "21",
}  # fmt: skip
_CODE = re.compile(r"\d{2}(?:\.?\d{2}){0,2}")


def _words(text: str) -> list[str]:
    # "Kab. Berau", "KAB BERAU" and "Toli-Toli"/"Tolitoli" must meet: case and punctuation never matter.
    return [_ABBREVIATIONS.get(w, w) for w in re.findall(r"[^\W_]+", text.lower().replace("'", ""))]


def _split_prefix(words: list[str]) -> tuple[set[str] | None, list[str]]:
    """``kota administrasi jakarta pusat`` → ({"kota"}, ["jakarta", "pusat"])."""
    if len(words) > 1 and words[0] in _TYPE_PREFIXES:
        rest = words[2:] if words[1] == "administrasi" else words[1:]
        return _TYPE_PREFIXES[words[0]], rest
    return None, words


def _key(words: list[str]) -> str:
    return "".join(words)  # spaces dropped too: "Kota Baru" and "Kotabaru", "Sanga Sanga" and "Sangasanga"


def _index(pairs: Iterable[tuple[str, Region]]) -> dict[str, tuple[Region, ...]]:
    index: dict[str, tuple[Region, ...]] = defaultdict(tuple)
    for key, r in pairs:
        index[key] += (r,)
    return dict(index)


@lru_cache(maxsize=1)
def _national_index() -> dict[str, tuple[Region, ...]]:
    """Provinces and kabupaten/kota by name (kab/kota without "Kabupaten"/"Kota": "Jambi" is both kinds)."""
    provinces = child_regions(None)
    regencies = [r for p in provinces for r in child_regions(p.code)]
    return _index([
        *((_key(_words(p.name)), p) for p in provinces),
        *((_key(_split_prefix(_words(r.name))[1]), r) for r in regencies),
        *((alias, region(code)) for alias, code in _PROVINCE_ALIASES.items()),
    ])


@lru_cache(maxsize=64)
def _district_index(province: str) -> dict[str, tuple[Region, ...]]:
    """Kecamatan of one province by name; their names carry no prefix ("Kota Bangun" is a kecamatan)."""
    return _index((_key(_words(d.name)), d) for r in child_regions(province) for d in child_regions(r.code))


def resolve_region(query: str, province: str | None = None) -> Region | Problem:
    """A region by Kemendagri code or name; kecamatan only within ``province``, which is also preferred."""
    query = query.strip()
    compact = re.sub(r"\s", "", query)
    if _CODE.fullmatch(compact):
        digits = compact.replace(".", "")
        found = region(".".join(digits[i : i + 2] for i in range(0, len(digits), 2)))
        return found or Problem("unknown_region", query)
    home = province[:2] if province and re.fullmatch(r"\d{2}", province[:2]) else None
    indexes = [_national_index()] + ([_district_index(home)] if home else [])

    def lookup(words: list[str]) -> tuple[Region, ...]:
        return tuple(r for index in indexes for r in index.get(_key(words), ())) if words else ()

    words = _words(query)
    types, bare = _split_prefix(words)
    found = lookup(words)  # the name as written, prefix and all
    if types:
        named = lookup(bare)
        # The prefix picks "Kota Bogor" over "Kabupaten Bogor", but a wrong one ("Kota Berau") is only a slip.
        found += tuple(r for r in named if r.type in types) or named
    found = tuple(dict.fromkeys(found))
    if home:
        found = tuple(r for r in found if r.code[:2] == home) or found
    if any(r.code.count(".") < 2 for r in found):  # a kabupaten/kota over a kecamatan of the same name
        found = tuple(r for r in found if r.code.count(".") < 2)
    if len(found) == 1:
        return found[0]
    return Problem("ambiguous_region", query, found) if found else Problem("unknown_region", query)


@lru_cache(maxsize=1)
def _category_index() -> dict[str, Category]:
    index: dict[str, Category] = {}
    first_words: dict[str, list[Category]] = defaultdict(list)
    for c in categories().values():
        for name in (c.id, c.name_id, c.name_en):
            index[_key(_words(name))] = c  # "population_administration" too
        first_words[_words(c.name_id)[0]].append(c)
    # The first word of an Indonesian name ("administrasi") is enough when no other category shares it.
    return {**{w: cs[0] for w, cs in first_words.items() if len(cs) == 1}, **index}


def resolve_category(query: str) -> Category | None:
    """A category by id, Indonesian or English name, or the first word of its Indonesian name."""
    return _category_index().get(_key(_words(query)))


def category_short_names() -> list[str]:
    """What the "unknown category" reply offers: the first word where it is enough, else the whole name."""
    index = _category_index()
    return [w if index.get(w := _words(c.name_id)[0]) is c else c.name_id.lower() for c in categories().values()]


def resolve_file(head: str, province: str | None = None) -> Resolved | Problem:
    """Tries every split of the head into region words and category words (either order)."""
    words = [w for w in re.split(r"[\s,;/]+", head.strip()) if w]
    halves = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(len(words) + 1)]
    attempts = [(r, c) for left, right in halves for r, c in ((left, right), (right, left))]
    results = [(rq, resolve_region(rq, province), cq, resolve_category(cq)) for rq, cq in attempts]

    found = {(r.code, c.id): Resolved(r, c) for _, r, _, c in results if isinstance(r, Region) and c}
    if len(found) == 1:
        return next(iter(found.values()))
    if found:
        return Problem("ambiguous_region", head, tuple(dict.fromkeys(x.region for x in found.values())))
    # Nothing resolved. Where the category is clear, the region is what the sender got wrong.
    region_faults = sorted((r for _, r, _, c in results if c), key=lambda p: len(p.query))
    if region_faults:
        return next((p for p in region_faults if p.code == "ambiguous_region"), region_faults[0])
    # Where the region is clear (or only ambiguous), the category is wrong: take the longest region.
    regions = [(rq, cq) for rq, r, cq, _ in results if isinstance(r, Region) or r.code == "ambiguous_region"]
    if regions:
        return Problem("unknown_category", max(regions, key=lambda x: len(x[0]))[1])
    return Problem("unrecognized", head.strip())


# ---------------------------------------------------------------------------------------------------------------
# Replies and report fields
# ---------------------------------------------------------------------------------------------------------------
def format_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def display_name(r: Region) -> str:
    """Kab/kota names carry their kind; provinces do not ("Gorontalo" is a province, a kabupaten and a kota)."""
    return f"Provinsi {r.name}" if r.type == "provinsi" else r.name


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 2].rstrip() + ".."


def _fit(template: str, agency: str, **values: str) -> str:
    """Shortens a long agency name so the reply stays one SMS: the tracking id matters more than the name."""
    message = template.format(agency=agency, **values)
    excess = len(message) - SMS_LENGTH
    if excess > 0 and len(agency) - excess >= 20:
        message = template.format(agency=_clip(agency, len(agency) - excess), **values)
    return message


def reply_help() -> str:
    return TEMPLATES["help"]


def reply_filed(tracking_id: str, agency_name: str, due_local_date: date) -> str:
    return _fit(TEMPLATES["filed"], agency_name, tracking_id=tracking_id, due=format_date(due_local_date))


def reply_merged(tracking_id: str, master: str) -> str:
    return TEMPLATES["merged"].format(tracking_id=tracking_id, master=master)


def reply_resend(tracking_id: str) -> str:
    return TEMPLATES["resend"].format(tracking_id=tracking_id)


def resend_subject(region_code: str, category: str, text: str, *, triage: bool) -> str:
    """What a filed SMS is about, to know the same complaint sent again: its region and category; for free text
    (every one goes to the home region's triage category) also its words, so two different problems sent by one
    phone on one day are two reports."""
    if not triage:
        return f"{region_code}#{category}"
    words = " ".join(clean_text(text).casefold().split())
    return f"{region_code}#{category}#{hashlib.sha256(words.encode()).hexdigest()[:16]}"


def reply_filed_for_triage(tracking_id: str) -> str:
    return TEMPLATES["filed_for_triage"].format(tracking_id=tracking_id)


def reply_status(
    tracking_id: str,
    status: str,
    agency_name: str,
    due_local_date: date | None = None,
    *,
    overdue: bool = False,
    overdue_final: bool = False,
) -> str:
    details = ""
    if overdue_final:  # the deadline is past at the top of the ladder: what matters now is the Ombudsman
        details = TEMPLATES["status_overdue_final"]
    elif status not in _NO_DEADLINE:
        details = TEMPLATES["status_due"].format(due=format_date(due_local_date)) if due_local_date else ""
        details += TEMPLATES["status_overdue"] if overdue else ""
    word = STATUS_WORDS.get(status, status)
    return _fit(TEMPLATES["status"], agency_name, tracking_id=tracking_id, status=word, details=details)


def _echo(text: str, limit: int) -> str:
    """A fragment of what the sender wrote, fit to repeat in a reply: cleaned, on one line, at most ``limit``."""
    return _clip(clean_text(text), limit)


def reply_not_found(raw: str) -> str:
    raw = clean_text(raw)
    return TEMPLATES["not_found"].format(raw=_clip(raw, 24)) if raw else TEMPLATES["check_format"]


def reply_limit(limit: int) -> str:
    return TEMPLATES["limit"].format(limit=limit)


def reply_problem(problem: Problem) -> str:
    query = _echo(problem.query, 30)
    names = ", ".join(category_short_names())
    if problem.code == "ambiguous_region":
        listed = ", ".join(f"{display_name(r)} ({r.code})" for r in problem.candidates[:3])
        return TEMPLATES["ambiguous_region"].format(query=query, candidates=listed)
    if problem.code == "unknown_region":
        return TEMPLATES["unknown_region" if query else "missing_region"].format(query=query)
    if problem.code == "unknown_category":
        return TEMPLATES["unknown_category" if query else "missing_category"].format(query=query, categories=names)
    return TEMPLATES["unrecognized"].format(query=query)


def title_from_text(text: str) -> str:
    """A 5..TITLE_MAX character title from the message text alone (never the sender: design §7)."""
    flat = " ".join(clean_text(text).split())
    if len(flat) > TITLE_MAX:
        cut = flat[: TITLE_MAX - 1]
        space = cut.rfind(" ")
        flat = (cut[:space] if space >= TITLE_MAX // 2 else cut).rstrip() + "…"
    return flat if len(flat) >= 5 else TEMPLATES["title_short"].format(text=flat).rstrip(": ")


def description_from_text(text: str) -> str:
    """The text as sent (cleaned); a labelled prefix only when it is shorter than the 10 characters a report needs."""
    body = clean_text(clean_text(text)[:DESCRIPTION_MAX])  # cleaned again: the cut may end on white space
    return body if len(body) >= 10 else TEMPLATES["description_short"].format(text=body).rstrip(": ")
