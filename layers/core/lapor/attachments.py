"""Attachments (design §4.1): limits, object keys, slots, and what MediaFunction does with an upload's bytes.

The client uploads straight to S3 with a presigned POST (``uploads/<tracking_id>/<attachment_id>``); the API
function never sees the file (except an Open311 client's multipart POST, whose file parts it stores under the same
key). MediaFunction then checks the real type from the bytes, refuses what is not what it claims, too large,
truncated, a decompression bomb or a PDF with active content, re-encodes images so no metadata block (EXIF, XMP,
IPTC, comments) survives, rewrites PDFs from their pages alone (no document info, no XMP), and writes the clean file
and a thumbnail under ``ready/``.

An attachment's status: ``pending`` (its upload may come), ``ready``, ``rejected`` (with a reason), ``removed`` (by
the reporter, before the agency answered) or ``hidden`` (by an admin, with a reason). Pillow and pypdf are imported
only by :func:`process`, each on its own type's path (MediaFunction's own dependencies, not the layer's).
"""

from __future__ import annotations

import io
import os
import re
import time
import warnings
from dataclasses import dataclass

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_REPORT = 5
# Removals by the reporter that free their slot for another upload, per report. Past that a removal still works
# (it is the reporter's way to take back a photo) but its slot stays taken: uploads and removals cannot go on
# for ever, so a report's partition and timeline stay bounded (design §7), at most 10 files ever made ready.
MAX_FREED_BY_REMOVAL = 5
# Images larger than this many pixels are refused (a decompression bomb: a small file that decodes to gigabytes).
MAX_PIXELS = 40_000_000
# A re-encoded image larger than this is refused (``output_too_large``): a PNG of noise re-encodes to far more
# than it came in as, and nothing larger than this is worth serving as a complaint's photo.
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
THUMBNAIL_SIDE = 640
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
CONTENT_TYPES = (*IMAGE_TYPES, "application/pdf")
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Reports that take no more attachments.
CLOSED_STATUSES = ("closed", "rejected")
# What a PDF may not carry (pdfid's list of the names behind PDF malware): scripts, files inside the file, actions
# that start programs, fetch or send data, Flash and XFA forms. Matched as whole names, #xx escapes decoded, in
# the file and in its object streams.
PDF_ACTIVE_NAMES = frozenset({b"JavaScript", b"JS", b"EmbeddedFile", b"EmbeddedFiles", b"Launch", b"RichMedia",
                              b"XFA", b"SubmitForm", b"ImportData", b"GoToE"})
# Object streams inflated per PDF at most (a bomb is refused, not inflated).
PDF_MAX_INFLATED = 64 * 1024 * 1024
# A PDF is rewritten from its pages (design §4.1: nothing that names its author is served). A document of more pages
# is refused (``too_many_pages``); one of more objects, or whose rewrite takes longer or needs more memory than
# this, is refused as ``too_complex`` (a small file can declare a huge page tree or millions of tiny objects).
MAX_PDF_PAGES = 300
MAX_PDF_OBJECTS = 50_000
PDF_MAX_SECONDS = 20.0
PDF_MAX_RSS = 1024 * 1024 * 1024
# Any one stream decoded while reading (object and cross-reference streams; page contents and images are copied
# as they are, never decoded) at most this large.
PDF_MAX_STREAM = 32 * 1024 * 1024
# Keys dropped wherever they are in what a page carries: XMP packets (catalog, page, image, font, form XObject),
# application private data, page thumbnails (an image of the page as some earlier version was).
PDF_DROPPED_KEYS = ("/Metadata", "/PieceInfo", "/Thumb", "/LastModified")
# Who wrote a comment (a markup annotation's /T is its author) and when.
PDF_ANNOTATION_KEYS = ("/T", "/M", "/CreationDate")

UPLOADS, READY = "uploads/", "ready/"


def upload_key(tracking_id: str, attachment_id: str) -> str:
    return f"{UPLOADS}{tracking_id}/{attachment_id}"


def ready_key(tracking_id: str, attachment_id: str) -> str:
    return f"{READY}{tracking_id}/{attachment_id}"


def thumbnail_key(tracking_id: str, attachment_id: str) -> str:
    return f"{READY}{tracking_id}/{attachment_id}.thumb.jpg"


