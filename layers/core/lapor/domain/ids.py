"""Tracking ids and access codes.

Tracking ids are short enough to type into an SMS (``LPR-`` + 8 Crockford base32 characters, 40 random bits)
and are not sequential, so they cannot be guessed by counting. Access codes carry 60 random bits; only their
SHA-256 (salted with the tracking id) is stored, and they are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_PREFIX = "LPR-"
TRACKING_ID_PATTERN = r"^LPR-[0-9A-HJKMNP-TV-Z]{8}$"
_TRACKING_RE = re.compile(TRACKING_ID_PATTERN)
# Crockford decoding is forgiving: I and L read as 1, O as 0; hyphens and case do not matter.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})


def _random_base32(length: int) -> str:
    """``length`` Crockford characters, 5 uniformly random bits each."""
    bits = int.from_bytes(secrets.token_bytes((length * 5 + 7) // 8), "big")
    return "".join(CROCKFORD[(bits >> (5 * i)) & 31] for i in range(length))


def new_tracking_id() -> str:
    return TRACKING_PREFIX + _random_base32(8)


def normalize_tracking_id(raw: str) -> str | None:
    """The canonical form of what a person typed (``lpr-7k3m9q2x``, ``LPR 7K3M 9Q2X``), or None."""
    compact = re.sub(r"[\s-]", "", raw.upper())
    if not compact.startswith("LPR"):
        return None
    candidate = TRACKING_PREFIX + compact[3:].translate(_CONFUSABLE)
    return candidate if _TRACKING_RE.match(candidate) else None


def new_access_code() -> str:
    """Twelve Crockford characters in three groups, e.g. ``7K3M-9Q2X-ABCD``."""
    raw = _random_base32(12)
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def hash_access_code(tracking_id: str, access_code: str) -> str:
    canonical = re.sub(r"[\s-]", "", access_code.upper()).translate(_CONFUSABLE)
    return hashlib.sha256(f"{tracking_id}:{canonical}".encode()).hexdigest()


def access_code_matches(tracking_id: str, access_code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_access_code(tracking_id, access_code), stored_hash)


# Open311 API keys: ``lpk_<id>_<secret>``. The id names the key (listing, revoking) and finds its record in one
# read; only the secret's SHA-256 is stored (160 random bits need no slow hash).
API_KEY_RE = re.compile(r"^lpk_([0-9A-HJKMNP-TV-Z]{10})_([A-Za-z0-9_-]{27})$")


def new_api_key() -> tuple[str, str, str]:
    """(key id, the key as given to the client once, the hash to store)."""
    key_id, secret = _random_base32(10), secrets.token_urlsafe(20)
    return key_id, f"lpk_{key_id}_{secret}", hash_api_secret(secret)


def hash_api_secret(secret: str) -> str:
    return hashlib.sha256(f"lapor-api-key:{secret}".encode()).hexdigest()


def split_api_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    found = API_KEY_RE.match(key.strip())
    return (found[1], found[2]) if found else None


# Idempotency-Key (design 4.3): a replay returns the first reply, access code included, to whoever sends the
# same key and body, and the body of a public report can be rebuilt from its public view. So the key is what
# keeps the reply to its sender: a random UUID (version 4, 122 random bits) or at least 22 URL-safe characters
# (``secrets.token_urlsafe(16)``: 128 bits). A counter, a timestamp or a word is refused.
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-([0-9a-f])[0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_URLSAFE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
# Random keys of 22 or more characters use many distinct characters (a 32-character hex key has 5 or fewer
# with a probability below 10^-9); a key with fewer repeats a pattern.
_MIN_DISTINCT_CHARACTERS = 6


def idempotency_key_is_strong(key: str) -> bool:
    uuid = _UUID_RE.match(key)
    if uuid:  # only a random one: version 1, 6 and 7 UUIDs carry a timestamp, and the nil UUID nothing
        return uuid[1] == "4" and uuid[2].lower() in "89ab" and len(set(key)) >= _MIN_DISTINCT_CHARACTERS
    return (bool(_URLSAFE_KEY_RE.match(key)) and len(set(key)) >= _MIN_DISTINCT_CHARACTERS
            and not key.isdigit())
