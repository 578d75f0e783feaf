"""MediaFunction's caps (issue #12): pixels, the re-encoded size, and PDFs with active content."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from lapor import attachments


def pdf(*objects: bytes, trailer: bytes = b"trailer << /Root 1 0 R >>") -> bytes:
    body = b"%PDF-1.7\n" + b"".join(b"%d 0 obj\n%s\nendobj\n" % (n, o) for n, o in enumerate(objects, 1))
    return body + trailer + b"\n%%EOF\n"


def object_stream(content: bytes) -> bytes:
    packed = zlib.compress(content)
    return (b"<< /Type/ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
            + packed + b"\nendstream")


def refused(data: bytes, content_type: str = "application/pdf") -> str:
    with pytest.raises(attachments.Refused) as caught:
        attachments.process(data, content_type)
    return caught.value.reason


def test_a_plain_pdf_and_one_with_a_harmless_object_stream_pass_the_scan():
    # The scan only (these have no page: what follows it, the rewrite, is test_attachments_pdf.py's).
    for document in (pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"),
                     pdf(b"<< /Type /Catalog >>", object_stream(b"2 0 << /Type /Pages /Count 0 >>"))):
        attachments.check_pdf(document)


@pytest.mark.parametrize("catalog", [
    b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
    b"<< /Type /Catalog /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >>",  # names with #xx escapes
    b"<< /Type /Catalog /Names << /EmbeddedFiles 2 0 R >> >>",
    b"<< /Type /Catalog /OpenAction << /S /Launch /F (cmd.exe) >> >>",
    b"<< /Type /Catalog /AcroForm << /XFA 3 0 R >> >>",
])
def test_active_content_is_refused(catalog):
    assert refused(pdf(catalog)) == "pdf_active_content"


def test_active_content_hidden_in_a_compressed_object_stream_is_refused():
    hidden = pdf(b"<< /Type /Catalog >>", object_stream(b"3 0 << /Names << /EmbeddedFiles 4 0 R >> >>"))
    assert b"EmbeddedFiles" not in hidden  # not in the file's own bytes
    assert refused(hidden) == "pdf_active_content"


def test_an_encrypted_pdf_cannot_be_checked_and_is_refused():
    assert refused(pdf(b"<< /Type /Catalog >>", trailer=b"trailer << /Root 1 0 R /Encrypt 5 0 R >>")) == \
        "pdf_encrypted"


def test_an_object_stream_that_inflates_past_the_budget_is_refused(monkeypatch):
    monkeypatch.setattr(attachments, "PDF_MAX_INFLATED", 1000)
    bomb = pdf(b"<< /Type /Catalog >>", object_stream(b"2 0 " + b" " * 5000))
    assert refused(bomb) == "too_complex"


def test_a_re_encoded_image_over_the_output_cap_is_refused(monkeypatch):
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(out, "PNG")
    monkeypatch.setattr(attachments, "MAX_OUTPUT_BYTES", 50_000)
    assert refused(out.getvalue(), "image/png") == "output_too_large"


def test_the_pixel_cap_holds_below_pillows_own_bomb_limit():
    """40 megapixels, whatever Pillow's own default: an image of 40,000,001 pixels is refused."""
    out = io.BytesIO()
    Image.new("1", (8001, 5000)).save(out, "PNG")
    assert refused(out.getvalue(), "image/png") == "too_many_pixels"