def parse_upload_key(key: str) -> tuple[str, str] | None:
    """``(tracking_id, attachment_id)`` of an upload's object key, or None for any other key."""
    if not key.startswith(UPLOADS):
        return None
    parts = key[len(UPLOADS):].split("/")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def sniff(head: bytes) -> str | None:
    """The content type the bytes really are (by their signature, never the name), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


class Refused(Exception):
    """The upload is not served; ``reason`` says why (a short code, stored on the attachment)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Processed:
    content_type: str
    body: bytes
    thumbnail: bytes | None  # JPEG; None for documents


def check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise Refused("too_large")
    if size <= 0:
        raise Refused("empty")


def process(data: bytes, claimed_type: str) -> Processed:
    """Check ``data`` against ``claimed_type`` and return what may be served; raises Refused otherwise."""
    check_size(len(data))
    actual = sniff(data[:16])
    if actual is None:
        raise Refused("unsupported_type")
    if actual != claimed_type:
        raise Refused("type_mismatch")
    if actual == "application/pdf":
        # A file cut short has no end-of-file marker. The scan comes first: nothing with active content is parsed.
        if b"%%EOF" not in data[-1024:]:
            raise Refused("truncated")
        check_pdf(data)
        return Processed(actual, strip_pdf(data), None)
    return _reencode(data, actual)


_PDF_NAME = re.compile(rb"/([^\x00\t\n\f\r /\[\]()<>{}%]*)")
_PDF_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"stream\r?\n")


def _pdf_names(data: bytes) -> set[bytes]:
    """Every name token of ``data`` with its #xx escapes decoded (``/J#61vaScript`` is ``JavaScript``)."""
    return {_PDF_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name) if b"#" in name else name
            for name in _PDF_NAME.findall(data)}


def check_pdf(data: bytes) -> None:
    """Refuse a PDF with active content (``pdf_active_content``) or encrypted (``pdf_encrypted``: its object
    streams cannot be read, so it cannot be checked). A scan of names, as pdfid does, not a full parser: the file
    itself and every object stream (``/Type /ObjStm``, where dictionaries hide compressed) are searched; it runs
    before :func:`strip_pdf` parses anything."""
    import zlib

    names = _pdf_names(data)
    if b"Encrypt" in names:
        raise Refused("pdf_encrypted")
    budget = PDF_MAX_INFLATED
    for match in _PDF_STREAM.finditer(data):
        start = data.rfind(b" obj", 0, match.start())
        header = data[start if start >= 0 else max(0, match.start() - 2048):match.start()]
        if not header.rstrip().endswith(b">>") or b"ObjStm" not in _pdf_names(header):
            continue
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(data[match.end():], budget + 1)
        except zlib.error:
            raise Refused("corrupt") from None
        budget -= len(inflated)
        if budget < 0:
            raise Refused("too_complex")
        names |= _pdf_names(inflated)
    if names & PDF_ACTIVE_NAMES:
        raise Refused("pdf_active_content")


def strip_pdf(data: bytes) -> bytes:
    """The PDF rewritten from its pages alone: no document info dictionary (author, creator, producer, title,
    dates), no XMP packet (the catalog's or any page's, image's, font's or form's), no /PieceInfo, no page
    thumbnails, no comment authors, a new file identifier, and nothing of earlier revisions (incremental updates).
    Document-level parts (outline, named destinations, forms, structure tree) are not kept; page contents, images
    and fonts are copied as they are, never decoded.

    Refused: ``corrupt`` (pypdf cannot read it, or it has no page), ``too_many_pages`` (over MAX_PDF_PAGES),
    ``too_complex`` (over MAX_PDF_OBJECTS objects, a page tree or stream past pypdf's limits, nesting past the
    interpreter's, or past PDF_MAX_SECONDS / PDF_MAX_RSS at a checkpoint), ``pdf_encrypted``."""
    import pypdf
    from pypdf.errors import LimitReachedError

    deadline = time.monotonic() + PDF_MAX_SECONDS
    limits = {
        "jbig2dec_binary": None,  # never start a program
        "maximum_declared_stream_length": MAX_BYTES,
        "zlib_maximum_output_length": PDF_MAX_STREAM, "lzw_maximum_output_length": PDF_MAX_STREAM,
        "run_length_maximum_output_length": PDF_MAX_STREAM, "brotli_maximum_output_length": PDF_MAX_STREAM,
        "jbig2_maximum_output_length": PDF_MAX_STREAM, "array_based_stream_maximum_output_length": PDF_MAX_STREAM,
        "stream_decoding_work_maximum_length": 4 * PDF_MAX_STREAM, "image_maximum_buffer_size": PDF_MAX_STREAM,
        "page_tree_maximum_entries": 4 * MAX_PDF_PAGES, "page_tree_maximum_page_entries": 100 * MAX_PDF_PAGES,
        "disable_legacy_handling": True,
    }
    try:
        with pypdf.apply_configuration(**limits), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns of what it repairs; only what it cannot read is refused
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False, root_object_recovery_limit=MAX_PDF_OBJECTS,
                                     xref_stream_maximum_entries=MAX_PDF_OBJECTS)
            if reader.is_encrypted:
                raise Refused("pdf_encrypted")
            if sum(len(section) for section in reader.xref.values()) + len(reader.xref_objStm) > MAX_PDF_OBJECTS:
                raise Refused("too_complex")
            pages = len(reader.pages)
            if pages > MAX_PDF_PAGES:
                raise Refused("too_many_pages")
            if pages == 0:
                raise Refused("corrupt")
            writer = pypdf.PdfWriter()
            writer.metadata = None  # no /Info at all, not even pypdf's /Producer
            for page in reader.pages:
                writer.add_page(page, excluded_keys=PDF_DROPPED_KEYS)
                _pdf_budget(deadline)
            _scrub_pdf(writer.root_object, deadline)
            writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
            _pdf_budget(deadline)
            out = io.BytesIO()
            writer.write(out)
    except Refused:
        raise
    except (LimitReachedError, RecursionError, MemoryError):
        raise Refused("too_complex") from None
    except Exception:  # noqa: BLE001 - anything pypdf cannot read or write: not a document we serve
        raise Refused("corrupt") from None
    if out.tell() > MAX_OUTPUT_BYTES:
        raise Refused("output_too_large")
    return out.getvalue()


