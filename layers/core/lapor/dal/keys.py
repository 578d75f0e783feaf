"""Every key shape and index name of the table (docs/data-model.md); no other module spells one.

Items (table ``reports``, keys ``PK``/``SK``):
- report           ``REPORT#<tracking_id>`` / ``META``: the report, the events of its latest change
                   (``latest_events``, what the stream consumers act on) and, unless anonymous, ``reporter``.
                   Every attribute is bounded, so the item stays a few tens of KB whatever anyone sends.
- timeline event   ``REPORT#<tracking_id>`` / ``EVENT#<version>#<n>``: one item per event, written in one
                   transaction with the change to the report that made ``version`` (so ordered and never
                   duplicated: only one write can make a version). The timeline grows here, not in the report.
- attachment       ``REPORT#<tracking_id>`` / ``ATTACHMENT#<slot>``: one of a report's at most 5 attachment slots
                   (1..5), its attachment as one map (``attachment``: id, status pending|ready|rejected|removed|
                   hidden, content type, filename, size, reason, object keys). A slot is taken by a conditional put
                   (free: absent, rejected, removed with ``frees_slot``, or pending past its upload's expiry), so the
                   limit holds under races and the report item never grows with attachments.
- absorbed         ``REPORT#<master>`` / ``ABSORBED#<duplicate>``: a report merged into ``master`` (``tracking_id``,
                   ``merged_at``), put in the merge's transaction and marked ``undone_at`` in its undo's (never deleted: no
                   function deletes items of this table); the master's notices
                   reach the duplicates' reporters through them (one Query of the master's partition). No identity
- agency           ``CONFIG#AGENCY`` / ``<agency_id>``
- route            ``CONFIG#ROUTE`` / ``<region_code>#<category>``
- calendar         ``CONFIG#CALENDAR`` / ``<yyyy-mm-dd>``
- config head      ``CONFIG#VERSION`` / ``HEAD``: the configuration's ``version`` (every save of agencies, routes
                   or calendar is conditional on it), ``saving``/``saving_since`` while a save writes, ``incomplete``
- Open311 API key  ``CONFIG#APIKEY`` / ``<key id>``: ``secret_hash``, name, who and when created / revoked
- intake key       ``INTAKE#<sha256 of the Idempotency-Key>`` / ``KEY``: the request's body hash and its reply (the
                   access code sealed with the key), written in one transaction with the report it filed;
                   ``expires_at`` (TTL)
- SMS message      ``SMS#<provider>#<phone hash>#<message_id>`` / ``MESSAGE``: the reply given (a resend gets it
                   again); the sender is part of the key, since a gateway may reuse message ids across phones
- SMS quota        ``SMSQUOTA#<phone hash>`` / ``<yyyy-mm-dd>``: reports a phone filed that day (``filed``) and what
                   each was about (``recent``: subject, tracking id, when), so a resend files nothing
- stats counters   ``STATS#<scope>`` / ``<yyyy-mm-dd>``: a day's counters of a region (or of all)
- stats marker     ``STATSEEN#<stream event id>`` / ``MARK``: the event was counted (redeliveries change nothing)
- sweep run        ``SWEEP`` / ``RUN#<ULID>``: a sweep's state and counts, added to by its workers once per
                   shard message (runs recorded before ids were ULIDs: ``SWEEP`` / ``<started_at>#<ULID>``)
- dry-run listing  ``SWEEPRUN#<ULID>`` / ``ESCALATE#<tracking_id>``: a report a dry run would escalate (or flag at the
                   top): tracking id, agency ids and names, due date, level; never the report's words or reporter.
                   A partition per run, so listing runs (``SWEEP``) never reads them; keyed by tracking id, so a
                   redelivered message adds none
- listing counter  ``SWEEPRUN#<ULID>`` / ``LISTED``: ``listed`` (entries so far, at most ``sweep.LIST_CAP``, added in
                   the entries' own transaction) and ``truncated`` (more would escalate than are listed)
Indexes (sparse, projecting everything but ``reporter``):
- ``ByDue``:    ``due_pk`` = ``DUE#<shard>``, ``due_sk`` = ``<due_at_utc>#<tracking_id>``; only while the report
                awaits the agency, so the sweep reads open reports by deadline, never the whole table.
- ``ByClosing``: ``close_pk`` = ``CLOSE#<shard>``, ``close_sk`` = ``<closes_at_utc>#<tracking_id>``; only while an
                answered report waits for the reporter's word, so the sweep closes silent ones without a Scan.
- ``ByAgency``: ``agency_pk`` = ``AGENCY#<agency_id>``, ``agency_sk`` = ``<status>#<submitted_at>``.
- ``ByMonth``:  ``month_pk`` = ``MONTH#<yyyy-mm>``, ``month_sk`` = ``<submitted_at>#<tracking_id>``: every report
                by filing date, for Open311's date-window listings (a 90-day window is at most four partitions).
- ``PublicByProvince``, ``PublicByRegency``, ``PublicByDistrict``: ``public_pk1`` / ``public_pk2`` / ``public_pk3``
                = ``PUBLIC#<region code>`` of the report's province, kabupaten/kota and kecamatan (each level the
                report's own code names), sort ``public_sk`` = ``<submitted_at>#<tracking_id>`` (shared): a region's
                public reports newest first, everything below it included, one Query of one index whatever the
                level (the statistics' scopes). Only public reports that are not rejected carry them: confidential
                and anonymous reports are never in these indexes, so never listed.
- ``PublicUpdates``: ``update_pk`` = ``UPDATES#<yyyy-mm-dd>`` (the event's UTC day), ``update_sk`` =
                ``<at>#<event id>#<tracking_id>#<version>`` (the event id is a ULID: events of one second in the
                order they were made, to the millisecond), on timeline event items only: an agency's answer (``responded``)
                or a closure (``closed``) of a report not known to be confidential or anonymous (the sweep's
                closures are written from an index without ``privacy``; readers check the report). Open311's
                ``servicerequestupdates`` (FixMyStreet's extension) reads a time window day partition by day
                partition. Projects ``ALL``: the event items it holds carry only their event (no identity), and
                the table's ``INCLUDE`` lists already name the 100 attributes DynamoDB allows.
- ``ByService``, ``ByServiceInRegency``, ``ByServiceInDistrict`` (``KEYS_ONLY``): ``service_pk`` =
                ``SERVICE#<category>#<open|closed>`` on every report, ``service_pk2`` / ``service_pk3`` =
                ``SERVICE#<kabupaten/kota | kecamatan code>#<category>#<open|closed>`` on the reports the public
                indexes hold; sort ``month_sk`` (``<submitted_at>#<tracking_id>``). Open311's filtered listings
                (``service_code``, ``status``, ``jurisdiction_id``) read one key range per service and status asked,
                so they read what they return, never the rest of the window. ``open|closed`` is Open311's status of
                the report: the sweep, whose records carry no category, never moves a report between the two.
- ``NearbyCells`` (KEYS_ONLY): ``near_pk`` = ``CELL#<geohash of the location, precision 6>``, ``near_sk`` =
                ``<geohash of the location, precision 12>#<category>#<submitted_at>``: a geohash prefix range of the
                sort key is a part of the cell, and each entry tells where (to a few cm), what and when without
                reading the report. Only public reports with a location, in every status but closed and rejected,
                carry them: ``GET /reports/nearby`` and ``possible_duplicates`` query the sort-key ranges of
                ``nearby_ranges`` (the precision-8 or -7 cells the circle touches, at most 8 or 4 ranges), then read
                only the reports they return; never the table. Precision 6 (about 1.2 km east-west x 0.6 km
                north-south near the equator): a 250 m circle touches at most 4 partitions, a 1000 m one at most 15.
- ``BySupport`` (KEYS_ONLY): ``agency_pk`` (as ``ByAgency``), sort ``supporters`` (a NUMBER: the report item's count
                itself, written only by ``add_supporter``'s atomic ``ADD``, so the index follows every support with
                no key to maintain). Sparse: a report is in it once it has a supporter (the attribute is never
                removed nor lowered). An agency's queue sorted by supporters (``sort=supporters``) reads it most
                supported first, then the reports without supporters from ``ByAgency``; the lines are read by id.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

from lapor.domain import lifecycle
from lapor.domain.geo import EARTH_RADIUS_M
from lapor.domain.routing import Agency, Route

# pygeohash logs the coordinates it is given (DEBUG, and ERROR for a bad one): reporters' locations, confidential
# ones too, must never reach a log line, whatever level the function logs at.
logging.getLogger("pygeohash").addHandler(logging.NullHandler())
logging.getLogger("pygeohash").propagate = False

Key = dict[str, dict[str, str]]

BY_DUE, BY_CLOSING, BY_AGENCY, BY_MONTH = "ByDue", "ByClosing", "ByAgency", "ByMonth"
BY_UPDATE = "PublicUpdates"
# An agency's supported reports, most supported first: the report's ``agency_pk`` and its ``supporters`` count.
BY_SUPPORT = "BySupport"
SUPPORTERS = "supporters"
# The timeline events Open311 clients follow as updates (FixMyStreet's servicerequestupdates).
UPDATE_EVENTS = frozenset({"responded", "closed"})
# The public listing's index per region level (1: province, 2: kabupaten/kota, 3: kecamatan) and its attributes.
PUBLIC_INDEXES = {1: "PublicByProvince", 2: "PublicByRegency", 3: "PublicByDistrict"}
PUBLIC_PK = {level: f"public_pk{level}" for level in PUBLIC_INDEXES}
PUBLIC_SK = "public_sk"
# Open311's filtered listings, per jurisdiction level (0: the whole deployment, 2: kabupaten/kota, 3: kecamatan; a
# deployment is one province, so a province's listing is level 0), sorted by ``month_sk``.
SERVICE_INDEXES = {0: "ByService", 2: "ByServiceInRegency", 3: "ByServiceInDistrict"}
SERVICE_PK = {0: "service_pk", 2: "service_pk2", 3: "service_pk3"}
SERVICE_SK = "month_sk"
# Listed publicly while public, in every status but rejected (spam, out of scope).
UNLISTED_STATUSES = frozenset({"rejected"})
# Only reports in these statuses wait in ByDue: they await the agency.
OPEN_STATUSES = lifecycle.OPEN
# The geographic index: a report is in it while public, located, and neither closed nor rejected.
NEARBY = "NearbyCells"
NEARBY_PK, NEARBY_SK = "near_pk", "near_sk"
NEARBY_PRECISION = 6  # the partition: a geohash cell of about 1.2 x 0.6 km
NEARBY_POINT_PRECISION = 12  # the location in the sort key (a few cm)
NEARBY_STATUSES = lifecycle.ACTIVE
_METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180  # along a meridian

# Every index key a report item may carry (``index_keys``): ``ReportStore.reindex`` sets what a report's state calls
# for and removes the rest, for reports written before an index existed.
REPORT_INDEX_ATTRIBUTES = ("due_pk", "due_sk", "close_pk", "close_sk", "agency_pk", "agency_sk", "month_pk",
                           "month_sk", *PUBLIC_PK.values(), PUBLIC_SK, *SERVICE_PK.values(), NEARBY_PK, NEARBY_SK)
# Index keys that are not ``index_keys``' to set or remove: ``supporters`` (BySupport's sort key) is the count
# itself, added to by supports alone; ``reindex`` leaves it be.
COUNTED_INDEX_ATTRIBUTES = (SUPPORTERS,)

AGENCIES, ROUTES, CALENDAR, API_KEYS = "CONFIG#AGENCY", "CONFIG#ROUTE", "CONFIG#CALENDAR", "CONFIG#APIKEY"
CONFIG_HEAD = "CONFIG#VERSION"
SWEEP_RUNS = "SWEEP"


def key(pk: str, sk: str) -> Key:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def report_key(tracking_id: str) -> Key:
    return key(report_partition(tracking_id), "META")


EVENT_PREFIX = "EVENT#"


def event_key(tracking_id: str, version: int, n: int) -> Key:
    """The ``n``-th event of the change that made ``version`` (zero-padded: the sort key orders the timeline)."""
    return key(report_partition(tracking_id), f"{EVENT_PREFIX}{version:08d}#{n}")


def update_partition(day: str) -> str:
    return f"UPDATES#{day}"


def update_keys(tracking_id: str, version: int, event: dict[str, Any], privacy: str | None) -> dict[str, str]:
    """The PublicUpdates keys of a timeline event: an answer or closure of a report that is public, or whose
    privacy the writer did not read (``None``: the sweep's closures); none otherwise."""
    if event["type"] not in UPDATE_EVENTS or privacy not in (None, "public"):
        return {}
    return {"update_pk": update_partition(event["at"][:10]),
            "update_sk": f"{event['at']}#{event['id']}#{tracking_id}#{version:08d}"}


ATTACHMENT_PREFIX = "ATTACHMENT#"


def attachment_key(tracking_id: str, slot: int) -> Key:
    return key(report_partition(tracking_id), f"{ATTACHMENT_PREFIX}{slot}")


ABSORBED_PREFIX = "ABSORBED#"


def absorbed_key(master: str, duplicate: str) -> Key:
    """A duplicate merged into ``master``, in the master's partition (beside its timeline)."""
    return key(report_partition(master), f"{ABSORBED_PREFIX}{duplicate}")


def report_partition(tracking_id: str) -> str:
    return f"REPORT#{tracking_id}"


def is_report_key(item_key: dict[str, Any]) -> bool:
    """Whether a (typed) key is a report's own item: stream consumers skip its timeline events (they read the
    events of each change from the report's ``latest_events``), the counters, markers and messages."""
    return item_key.get("PK", {}).get("S", "").startswith("REPORT#") and item_key.get("SK", {}).get("S") == "META"


def config_head_key() -> Key:
    return key(CONFIG_HEAD, "HEAD")


def agency_sk(agency: Agency) -> str:
    return agency.id


def route_sk(route: Route) -> str:
    return f"{route.region_code}#{route.category}"


def api_key_key(key_id: str) -> Key:
    return key(API_KEYS, key_id)


def intake_key_key(key_hash: str) -> Key:
    return key(f"INTAKE#{key_hash}", "KEY")


def sms_message_key(provider: str, message: str) -> Key:
    """``message``: the provider's message id with the sender's phone hash before it (``<hash>#<id>``)."""
    return key(f"SMS#{provider}#{message}", "MESSAGE")


def sms_quota_partition(phone_key: str) -> str:
    return f"SMSQUOTA#{phone_key}"


def sms_quota_key(phone_key: str, day: str) -> Key:
    return key(sms_quota_partition(phone_key), day)


def stats_partition(scope: str) -> str:
    return f"STATS#{scope}"


def stats_marker_key(event_id: str) -> Key:
    return key(f"STATSEEN#{event_id}", "MARK")


def sweep_run_key(run_id: str) -> Key:
    """A run's key. ``RUN#`` sorts after the ``<started_at>#<ULID>`` keys of older runs, so newest first holds."""
    return key(SWEEP_RUNS, run_id if "#" in run_id else f"RUN#{run_id}")


def sweep_listing_partition(run_id: str) -> str:
    return f"SWEEPRUN#{run_id}"


LISTING_PREFIX = "ESCALATE#"


def sweep_listing_key(run_id: str, tracking_id: str) -> Key:
    """One report a dry run would escalate, under its run's own partition."""
    return key(sweep_listing_partition(run_id), f"{LISTING_PREFIX}{tracking_id}")


def sweep_listing_counter_key(run_id: str) -> Key:
    return key(sweep_listing_partition(run_id), "LISTED")


def due_shard(tracking_id: str, shards: int) -> int:
    return int.from_bytes(hashlib.sha256(tracking_id.encode()).digest()[:4], "big") % shards


def due_partition(shard: int) -> str:
    return f"DUE#{shard}"


def closing_partition(shard: int) -> str:
    return f"CLOSE#{shard}"


def agency_partition(agency_id: str) -> str:
    return f"AGENCY#{agency_id}"


def agency_status_prefix(status: str) -> str:
    """The start of ``agency_sk`` for one status: an agency's queue filtered by status is one key range."""
    return f"{status}#"


def agency_since_range(status: str, since: str) -> tuple[str, str]:
    """``agency_sk BETWEEN low AND high``: an agency's reports in one status filed since ``since`` (a UTC instant),
    one key range of ByAgency (merge candidates read an agency's recent open reports without its older ones)."""
    prefix = agency_status_prefix(status)
    return prefix + since, prefix + "~"


def month_partition(month: str) -> str:
    return f"MONTH#{month}"


def public_partition(region_code: str) -> str:
    return f"PUBLIC#{region_code}"


def public_level(region_code: str) -> int:
    """Which public index lists a region's reports: 1 for a province, 2 a kabupaten/kota, 3 a kecamatan."""
    return region_code.count(".") + 1


def public_keys(report: dict[str, Any]) -> dict[str, str]:
    """The public listing's keys of a report: none unless it is public and not rejected."""
    if report.get("privacy") != "public" or report["status"] in UNLISTED_STATUSES:
        return {}
    parts = report["region_code"].split(".")
    keys = {PUBLIC_PK[level]: public_partition(".".join(parts[:level])) for level in range(1, len(parts) + 1)}
    return keys | {PUBLIC_SK: f"{report['submitted_at']}#{report['tracking_id']}"}


def service_partition(category: str, state: str, region_code: str | None = None) -> str:
    """One key of Open311's filtered listings: a service (category) in one Open311 status, in the whole deployment
    or (``region_code``) in a kabupaten/kota or kecamatan."""
    return f"SERVICE#{region_code}#{category}#{state}" if region_code else f"SERVICE#{category}#{state}"


def service_keys(report: dict[str, Any]) -> dict[str, str]:
    """Open311's filtered listings' keys of a report: the whole deployment's always; its kabupaten/kota's and
    kecamatan's only while the public indexes list it (a region's listing holds its public reports)."""
    state = lifecycle.open311_status(report["status"])
    found = {SERVICE_PK[0]: service_partition(report["category"], state)}
    if public_keys(report):
        parts = report["region_code"].split(".")
        found |= {SERVICE_PK[level]: service_partition(report["category"], state, ".".join(parts[:level]))
                  for level in (2, 3) if len(parts) >= level}
    return found
def supporters_partition(tracking_id: str) -> str:
    """A report's supporters' device items ("dukung") live in a partition of their own: the report's partition
    (read whole for a full view) never grows with them. The count is the report item's ``supporters``."""
    return f"SUPPORT#{tracking_id}"


def supporter_key(tracking_id: str, device_key: str) -> Key:
    """One device's support of one report: only a hash of (report, device key) in the key, so the stored key
    neither shows the device key nor links one device's supports of two reports."""
    digest = hashlib.sha256(f"{tracking_id}\n{device_key}".encode()).hexdigest()
    return {"PK": {"S": supporters_partition(tracking_id)}, "SK": {"S": f"DEVICE#{digest}"}}


def nearby_partition(cell: str) -> str:
    return f"CELL#{cell}"


def nearby_cell(lat: float, lon: float, precision: int = NEARBY_PRECISION) -> str:
    """The geohash cell of a point (``NEARBY_PRECISION``, the index's partition, unless told)."""
    import pygeohash  # only where a location is read or written: not on every cold start

    return pygeohash.encode(float(lat), float(lon), precision)


def nearby_sk(location: dict[str, Any], category: str, submitted_at: str) -> str:
    """``<geohash of the location, precision 12 (a few cm)>#<category>#<submitted_at>``: a range of the sort key
    is a part of the cell (a geohash prefix), and a reader knows each entry's place, category and age without
    reading the report."""
    return f"{nearby_cell(location['lat'], location['lon'], NEARBY_POINT_PRECISION)}#{category}#{submitted_at}"


def nearby_entry(item: dict[str, Any]) -> dict[str, Any]:
    """What an index entry (keys only: ``PK``, ``near_sk``) says of its report: tracking id, the location decoded
    from the key (within a few centimetres), category and filing time."""
    import pygeohash

    point, category, submitted_at = item[NEARBY_SK].split("#", 2)
    lat, lon = pygeohash.decode(point)
    return {"tracking_id": item["PK"].removeprefix("REPORT#"), "lat": lat, "lon": lon, "category": category,
            "submitted_at": submitted_at}


def nearby_keys(report: dict[str, Any]) -> dict[str, str]:
    """The geographic index's keys of a report: none unless public, located, and neither closed nor rejected."""
    location = report.get("location")
    if report.get("privacy") != "public" or report["status"] not in NEARBY_STATUSES or not location:
        return {}
    return {NEARBY_PK: nearby_partition(nearby_cell(location["lat"], location["lon"])),
            NEARBY_SK: nearby_sk(location, report.get("category", ""), report["submitted_at"])}


class TooManyCells(ValueError):
    """The circle's bounding box holds more than ``MAX_NEARBY_BOX_CELLS`` cells even at precision
    ``NEARBY_PRECISION``: near a pole, where a cell narrows to nothing east-west (never in Indonesia, at most 11
    degrees from the equator)."""


MAX_NEARBY_BOX_CELLS = 600
# Sort-key ranges: cells of the finest of these precisions whose count in the circle's box stays under the cap
# (precision 8, 38 x 19 m near the equator, for 250 m; 7, 153 m, for 1000 m).
NEARBY_RANGE_PRECISIONS = (8, 7, NEARBY_PRECISION)
# The duplicates lookups (on every located filing: cheap to compute; merge candidates): at most this many
# sort-key ranges (Queries), of cells no finer than this precision.
DUPLICATE_RANGES, DUPLICATE_PRECISION = 4, 7


def _boxes(lat: float, lon: float, radius_m: float) -> list[Any]:
    """The circle's bounding box, split in two where it crosses the antimeridian."""
    import pygeohash

    dlat = radius_m / _METRES_PER_DEGREE
    south, north = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
    widest = max(abs(south), abs(north))
    dlon = 180.0 if widest >= 89.9 else min(radius_m / (_METRES_PER_DEGREE * math.cos(math.radians(widest))), 180.0)
    west, east = lon - dlon, lon + dlon
    if east - west >= 360:
        return [pygeohash.BoundingBox(south, -180.0, north, 180.0)]
    if west < -180:
        return [pygeohash.BoundingBox(south, west + 360, north, 180.0), pygeohash.BoundingBox(south, -180.0, north, east)]
    if east > 180:
        return [pygeohash.BoundingBox(south, west, north, 180.0), pygeohash.BoundingBox(south, -180.0, north, east - 360)]
    return [pygeohash.BoundingBox(south, west, north, east)]


def _box_cells(box: Any, precision: int) -> float:
    """About how many cells of ``precision`` the box holds (its rows x columns, plus the edges)."""
    import pygeohash

    _, _, lat_err, lon_err = pygeohash.decode_exactly(pygeohash.encode((box.min_lat + box.max_lat) / 2,
                                                                      (box.min_lon + box.max_lon) / 2, precision))
    return ((box.max_lat - box.min_lat) / (2 * lat_err) + 2) * ((box.max_lon - box.min_lon) / (2 * lon_err) + 2)


def nearby_ranges(lat: float, lon: float, radius_m: float, max_ranges: int,
                  finest: int = NEARBY_RANGE_PRECISIONS[0]) -> list[tuple[str, str, str]]:
    """The index key ranges that hold every report within ``radius_m`` of the point, as ``(near_pk, low, high)``
    for ``near_sk BETWEEN low AND high``: the geohash cells (pygeohash's ``geohashes_in_box``, at the finest
    precision of ``NEARBY_RANGE_PRECISIONS`` that keeps the box under ``MAX_NEARBY_BOX_CELLS`` cells) that the
    circle itself touches (nearest point of the cell within the radius), in geohash order per partition; runs of
    consecutive cells are one range, and the smallest gaps between runs are read through until at most
    ``max_ranges`` remain (at least one per partition touched): the fewest cells read for that many Queries.
    ``finest`` caps the precision: with 4 ranges, precision 7 reads about as little as 8 (2.4x the circle's area
    against 2.1x in Samarinda) for a tenth of the work (~0.1 ms against ~1.4 ms). TooManyCells near a pole."""
    import pygeohash

    from lapor.domain.geo import haversine_m

    boxes = _boxes(lat, lon, radius_m)
    precision = next((p for p in NEARBY_RANGE_PRECISIONS if p <= finest and sum(_box_cells(b, p) for b in boxes)
                      <= MAX_NEARBY_BOX_CELLS), None)
    if precision is None:
        raise TooManyCells(f"a {radius_m} m circle at latitude {lat} spans too many cells")
    cells = set()
    for box in boxes:
        for cell in pygeohash.geohashes_in_box(box, precision):
            b = pygeohash.get_bounding_box(cell)
            near_lon = lon - 360 if lon - b.max_lon > 180 else lon + 360 if b.min_lon - lon > 180 else lon  # wrap
            nearest = (min(max(lat, b.min_lat), b.max_lat), min(max(near_lon, b.min_lon), b.max_lon))
            if haversine_m(lat, lon, *nearest) <= radius_m:
                cells.add(cell)
    # Geohash characters sort as their values: a cell's rank in its partition is its suffix read in base 32.
    def rank(cell: str) -> int:
        return int("".join(_BASE32_DIGITS[c] for c in cell[NEARBY_PRECISION:]) or "0", 32)

    runs: list[list[str]] = []  # [partition, first cell, last cell]
    for cell in sorted(cells):
        last = runs[-1] if runs else None
        if last and last[0] == cell[:NEARBY_PRECISION] and rank(cell) == rank(last[2]) + 1:
            last[2] = cell
        else:
            runs.append([cell[:NEARBY_PRECISION], cell, cell])
    while len(runs) > max_ranges:
        gaps = [(rank(runs[i + 1][1]) - rank(runs[i][2]), i) for i in range(len(runs) - 1)
                if runs[i][0] == runs[i + 1][0]]
        if not gaps:
            break
        _, i = min(gaps)
        runs[i][2] = runs.pop(i + 1)[2]
    return [(nearby_partition(part), first, last + "~") for part, first, last in runs]


# The geohash alphabet's characters as base-36 digits of their values (int(..., 32) then reads a suffix).
_BASE32_DIGITS = {c: "0123456789abcdefghijklmnopqrstuv"[i] for i, c in enumerate("0123456789bcdefghjkmnpqrstuvwxyz")}


def index_keys(report: dict[str, Any], shards: int) -> dict[str, str]:
    """The index key attributes a report item carries in its current state."""
    keys = {
        "agency_pk": agency_partition(report["agency_id"]),
        "agency_sk": agency_status_prefix(report["status"]) + report["submitted_at"],
        # Every report, by the month it was filed (UTC): Open311's date-window listings.
        "month_pk": month_partition(report["submitted_at"][:7]),
        "month_sk": f"{report['submitted_at']}#{report['tracking_id']}",
    }
    # Only reports still awaiting an agency, and not already at the top of the ladder, wait in ByDue.
    if report["status"] in OPEN_STATUSES and not report.get("overdue_final"):
        shard = due_shard(report["tracking_id"], shards)
        keys |= {"due_pk": due_partition(shard), "due_sk": f"{report['due_at_utc']}#{report['tracking_id']}"}
    # An answered report waits in ByClosing for the reporter's word until it closes.
    if report["status"] == "responded" and report.get("closes_at_utc"):
        shard = due_shard(report["tracking_id"], shards)
        keys |= {"close_pk": closing_partition(shard),
                 "close_sk": f"{report['closes_at_utc']}#{report['tracking_id']}"}
    keys |= public_keys(report) | nearby_keys(report)
    # A record read from ByDue or ByClosing (the sweep's) has no category: its service keys stay as they are.
    return keys | service_keys(report) if "category" in report else keys
