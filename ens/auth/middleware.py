"""Bearer tokens in, a :class:`Caller` out (``scope["user"]``); problem+json 401 otherwise."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from ens.auth.tokens import AccessTokens
from ens.core.errors import Unauthorized

# Public paths: health, schema, login flows and the public catalogues.
PUBLIC_PATHS = (
    r"^/health$",
    r"^/ready$",
    r"^/schema",
    r"^/oauth/",
    r"^/login/",
    r"^/dev-idp",
    r"^/\.well-known/",
    r"^/v1/vital-types$",
    r"^/v1/vaccines$",
    r"^/v1/apps$",
    r"^/favicon.ico$",
)


class BearerAuthentication(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, tokens: AccessTokens) -> None:
        super().__init__(app, exclude=list(PUBLIC_PATHS))
        self.tokens = tokens

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send an access token: 'Authorization: Bearer <token>'.")
        caller = self.tokens.verify(token.strip())
        return AuthenticationResult(user=caller, auth=None)
