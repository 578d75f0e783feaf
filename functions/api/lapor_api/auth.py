"""Who is calling an operator route: the claims API Gateway's JWT authorizer passed on."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from lapor.domain.access import Caller
from lapor.errors import Forbidden

OPERATOR_ONLY = {"security": [{"operatorJwt": []}]}


def caller(router: APIGatewayHttpRouter) -> Caller:
    claims = router.current_event.request_context.authorizer.jwt_claim or {}
    if claims.get("token_use") != "id":
        raise Forbidden("send the Cognito ID token, not an access token", code="id_token_required")
    found = Caller.from_claims(claims)
    if found is None:
        raise Forbidden("this token carries none of the operator, supervisor or admin roles")
    return found


def admin(router: APIGatewayHttpRouter) -> Caller:
    found = caller(router)
    if found.role != "admin":
        raise Forbidden("only admins may do this")
    return found
