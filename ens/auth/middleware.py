"""Bearer tokens in, a :class:`Caller` out (``scope["user"]``); problem+json 401 otherwise."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from ens.auth.tokens import AccessTokens
from ens.core.api import PUBLIC_OPT
from ens.core.errors import BadRequest, FieldError, Unauthorized


class BearerAuthentication(AbstractAuthenticationMiddleware):
    """Every route needs a token unless it is declared public where it is defined (``opt=PUBLIC``);
    ``exclude`` names paths litestar itself serves (the OpenAPI pages)."""

    def __init__(self, app: ASGIApp, tokens: AccessTokens, exclude: list[str]) -> None:
        # OPTIONS too (litestar leaves it out by default, for browsers' CORS preflights, which this
        # API does not serve): it passes the space door as a read, which needs the caller's token;
        # left out, an OPTIONS with a valid token was a 401 and left no history row. One without a
        # token goes on without a caller: litestar's answer to OPTIONS does not carry its route's
        # PUBLIC mark, so a public address answers it, and a door refuses it (401).
        super().__init__(app, exclude=exclude, exclude_from_auth_key=PUBLIC_OPT, exclude_http_methods=())
        self.tokens = tokens

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        sent = connection.headers.getall("authorization", [])
        if len(sent) > 1:
            # One credential per request (RFC 9110 §11.6.2): which one would be the caller's?
            raise BadRequest("Send one Authorization header, not several.", [FieldError("", "Authorization repeated")])
        if not sent and connection.scope.get("method") == "OPTIONS":
            return AuthenticationResult(user=None, auth=None)
        header = sent[0] if sent else ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send an access token: 'Authorization: Bearer <token>'.")
        caller = self.tokens.verify(token.strip())
        return AuthenticationResult(user=caller, auth=None)
