"""The local stack's token issuer: what the Cognito user pool and API Gateway's JWT authorizer do on AWS.

Keys live under ``.lapor/issuer/``. Tokens look like Cognito ID tokens (``cognito:groups``,
``custom:agency_id``, ``token_use``); verification checks what API Gateway checks (signature, issuer,
audience, expiry, not-before), and the claims reach handlers flattened the way API Gateway flattens them.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

ISSUER = "https://lapor.local/dev-issuer"
AUDIENCE = "lapor-dev-client"
ROLES = ("operator", "supervisor", "admin")


class InvalidToken(Exception):
    """The token would be refused by the JWT authorizer (the caller gets 401 and nothing else)."""


class LocalIssuer:
    def __init__(self, key_dir: Path) -> None:
        self.key_dir = key_dir
        self._private_pem: bytes | None = None

    def _key(self) -> bytes:
        if self._private_pem is None:
            path = self.key_dir / "private.pem"
            if not path.exists():
                from cryptography.hazmat.primitives import serialization
                from cryptography.hazmat.primitives.asymmetric import rsa

                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                self.key_dir.mkdir(parents=True, exist_ok=True)
                path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
                path.chmod(0o600)
            self._private_pem = path.read_bytes()
        return self._private_pem

    def _public_key(self) -> Any:
        from cryptography.hazmat.primitives import serialization

        return serialization.load_pem_private_key(self._key(), password=None).public_key()

    def issue(self, role: str, agency_id: str | None = None, ttl_seconds: int = 8 * 3600,
              subject: str | None = None, now: float | None = None, claims: dict[str, Any] | None = None) -> str:
        """A token as Cognito would issue it; ``claims`` adds or replaces claims (tests: access tokens, odd
        group names)."""
        import jwt

        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        issued = int(now if now is not None else time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": subject or str(uuid.uuid4()), "token_use": "id",
            "iat": issued, "nbf": issued, "exp": issued + ttl_seconds, "cognito:groups": [role],
            "cognito:username": f"{role}-{agency_id or 'all'}",
        }
        if agency_id:
            payload["custom:agency_id"] = agency_id
        return jwt.encode(payload | (claims or {}), self._key(), algorithm="RS256", headers={"kid": "lapor-dev"})

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, if API Gateway's JWT authorizer would accept it."""
        import jwt

        if not authorization:
            raise InvalidToken("no token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            return jwt.decode(token, self._public_key(), algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                              options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc


def flatten_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway passes them: every value a string, arrays as ``[a b]``."""
    def text(value: Any) -> str:
        if isinstance(value, list):
            return "[" + " ".join(text(v) for v in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {name: text(value) for name, value in claims.items()}
