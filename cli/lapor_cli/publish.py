"""``lapor site publish``: upload ``web/`` to the deployed stack's site bucket, behind its CloudFront distribution.

Run after ``sam deploy``. The settings the pages read at run time (``config.js``) are written from the stack's
outputs, not from the checkout's ``web/config.js`` (the local one): the same files serve every deployment, and a
new API or Cognito client needs a publish, never a rebuild.

Each object gets the type and cache header ``lapor dev`` sends (``lapor_cli.site``): vendored libraries and
content-hashed names ``immutable`` (a new version is a new name), pages, modules and ``config.js`` ``no-cache``
(revalidated on every use, so a publish shows at once without a CloudFront invalidation). What ``lapor dev``
would not serve is not uploaded (hidden names, unknown types), except the vendored libraries' licence files.
Immutable assets go up first and pages last, so a page never names a file that is not there yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lapor_cli.site import CONTENT_TYPES, IMMUTABLE, REVALIDATE, cache_control

CONFIG_KEY = "config.js"
LICENCE_NAMES = ("LICENSE", "NOTICE", "COPYING")
TEXT = "text/plain; charset=utf-8"
# The tiles of web/config.js and of the template's MapTilesUrl parameter: OpenStreetMap's, credited as it requires.
DEFAULT_TILES = {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                 "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
                 "maxZoom": 19}


@dataclass
class Published:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _is_licence(path: Path) -> bool:
    return path.name.upper().startswith(LICENCE_NAMES)


def site_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(key, path)`` of every file to publish from ``root`` (``web/``), in upload order: immutable assets,
    then modules and styles, then pages. ``config.js`` is left out: it is written from the stack's outputs."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or path.is_symlink() or any(part.startswith(".") for part in relative.parts):
            continue
        key = relative.as_posix()
        if key == CONFIG_KEY:
            continue
        if path.suffix.lower() not in CONTENT_TYPES and not (key.startswith("vendor/") and _is_licence(path)):
            continue
        found.append((key, path))
    rank = {IMMUTABLE: 0, REVALIDATE: 1}
    found.sort(key=lambda item: (rank[cache_control("/" + item[0])], item[0].endswith(".html"), item[0]))
    return iter(found)


def object_headers(key: str) -> dict[str, str]:
    """The ``ContentType`` and ``CacheControl`` of an object, as ``lapor dev`` serves the same file."""
    suffix = Path(key).suffix.lower()
    return {"ContentType": CONTENT_TYPES.get(suffix, TEXT), "CacheControl": cache_control("/" + key)}


def config_js(outputs: dict[str, str]) -> str:
    """``config.js`` for a deployment, from its stack outputs, in the shape the pages read (``web/config.js``).
    The API shares the site's origin (CloudFront forwards its paths), so its base stays empty; attachments live on
    S3's own origin (``MediaOrigin``); the operator desk signs in through the Cognito Hosted UI
    (``OperatorPoolDomain``, ``OperatorPoolClientId``), back to ``<SiteUrl>/desk/signin.html``, the URL the stack's
    ``OperatorSignInUrl`` parameter must name. The maps' tiles are the stack's ``MapTilesUrl``,
    ``MapTilesAttribution`` and ``MapTilesMaxZoom`` (parameters whose origin the stack's pages' policy allows),
    OpenStreetMap's when the stack predates them."""
    site = (outputs.get("SiteUrl") or "").rstrip("/")
    sign_in = f"{site}/desk/signin.html" if site else None
    domain = outputs.get("OperatorPoolDomain")
    config = {
        "apiBase": "",
        "siteUrl": site or None,
        "mediaOrigin": outputs.get("MediaOrigin", ""),
        "mapTiles": {
            "url": outputs.get("MapTilesUrl", DEFAULT_TILES["url"]),
            "attribution": outputs.get("MapTilesAttribution", DEFAULT_TILES["attribution"]),
            "maxZoom": int(outputs.get("MapTilesMaxZoom") or DEFAULT_TILES["maxZoom"]),
        },
        "signIn": "cognito",
        "cognito": {
            "domain": f"https://{domain}" if domain else None,
            "clientId": outputs.get("OperatorPoolClientId"),
            "redirectUri": sign_in,
            "logoutUri": sign_in,
        },
    }
    return ("// Written by `lapor site publish` from the stack's outputs; read by the pages at run time.\n"
            f"export const config = {json.dumps(config, indent=2, sort_keys=True)};\n")


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def publish(s3: Any, bucket: str, root: Path, outputs: dict[str, str], *, prune: bool = False,
            log: Any = None) -> Published:
    """Upload ``root`` to ``bucket`` with its headers, then ``config.js`` from ``outputs``; with ``prune``,
    delete what the bucket holds that the site no longer has (after the upload, so no page goes missing)."""
    done = Published()
    files = list(site_files(root))
    config_position = next((i for i, (key, _) in enumerate(files) if key.endswith(".html")), len(files))
    # config.js goes up with the modules, before the first page.
    for index, (key, path) in enumerate(files):
        if index == config_position:
            _put_config(s3, bucket, outputs, done, log)
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), **object_headers(key))
        done.uploaded.append(key)
        if log:
            log(f"{key}  {object_headers(key)['CacheControl']}")
    if config_position == len(files):
        _put_config(s3, bucket, outputs, done, log)
    if prune:
        keep = set(done.uploaded)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            stale = [o["Key"] for o in page.get("Contents", []) if o["Key"] not in keep]
            for start in range(0, len(stale), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start:start + 1000]]})
            done.deleted += stale
    return done


def _put_config(s3: Any, bucket: str, outputs: dict[str, str], done: Published, log: Any) -> None:
    s3.put_object(Bucket=bucket, Key=CONFIG_KEY, Body=config_js(outputs).encode(), **object_headers(CONFIG_KEY))
    done.uploaded.append(CONFIG_KEY)
    if log:
        log(f"{CONFIG_KEY}  {REVALIDATE}  (from the stack's outputs)")


def main(stack_name: str, *, region: str | None, prune: bool, root: Path) -> int:
    import boto3

    session = boto3.session.Session(region_name=region)
    outputs = stack_outputs(session.client("cloudformation"), stack_name)
    missing = [name for name in ("SiteBucketName", "SiteUrl") if name not in outputs]
    if missing:
        print(f"the stack {stack_name} has no {', '.join(missing)} output: deploy the current template.yaml first")
        return 1
    done = publish(session.client("s3"), outputs["SiteBucketName"], root, outputs, prune=prune, log=print)
    print(f"published {len(done.uploaded)} files to s3://{outputs['SiteBucketName']}"
          + (f", deleted {len(done.deleted)} stale" if prune else "") + f"; the site is {outputs['SiteUrl']}/")
    return 0
