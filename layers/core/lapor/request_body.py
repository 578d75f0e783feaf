"""What a handler checks of a request body before parsing it: its size, and how deep its JSON nests.

Python's json module recurses once per level, so a body of 100,000 ``[`` ends in RecursionError (a 500)
instead of a clear 400, and no body of Lapor's contract nests beyond 4.
"""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 32


def body_size(event: dict[str, Any]) -> int:
    """The body's size in bytes, from an API Gateway event, without decoding it. A text body may hold lone
    surrogates (a ``"\\ud800"`` escape in the event's JSON): counted, not an error."""
    body = event.get("body") or ""
    return len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` opens more than ``limit`` arrays or objects inside each other (brackets within
    strings do not count). Linear, and free for ordinary bodies, which have fewer brackets than the limit."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False
