"""FranceConnect+ encryption: the relying party's decryption key, its public JWKS, nested JWE → JWS.

FranceConnect+ (``acr_values=eidas2``) encrypts the ID token and the userinfo response to a key the
relying party publishes (``{ENS_PUBLIC_URL}/oauth/rp-jwks``, registered with the provider as the
client's ``jwks_uri``). What arrives is a compact JWE (``alg`` RSA-OAEP / RSA-OAEP-256 for an RSA
key, ECDH-ES / ECDH-ES+A256KW for an EC P-256 key; ``enc`` A256GCM) whose plaintext is the signed
JWT (a compact JWS), which is then verified exactly like an unencrypted one.

Configuration: ``ENS_OIDC_ENCRYPTION_KEY`` = path to an unencrypted PEM private key (RSA ≥ 2048 bits,
or EC P-256). When it is set, every token from the provider must be encrypted (FranceConnect+ mode);
when it is not, encrypted tokens are refused and plain JWS pass through.

Integration point for the upstream relying party (``ens/auth/upstream/relying_party.py``), right
before the signature check of the ID token and of a ``application/jwt`` userinfo::

    from ens.auth.fcplus import TokenDecryptionRefused, decrypt_nested, encryption_key_from_settings

    key = encryption_key_from_settings(settings)  # None when not configured; loaded once, then cached
    try:
        raw = decrypt_nested(raw, key)              # JWE → inner compact JWS; a plain JWS when allowed
    except TokenDecryptionRefused as exc:
        raise UpstreamRefused(exc.detail) from exc

``decrypt_nested(raw, key, *, required=None) -> str``: ``required`` defaults to "a key is
configured"; pass ``required=False`` to accept plain JWS even with a key (a migration period).

No HTTP here: ``ens.auth.fcplus_routes`` serves the JWKS. Error messages never contain token content.
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from ens.core.errors import DomainError
from ens.core.settings import ConfigurationError, Settings

EncryptionKey = RSAKey | ECKey

# Key-management algorithms accepted per key type; the first is the one announced in the JWKS.
RSA_ALGORITHMS = ("RSA-OAEP", "RSA-OAEP-256")
EC_ALGORITHMS = ("ECDH-ES", "ECDH-ES+A256KW")
CONTENT_ENCRYPTION = "A256GCM"
MIN_RSA_BITS = 2048
# The JWE header parameters the standards define (RFC 7516 §4.1; RFC 7518 §4.6.1, §4.7.1, §4.8.1).
# Any other name is an extension: ignored unless listed in "crit", and none is understood here.
STANDARD_HEADER_PARAMETERS = frozenset(
    {"alg", "enc", "zip", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit"}
    | {"epk", "apu", "apv", "iv", "tag", "p2s", "p2c"}
)


class TokenDecryptionRefused(DomainError):
    """A token from the provider is not acceptably encrypted; ``detail`` says why (no token content)."""


def load_encryption_key(path: str) -> EncryptionKey:
    """Read the relying party's private key (PEM, RSA ≥ 2048 bits or EC P-256) for decryption.

    Raises :class:`ConfigurationError` (the service refuses to start) when the file cannot be read,
    is not an unencrypted PEM private key, or holds a key of an unsupported type or size.
    """
    try:
        with open(path, "rb") as file:
            pem = file.read()
    except OSError as exc:
        raise ConfigurationError(f"ENS_OIDC_ENCRYPTION_KEY: cannot read {path} ({exc.strerror or exc}).") from exc
    try:
        private_key = load_pem_private_key(pem, password=None)
    except TypeError as exc:
        raise ConfigurationError(
            f"ENS_OIDC_ENCRYPTION_KEY: {path} is protected by a password; give an unencrypted PEM key."
        ) from exc
    except (ValueError, binascii.Error) as exc:
        raise ConfigurationError(f"ENS_OIDC_ENCRYPTION_KEY: {path} is not a PEM private key.") from exc
    key: EncryptionKey
    if isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < MIN_RSA_BITS:
            raise ConfigurationError(
                f"ENS_OIDC_ENCRYPTION_KEY: RSA key of {private_key.key_size} bits; at least {MIN_RSA_BITS} needed."
            )
        key = RSAKey.import_key(private_key, parameters={"use": "enc", "alg": RSA_ALGORITHMS[0]})
    elif isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ConfigurationError(
                f"ENS_OIDC_ENCRYPTION_KEY: EC key on curve {private_key.curve.name}; "
                "only P-256 (prime256v1) is supported."
            )
        key = ECKey.import_key(private_key, parameters={"use": "enc", "alg": EC_ALGORITHMS[0]})
    else:
        raise ConfigurationError(
            f"ENS_OIDC_ENCRYPTION_KEY: unsupported key type {type(private_key).__name__}; use RSA or EC P-256."
        )
    key.ensure_kid()  # RFC 7638 thumbprint: stable for the same key, whatever file it is read from
    return key


@lru_cache(maxsize=4)
def _load_once(path: str) -> EncryptionKey:
    return load_encryption_key(path)


def encryption_key_from_settings(settings: Settings) -> EncryptionKey | None:
    """The configured decryption key (``ENS_OIDC_ENCRYPTION_KEY``), read once per path; ``None`` if unset."""
    if not settings.oidc_encryption_key:
        return None
    return _load_once(settings.oidc_encryption_key)


def accepted_algorithms(key: EncryptionKey) -> tuple[str, ...]:
    """The JWE ``alg`` values this key may be used with."""
    return RSA_ALGORITHMS if isinstance(key, RSAKey) else EC_ALGORITHMS


def public_jwks(key: EncryptionKey) -> dict[str, list[dict[str, Any]]]:
    """The public half of ``key`` as a JWK Set: ``use=enc``, ``alg``, ``kid`` = RFC 7638 thumbprint."""
    public = key.as_dict(private=False)
    public.update({"use": "enc", "alg": accepted_algorithms(key)[0], "kid": key.thumbprint()})
    return {"keys": [public]}


def decrypt_nested(raw: str, key: EncryptionKey | None, *, required: bool | None = None) -> str:
    """Turn what the provider sent into the compact JWS whose signature the caller must then verify.

    - a compact JWE (5 parts): decrypted with ``key``; ``alg`` must suit the key type (RSA-OAEP,
      RSA-OAEP-256 / ECDH-ES, ECDH-ES+A256KW), ``enc`` must be A256GCM, no compression; header
      parameters of the provider's own are ignored unless listed in ``crit`` (then refused, as is a
      malformed ``crit``); the plaintext must be a compact JWS (a nested JWT), which is returned;
    - a compact JWS (3 parts): returned unchanged unless encryption is ``required`` (by default:
      whenever a key is configured, as FranceConnect+ encrypts every token);
    - anything else is refused.

    Raises :class:`TokenDecryptionRefused`. The signature is *not* checked here.
    """
    token = raw.strip()
    if required is None:
        required = key is not None
    parts = token.split(".")
    if len(parts) == 3:
        if required:
            raise TokenDecryptionRefused("The provider sent an unencrypted token; FranceConnect+ mode requires a JWE.")
        _check_inner_jws(parts)
        return token
    if len(parts) != 5:
        raise TokenDecryptionRefused("The provider's token is neither a compact JWS nor a compact JWE.")
    if key is None:
        raise TokenDecryptionRefused(
            "The provider sent an encrypted token but no decryption key is configured (ENS_OIDC_ENCRYPTION_KEY)."
        )
    header = _protected_header(parts[0])
    alg, enc = header.get("alg"), header.get("enc")
    allowed = accepted_algorithms(key)
    if alg not in allowed:
        raise TokenDecryptionRefused(
            f"The token's encryption algorithm {alg!s} is not accepted ({', '.join(allowed)})."
        )
    if enc != CONTENT_ENCRYPTION:
        raise TokenDecryptionRefused(f"The token's content encryption {enc!s} is not accepted ({CONTENT_ENCRYPTION}).")
    if "zip" in header:
        raise TokenDecryptionRefused("Compressed encrypted tokens are not accepted.")
    _check_critical(header)
    # RFC 7516 §4: header parameters a recipient does not understand are ignored unless critical
    # (joserfc's strict check would refuse any name outside its registry); joserfc still refuses a
    # "crit" naming a parameter it does not know, after the check above.
    registry = jwe.JWERegistry(algorithms=[*allowed, CONTENT_ENCRYPTION], strict_check_header=False)
    try:
        plaintext = jwe.decrypt_compact(token, key, registry=registry).plaintext
    except (JoseError, ValueError, TypeError) as exc:
        kid = header.get("kid")
        hint = " (it names another key)" if kid is not None and kid != key.kid else ""
        raise TokenDecryptionRefused(
            f"The provider's token cannot be decrypted with the configured key{hint} ({type(exc).__name__})."
        ) from exc
    try:
        inner = (plaintext or b"").decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise TokenDecryptionRefused("The decrypted token is not a compact JWS.") from exc
    inner_parts = inner.split(".")
    if len(inner_parts) != 3:
        raise TokenDecryptionRefused("The decrypted token is not a compact JWS (a signed JWT is required inside).")
    _check_inner_jws(inner_parts)
    return inner


def _protected_header(segment: str) -> dict[str, Any]:
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise TokenDecryptionRefused("The token's header cannot be read.") from exc
    if not isinstance(header, dict):
        raise TokenDecryptionRefused("The token's header is not a JSON object.")
    return header


def _check_critical(header: dict[str, Any]) -> None:
    """Refuse a token whose ``crit`` is malformed or names a parameter this service does not understand.

    RFC 7515 §4.1.11 (which RFC 7516 §4.1.13 applies to JWE): ``crit`` is a non-empty list of distinct
    names of extension parameters present in the header, never of parameters the standards define; a
    recipient that does not understand one of them must refuse the token. No extension is understood
    here, so every well-formed ``crit`` is refused too, with its own reason.
    """
    if "crit" not in header:
        return
    crit = header["crit"]
    if (
        not isinstance(crit, list)
        or not crit
        or not all(isinstance(name, str) and name in header for name in crit)
        or len(set(crit)) != len(crit)
        or STANDARD_HEADER_PARAMETERS.intersection(crit)
    ):
        raise TokenDecryptionRefused("The token's header has a malformed crit (RFC 7515 §4.1.11).")
    raise TokenDecryptionRefused(
        "The token's header lists a critical header parameter this service does not understand (RFC 7516 §4.1.13)."
    )


def _check_inner_jws(parts: list[str]) -> None:
    # An unsigned token ("alg": "none") inside a valid JWE would prove nothing about its origin.
    alg = _protected_header(parts[0]).get("alg")
    if not isinstance(alg, str) or alg.lower() == "none" or not parts[2]:
        raise TokenDecryptionRefused("The token is not signed.")
