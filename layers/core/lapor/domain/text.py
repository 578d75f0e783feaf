"""What free text Lapor stores may contain (titles, descriptions, answers, reasons, names).

Refused, not silently cleaned, so that the person who typed it sees why:
- control characters other than tab and line breaks: NUL and the rest break the systems that read reports
  on (agencies' exports, XML for Open311, SMS), and show as nothing;
- the bidirectional embedding, override and isolate controls: they make text display in another order than
  it is stored (a "Trojan Source" title), and an operator must read what the reporter wrote;
- noncharacters and lone surrogates (a JSON ``"\\ud800"``), which cannot be encoded as UTF-8 at all;
- text made only of characters that show nothing (white space, zero-width and filler characters).
"""

from __future__ import annotations

import re

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
INVISIBLE = re.compile("[\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                       "\u2060-\u2064\u206a-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")


def check_text(value: str) -> str:
    """``value`` if it may be stored; else ValueError saying why (pydantic turns it into a 422)."""
    found = FORBIDDEN.search(value)
    if found:
        raise ValueError(f"contains the character U+{ord(found[0]):04X}, which text may not carry "
                         "(control characters, bidi overrides)")
    if value and not INVISIBLE.sub("", value):
        raise ValueError("has no visible character")
    return value
