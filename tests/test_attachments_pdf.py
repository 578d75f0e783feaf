"""MediaFunction rewrites PDFs (issue #12): no document info, no XMP, no private data served, the pages kept; what
pypdf cannot read, too many pages or too complex a file is rejected with a reason, after the active-content scan."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject, NumberObject,
                           TextStringObject)

from lapor import attachments
from test_attachments import BUCKET, file_report, media, pdf_bytes, start, upload_and_process  # noqa: F401 (fixture)

AUTHOR = "Budi Santoso"
XMP = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>Budi Santoso</rdf:li></rdf:Seq>'
       '</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def _name(value: str) -> NameObject:
    return NameObject(value)


def _xmp_stream(writer: PdfWriter):
    stream = DecodedStreamObject()
    stream.set_data(XMP)
    stream.update({_name("/Type"): _name("/Metadata"), _name("/Subtype"): _name("/XML")})
    return writer._add_object(stream)


def budi_pdf(pages: int = 3) -> bytes:
    """A real PDF (pypdf) that names its author everywhere a document can: the info dictionary, the catalog's XMP
    packet, each page's XMP and /PieceInfo, an image's XMP, a page thumbnail and a comment's author."""
    writer = PdfWriter()
    for number in range(pages):
        page = writer.add_blank_page(595, 842)
        image = DecodedStreamObject()
        image.set_data(b"\x80")
        image.update({_name("/Type"): _name("/XObject"), _name("/Subtype"): _name("/Image"),
                      _name("/Width"): NumberObject(1), _name("/Height"): NumberObject(1),
                      _name("/ColorSpace"): _name("/DeviceGray"), _name("/BitsPerComponent"): NumberObject(8),
                      _name("/Metadata"): _xmp_stream(writer)})
        content = DecodedStreamObject()
        content.set_data(b"q 100 0 0 100 50 50 cm /Im0 Do Q BT /F1 12 Tf 72 720 Td (Halaman %d) Tj ET" % number)
        font = DictionaryObject({_name("/Type"): _name("/Font"), _name("/Subtype"): _name("/Type1"),
                                 _name("/BaseFont"): _name("/Helvetica")})
        page[_name("/Resources")] = DictionaryObject({
            _name("/XObject"): DictionaryObject({_name("/Im0"): writer._add_object(image)}),
            _name("/Font"): DictionaryObject({_name("/F1"): writer._add_object(font)})})
        page[_name("/Contents")] = writer._add_object(content)
        page[_name("/Metadata")] = _xmp_stream(writer)
        page[_name("/PieceInfo")] = DictionaryObject({_name("/Illustrator"): DictionaryObject(
            {_name("/Private"): TextStringObject(AUTHOR), _name("/LastModified"): TextStringObject("D:20250101")})})
        thumb = DecodedStreamObject()
        thumb.set_data(b"\x80")
        thumb.update({_name("/Width"): NumberObject(1), _name("/Height"): NumberObject(1),
                      _name("/ColorSpace"): _name("/DeviceGray"), _name("/BitsPerComponent"): NumberObject(8),
                      _name("/Metadata"): _xmp_stream(writer)})
        page[_name("/Thumb")] = writer._add_object(thumb)
        comment = DictionaryObject({_name("/Type"): _name("/Annot"), _name("/Subtype"): _name("/Text"),
                                    _name("/Rect"): ArrayObject([FloatObject(10)] * 4),
                                    _name("/T"): TextStringObject(AUTHOR), _name("/Contents"): TextStringObject("cek")})
        page[_name("/Annots")] = ArrayObject([writer._add_object(comment)])
    writer.add_metadata({"/Author": AUTHOR, "/Creator": "Laptop Budi", "/Producer": "Pencetak", "/Title": "Aduan"})
    writer.xmp_metadata = XMP
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def refused(data: bytes) -> str:
    with pytest.raises(attachments.Refused) as caught:
        attachments.process(data, "application/pdf")
    return caught.value.reason


