"""Open311 GeoReport v2 mapping (design §4): Lapor categories, views and forms to and from the spec's shapes.

Pure: no AWS, no I/O beyond the reference data shipped with the code. The spec (wiki.open311.org/GeoReport_v2)
makes XML required and JSON optional; both come from the same dicts here, JSON as returned and XML via
``to_xml``. Field order in the dicts follows the spec's examples, because XML clients may read it in order.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from lapor.domain import lifecycle, reference
from lapor.domain.clock import EARLIEST, LATEST
from lapor.domain.reference import REGION_CODE_PATTERN, Category

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

# The spec's status is only open/closed. ``responded`` maps to closed: the spec defines closed as "it has been
# resolved", and a Lapor response is the agency's resolution (FixMyStreet likewise counts "fixed" as closed);
# the reporter's rare reopen turns it back to open. status_notes keeps the finer Lapor status.
CLOSED_STATUSES = frozenset({"responded", "closed", "rejected"})
OPEN_STATUSES = lifecycle.OPEN
STATUS_NOTES = {
    "submitted": "Laporan diterima.", "routed": "Laporan diteruskan ke instansi berwenang.",
    "in_progress": "Laporan sedang ditindaklanjuti instansi.", "escalated": "Laporan dieskalasi ke instansi atasan.",
    "responded": "Instansi telah menanggapi laporan.", "closed": "Laporan selesai.", "rejected": "Laporan ditolak.",
}
KINDS = {"complaint": "Pengaduan", "aspiration": "Aspirasi", "information_request": "Permintaan Informasi"}
PRIVACIES = {"public": "Publik", "confidential": "Rahasia", "anonymous": "Anonim"}
# Lapor categories are already SP4N-LAPOR!'s top level: one fixed group keeps grouping clients (FixMyStreet)
# from showing one single-item group per category.
GROUP = "Pelayanan Publik"
DESCRIPTION_MAX = 4000  # the spec's limit for description; Lapor accepts 5000, so longer text is cut on output
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"  # the discovery document's name for this API
# When the services or their definitions last changed (discovery's changeset: clients refresh cached services
# when it moves). tests/test_open311_discovery.py pins a digest of both, so changing them without moving this fails.
CHANGESET = "2026-11-30T00:00:00Z"
MAX_WINDOW = timedelta(days=90)  # GET requests: default span and largest allowed span
MAX_RESULTS = 1000  # GET requests: "first 1000 requests returned"
FALLBACK_TITLE = "Laporan Open311: "  # + the service name, for a description whose first line is too short

_REGION_RE = re.compile(REGION_CODE_PATTERN)
_ZONES = {"+07:00": "WIB", "+08:00": "WITA", "+09:00": "WIT"}
# What XML 1.0's Char production leaves out (written positively: the negated class costs 15 ms to compile).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """An error in the spec's shape: HTTP ``status`` (404 missing, 403 api_key, 400 anything else) and one or
    more descriptions, all reported at once so a client can fix its form in one round."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions

    def body(self) -> list[dict[str, Any]]:
        return errors(*((self.status, d) for d in self.descriptions))


