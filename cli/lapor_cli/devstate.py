"""Where the running ``lapor dev`` is: it records its URL and folders in ``.lapor/dev.json`` beside
``template.yaml`` (``LAPOR_DEV_STATE`` names another file), so that ``lapor token``, ``lapor sweep``, ``lapor
routes``, ``lapor apikeys`` and ``lapor outbox`` find it after ``lapor dev --port 3100`` or ``--data-dir``.

What the command line says still wins: ``--endpoint``, then ``LAPOR_ENDPOINT``, then the running stack, then
``http://127.0.0.1:3000``; ``--data-dir``, then the running stack's folders, then ``.lapor/``. A record whose
process has gone (killed, not stopped) is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

STATE_ENV = "LAPOR_DEV_STATE"
ENDPOINT_ENV = "LAPOR_ENDPOINT"
LOCAL_ENDPOINT = "http://127.0.0.1:3000"


def _root() -> Path | None:
    from lapor_cli.devserver import project_root

    try:
        return project_root()
    except SystemExit:  # not in a checkout: an operator's machine talking to a deployed API
        return None


def state_path() -> Path | None:
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    root = _root()
    return root / ".lapor" / "dev.json" if root else None


def record(url: str, data_dir: Path | None, issuer_dir: Path, outbox: Path) -> Path | None:
    """Record the running stack (this process); the file written."""
    path = state_path()
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"url": url, "pid": os.getpid(), "data_dir": str(data_dir) if data_dir else None,
             "issuer_dir": str(issuer_dir), "outbox": str(outbox)}
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def forget(path: Path | None) -> None:
    """Remove the record at ``path`` if it is still this process's (another stack may have started since)."""
    if path is None:
        return
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def running() -> dict[str, Any] | None:
    """The record of the running stack, or None (none recorded, or its process is gone)."""
    path = state_path()
    if path is None:
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def endpoint(given: str | None) -> str:
    """The API to talk to: ``--endpoint``, ``LAPOR_ENDPOINT``, the running local stack, the default local one."""
    if given:
        return given
    if os.environ.get(ENDPOINT_ENV):
        return os.environ[ENDPOINT_ENV]
    state = running()
    return state["url"] if state else LOCAL_ENDPOINT


def _folder(data_dir: str | None, recorded: str, default: str) -> Path:
    if data_dir:
        return Path(data_dir) / default
    state = running()
    if state and state.get(recorded):
        return Path(state[recorded])
    root = _root()
    if root is None:
        raise SystemExit("lapor: no template.yaml here or in a parent folder; give --data-dir")
    return root / ".lapor" / default


def issuer_dir(data_dir: str | None) -> Path:
    """The local issuer's folder: ``--data-dir``'s, the running stack's, or ``.lapor/``'s."""
    return _folder(data_dir, "issuer_dir", "issuer")


def outbox_path(data_dir: str | None) -> Path:
    """The local notices file: ``--data-dir``'s, the running stack's, or ``.lapor/``'s."""
    return _folder(data_dir, "outbox", "outbox.jsonl")