def every_object(reader: PdfReader):
    """Every dictionary and array reachable from the trailer of what was served."""
    from pypdf.generic import IndirectObject

    stack, seen = [reader.trailer], set()
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            if obj.idnum in seen:
                continue
            seen.add(obj.idnum)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            yield obj
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def test_the_served_pdf_names_no_author_and_keeps_its_pages(call_api, media):
    original = budi_pdf(pages=3)
    before = PdfReader(io.BytesIO(original))
    assert before.metadata.author == AUTHOR and AUTHOR in before.xmp_metadata.dc_creator  # the test file does name him
    assert "/Metadata" in before.pages[0] and "/Thumb" in before.pages[0]
    created = file_report(call_api, "anonymous")
    reply = start(call_api, created, content_type="application/pdf", size=len(original), filename="aduan.pdf")
    assert upload_and_process(media, reply, original) == {"outcomes": ["ready"]}

    served = media.get_object(Bucket=BUCKET, Key=f"ready/{created['tracking_id']}/{reply.body['attachment_id']}")
    assert served["ContentType"] == "application/pdf"
    data = served["Body"].read()
    clean = PdfReader(io.BytesIO(data))
    assert clean.metadata is None and "/Info" not in clean.trailer  # not even a /Producer
    assert clean.xmp_metadata is None and "/Metadata" not in clean.trailer["/Root"]
    assert len(clean.pages) == 3
    for dictionary in every_object(clean):
        assert not {"/Metadata", "/PieceInfo", "/Thumb", "/LastModified", "/Author", "/Creator"} & set(dictionary)
        if dictionary.get("/Subtype") == "/Text":
            assert "/T" not in dictionary and dictionary["/Contents"] == "cek"  # the comment stays, not its author
    assert AUTHOR.encode() not in data and b"Laptop Budi" not in data and b"xpacket" not in data
    # The pages are the same pages: their text, their image, their size.
    assert [p.extract_text() for p in clean.pages] == ["Halaman 0", "Halaman 1", "Halaman 2"]
    assert clean.pages[2].images[0].data == before.pages[2].images[0].data
    assert clean.pages[0].mediabox == before.pages[0].mediabox
    # Nothing of the upload is left.
    assert "Contents" not in media.list_objects_v2(Bucket=BUCKET, Prefix="uploads/")


def test_documents_have_no_thumbnail_and_a_new_identifier():
    original = pdf_bytes(2)
    processed = attachments.process(original, "application/pdf")
    assert processed.thumbnail is None and processed.content_type == "application/pdf"
    before, after = PdfReader(io.BytesIO(original)), PdfReader(io.BytesIO(processed.body))
    assert len(after.pages) == 2
    assert after.trailer.get("/ID") != before.trailer.get("/ID") or before.trailer.get("/ID") is None


def test_a_malformed_pdf_is_rejected_and_deleted(call_api, media):
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" + b"\x00garbage " * 200 + b"\n%%EOF\n"
    created = file_report(call_api)
    reply = start(call_api, created, content_type="application/pdf", size=len(broken), filename="rusak.pdf")
    assert upload_and_process(media, reply, broken) == {"outcomes": ["rejected"]}
    assert "Contents" not in media.list_objects_v2(Bucket=BUCKET)
    seen = call_api("GET", f"/reports/{created['tracking_id']}", headers={"X-Access-Code": created["access_code"]})
    [attachment] = seen.body["attachments"]
    assert attachment["status"] == "rejected" and attachment["reason"] == "corrupt" and attachment["url"] is None


@pytest.mark.parametrize("document", [
    b"%PDF-1.7\nnothing here at all\n%%EOF\n",  # no cross-reference table, no catalog
    pdf_bytes(1).replace(b"/Type /Pages", b"/Type /Pagez"),  # the page tree is not one
    pdf_bytes(0),  # no page at all
])
def test_what_pypdf_cannot_read_or_has_no_page_is_corrupt(document):
    assert refused(document) == "corrupt"


def test_a_pdf_over_the_page_cap_is_rejected():
    assert len(attachments.process(pdf_bytes(attachments.MAX_PDF_PAGES), "application/pdf").body) > 0
    assert refused(pdf_bytes(attachments.MAX_PDF_PAGES + 1)) == "too_many_pages"


