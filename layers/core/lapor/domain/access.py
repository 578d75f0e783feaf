"""Who is calling, and which agencies' reports they may see and answer.

Claims arrive as API Gateway's JWT authorizer passes them: strings, with arrays as ``[a b]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lapor.domain.routing import Agency

ROLES = ("operator", "supervisor", "admin")  # lowest to highest


def claim_list(value: str | list[str] | None) -> list[str]:
    """The names in an array claim: ``"[operator admin]"`` as API Gateway flattens it, or a real list.

    The names between the brackets are split on white space and on nothing else, and matched whole: Cognito
    group names cannot hold white space, so this is exact, whereas splitting on commas would make a group
    called ``x,admin`` an admin. A string without brackets is one name.
    """
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    if value.startswith("[") and value.endswith("]"):
        return value[1:-1].split()
    return [value] if value else []


@dataclass(frozen=True)
class Caller:
    subject: str
    role: str
    agency_id: str | None

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> Caller | None:
        """The caller's highest role, or None when the token carries none of Lapor's roles or is not an ID
        token (a Cognito access token passes API Gateway's audience check too, but says nothing of the
        agency: only ID tokens carry ``custom:agency_id``)."""
        if claims.get("token_use") != "id":
            return None
        groups = set(claim_list(claims.get("cognito:groups")))  # type: ignore[arg-type]
        roles = [r for r in ROLES if r in groups]
        if not roles:
            return None
        agency = claims.get("custom:agency_id")
        return cls(subject=str(claims.get("sub", "")), role=roles[-1], agency_id=str(agency) if agency else None)


def agencies_in_scope(caller: Caller, agencies: Mapping[str, Agency]) -> frozenset[str] | None:
    """The agencies whose reports the caller may see and answer; None means all (admin).

    An operator: its own agency. A supervisor: its own and every agency that escalates to it, directly or
    through others (a provincial inspectorate sees the kabupaten/kota below it).
    """
    if caller.role == "admin":
        return None
    if caller.agency_id is None:
        return frozenset()
    if caller.role == "operator":
        return frozenset({caller.agency_id})
    below: dict[str, list[str]] = {}
    for agency in agencies.values():
        if agency.escalates_to:
            below.setdefault(agency.escalates_to, []).append(agency.id)
    scope, frontier = {caller.agency_id}, [caller.agency_id]
    while frontier:
        for child in below.get(frontier.pop(), []):
            if child not in scope:
                scope.add(child)
                frontier.append(child)
    return frozenset(scope)
