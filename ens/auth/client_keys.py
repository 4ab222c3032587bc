"""Confidential apps that prove who they are with a signed JWT instead of a shared secret
(RFC 7523 §2.2 and §3, OpenID Connect's ``private_key_jwt``).

The operator registers the app's public keys (a JWK Set, ``ens apps register --jwks-file``); ENS
keeps nothing the app could be impersonated with, where a secret's hash, leaked with a backup, can
still be guessed at, and a secret must travel to every request. At the token and revocation
endpoints the app sends ``client_assertion_type`` (:data:`ASSERTION_TYPE`) and ``client_assertion``,
a JWT it signed (:data:`ALGORITHMS`; never ``none`` nor a shared-key one) whose ``iss`` and ``sub``
are its client id, whose ``aud`` is this server's issuer alone (as draft-ietf-oauth-rfc7523bis asks
after the 2025 audience-injection findings: a token endpoint a malicious server named would do),
which expires within :data:`MAX_LIFETIME`, and whose ``jti`` is used once: each is kept in
``client_assertions`` until it expires, so a captured assertion is no use twice.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from joserfc.jws import extract_compact

from ens.core.db import fetch
from ens.core.errors import FieldError, Invalid

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Asymmetric only: a shared-key algorithm would take the registered public key as its secret.
# Ed25519 is EdDSA's name since RFC 9864; both are taken.
ALGORITHMS = ("ES256", "ES384", "PS256", "RS256", "EdDSA", "Ed25519")
# An assertion's expiry at most this far ahead (its ``jti`` is kept as long), and the clocks' drift allowed.
MAX_LIFETIME = timedelta(minutes=5)
LEEWAY = timedelta(seconds=30)
# An app's key set: enough for a key and its successor during a rotation, and a few more.
MAX_KEYS = 10
MAX_ASSERTION_LENGTH = 8_192
_CURVES = {"EC": ("P-256", "P-384"), "OKP": ("Ed25519",)}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_MIN_RSA_BITS = 2048
# joserfc reads a signature of at most 1,024 base64url characters (6,144 bits): a larger key could
# register and never sign in (a review); 4,096 is what RSA keys come in above 2,048.
_MAX_RSA_BITS = 4096


class AssertionRefused(Exception):
    """Why an assertion does not authenticate its client (said to the client as ``invalid_client``)."""


def public_key_set(text: str) -> str:
    """The JWK Set ``text`` as stored (its JSON, compact), if it holds only public signing keys that
    can verify one of :data:`ALGORITHMS`; else :class:`Invalid` naming each refused key."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Invalid('The key set is not JSON (RFC 7517 §5: {"keys": [...]}).') from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise Invalid('The key set must be a JSON object with a non-empty "keys" list (RFC 7517 §5).')
    if len(keys) > MAX_KEYS:
        raise Invalid(f"The key set holds {len(keys)} keys: at most {MAX_KEYS}.")
    errors = [
        FieldError(f"/keys/{index}", f"key {index}: {refusal}")
        for index, key in enumerate(keys)
        if (refusal := _key_refused(key))
    ]
    kids = [key["kid"] for key in keys if isinstance(key, dict) and isinstance(key.get("kid"), str)]
    if len(kids) != len(set(kids)):
        errors.append(FieldError("/keys", "two keys share a kid"))
    if len(keys) > 1 and len(kids) != len(keys) and not errors:
        errors.append(FieldError("/keys", "with several keys, each needs its kid (the assertion's header names it)"))
    if errors:
        raise Invalid("The key set is refused.", errors)
    return json.dumps({"keys": keys}, separators=(",", ":"), sort_keys=True)


