"""The web app (``web/``) as ``lapor dev`` serves it beside the API: static files, nothing else.

Only files that exist under ``web/``, of a known type, reached without a hidden segment (``.git``), ``..``, a
backslash or a symlink leading out of the folder; a folder answers with its ``index.html`` or not at all (no
listing). Anything else falls through to the API's 404, as API Gateway would answer.

Cache headers as the deployed site (CloudFront) sends them: vendored libraries (``/vendor/<name>-<version>/``)
and files whose name carries a content hash (``app.3f9a1c2b.js``) never change, so they are ``immutable``;
everything else (pages, the app's own modules, ``config.js``) is ``no-cache``: revalidated on every use, cheap
with the ETag (a 304 without a body). Text is gzipped when the browser accepts it, as CloudFront does.

The pages' Content-Security-Policy allows one more origin when ``web/config.js`` names it (``mediaOrigin``):
where the attachments' presigned URLs point on AWS (S3's own origin), for the uploads (``connect-src``) and the
thumbnails (``img-src``). ``lapor dev`` serves S3 on its own origin (``/s3``), so its ``config.js`` leaves it
empty; a deployment writes it into ``config.js`` and puts the same ``page_policy(origin)`` in its headers.

The maps' tiles come from the tile server ``config.js`` names (``mapTiles.url``, a URL template such as
OpenStreetMap's ``https://tile.openstreetmap.org/{z}/{x}/{y}.png``), so its origin goes into ``img-src`` too,
derived the same way (``tile_origin``): a ``{s}`` subdomain becomes ``*``; without a ``mapTiles`` the pages use
OpenStreetMap's (``web/js/map.js``), and so does the policy; an empty URL (no tiles) or anything but a plain
``http(s)`` host adds nothing.

Likewise, when ``config.js`` says ``signIn: "cognito"``, the Hosted UI's origin (``cognito.domain``) may be
fetched (``connect-src``): the sign-in page exchanges the code for the tokens at its ``/oauth2/token``. (The
deployed policy, template.yaml's SiteHeadersPolicy, allows ``https://*.amazoncognito.com``.) Both forms of
``config.js`` are read: the checkout's (bare keys) and the one ``lapor site publish`` writes (JSON keys).
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

from werkzeug.wrappers import Request, Response

SITE_FOLDER = "web"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".webmanifest", ".svg", ".txt", ".map")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASHED_NAME = re.compile(r"\.[0-9a-f]{8,}\.[a-z0-9]+$")
# config.js's mediaOrigin: a scheme and a host (and port), nothing else, or it is not used.
MEDIA_ORIGIN = re.compile(r'^\s*"?mediaOrigin"?:\s*"(https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?)"', re.MULTILINE)
# config.js's mapTiles.url: the tile server's origin (``{s}.`` for its subdomains), then its path template.
MAP_TILES = re.compile(r'\bmapTiles"?:\s*\{[^}]*?\burl"?:\s*"([^"]*)"')
TILE_URL = re.compile(r"^(https?://(?:\{s\}\.)?[A-Za-z0-9.-]+(?::[0-9]{1,5})?)/[^\s\"';,]*$")
# What the pages use when config.js names no tile server (web/js/map.js's default).
DEFAULT_TILE_ORIGIN = "https://tile.openstreetmap.org"
# config.js's sign-in: the Hosted UI only when signIn is "cognito"; its domain an https origin (or a bare host,
# which auth.js reads as https), nothing else, or it is not used.
SIGN_IN_COGNITO = re.compile(r'^\s*"?signIn"?:\s*"cognito"', re.MULTILINE)
COGNITO_DOMAIN = re.compile(r'^\s*"?cognito"?:\s*\{[^}]*?^\s*"?domain"?:\s*"(?:https://)?([A-Za-z0-9.-]+(?::[0-9]{1,5})?)/?"',
                            re.MULTILINE)
LINE_COMMENT = re.compile(r"(^|\s)//[^\n]*")


def page_policy(media_origin: str = "", tile_origin: str = "", sign_in_origin: str = "") -> str:
    """The pages' policy: no inline script, nothing framed; the API is on the same origin (design §4a); the
    attachments' storage (``media_origin``, S3's origin on AWS) may take uploads and serve thumbnails; the map
    tile server (``tile_origin``) may serve images; the Cognito Hosted UI (``sign_in_origin``) may be asked for
    the tokens."""
    media = f" {media_origin}" if media_origin else ""
    tiles = f" {tile_origin}" if tile_origin else ""
    sign_in = f" {sign_in_origin}" if sign_in_origin and sign_in_origin != media_origin else ""
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{media}{tiles}; "
            f"connect-src 'self'{media}{sign_in}; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")


PAGE_POLICY = page_policy()

_cache: dict[Path, tuple[float, int, bytes, bytes | None, str]] = {}


def site_root(project_root: Path) -> Path:
    return project_root / SITE_FOLDER


def resolve(root: Path, url_path: str) -> Path | None:
    """The file under ``root`` that ``url_path`` names, or None (unknown, hidden, outside, not a file)."""
    if "\\" in url_path or "\x00" in url_path or not url_path.startswith("/"):
        return None
    segments = url_path[1:].split("/")
    if any(s in ("", ".", "..") or s.startswith(".") for s in segments[:-1]):
        return None
    if segments[-1] in (".", "..") or segments[-1].startswith("."):
        return None
    base = root.resolve()
    candidate = base.joinpath(*[s for s in segments if s])
    if segments[-1] == "" or (candidate.is_dir() and not candidate.is_symlink()):
        # A folder: its index page, never a listing (``/docs`` and ``/docs/`` alike, as the deployed site's
        # CloudFront function rewrites them); a folder without one is a 404.
        candidate = candidate / "index.html"
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file() or real.suffix.lower() not in CONTENT_TYPES:
        return None
    return real


def cache_control(url_path: str) -> str:
    if url_path.startswith("/vendor/") or HASHED_NAME.search(url_path):
        return IMMUTABLE
    return REVALIDATE


def _read(path: Path) -> tuple[bytes, bytes | None, str]:
    """The file, its gzip form (for text) and its ETag, cached until the file changes."""
    stat = path.stat()
    cached = _cache.get(path)
    if cached and cached[0] == stat.st_mtime and cached[1] == stat.st_size:
        return cached[2], cached[3], cached[4]
    data = path.read_bytes()
    compressed = gzip.compress(data, compresslevel=9, mtime=0) if path.suffix.lower() in COMPRESSIBLE else None
    etag = hashlib.sha256(data).hexdigest()[:32]
    _cache[path] = (stat.st_mtime, stat.st_size, data, compressed, etag)
    return data, compressed, etag


def config_origins(text: str) -> tuple[str, str]:
    """The origins a ``config.js`` text names for the pages' policy: its ``mediaOrigin`` and, when it signs in
    with Cognito, its Hosted UI's (``cognito.domain``); "" for either when there is none or it is not a plain
    origin."""
    text = LINE_COMMENT.sub(r"\1", text)
    media = MEDIA_ORIGIN.search(text)
    domain = COGNITO_DOMAIN.search(text) if SIGN_IN_COGNITO.search(text) else None
    return (media.group(1) if media else "", f"https://{domain.group(1)}" if domain else "")


def _config_text(root: Path) -> str:
    config = root / "config.js"
    return _read(config)[0].decode("utf-8", "replace") if config.is_file() else ""


def policy_for(text: str) -> str:
    """The pages' policy for a ``config.js`` of this text (what ``lapor dev`` sends beside it)."""
    media, sign_in = config_origins(text)
    return page_policy(media, _tile_origin_of(text), sign_in)