def errors(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    """The spec's error list; ``code`` is the HTTP status number, as in the spec's examples."""
    return [{"code": int(code), "description": description} for code, description in pairs]


# --- services ------------------------------------------------------------------------------------------------


def service(category: Category) -> dict[str, Any]:
    # The English name is a synonym of service_name, which is what the spec says keywords are for.
    keywords = list(dict.fromkeys([*category.keywords, category.name_en.lower()]))
    return {"service_code": category.id, "service_name": category.name_id, "description": category.description_id,
            "metadata": True, "type": "realtime", "keywords": ", ".join(keywords), "group": GROUP}


def services() -> list[dict[str, Any]]:
    return [service(c) for c in reference.categories().values()]


def _attribute(code: str, order: int, *, required: bool, description: str, values: dict[str, str],
               datatype_description: str | None = None) -> dict[str, Any]:
    return {"variable": True, "code": code, "datatype": "singlevaluelist", "required": required,
            "datatype_description": datatype_description, "order": order, "description": description,
            "values": [{"key": key, "name": name} for key, name in values.items()]}


def jurisdiction_error(jurisdiction: str, province_code: str) -> Open311Error | None:
    """Why ``jurisdiction`` is not one Lapor serves (the spec's 404), or None: a jurisdiction_id is the
    Kemendagri code of the deployment's province or of a kabupaten/kota or kecamatan in it."""
    if _REGION_RE.fullmatch(jurisdiction) and (jurisdiction + ".").startswith(province_code + ".") \
            and reference.region(jurisdiction) is not None:
        return None
    return Open311Error(404, f"jurisdiction_id {jurisdiction} not found: use the Kemendagri code of province "
                             f"{province_code} or of a kabupaten/kota or kecamatan in it, e.g. {province_code}.72")


def within(region_code: str, jurisdiction: str | None) -> bool:
    """Whether a report of ``region_code`` is in ``jurisdiction`` (the region itself or below it)."""
    return jurisdiction is None or (region_code + ".").startswith(jurisdiction + ".")


def _region_values(province_code: str, jurisdiction: str | None) -> dict[str, str]:
    """The region_code values offered: the province's kabupaten/kota, or a jurisdiction's own region and the
    kecamatan under it."""
    if jurisdiction is None or jurisdiction == province_code:
        return {r.code: r.name for r in reference.child_regions(province_code)}
    regions = [reference.region(jurisdiction), *reference.child_regions(jurisdiction)]
    return {r.code: f"Kecamatan {r.name}" if r.type == "kecamatan" else r.name for r in regions if r}


def service_definition(category: Category, province_code: str, jurisdiction: str | None = None) -> dict[str, Any]:
    regions = _region_values(province_code, jurisdiction)
    if not regions:
        raise ValueError(f"no kabupaten/kota under province {province_code!r}")
    return {"service_code": category.id, "attributes": [
        _attribute("region_code", 1, required=True, values=regions,
                   datatype_description="Kode wilayah Kemendagri, mis. 64.72",
                   description="Kabupaten/kota tempat masalah terjadi. Kode wilayah Kemendagri lain di provinsi ini "
                               "(mis. kecamatan 64.72.01) juga diterima."),
        _attribute("kind", 2, required=False, values=KINDS, description="Jenis laporan. Bawaan: complaint."),
        _attribute("privacy", 3, required=False, values=PRIVACIES,
                   description="Kerahasiaan. Bawaan: public (isi dapat ditampilkan, identitas pelapor tidak pernah). "
                               "confidential: isi hanya untuk pelapor dan instansi. anonymous: identitas tidak "
                               "disimpan sama sekali."),
    ]}


# --- discovery -----------------------------------------------------------------------------------------------


def discovery(url: str, *, contact: str, key_service: str) -> dict[str, Any]:
    """The Service Discovery document (wiki.open311.org/Service_Discovery): one production GeoReport v2
    endpoint, ``url`` (the base that services.xml is under), XML and JSON."""
    return {"changeset": CHANGESET, "contact": contact, "key_service": key_service, "endpoints": [
        {"specification": SPECIFICATION, "url": url, "changeset": CHANGESET, "type": "production",
         "formats": [FORMATS["xml"].partition(";")[0], FORMATS["json"].partition(";")[0]]}]}


# --- requests ------------------------------------------------------------------------------------------------


open311_status = lifecycle.open311_status  # one mapping, shared with the filtered listings' keys


def merged_note(master: str) -> str:
    """The status_notes of a request closed as a duplicate: where its answers come from now (a tracking id only,
    which says nothing of either report)."""
    return f"Digabung dengan {master}: laporan yang sama, ditindaklanjuti di sana."


def lapor_statuses(status: str) -> frozenset[str]:
    """The Lapor statuses behind an Open311 status, for filtering GET requests."""
    return CLOSED_STATUSES if status == "closed" else OPEN_STATUSES


def _aware(value: str) -> str:
    # The spec requires a time zone on every datetime; a naive one here is a bug in the caller.
    if datetime.fromisoformat(value).tzinfo is None:
        raise ValueError(f"datetime without a time zone: {value!r}")
    return value


def _local_time(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    offset = moment.isoformat()[-6:]
    return f"{moment:%d-%m-%Y %H:%M} {_ZONES.get(offset, 'UTC' + offset)}"


def deadline_notice(agency_name: str, due_at: str, *, overdue: bool = False, overdue_final: bool = False) -> str:
    """The deadline as users read it; Open311 has no overdue field, so design §7's overdue flag shows here."""
    if overdue_final:
        return (f"Melewati batas waktu {_local_time(due_at)} di tingkat tertinggi; ditandai untuk dirujuk ke "
                "Ombudsman.")
    if overdue:
        return f"Terlambat: {agency_name} belum menanggapi sebelum batas waktu {_local_time(due_at)}."
    return f"Ditangani {agency_name}; batas waktu tanggapan {_local_time(due_at)}."


def _address(region_code: str) -> str | None:
    # Most specific to most general, as the spec asks: "Kecamatan Palaran, Kota Samarinda, Kalimantan Timur".
    parts = []
    for code in (region_code[:i] for i in (8, 5, 2) if len(region_code) >= i):
        region = reference.region(code)
        if region:
            parts.append(f"Kecamatan {region.name}" if region.type == "kecamatan" else region.name)
    return ", ".join(parts) or None


def _description(view: dict[str, Any]) -> str | None:
    if view["privacy"] != "public" or not view.get("description"):
        return None
    # Open311 has no title: lead with it, as FixMyStreet does, unless the text already starts with it
    # (Open311-filed reports take their title from the description's first line, or are a fallback title).
    title, text = view.get("title") or "", view["description"]
    if title and not title.startswith(FALLBACK_TITLE) and not text.startswith(title.rstrip("…")):
        text = f"{title}\n\n{text}"
    return text if len(text) <= DESCRIPTION_MAX else text[:DESCRIPTION_MAX - 1] + "…"


def service_request(view: dict[str, Any], *, service_name: str, status_notes: str | None,
                    updated_datetime: str, media_url: str | None = None, address: str | None = None
                    ) -> dict[str, Any]:
    """A Lapor public view (``views.report_view(record, full=False)``) as a spec request.

    Content shows only for public reports, whatever view is passed: a full view of a confidential or anonymous
    report must not leak through here. Identity is never in a view to begin with. Without ``status_notes``
    the notes name the Lapor status, which open/closed alone would lose.
    """
    public = view["privacy"] == "public"
    location = view.get("location") if public else None
    status = open311_status(view["status"])
    return {
        "service_request_id": view["tracking_id"], "status": status,
        "status_notes": status_notes or STATUS_NOTES.get(view["status"]),
        "service_name": service_name, "service_code": view["category"], "description": _description(view),
        "agency_responsible": view["agency"]["name"],
        "service_notice": None if status == "closed" else deadline_notice(
            view["agency"]["name"], view["due_at"], overdue=view.get("overdue", False),
            overdue_final=view.get("overdue_final", False)),
        "requested_datetime": _aware(view["submitted_at"]), "updated_datetime": _aware(updated_datetime),
        "expected_datetime": _aware(view["due_at"]),
        # The address_string a client sent, for public reports (it locates the report, as lat/long do); else the
        # region's name.
        "address": (address if public else None) or _address(view["region_code"]),
        "address_id": None, "zipcode": None,
        "lat": location["lat"] if location else None, "long": location["lon"] if location else None,
        "media_url": media_url if public else None,
    }


def created(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """The POST reply from intake's 201 body. The one-time access_code has no place in the spec and is not
    passed on; account_id stays empty, as Lapor has no accounts."""
    notice = deadline_notice(reply["agency"]["name"], reply["due_at"])
    return [{"service_request_id": reply["tracking_id"], "service_notice": notice, "account_id": None}]


# --- forms and queries ---------------------------------------------------------------------------------------


def form_value(form: dict[str, list[str]], name: str) -> str | None:
    """The first non-blank value: the spec treats an empty parameter as one not passed at all."""
    for value in form.get(name, ()):
        if value.strip():
            return value.strip()
    return None


def _title(description: str, fallback: str) -> str:
    # From the text, never from the sender (design §7: phone numbers leaked into titles elsewhere).
    line = description.splitlines()[0].strip()
    if len(line) > 150:
        line = line[:149].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"
    return line if len(line) >= 5 else fallback


class CreateRequest(NamedTuple):
    report: dict[str, Any]  # ReportIn's fields
    api_key: str
    jurisdiction_id: str | None
    media_url: str | None = None  # an https link, kept as sent and returned; never fetched by the server
    address: str | None = None  # address_string as sent (bounded), returned as address for public reports


MEDIA_URL_MAX = 2048
ADDRESS_MAX = 500  # address_string: a street address, not a description; the report item stays bounded


def _address_problem(address: str) -> str | None:
    from lapor.domain.text import check_text

    if len(address) > ADDRESS_MAX:
        return f"address_string is too long: at most {ADDRESS_MAX} characters"
    try:
        check_text(address)
    except ValueError as exc:
        return f"address_string {exc}"
    return None


def media_url_problem(url: str) -> str | None:
    """Why ``url`` is not kept as a media_url (https only, a host, no credentials, bounded), or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "media_url is not a URL"
    if len(url) > MEDIA_URL_MAX or parts.scheme != "https" or not parts.hostname or "@" in parts.netloc \
            or any(ord(c) < 33 or ord(c) == 127 for c in url):
        return f"media_url must be an https URL of at most {MEDIA_URL_MAX} characters, without credentials"
    return None


def parse_create(form: dict[str, list[str]], *, province_code: str) -> CreateRequest:
    """A POST requests form (``urllib.parse.parse_qs`` shape) as a Lapor report, or ``Open311Error``.

    Checked here: presence, lengths, choices, coordinates and the region code's pattern. Whether the category
    and region exist is the intake's question (it answers 404/400 in the caller). Ignored, as Lapor has no
    place for them: device_id, account_id, unknown attributes and address_id (which only satisfies the spec's
    location rule). ``address_string`` is kept as the report's own ``address`` (bounded, plain text);
    ``media_url`` as an external link (https only, else dropped; the server never fetches it); both are
    returned on GET for public reports.
    """
    value = form_value
    api_key = value(form, "api_key")
    if api_key is None:  # before any other check: the spec answers a missing key with 403
        raise Open311Error(403, "api_key was not provided")
    problems: list[str] = []
    jurisdiction = value(form, "jurisdiction_id")
    category = value(form, "service_code")
    if category is None:
        problems.append("service_code was not provided")

    # A kabupaten/kota (or kecamatan) jurisdiction_id of this province already names the region, so it stands in
    # for a missing region_code; a province or a domain-style jurisdiction_id does not.
    jurisdiction_region = (jurisdiction if jurisdiction and _REGION_RE.match(jurisdiction) and "." in jurisdiction
                           and jurisdiction.startswith(province_code + ".") else None)
    region_code = value(form, "attribute[region_code]") or jurisdiction_region
    point, location_problem = _location(value(form, "lat"), value(form, "long"))
    if region_code is None and point is not None:
        # Lapor ships no boundary data, so a point alone does not name the agency's region.
        problems.append("attribute[region_code] was not provided, and lat/long alone cannot name the kabupaten/kota "
                        "(Lapor has no boundary data to place a point): send attribute[region_code], the Kemendagri "
                        "code such as 64.72 (see the service definition), or that code as jurisdiction_id")
    elif region_code is None:
        problems.append("attribute[region_code] was not provided: the Kemendagri code of the kabupaten/kota, "
                        "e.g. 64.72 (see the service definition for the list)")
    elif not _REGION_RE.match(region_code):
        problems.append(f"attribute[region_code] {region_code!r} is not a Kemendagri code such as 64.72")
    elif jurisdiction_region and not (region_code + ".").startswith(jurisdiction_region + "."):
        problems.append(f"attribute[region_code] {region_code} is outside jurisdiction_id {jurisdiction}")

    kind = value(form, "attribute[kind]") or "complaint"
    if kind not in KINDS:
        problems.append(f"attribute[kind] must be one of {', '.join(KINDS)}")
    privacy = value(form, "attribute[privacy]") or "public"
    if privacy not in PRIVACIES:
        problems.append(f"attribute[privacy] must be one of {', '.join(PRIVACIES)}")

    description = value(form, "description")
    address = value(form, "address_string")
    if description is None:
        problems.append("description was not provided: Lapor needs at least 10 characters describing the problem")
    elif len(description) < 10:
        problems.append("description is too short: Lapor needs at least 10 characters describing the problem")
    elif len(description) > 5000:
        problems.append("description is too long: at most 5000 characters")
    if address is not None:
        if address_problem := _address_problem(address):
            problems.append(address_problem)

    location = point
    if location_problem:
        problems.append(location_problem)
    elif location is None and address is None and value(form, "address_id") is None:
        problems.append("a location is required (the spec's rule): lat and long, address_string or address_id")
    # A media_url is kept only as a plain https link (the server never fetches it); anything else is dropped, as
    # the spec's optional fields Lapor has no place for are: a report is never refused for its link.
    media_url = value(form, "media_url")
    if media_url is not None and media_url_problem(media_url):
        media_url = None
    if problems:
        raise Open311Error(400, *problems)

    found = reference.categories().get(category)
    report: dict[str, Any] = {
        "kind": kind, "category": category, "region_code": region_code,
        "title": _title(description, FALLBACK_TITLE + (found.name_id if found else category)),
        "description": description, "privacy": privacy,
    }
    if location:
        report["location"] = location
    name = " ".join(filter(None, (value(form, "first_name"), value(form, "last_name"))))
    reporter = {k: v for k, v in (("name", name), ("phone", value(form, "phone")), ("email", value(form, "email")))
                if v}
    # Lapor refuses identity on an anonymous report (anonymity is enforced at storage). Open311 clients send
    # their user's details by habit, so drop them rather than fail the report the user asked to keep anonymous.
    if reporter and privacy != "anonymous":
        report["reporter"] = reporter
    return CreateRequest(report, api_key, jurisdiction, media_url, address)


# --- multipart/form-data (a form with photos, as FixMyStreet posts it) ----------------------------------------------

MULTIPART = "multipart/form-data"
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_FILENAME_CUT = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class FilePart(NamedTuple):
    field: str
    filename: str
    content_type: str  # what the bytes are (their signature), one of lapor.attachments.CONTENT_TYPES
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], list[FilePart]]:
    """A multipart/form-data body as the urlencoded form's shape (``parse_qs``: name → values) and its file parts
    (every part with a filename; an empty file input is skipped). Parsed by the standard library's ``email``
    package, which Python's documentation names as the replacement of the removed ``cgi`` module; nothing here
    checks the files (``check_files`` does)."""
    from email import policy
    from email.parser import BytesParser
    from email.utils import collapse_rfc2231_value

    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or not message.get_boundary():
        raise Open311Error(400, "the multipart/form-data body cannot be read: no boundary, or no parts")
    form: dict[str, list[str]] = {}
    files: list[FilePart] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or name is None:
            continue
        name = collapse_rfc2231_value(name)
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            if payload or filename:
                files.append(FilePart(name, filename, part.get_content_type(), payload))
            continue
        try:
            text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:  # a charset Python does not know: read as UTF-8, as a form without one is
            text = payload.decode("utf-8", "replace")
        form.setdefault(name, []).append(text)
    return form, files


def _clean_filename(filename: str) -> str:
    """The name a file is listed under: its last path component, without control or bidi characters, at most
    200 characters (a view shows it; the object key never uses it)."""
    name = _FILENAME_CUT.sub("", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:200] or "media"


def check_files(files: list[FilePart], *, max_files: int, max_bytes: int, sniff: Any,
                accepted: tuple[str, ...]) -> list[FilePart]:
    """The file parts that become attachments, each typed by its bytes; ``Open311Error`` 413 for a file over
    ``max_bytes``, 400 for an empty one, one that is not an accepted type by its bytes or claims another type, or
    more than ``max_files``. Checked before anything is filed, so a refused form stores nothing."""
    too_large = [f.filename for f in files if len(f.data) > max_bytes]
    if too_large:
        raise Open311Error(413, *(f"media {_clean_filename(name)!r} is over {max_bytes // (1024 * 1024)} MiB"
                                  for name in too_large))
    problems, checked = [], []
    if len(files) > max_files:
        problems.append(f"at most {max_files} files per request, not {len(files)}")
    for part in files:
        label = _clean_filename(part.filename)
        actual = sniff(part.data[:16]) if part.data else None
        if not part.data:
            problems.append(f"media {label!r} is empty")
        elif actual not in accepted:
            problems.append(f"media {label!r} is not a JPEG, PNG, WebP image or a PDF")
        elif part.content_type not in GENERIC_TYPES and part.content_type != actual:
            problems.append(f"media {label!r} is sent as {part.content_type} but is {actual}")
        else:
            checked.append(part._replace(filename=label, content_type=actual))
    if problems:
        raise Open311Error(400, *problems)
    return checked


def _location(lat: str | None, lon: str | None) -> tuple[dict[str, float] | None, str | None]:
    if lat is None and lon is None:
        return None, None  # region_code already locates the report; coordinates are optional in Lapor
    if lat is None or lon is None:
        return None, "lat and long must be sent together"
    try:
        point = {"lat": float(lat), "lon": float(lon)}
    except ValueError:
        return None, "lat and long must be decimal numbers (WGS84)"
    if not all(map(math.isfinite, point.values())) or abs(point["lat"]) > 90 or abs(point["lon"]) > 180:
        return None, "lat must be within -90..90 and long within -180..180"
    return point, None


class ListQuery(NamedTuple):
    ids: tuple[str, ...] | None  # when set, every other filter is ignored (spec)
    service_codes: tuple[str, ...]  # empty: all
    statuses: tuple[str, ...]  # Open311 statuses; empty: all
    start: datetime | None
    end: datetime | None
    limit: int = MAX_RESULTS


def _values(params: dict[str, list[str]], name: str) -> tuple[str, ...]:
    # "can be declared multiple times, comma delimited"
    return tuple(dict.fromkeys(v.strip() for raw in params.get(name, ()) for v in raw.split(",") if v.strip()))


def _date(params: dict[str, list[str]], name: str) -> datetime | None:
    raw = form_value(params, name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime such as 2010-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} must include a time zone (Z or an offset such as +08:00)")
    if not EARLIEST <= moment <= LATEST:
        raise Open311Error(400, f"{name} must lie between {EARLIEST.year} and {LATEST.year}")
    return moment


def list_query(params: dict[str, list[str]], *, now: datetime) -> ListQuery:
    """GET requests' filters, with the spec's defaults: the most recent 90 days, at most 1000 requests."""
    ids = _values(params, "service_request_id")
    if ids:
        return ListQuery(ids[:MAX_RESULTS], (), (), None, None)
    statuses = _values(params, "status")
    if bad := [s for s in statuses if s not in ("open", "closed")]:
        raise Open311Error(400, f"status must be open or closed, not {', '.join(bad)}")
    start, end = _date(params, "start_date"), _date(params, "end_date")
    if end is None:
        end = min(start + MAX_WINDOW, now) if start else now
    if start is None:
        start = end - MAX_WINDOW
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > MAX_WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return ListQuery(None, _values(params, "service_code"), statuses, start, end)


# --- updates (FixMyStreet's servicerequestupdates extension) ------------------------------------------------

UPDATES_DEFAULT_WINDOW = timedelta(hours=24)  # without start_date: the last day
UPDATES_MAX_WINDOW = timedelta(days=7)  # at most 8 day partitions of the updates index per call
UPDATE_STATUS = {"responded": "closed", "closed": "closed"}  # as GET requests maps the report's status


def updates_window(params: dict[str, list[str]], *, now: datetime) -> tuple[datetime, datetime]:
    """start_date and end_date of GET servicerequestupdates, with the defaults (the last 24 hours) and the bound
    (7 days), or ``Open311Error`` 400."""
    start, end = _date(params, "start_date"), _date(params, "end_date")
    if end is None:  # now, or start_date itself when it lies ahead (an empty window, not an error)
        end = max(start, min(start + UPDATES_MAX_WINDOW, now)) if start else now
    if start is None:
        start = end - UPDATES_DEFAULT_WINDOW
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > UPDATES_MAX_WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 7 days")
    return start, end


def request_update(tracking_id: str, event: dict[str, Any], zone: Any) -> dict[str, Any]:
    """An answer or closure on the timeline as FixMyStreet reads an update: the event's id (a ULID, unique and
    stable), the request's status after it, the agency's words, and the time in the report region's zone."""
    return {"update_id": event["id"], "service_request_id": tracking_id, "status": UPDATE_STATUS[event["type"]],
            "description": event.get("message") or STATUS_NOTES.get(event["type"]),
            "updated_datetime": _aware(datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
                                       .astimezone(zone).isoformat()),
            "media_url": None}


# --- output --------------------------------------------------------------------------------------------------

# XML roots the spec defines, and the element each list holds (GET list, GET one and POST reply all use
# service_requests/request).
ROOTS = ("services", "service_definition", "service_requests", "errors", "discovery", "service_requests_updates")
_ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
          "values": "value", "endpoints": "endpoint", "formats": "format", "service_requests_updates": "request_update"}


def _text(value: Any) -> str | None:
    if value is None:
        return None  # an empty element, as the spec's examples show for empty fields
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))  # characters XML 1.0 cannot carry would make the document unreadable


