"""Request and response bodies of the login, the OAuth 2.0 server, the account and the apps.

The OAuth endpoints speak RFC 6749 / 7009 (snake_case names the standards fix); the ``/v1`` bodies
speak the API's camelCase like every other capability.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from ens.core.api import ProtocolStruct, ReadStruct, Struct

# ---------------------------------------------------------------------------------------------
# OAuth 2.0 (RFC 6749, 7009)


class TokenRequest(ProtocolStruct):
    """The form of ``POST /oauth/token`` (client credentials may also come as HTTP Basic)."""

    grant_type: str = ""
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    refresh_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    # RFC 7523 §2.2: an app registered with its keys authenticates with a JWT it signed.
    client_assertion_type: str | None = None
    client_assertion: str | None = None
    scope: str | None = None


class TokenResponse(ProtocolStruct):
    """RFC 6749 §5.1, plus ``space`` (the space an app token is bound to, as SMART's ``patient``)."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    scope: str
    space: str | None = None


class RevokeRequest(ProtocolStruct):
    """The form of ``POST /oauth/revoke`` (RFC 7009 §2.1)."""

    token: str = ""
    token_type_hint: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    client_assertion_type: str | None = None
    client_assertion: str | None = None


class OAuthErrorRead(ProtocolStruct):
    """RFC 6749 §5.2: what the token and revocation endpoints answer on failure."""

    error: str
    error_description: str | None = None


class RevokeResponse(ProtocolStruct):
    """RFC 7009 §2.2: the revocation endpoint answers 200 with an empty JSON object."""


class AuthorizationServerMetadata(ProtocolStruct):
    """RFC 8414 §2: ``/.well-known/oauth-authorization-server``."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    response_types_supported: list[str]
    grant_types_supported: list[str]
    code_challenge_methods_supported: list[str]
    response_modes_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_signing_alg_values_supported: list[str]
    scopes_supported: list[str]
    service_documentation: str
    # RFC 9207: every authorization response names the issuer (``iss``), for the app to check.
    authorization_response_iss_parameter_supported: bool


class JsonWebKeySet(ProtocolStruct):
    """RFC 7517 §5: the relying party's public encryption keys (``/oauth/rp-jwks``)."""

    keys: list[dict[str, Any]]


# ---------------------------------------------------------------------------------------------
# Login pages (HTML forms)


class CodeForm(ProtocolStruct):
    csrf: str | None = None
    code: str | None = None


class CsrfForm(ProtocolStruct):
    csrf: str | None = None


class ReopenForm(ProtocolStruct):
    csrf: str | None = None
    decision: str | None = None  # reopen (the default) | later


class ConsentForm(ProtocolStruct):
    csrf: str | None = None
    decision: str | None = None
    # Which space the app is for, when the person represents others (absent: their own).
    space: str | None = None


# ---------------------------------------------------------------------------------------------
# Account


class RecoveryCodesRenewal(Struct):
    """A code from the authenticator app (or a recovery code): a token alone is not enough."""

    code: Annotated[str, Meta(min_length=1, max_length=64)]


class RecoveryCodesRead(ReadStruct):
    recovery_codes: list[str]


# ---------------------------------------------------------------------------------------------
# Apps


class AppRead(ReadStruct):
    """One labelled app of the catalogue (``GET /v1/apps``)."""

    client_id: str
    name: str
    publisher: str | None
    kind: str
    label_status: str
    scopes: list[str]


class AppGrantRead(ReadStruct):
    """An app connected to a space, each permission also said in plain French."""

    id: UUID
    client_id: str
    client_name: str
    scopes: list[str]
    permissions: list[str]
    granted_by: UUID
    created_at: datetime
    last_used_at: datetime | None