def tile_origin(root: Path) -> str:
    """The origin of the tile server ``config.js`` under ``root`` names (``mapTiles.url``), OpenStreetMap's when
    it names none, or "" (an empty URL: no tiles; or not a plain ``http(s)`` URL)."""
    return _tile_origin_of(_config_text(root))


def _tile_origin_of(text: str) -> str:
    found = MAP_TILES.search(text)
    if not found:
        return DEFAULT_TILE_ORIGIN
    url = TILE_URL.match(found.group(1))
    return url.group(1).replace("{s}", "*") if url else ""


def serve_site(request: Request, project_root: Path) -> Response | None:
    """The response for a GET or HEAD of a file of the web app, or None to let the caller answer 404."""
    if request.method not in ("GET", "HEAD"):
        return None
    path = resolve(site_root(project_root), request.path)
    if path is None:
        return None
    data, compressed, etag = _read(path)
    headers = {
        "Cache-Control": cache_control(request.path),
        "ETag": f'"{etag}"',
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Vary": "Accept-Encoding",
    }
    if path.suffix.lower() == ".html":
        headers["Content-Security-Policy"] = policy_for(_config_text(site_root(project_root)))
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    body = data
    if compressed is not None and "gzip" in request.accept_encodings and len(compressed) < len(data):
        body = compressed
        headers["Content-Encoding"] = "gzip"
    response = Response(body, status=200, content_type=CONTENT_TYPES[path.suffix.lower()], headers=headers)
    response.headers["Content-Length"] = str(len(body))
    return response
