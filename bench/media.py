"""MediaFunction's cost for one large photo: a ~10 MiB, 24-megapixel JPEG with EXIF GPS, through the whole handler
(moto S3 and DynamoDB in process) and through the image step alone; median of several runs, each in a fresh
process so that peak memory (ru_maxrss) is that run's.

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


ONE_RUN = r'''
import json, os, resource, sys, time
data = open(os.environ["PHOTO"], "rb").read()
mode = os.environ["MODE"]
if mode == "process":
    from lapor import attachments
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    attachments.process(data, "image/jpeg")
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
        a = attachments.start_upload(runtime.store(), record, filename="p.jpg", content_type="image/jpeg",
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
    photo = ROOT / ".lapor" / "bench-photo.jpg"
    photo.parent.mkdir(exist_ok=True)
    if not photo.exists():
        make_photo(photo)
    from PIL import Image

    size = Image.open(photo).size
    results = {"photo_bytes": photo.stat().st_size, "photo_pixels": size[0] * size[1]}
    for mode in ("process", "handler"):
        samples = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", ONE_RUN], capture_output=True, text=True, check=True,
                                 env={**__import__("os").environ, "PHOTO": str(photo), "MODE": mode,
                                      "ROOT": str(ROOT)})
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
        results[mode] = {"median_seconds": round(statistics.median(s["seconds"] for s in samples), 3),
                         "median_peak_mib": round(statistics.median(s["peak_mib"] for s in samples), 1),
                         "median_before_mib": round(statistics.median(s["before_mib"] for s in samples), 1),
                         "runs": runs}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