def _pdf_budget(deadline: float) -> None:
    if time.monotonic() > deadline or _rss() > PDF_MAX_RSS:
        raise Refused("too_complex")


def _rss() -> int:
    """The process's resident memory now (Linux, as on Lambda); 0 where /proc is not there."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _scrub_pdf(root, deadline: float) -> None:
    """Drop PDF_DROPPED_KEYS from every dictionary and stream reachable from the written document's catalog (the
    pages were copied without them; this also covers what pypdf links itself), and markup annotations' author and
    dates. Iterative, each indirect object once."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

    stack, seen, visits = [root], set(), 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            if (obj.idnum, obj.generation) in seen:
                continue
            seen.add((obj.idnum, obj.generation))
            obj = obj.get_object()
        visits += 1
        if visits % 5000 == 0:
            _pdf_budget(deadline)
        if isinstance(obj, DictionaryObject):
            for name in PDF_DROPPED_KEYS:
                obj.pop(name, None)
            if isinstance(obj, StreamObject) and obj.get("/Subtype") == "/Image" and _is_jpeg(obj.get("/Filter")):
                # The stream's bytes are a JPEG file as the camera or scan app wrote it: its EXIF (GPS, serials)
                # goes; written as they are (pypdf re-encodes only Flate streams through set_data).
                obj._data = strip_jpeg_metadata(obj._data)
            if "/Rect" in obj and obj.get("/Subtype") not in (None, "/Widget", "/Link"):
                for name in PDF_ANNOTATION_KEYS:
                    obj.pop(name, None)
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def _is_jpeg(filters) -> bool:
    """A stream whose last filter is DCTDecode holds a JPEG file (maybe under Flate: then it is left alone)."""
    if isinstance(filters, list) and filters:
        return filters == ["/DCTDecode"]
    return filters == "/DCTDecode"


# JPEG segments that carry metadata and nothing a decoder needs: APP1 (EXIF, XMP), APP2 (ICC, FlashPix),
# APP3–APP13 (IPTC in APP13, makers' blocks), APP15 and comments. APP0 (JFIF) and APP14 (Adobe: the colour
# transform of CMYK and YCCK images) stay.
JPEG_DROPPED_MARKERS = frozenset({*range(0xE1, 0xEE), 0xEF, 0xFE})


def strip_jpeg_metadata(data: bytes) -> bytes:
    """``data`` (a JPEG file) without its metadata segments; the image data itself untouched. Not a JPEG as
    expected (no SOI, a segment cut short): ``Refused("corrupt")``."""
    if data[:2] != b"\xff\xd8":
        raise Refused("corrupt")
    out, at = bytearray(b"\xff\xd8"), 2
    while True:
        if at >= len(data):  # ended before its image data
            raise Refused("corrupt")
        if data[at] != 0xFF:
            raise Refused("corrupt")
        marker = data[at + 1] if at + 1 < len(data) else None
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker is None or marker == 0xD9:  # EOI before any image data
            raise Refused("corrupt")
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            out += data[at:at + 2]
            at += 2
            continue
        if at + 4 > len(data):
            raise Refused("corrupt")
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if end > len(data):
            raise Refused("corrupt")
        if marker == 0xDA:  # start of scan: the image data follows, to the end, as it is
            out += data[at:]
            break
        if marker not in JPEG_DROPPED_MARKERS:
            out += data[at:end]
        at = end
    return bytes(out)