def hand_made(*objects: bytes) -> bytes:
    """A PDF with a real cross-reference table, written byte by byte (what no PDF library would write)."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_page_tree_bomb_is_too_complex_and_refused_quickly():
    """12 KB declaring a million pages: one node listing another 1,000 times, which lists one page 1,000 times."""
    import time

    bomb = hand_made(b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [" + b"3 0 R " * 1000 + b"] /Count 1000000 >>",
                     b"<< /Type /Pages /Kids [" + b"4 0 R " * 1000 + b"] /Count 1000 >>",
                     b"<< /Type /Page /MediaBox [0 0 1 1] >>")
    assert len(bomb) < 20_000
    started = time.monotonic()
    assert refused(bomb) == "too_complex"
    assert time.monotonic() - started < 5


def test_a_cyclic_page_tree_and_deep_nesting_are_refused():
    assert refused(hand_made(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>")) \
        in ("corrupt", "too_complex")
    deep = hand_made(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Page /MediaBox [0 0 1 1] /X " + b"[" * 100_000 + b"]" * 100_000 + b" >>")
    assert refused(deep) in ("corrupt", "too_complex")


def test_too_many_objects_or_past_the_time_budget_is_too_complex(monkeypatch):
    many = hand_made(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Page /MediaBox [0 0 1 1] /Resources << /X 4 0 R >> >>",
                     b"[" + b" ".join(b"%d 0 R" % n for n in range(5, 5 + 60_000)) + b"]", *[b"1"] * 60_000)
    assert refused(many) == "too_complex"  # over MAX_PDF_OBJECTS (50,000), counted before anything is copied
    monkeypatch.setattr(attachments, "PDF_MAX_SECONDS", -1.0)
    assert refused(pdf_bytes(1)) == "too_complex"


def test_the_active_content_scan_runs_first(monkeypatch):
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.root_object[_name("/OpenAction")] = DictionaryObject(
        {_name("/S"): _name("/JavaScript"), _name("/JS"): TextStringObject("app.alert('hai');")})
    out = io.BytesIO()
    writer.write(out)
    monkeypatch.setattr(attachments, "strip_pdf", lambda data: pytest.fail("parsed before the scan"))
    assert refused(out.getvalue()) == "pdf_active_content"
    encrypted = PdfWriter()
    encrypted.add_blank_page(100, 100)
    encrypted.encrypt("rahasia")
    out = io.BytesIO()
    encrypted.write(out)
    assert refused(out.getvalue()) == "pdf_encrypted"


def test_pypdf_is_not_imported_until_a_pdf_comes():
    """Cold start: importing MediaFunction loads no pypdf (it is imported on the PDF path only)."""
    import os
    import subprocess
    import sys

    code = ("import sys; from lapor import attachments; import lapor_media.app; "
            "assert 'pypdf' not in sys.modules, 'pypdf imported at start'")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "POWERTOOLS_TRACE_DISABLED": "true"})


def test_pypdf_is_mediafunctions_own_dependency_pinned_alike():
    """Like Pillow: in functions/media/requirements.txt and the dev extra (the same exact pin), never in the layer
    that the API function and every other function load."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def requirements(path):
        lines = (line.split("#")[0].strip() for line in (root / path).read_text().splitlines())
        return [line for line in lines if line]

    [media_pin] = [r for r in requirements("functions/media/requirements.txt") if r.startswith("pypdf")]
    assert re.fullmatch(r"pypdf==\d+\.\d+\.\d+", media_pin)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert media_pin in project["optional-dependencies"]["dev"]
    for layer_dependency in [*requirements("layers/core/requirements.txt"), *project["dependencies"]]:
        assert not layer_dependency.lower().startswith(("pypdf", "pillow"))
    assert not list((root / "functions/api").glob("requirements*.txt"))


def jpeg_with_metadata() -> bytes:
    """A photo as a phone writes it: EXIF with a GPS position and the owner's name, and a comment."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (0.0, 30.0, 7.9), 3: "E", 4: (117.0, 9.0, 13.0)}
    exif[0x013B] = AUTHOR  # Artist
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "JPEG", exif=exif, comment=f"oleh {AUTHOR}".encode())
    return out.getvalue()


def pdf_with_photo(photo: bytes) -> bytes:
    """A scan app's PDF: one page showing the photo as it is (a DCTDecode image stream holds the JPEG file)."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    image = DecodedStreamObject()
    image.set_data(photo)
    image.update({_name("/Type"): _name("/XObject"), _name("/Subtype"): _name("/Image"),
                  _name("/Width"): NumberObject(64), _name("/Height"): NumberObject(48),
                  _name("/ColorSpace"): _name("/DeviceRGB"), _name("/BitsPerComponent"): NumberObject(8),
                  _name("/Filter"): _name("/DCTDecode")})
    content = DecodedStreamObject()
    content.set_data(b"q 64 0 0 48 10 10 cm /Im0 Do Q")
    page[_name("/Resources")] = DictionaryObject({
        _name("/XObject"): DictionaryObject({_name("/Im0"): writer._add_object(image)})})
    page[_name("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_photo_inside_a_pdf_loses_its_exif_and_keeps_its_pixels():
    from PIL import Image

    photo = jpeg_with_metadata()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the position is really there
    served = attachments.process(pdf_with_photo(photo), "application/pdf").body
    assert AUTHOR.encode() not in served
    [image] = [o for o in every_object(PdfReader(io.BytesIO(served)))
               if isinstance(o, DictionaryObject) and o.get("/Subtype") == "/Image"]
    kept = Image.open(io.BytesIO(image._data))
    assert dict(kept.getexif()) == {} and "comment" not in kept.info
    assert kept.tobytes() == Image.open(io.BytesIO(photo)).tobytes()  # the image data untouched, not re-encoded


def test_jpeg_metadata_stripping_keeps_what_decoders_need_and_refuses_a_cut_file():
    adobe = b"\xff\xee\x00\x0eAdobe\x00d\x00\x00\x00\x00\x01"  # APP14: the colour transform of CMYK images
    photo = jpeg_with_metadata()
    with_adobe = photo[:2] + adobe + photo[2:]
    stripped = attachments.strip_jpeg_metadata(with_adobe)
    assert adobe in stripped and b"Exif" not in stripped and stripped.endswith(photo[-200:])
    assert b"\xff\xe0\x00\x10JFIF" in stripped  # JFIF (APP0) kept, in its place
    for cut in (photo[:1], b"\x00" + photo[1:], photo[:20]):
        with pytest.raises(attachments.Refused, match="corrupt"):
            attachments.strip_jpeg_metadata(cut)
