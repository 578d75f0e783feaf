"""Talking to a Lapor API (the local stack by default) as an operator or admin, with the standard library."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

LOCAL_ENDPOINT = "http://127.0.0.1:3000"


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"HTTP {status}: {error.get('message') or body}")
        self.status, self.body = status, body


def bearer(endpoint: str, token: str | None, data_dir: Path | None, role: str = "admin") -> str:
    """The token to send: the given one, $LAPOR_TOKEN, or (for the local stack only) a fresh local one."""
    token = token or os.environ.get("LAPOR_TOKEN")
    if token:
        return token
    if endpoint.rstrip("/") != LOCAL_ENDPOINT and "127.0.0.1" not in endpoint and "localhost" not in endpoint:
        raise SystemExit("lapor: give --token (or set LAPOR_TOKEN) for a deployed API")
    from lapor_cli import devstate
    from lapor_cli.issuer import LocalIssuer

    return LocalIssuer(devstate.issuer_dir(str(data_dir) if data_dir else None)).issue(role, ttl_seconds=600)


def call(method: str, url: str, token: str, body: Any = None, timeout: float = 900) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (operator-given URL)
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = payload.decode(errors="replace")
        raise ApiError(exc.code, parsed) from None
    except urllib.error.URLError as exc:
        raise SystemExit(f"lapor: cannot reach {url}: {exc.reason} (is `make dev` running?)") from None


# -- following a sweep run ------------------------------------------------------------------------------------

ENDED = ("finished", "failed", "stalled")


def progress_line(run: dict[str, Any]) -> str:
    return (f"sweep {run['id']} {run['status']}: {run.get('shards_done', 0)}/{run.get('shards', 0)} shards, "
            f"{run['scanned']} scanned, {run['escalated']} escalated, {run.get('failed', 0)} failed")


def progress_bar(run: dict[str, Any], width: int = 24) -> str:
    shards, done = run.get("shards", 0), run.get("shards_done", 0)
    filled = width * done // shards if shards else width
    return (f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{shards} shards  {run['scanned']} scanned  "
            f"{run['escalated']} escalated  {run.get('failed', 0)} failed")


def follow_run(run: dict[str, Any], fetch: Callable[[], dict[str, Any]], *, out: TextIO, interval: float = 1.0,
               sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll ``fetch`` (``GET /admin/sweeps/{id}``) until the run has ended; show its progress on ``out``: a bar
    redrawn in place on a terminal, else one line each time something changed. The run as it ended."""
    tty = out.isatty()
    shown = None
    while True:
        state = (run["status"], run.get("shards_done"), run["scanned"], run.get("failed"))
        if tty:
            out.write(progress_bar(run))
        elif state != shown:
            out.write(progress_line(run) + "\n")
        out.flush()
        shown = state
        if run["status"] in ENDED:
            if tty:
                out.write("\n")
            return run
        sleep(interval)
        run = fetch()