def _reencode(data: bytes, content_type: str) -> Processed:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises above: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_FORMATS[content_type]])
            if image.width * image.height > MAX_PIXELS:
                raise Refused("too_many_pixels")
            image.load()  # a truncated file fails here (LOAD_TRUNCATED_IMAGES stays False)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_many_pixels") from None
    except Exception:  # noqa: BLE001 - any decoder error: not an image we serve
        raise Refused("corrupt") from None
    # Turn the pixels upright, then forget every metadata block: only the pixels are written back.
    image = ImageOps.exif_transpose(image)
    if content_type == "image/jpeg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    image.info = {}
    body = io.BytesIO()
    if content_type == "image/jpeg":
        image.save(body, "JPEG", quality=85, optimize=True)
    elif content_type == "image/png":
        image.save(body, "PNG")
    else:
        image.save(body, "WEBP", quality=85)
    if body.tell() > MAX_OUTPUT_BYTES:
        raise Refused("output_too_large")
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    if thumbnail.mode != "RGB":
        flat = Image.new("RGB", thumbnail.size, "white")
        flat.paste(thumbnail, mask=thumbnail.getchannel("A") if "A" in thumbnail.getbands() else None)
        thumbnail = flat
    thumb = io.BytesIO()
    thumbnail.save(thumb, "JPEG", quality=80)
    return Processed(content_type, body.getvalue(), thumb.getvalue())


def slot_free(current: dict | None, now_epoch: int) -> bool:
    """Whether a slot may take a new upload: empty, its upload rejected, removed by the reporter while removals
    still free slots (``frees_slot``), or pending with its upload window past. Ready and hidden ones hold it.
    The store's conditional put says the same (``ReportStore.claim_attachment_slot``)."""
    return (current is None or current["status"] == "rejected"
            or (current["status"] == "removed" and bool(current.get("frees_slot")))
            or (current["status"] == "pending" and current["upload_expires_at"] < now_epoch))


def first_ready_image(attachments: list[dict]) -> dict | None:
    """The image Open311 shows as ``media_url``: the earliest-made ready image, or None."""
    images = [a for a in attachments if a["status"] == "ready" and a["content_type"] in IMAGE_TYPES]
    return min(images, key=lambda a: (a.get("created_at", ""), a.get("slot", 0)), default=None)


def start_upload(store, record: dict, *, filename: str, content_type: str, size: int, actor_role: str,
                 now_epoch: int, expires_in: int) -> dict:
    """Record a ``pending`` attachment of ``record`` in a free slot (at most MAX_PER_REPORT) and return it.

    Raises Conflict: ``report_closed`` for a closed or rejected report, ``attachment_limit`` when every slot is
    held by a ready or hidden attachment, an upload still in its window, or a removal past
    MAX_FREED_BY_REMOVAL."""
    import secrets

    from lapor.domain.clock import iso_utc
    from lapor.errors import Conflict

    if record["status"] in CLOSED_STATUSES:
        raise Conflict("a closed or rejected report takes no attachments", code="report_closed")
    tracking_id = record["tracking_id"]
    held = {a["slot"]: a for a in store.list_attachments(tracking_id)}
    attachment_id = secrets.token_urlsafe(12)
    from datetime import UTC, datetime

    attachment = {
        "attachment_id": attachment_id, "status": "pending", "content_type": content_type, "filename": filename,
        "size": size, "actor_role": actor_role, "upload_key": upload_key(tracking_id, attachment_id),
        "created_at": iso_utc(datetime.fromtimestamp(now_epoch, UTC)), "upload_expires_at": now_epoch + expires_in,
    }
    for slot in range(1, MAX_PER_REPORT + 1):
        if slot_free(held.get(slot), now_epoch) and store.claim_attachment_slot(tracking_id, slot, attachment,
                                                                                now_epoch=now_epoch):
            return attachment | {"slot": slot}
    raise Conflict(f"a report takes at most {MAX_PER_REPORT} attachments", code="attachment_limit")
