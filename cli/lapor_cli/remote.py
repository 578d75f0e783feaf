"""Talking to a Lapor API (the local stack by default) as an operator or admin, with the standard library."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

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
    from lapor_cli.devserver import project_root
    from lapor_cli.issuer import LocalIssuer

    return LocalIssuer((data_dir or project_root() / ".lapor") / "issuer").issue(role, ttl_seconds=600)


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
