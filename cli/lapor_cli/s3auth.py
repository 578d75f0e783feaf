"""What S3 checks before it serves a request, which moto does not: the local stack's S3 (``lapor_cli.locals3``)
refuses what S3 would refuse, so that a presigned URL behaves locally as it does on AWS.

- Signature Version 4, in the ``Authorization`` header (the SDK's own requests) or in the query string (a
  presigned URL): the signature recomputed with the local secret key must match, and a presigned URL must not
  have expired (``X-Amz-Date`` + ``X-Amz-Expires``); a header-signed request must be dated within 15 minutes.
- A browser-based POST upload: the policy's signature, its expiration, and each of its conditions (exact match,
  ``starts-with``, ``content-length-range``), with no form field that no condition names (S3's "Extra input
  fields").

The payload hash a header-signed request declares (``x-amz-content-sha256``) is signed, not compared with the
body. Errors are ``S3Error(status, code, message)``, answered as S3's XML.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES_SECONDS = 7 * 24 * 3600  # S3's longest presigned URL
# Form fields a POST policy need not name (S3: the signature, the file, the policy itself, x-ignore-*).
UNCONDITIONED_FIELDS = ("x-amz-signature", "file", "policy")


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def xml(self) -> bytes:
        from xml.sax.saxutils import escape

        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(self.code)}</Code>'
                f"<Message>{escape(self.message)}</Message></Error>").encode()


def _denied(message: str) -> S3Error:
    return S3Error(403, "AccessDenied", message)


def _mismatch() -> S3Error:
    return S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                 "signature you provided. Check your key and signing method.")


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _amz_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long "
                                                                "Format \"yyyyMMdd'T'HHmmss'Z'\"") from None


def _credential(value: str, secrets: Mapping[str, str]) -> tuple[bytes, str]:
    """The signing key and credential scope of ``AKID/date/region/service/aws4_request``."""
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or parts[3] != "s3":
        raise S3Error(400, "AuthorizationQueryParametersError", "malformed credential")
    if parts[0] not in secrets:
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    return _signing_key(secrets[parts[0]], parts[1], parts[2], parts[3]), "/".join(parts[1:])


def _canonical_query(raw_query: str, drop: str | None = None) -> str:
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        name, _, value = part.partition("=")
        name, value = unquote(name), unquote(value)
        if name != drop:
            pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _header(environ: Mapping[str, Any], name: str) -> str:
    key = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}.get(
        name, "HTTP_" + name.upper().replace("-", "_"))
    return " ".join(str(environ.get(key, "")).split())


def _string_to_sign(environ: Mapping[str, Any], raw_path: str, query: str, signed_headers: str, payload: str,
                    amz_date: str, scope: str) -> str:
    headers = "".join(f"{name}:{_header(environ, name)}\n" for name in signed_headers.split(";"))
    canonical = "\n".join((environ["REQUEST_METHOD"], raw_path, query, headers, signed_headers, payload))
    return "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))


def verify_request(environ: Mapping[str, Any], raw_path: str, raw_query: str, secrets: Mapping[str, str],
                   now: datetime | None = None) -> None:
    """Check the SigV4 signature of a request (header or presigned query); raises S3Error if S3 would refuse it.

    ``raw_path`` and ``raw_query`` are as sent (still percent-encoded), the path the client signed."""
    now = now or datetime.now(UTC)
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    params = dict(tuple(unquote(p).split("=", 1)) if "=" in p else (unquote(p), "")
                  for p in raw_query.split("&") if p)
    if authorization:
        if not authorization.startswith(ALGORITHM + " "):
            raise S3Error(400, "InvalidRequest", "Please use AWS4-HMAC-SHA256.")
        fields = dict(part.strip().split("=", 1) for part in authorization[len(ALGORITHM):].split(",")
                      if "=" in part)
        try:
            credential, signed_headers, signature = (fields["Credential"], fields["SignedHeaders"],
                                                     fields["Signature"])
        except KeyError:
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.") from None
        amz_date = _header(environ, "x-amz-date")
        if abs(now - _amz_date(amz_date)) > MAX_SKEW:
            raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and the current "
                                                       "time is too large.")
        key, scope = _credential(credential, secrets)
        payload = _header(environ, "x-amz-content-sha256") or "UNSIGNED-PAYLOAD"
        text = _string_to_sign(environ, raw_path, _canonical_query(raw_query), signed_headers, payload, amz_date,
                               scope)
    elif params.get("X-Amz-Algorithm"):
        if params["X-Amz-Algorithm"] != ALGORITHM:
            raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports "
                                                                    "\"AWS4-HMAC-SHA256\"")
        try:
            credential, signed_headers, signature = (params["X-Amz-Credential"], params["X-Amz-SignedHeaders"],
                                                     params["X-Amz-Signature"])
            amz_date, expires = params["X-Amz-Date"], int(params["X-Amz-Expires"])
        except (KeyError, ValueError):
            raise S3Error(400, "AuthorizationQueryParametersError", "Query-string authentication version 4 "
                          "requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                          "X-Amz-SignedHeaders, and X-Amz-Expires parameters.") from None
        if not 0 < expires <= MAX_EXPIRES_SECONDS:
            raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Expires must be between 1 and "
                                                                    "604800 seconds")
        signed_at = _amz_date(amz_date)
        key, scope = _credential(credential, secrets)
        text = _string_to_sign(environ, raw_path, _canonical_query(raw_query, drop="X-Amz-Signature"),
                               signed_headers, "UNSIGNED-PAYLOAD", amz_date, scope)
        if not hmac.compare_digest(_sign(key, text), signature):
            raise _mismatch()
        if now > signed_at + timedelta(seconds=expires):
            raise _denied("Request has expired")
        if signed_at - now > MAX_SKEW:
            raise _denied("Request is not valid yet")
        return
    else:
        raise _denied("Access Denied")  # a private bucket: anonymous requests are refused
    if not hmac.compare_digest(_sign(key, text), signature):
        raise _mismatch()


def verify_post(fields: Mapping[str, str], file_size: int, bucket: str, secrets: Mapping[str, str],
                now: datetime | None = None) -> None:
    """Check a browser-based POST upload (form ``fields``, not the file, whose size is ``file_size``) against
    its policy, as S3 does; raises S3Error."""
    now = now or datetime.now(UTC)
    lower = {name.lower(): value for name, value in fields.items()}
    try:
        policy_b64, signature = lower["policy"], lower["x-amz-signature"]
        credential, algorithm = lower["x-amz-credential"], lower["x-amz-algorithm"]
    except KeyError:
        raise _denied("Access Denied") from None  # no policy: an anonymous upload into a private bucket
    if algorithm != ALGORITHM:
        raise S3Error(400, "InvalidArgument", "POST requires X-Amz-Algorithm AWS4-HMAC-SHA256")
    key, _ = _credential(credential, secrets)
    if not hmac.compare_digest(_sign(key, policy_b64), signature):
        raise _mismatch()
    try:
        policy = json.loads(base64.b64decode(policy_b64))
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = policy["conditions"]
    except (ValueError, KeyError, TypeError):
        raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if now > expiration:
        raise _denied("Invalid according to Policy: Policy expired.")
    values = lower | {"bucket": bucket}
    named: set[str] = set()
    for condition in conditions:
        if isinstance(condition, dict) and len(condition) == 1:
            ((name, expected),) = condition.items()
            condition = ["eq", f"${name}", expected]
        if not isinstance(condition, list) or len(condition) != 3:
            raise S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
        operator = str(condition[0]).lower()
        if operator == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if file_size > high:
                raise S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            if file_size < low:
                raise S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
            continue
        name = str(condition[1]).lstrip("$").lower()
        named.add(name)
        actual, expected = values.get(name), str(condition[2])
        if operator == "eq":
            satisfied = actual == expected
        elif operator == "starts-with":
            satisfied = actual is not None and actual.startswith(expected)
        else:
            raise S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
        if not satisfied:
            raise _denied(f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")
    extra = sorted(name for name in lower
                   if name not in named and name not in UNCONDITIONED_FIELDS and not name.startswith("x-ignore-"))
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {extra[0]}")