def _key_refused(key: Any) -> str | None:
    if not isinstance(key, dict):
        return "not a JSON object"
    private = [member for member in _PRIVATE_MEMBERS if member in key]
    if private:
        return f"holds private or shared-key members ({', '.join(private)}): give the public key only"
    kty = key.get("kty")
    if kty not in ("RSA", "EC", "OKP"):
        return f"kty {kty!r}: only RSA, EC (P-256, P-384) and OKP (Ed25519) public keys"
    if kty in _CURVES and key.get("crv") not in _CURVES[kty]:
        return f"crv {key.get('crv')!r}: {kty} keys on {', '.join(_CURVES[kty])} only"
    if key.get("use", "sig") != "sig":
        return f"use {key.get('use')!r}: a signing key (use sig) only"
    if key.get("kid") is not None and not isinstance(key.get("kid"), str):
        return "kid must be a string"
    try:
        imported = KeySet.import_key_set({"keys": [key]}).keys[0]
    except (JoseError, ValueError, TypeError) as exc:
        return f"not a valid {kty} key ({exc})"
    bits = getattr(imported.raw_value, "key_size", 0)
    if kty == "RSA" and not _MIN_RSA_BITS <= bits <= _MAX_RSA_BITS:
        return f"an RSA key of {bits} bits: {_MIN_RSA_BITS} to {_MAX_RSA_BITS}"
    return None


def claimed_client(assertion: str) -> str | None:
    """The client an assertion says it comes from (its ``sub``), read before anything is verified:
    only to find the keys that will verify it (RFC 7523 §3: ``client_id`` may be left out)."""
    if len(assertion) > MAX_ASSERTION_LENGTH:
        return None
    try:
        sub = json.loads(extract_compact(assertion.encode()).payload).get("sub")
    except (JoseError, ValueError, TypeError, AttributeError, RecursionError):
        return None
    return sub if isinstance(sub, str) else None


async def verify_assertion(assertion: str, *, client_id: str, jwks: str, issuer: str, now: datetime) -> None:
    """Whether ``assertion`` authenticates ``client_id`` (whose registered key set is ``jwks``) at
    this server, ``issuer`` its name; its ``jti`` is then spent. :class:`AssertionRefused` says why not."""
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise AssertionRefused("client_assertion is too long.")
    try:
        token = jwt.decode(assertion, _verifying_keys(jwks), algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, TypeError, RecursionError) as exc:
        raise AssertionRefused("client_assertion's signature does not verify with the app's registered keys.") from exc
    claims = token.claims
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRefused("client_assertion's iss and sub must both be the client_id (RFC 7523 §3).")
    if claims.get("aud") != issuer:
        raise AssertionRefused(
            f"client_assertion's aud must be this server's issuer, {issuer}, as one string "
            "(draft-ietf-oauth-rfc7523bis)."
        )
    expires = _instant(claims.get("exp"))
    if expires is None:
        raise AssertionRefused("client_assertion needs its exp (RFC 7523 §3).")
    if expires <= now - LEEWAY:
        raise AssertionRefused("client_assertion has expired.")
    if expires > now + MAX_LIFETIME + LEEWAY:
        raise AssertionRefused(
            f"client_assertion lives too long: exp at most {int(MAX_LIFETIME.total_seconds())} s ahead."
        )
    for claim in ("nbf", "iat"):
        if claim in claims and ((at := _instant(claims[claim])) is None or at > now + LEEWAY):
            raise AssertionRefused(f"client_assertion's {claim} is in the future, or not a time.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        raise AssertionRefused("client_assertion needs a jti of 1 to 255 characters, new each time (RFC 7523 §3).")
    key = hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
    spent = await fetch(
        "INSERT INTO client_assertions (key_hash, expires_at) VALUES ({}, {}) "
        "ON CONFLICT (key_hash) DO NOTHING RETURNING key_hash",
        key,
        expires + LEEWAY,
    )
    if not spent:
        raise AssertionRefused("This client_assertion was used already: make a new one, with a new jti, each time.")


@lru_cache(maxsize=1024)
def _verifying_keys(jwks: str) -> KeySet | Key:
    """The registered key set, read once per distinct set (each token request of a signing app
    verified with it parsed the JSON and imported its keys again). One key registered without a kid
    (joserfc then gives it its thumbprint) verifies whatever kid the header names (a hint, RFC 7515
    §4.1.4): that key alone; with kids, the set, whose header's kid chooses."""
    registered = json.loads(jwks)
    keys = KeySet.import_key_set(registered)
    return keys.keys[0] if len(keys.keys) == 1 and "kid" not in registered["keys"][0] else keys


def _instant(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
