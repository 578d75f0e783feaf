"""MediaFunction's cost for one large photo (a ~10 MiB, 24-megapixel JPEG with EXIF GPS) and one large document (a
~10 MiB, 200-page PDF of scanned-looking JPEG pages, with document info and XMP naming its author), each through
the whole handler (moto S3 and DynamoDB in process) and through the processing step alone; median of several
runs, each in a fresh process so that peak memory (ru_maxrss) is that run's.

    PYTHONPATH=layers/core:cli:functions/media python bench/media.py [runs]
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_photo(path: Path) -> None:
    import random

    from PIL import Image

    random.seed(12)
    # Noise compresses badly, like a detailed photo: 6000 x 4000 at quality 70 is about 10 MiB.
    tile = Image.frombytes("RGB", (600, 400), random.randbytes(600 * 400 * 3))
    image = Image.new("RGB", (6000, 4000))
    for x in range(0, 6000, 600):
        for y in range(0, 4000, 400):
            image.paste(tile.rotate(90 * ((x + y) // 400 % 4), expand=False), (x, y))
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (0.0, 30.0, 0.0), 3: "E", 4: (117.0, 9.0, 0.0)}
    for quality in (75, 70, 65, 60, 55, 50):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, exif=exif)
        if out.tell() <= 10 * 1024 * 1024:
            break
    path.write_bytes(out.getvalue())


def make_pdf(path: Path, pages: int = 200) -> None:
    """200 pages, each a 310 x 420 grey JPEG of noise (~50 KB, just under 10 MiB in all) drawn full page, with the
    author in the document info and an XMP packet: what strip_pdf must remove without decoding a single image."""
    import random

    from PIL import Image
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

    random.seed(12)
    writer = PdfWriter()
    for number in range(pages):
        scan = io.BytesIO()
        Image.frombytes("L", (310, 420), random.randbytes(310 * 420)).save(scan, "JPEG", quality=40)
        image = DecodedStreamObject()
        image.set_data(scan.getvalue())
        image.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                      NameObject("/Width"): NumberObject(310), NameObject("/Height"): NumberObject(420),
                      NameObject("/ColorSpace"): NameObject("/DeviceGray"),
                      NameObject("/BitsPerComponent"): NumberObject(8), NameObject("/Filter"): NameObject("/DCTDecode")})
        page = writer.add_blank_page(595, 842)
        content = DecodedStreamObject()
        content.set_data(b"q 595 0 0 842 0 0 cm /Scan Do Q")
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): DictionaryObject(
            {NameObject("/Scan"): writer._add_object(image)})})
        page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata({"/Author": "Budi Santoso", "/Creator": "Pemindai"})
    writer.xmp_metadata = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
                           b"<dc:creator>Budi Santoso</dc:creator></x:xmpmeta><?xpacket end=\"w\"?>")
    out = io.BytesIO()
    writer.write(out)
    path.write_bytes(out.getvalue())


FACTS = r'''
import json, sys
from pathlib import Path
from media import make_pdf, make_photo
from PIL import Image
from pypdf import PdfReader
photo, document = Path(sys.argv[1]), Path(sys.argv[2])
if not photo.exists():
    make_photo(photo)
if not document.exists():
    make_pdf(document)
size = Image.open(photo).size
print(json.dumps({"photo_pixels": size[0] * size[1], "pdf_pages": len(PdfReader(document).pages)}))
'''

ONE_RUN = r'''
import json, os, resource, sys, time
data = open(os.environ["PHOTO"], "rb").read()
mode, content_type = os.environ["MODE"], os.environ["CONTENT_TYPE"]
if mode == "process":
    from lapor import attachments
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    attachments.process(data, content_type)
    elapsed = time.perf_counter() - start
else:
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "ap-southeast-3",
                       "LAPOR_TABLE_NAME": "ReportsTable", "POWERTOOLS_TRACE_DISABLED": "true",
                       "LAPOR_MEDIA_BUCKET": "media"})
    import boto3
    from moto import mock_aws
    from pathlib import Path
    with mock_aws():
        from lapor import attachments, runtime
        from lapor_cli.seed import seed
        from lapor_cli.template import create_tables, load_template
        from lapor.intake import submit_report
        from lapor.models import ReportIn
        from lapor.settings import get_settings
        create_tables(boto3.client("dynamodb"), load_template(Path(os.environ["ROOT"]) / "template.yaml"))
        seed(runtime.config_store())
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="media", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
        sys.path.insert(0, os.environ["ROOT"] + "/tests")
        from samples import sample_report
        created = submit_report(ReportIn.model_validate(sample_report()), channel="web", store=runtime.store(),
                                config=runtime.config_cache().get(), default_deadline_days=30)
        record = runtime.store().get_report(created["tracking_id"])
        a = attachments.start_upload(runtime.store(), record, filename="p", content_type=content_type,
                                     size=len(data), actor_role="reporter", now_epoch=int(time.time()), expires_in=900)
        s3.put_object(Bucket="media", Key=a["upload_key"], Body=data)
        del data
        from lapor_media.app import handle_upload
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        assert handle_upload("media", a["upload_key"], os.path.getsize(os.environ["PHOTO"])) == "ready"
        elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mib": peak / 1024, "before_mib": base / 1024}))
'''


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    photo, document = ROOT / ".lapor" / "bench-photo.jpg", ROOT / ".lapor" / "bench-document.pdf"
    photo.parent.mkdir(exist_ok=True)
    # Made and measured in a child: Linux keeps a process's peak RSS across exec, so a parent that had decoded the
    # photo or parsed the PDF would hand its peak to every run's ru_maxrss.
    facts = json.loads(subprocess.run([sys.executable, "-c", FACTS, str(photo), str(document)], capture_output=True,
                                      text=True, check=True, cwd=ROOT / "bench").stdout)
    results = {"photo_bytes": photo.stat().st_size, "photo_pixels": facts["photo_pixels"],
               "pdf_bytes": document.stat().st_size, "pdf_pages": facts["pdf_pages"]}
    for kind, path, content_type in (("", photo, "image/jpeg"), ("pdf_", document, "application/pdf")):
        for mode in ("process", "handler"):
            results[kind + mode] = _median(runs, path, mode, content_type)
    print(json.dumps(results, indent=2))


def _median(runs: int, path: Path, mode: str, content_type: str) -> dict:
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", ONE_RUN], capture_output=True, text=True, check=True,
                             env={**__import__("os").environ, "PHOTO": str(path), "MODE": mode,
                                  "CONTENT_TYPE": content_type, "ROOT": str(ROOT)})
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"median_seconds": round(statistics.median(s["seconds"] for s in samples), 3),
            "median_peak_mib": round(statistics.median(s["peak_mib"] for s in samples), 1),
            "median_before_mib": round(statistics.median(s["before_mib"] for s in samples), 1),
            "runs": runs}

if __name__ == "__main__":
    main()