def _fill(element: Element, value: Any) -> None:
    from xml.etree.ElementTree import SubElement

    if isinstance(value, list):
        for item in value:
            _fill(SubElement(element, _ITEMS[element.tag]), item)
    elif isinstance(value, dict):
        for key, child in value.items():
            _fill(SubElement(element, key), child)
    else:
        element.text = _text(value)


def to_xml(kind: str, payload: Any) -> str:
    """``kind`` is the root element: services, service_definition, service_requests, errors or discovery."""
    # Imported here: most cold starts serve no XML (ElementTree costs about 7 ms to import).
    from xml.etree.ElementTree import Element, tostring

    if kind not in ROOTS:
        raise ValueError(f"unknown Open311 document {kind!r}")
    root = Element(kind)
    _fill(root, payload)
    # short_empty_elements=False writes <description></description>, the form of the spec's examples.
    return '<?xml version="1.0" encoding="utf-8"?>\n' + tostring(root, encoding="unicode",
                                                                short_empty_elements=False)


def render(kind: str, payload: Any, fmt: str) -> tuple[str, str]:
    """The body and its Content-Type for ``fmt`` (json or xml, from the URL's suffix)."""
    if fmt == "xml":
        return to_xml(kind, payload), FORMATS["xml"]
    if fmt == "json":
        return json.dumps(payload, ensure_ascii=False), FORMATS["json"]
    raise ValueError(f"unknown Open311 format {fmt!r}")
