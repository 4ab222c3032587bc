"""FranceConnect+ encryption: our decryption key, its public JWKS at /oauth/rp-jwks, nested JWE → JWS.

The provider side is played with joserfc exactly as FranceConnect+ does it: sign the JWT with its
own key, then encrypt it (A256GCM) to the public key it read from our JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, KeySet, OctKey
from joserfc.registry import HeaderParameter
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ens.app import create_app
from ens.auth.errors import UpstreamRefused
from ens.auth.fcplus import (
    TokenDecryptionRefused,
    decrypt_nested,
    encryption_key_from_settings,
    load_encryption_key,
    public_jwks,
)
from ens.auth.upstream import Upstream
from ens.core.settings import ConfigurationError, Settings
from tests.helpers import fake_provider
from tests.helpers.asgi import asgi_client, asgi_transport
from tests.helpers.fake_provider import FakeProvider
from tests.helpers.login import BASE, Browser, FakeLogin, Outbox

PRIVATE_PARAMETERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def write_pem(path: Path, private_key: Any, fmt: serialization.PrivateFormat, password: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    path.write_bytes(private_key.private_bytes(serialization.Encoding.PEM, fmt, encryption))
    return str(path)


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_private() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def rsa_pem(tmp_path: Path, rsa_private: rsa.RSAPrivateKey) -> str:
    return write_pem(tmp_path / "rp-rsa.pem", rsa_private, serialization.PrivateFormat.TraditionalOpenSSL)


@pytest.fixture
def ec_pem(tmp_path: Path, ec_private: ec.EllipticCurvePrivateKey) -> str:
    return write_pem(tmp_path / "rp-ec.pem", ec_private, serialization.PrivateFormat.PKCS8)


@pytest.fixture(scope="module")
def provider_signing_key() -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
    key.ensure_kid()
    return key


def id_token_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "https://fcp.example",
        "sub": "f7c3e0b1",
        "aud": "ens",
        "iat": now,
        "exp": now + 60,
        "nonce": "n" * 32,
        "acr": "eidas2",
    }


def signed_jwt(signing_key: ECKey, claims: dict[str, Any] | None = None) -> str:
    return jwt.encode({"alg": "ES256", "kid": signing_key.kid}, claims or id_token_claims(), signing_key)


def provider_encrypts(
    inner: str,
    recipient_jwks: dict[str, Any],
    alg: str,
    enc: str = "A256GCM",
    extra_header: dict[str, Any] | None = None,
) -> str:
    """What FranceConnect+ sends: ``inner`` encrypted to the key it found in our published JWKS.

    ``extra_header``: parameters of the provider's own added to the protected header (it knows them,
    so it may list them in ``crit``).
    """
    public = KeySet.import_key_set(recipient_jwks).keys[0]  # type: ignore[arg-type]
    extra = extra_header or {}
    header = {"alg": alg, "enc": enc, "kid": public.kid, "cty": "JWT", **extra}
    own = {name: HeaderParameter("the provider's extension", _any_value) for name in extra if name != "crit"}
    registry = jwe.JWERegistry(header_registry=own, algorithms=[alg, enc])
    return jwe.encrypt_compact(header, inner, public, registry=registry)


def _any_value(value: object) -> None:
    return None


KEY_ALGORITHMS = [
    ("rsa_pem", "RSA-OAEP"),
    ("rsa_pem", "RSA-OAEP-256"),
    ("ec_pem", "ECDH-ES"),
    ("ec_pem", "ECDH-ES+A256KW"),
]


@pytest.mark.parametrize(("pem_fixture", "alg"), KEY_ALGORITHMS)
def test_nested_token_is_decrypted_and_the_inner_signature_verifies(
    request: pytest.FixtureRequest, pem_fixture: str, alg: str, provider_signing_key: ECKey
) -> None:
    key = load_encryption_key(request.getfixturevalue(pem_fixture))
    claims = id_token_claims()
    inner = signed_jwt(provider_signing_key, claims)
    encrypted = provider_encrypts(inner, public_jwks(key), alg)
    assert encrypted.count(".") == 4

    decrypted = decrypt_nested(encrypted, key)

    assert decrypted == inner
    provider_public = ECKey.import_key(provider_signing_key.as_dict(private=False))
    verified = jwt.decode(decrypted, provider_public, algorithms=["ES256"])
    assert verified.claims == claims
    assert verified.header["alg"] == "ES256"


def test_token_encrypted_to_another_key_is_refused(rsa_pem: str, provider_signing_key: ECKey, tmp_path: Path) -> None:
    ours = load_encryption_key(rsa_pem)
    other_pem = write_pem(
        tmp_path / "other.pem",
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        serialization.PrivateFormat.PKCS8,
    )
    other = load_encryption_key(other_pem)
    encrypted = provider_encrypts(signed_jwt(provider_signing_key), public_jwks(other), "RSA-OAEP")

    with pytest.raises(TokenDecryptionRefused, match="cannot be decrypted with the configured key"):
        decrypt_nested(encrypted, ours)


def test_tampered_ciphertext_is_refused(ec_pem: str, provider_signing_key: ECKey) -> None:
    key = load_encryption_key(ec_pem)
    header, encrypted_key, iv, ciphertext, tag = provider_encrypts(
        signed_jwt(provider_signing_key), public_jwks(key), "ECDH-ES"
    ).split(".")
    flipped = ("A" if ciphertext[0] != "A" else "B") + ciphertext[1:]

    with pytest.raises(TokenDecryptionRefused, match="cannot be decrypted"):
        decrypt_nested(".".join([header, encrypted_key, iv, flipped, tag]), key)


def test_plain_jws_is_refused_when_encryption_is_required(rsa_pem: str, provider_signing_key: ECKey) -> None:
    key = load_encryption_key(rsa_pem)
    plain = signed_jwt(provider_signing_key)

    with pytest.raises(TokenDecryptionRefused, match="unencrypted token"):
        decrypt_nested(plain, key)  # a configured key means FranceConnect+ mode: encryption required
    with pytest.raises(TokenDecryptionRefused, match="unencrypted token"):
        decrypt_nested(plain, None, required=True)


def test_plain_jws_passes_unchanged_when_encryption_is_not_required(rsa_pem: str, provider_signing_key: ECKey) -> None:
    plain = signed_jwt(provider_signing_key)

    assert decrypt_nested(plain, None) == plain
    assert decrypt_nested(plain + "\n", load_encryption_key(rsa_pem), required=False) == plain


def test_encrypted_token_without_a_configured_key_is_refused(rsa_pem: str, provider_signing_key: ECKey) -> None:
    encrypted = provider_encrypts(
        signed_jwt(provider_signing_key), public_jwks(load_encryption_key(rsa_pem)), "RSA-OAEP"
    )

    with pytest.raises(TokenDecryptionRefused, match="no decryption key is configured"):
        decrypt_nested(encrypted, None)


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
@pytest.mark.parametrize(
    ("alg", "enc", "message"),
    [
        ("RSA1_5", "A256GCM", "encryption algorithm RSA1_5 is not accepted"),
        ("RSA-OAEP", "A128GCM", "content encryption A128GCM is not accepted"),
        ("RSA-OAEP", "A256CBC-HS512", "content encryption A256CBC-HS512 is not accepted"),
    ],
)
def test_unexpected_algorithms_are_refused(
    rsa_pem: str, provider_signing_key: ECKey, alg: str, enc: str, message: str
) -> None:
    key = load_encryption_key(rsa_pem)
    encrypted = provider_encrypts(signed_jwt(provider_signing_key), public_jwks(key), alg, enc)

    with pytest.raises(TokenDecryptionRefused, match=message):
        decrypt_nested(encrypted, key)


def test_algorithm_of_the_other_key_type_is_refused(rsa_pem: str, ec_pem: str, provider_signing_key: ECKey) -> None:
    ec_encrypted = provider_encrypts(
        signed_jwt(provider_signing_key), public_jwks(load_encryption_key(ec_pem)), "ECDH-ES"
    )

    with pytest.raises(TokenDecryptionRefused, match="ECDH-ES is not accepted"):
        decrypt_nested(ec_encrypted, load_encryption_key(rsa_pem))


def test_symmetric_dir_encryption_is_refused(rsa_pem: str, provider_signing_key: ECKey) -> None:
    secret = OctKey.generate_key(256)
    encrypted = jwe.encrypt_compact(
        {"alg": "dir", "enc": "A256GCM"}, signed_jwt(provider_signing_key), secret, algorithms=["dir", "A256GCM"]
    )

    with pytest.raises(TokenDecryptionRefused, match="algorithm dir is not accepted"):
        decrypt_nested(encrypted, load_encryption_key(rsa_pem))


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
def test_encrypted_payload_must_be_a_signed_jwt(ec_pem: str) -> None:
    key = load_encryption_key(ec_pem)
    jwks = public_jwks(key)
    bare_json = provider_encrypts(json.dumps(id_token_claims()), jwks, "ECDH-ES")
    unsigned = jwt.encode({"alg": "none"}, id_token_claims(), None, algorithms=["none"])  # type: ignore[arg-type]
    unsigned_inside = provider_encrypts(unsigned, jwks, "ECDH-ES")

    with pytest.raises(TokenDecryptionRefused, match="not a compact JWS"):
        decrypt_nested(bare_json, key)
    with pytest.raises(TokenDecryptionRefused, match="not signed"):
        decrypt_nested(unsigned_inside, key)


@pytest.mark.parametrize("raw", ["", "abc", "a.b", "a.b.c.d", "a.b.c.d.e.f"])
def test_malformed_tokens_are_refused(rsa_pem: str, raw: str) -> None:
    with pytest.raises(TokenDecryptionRefused):
        decrypt_nested(raw, load_encryption_key(rsa_pem))


# RFC 7516 §4: a recipient ignores header parameters it does not understand, unless ``crit`` lists them.
EXTENSIONS = {"x-fcp-trace": "7f3e", "x-fcp-version": 2, "x-fcp-meta": {"region": "eu"}}
MALFORMED_CRIT: list[Any] = [[], ["enc"], ["x-fcp-trace", "x-fcp-trace"]]


@pytest.mark.parametrize(("pem_fixture", "alg"), KEY_ALGORITHMS)
def test_unknown_header_parameters_that_are_not_critical_are_ignored(
    request: pytest.FixtureRequest, pem_fixture: str, alg: str, provider_signing_key: ECKey
) -> None:
    key = load_encryption_key(request.getfixturevalue(pem_fixture))
    inner = signed_jwt(provider_signing_key)
    encrypted = provider_encrypts(inner, public_jwks(key), alg, extra_header=EXTENSIONS)

    assert decrypt_nested(encrypted, key) == inner


def test_an_unknown_critical_header_parameter_is_refused(ec_pem: str, provider_signing_key: ECKey) -> None:
    key = load_encryption_key(ec_pem)
    encrypted = provider_encrypts(
        signed_jwt(provider_signing_key),
        public_jwks(key),
        "ECDH-ES",
        extra_header={**EXTENSIONS, "crit": ["x-fcp-trace"]},
    )

    with pytest.raises(TokenDecryptionRefused, match="critical header parameter this service does not understand"):
        decrypt_nested(encrypted, key)


@pytest.mark.parametrize("crit", MALFORMED_CRIT, ids=["empty", "a-standard-name", "repeated"])
def test_a_malformed_crit_is_refused(ec_pem: str, provider_signing_key: ECKey, crit: Any) -> None:
    key = load_encryption_key(ec_pem)
    encrypted = provider_encrypts(
        signed_jwt(provider_signing_key), public_jwks(key), "ECDH-ES", extra_header={**EXTENSIONS, "crit": crit}
    )

    with pytest.raises(TokenDecryptionRefused, match="malformed crit"):
        decrypt_nested(encrypted, key)


def _rfc7638_thumbprint(required_members: dict[str, str]) -> str:
    canonical = json.dumps(required_members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def test_jwks_is_public_only_with_use_alg_and_thumbprint_kid(rsa_pem: str, ec_pem: str) -> None:
    for pem, alg, required in [(rsa_pem, "RSA-OAEP", ("e", "kty", "n")), (ec_pem, "ECDH-ES", ("crv", "kty", "x", "y"))]:
        (jwk,) = public_jwks(load_encryption_key(pem))["keys"]
        assert not PRIVATE_PARAMETERS & set(jwk), jwk.keys()
        assert jwk["use"] == "enc"
        assert jwk["alg"] == alg
        assert jwk["kid"] == _rfc7638_thumbprint({name: jwk[name] for name in required})


def test_kid_is_stable_across_pem_formats(tmp_path: Path, rsa_private: rsa.RSAPrivateKey) -> None:
    pkcs1 = write_pem(tmp_path / "a.pem", rsa_private, serialization.PrivateFormat.TraditionalOpenSSL)
    pkcs8 = write_pem(tmp_path / "b.pem", rsa_private, serialization.PrivateFormat.PKCS8)

    assert load_encryption_key(pkcs1).kid == load_encryption_key(pkcs8).kid


def test_key_is_loaded_once_per_path(rsa_pem: str) -> None:
    settings = Settings(env="dev", oidc_encryption_key=rsa_pem)

    assert encryption_key_from_settings(settings) is encryption_key_from_settings(settings)
    assert encryption_key_from_settings(Settings(env="dev")) is None


def test_unusable_key_files_are_refused_clearly(tmp_path: Path) -> None:
    cases: list[tuple[str, str]] = []
    cases.append((str(tmp_path / "missing.pem"), "cannot read"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    cases.append((str(garbage), "not a PEM private key"))
    public_only = tmp_path / "public.pem"
    public_only.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    cases.append((str(public_only), "not a PEM private key"))
    cases.append(
        (
            write_pem(
                tmp_path / "locked.pem",
                ec.generate_private_key(ec.SECP256R1()),
                serialization.PrivateFormat.PKCS8,
                password=b"secret",
            ),
            "protected by a password",
        )
    )
    cases.append(
        (
            write_pem(
                tmp_path / "p384.pem", ec.generate_private_key(ec.SECP384R1()), serialization.PrivateFormat.PKCS8
            ),
            "only P-256",
        )
    )
    cases.append(
        (
            write_pem(
                tmp_path / "rsa1024.pem",
                rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505 (the weak key under test)
                serialization.PrivateFormat.PKCS8,
            ),
            "at least 2048",
        )
    )
    cases.append(
        (
            write_pem(
                tmp_path / "ed25519.pem", ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8
            ),
            "unsupported key type",
        )
    )
    for path, message in cases:
        with pytest.raises(ConfigurationError, match=message) as caught:
            load_encryption_key(path)
        assert "ENS_OIDC_ENCRYPTION_KEY" in str(caught.value)


# --- /oauth/rp-jwks through the real app ---------------------------------------------------------


def app_with_key(settings: Settings, key_path: str) -> Litestar:
    return create_app(
        Settings.from_env(
            env="dev",
            database_url=settings.database_url,
            public_url=settings.public_url,
            oidc_encryption_key=key_path,
        )
    )


@pytest.mark.parametrize("pem_fixture", ["rsa_pem", "ec_pem"])
async def test_rp_jwks_endpoint_serves_the_public_key_a_provider_can_encrypt_to(
    request: pytest.FixtureRequest, settings: Settings, migrated: None, pem_fixture: str, provider_signing_key: ECKey
) -> None:
    key_path = request.getfixturevalue(pem_fixture)
    # No `async with`: the endpoint needs no database, and the suite's app owns the engine's lifespan.
    client = AsyncTestClient(app=app_with_key(settings, key_path), base_url=settings.public_url)
    response = await client.get("/oauth/rp-jwks")  # public: no Authorization header

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "max-age" in response.headers["cache-control"]
    document = response.json()
    (jwk,) = document["keys"]
    assert not PRIVATE_PARAMETERS & set(jwk), sorted(jwk)
    assert jwk["use"] == "enc"
    assert jwk["kid"] == load_encryption_key(key_path).thumbprint()

    # A provider encrypts to what it fetched; the server's configured key opens it.
    alg = jwk["alg"]
    inner = signed_jwt(provider_signing_key)
    server_key = encryption_key_from_settings(Settings(env="dev", oidc_encryption_key=key_path))
    assert decrypt_nested(provider_encrypts(inner, document, alg), server_key) == inner


async def test_rp_jwks_is_not_found_without_a_configured_key(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/oauth/rp-jwks")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:ens:problem:not-found"


def test_app_refuses_to_start_with_an_unreadable_key(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ENS_OIDC_ENCRYPTION_KEY: cannot read"):
        app_with_key(settings, str(tmp_path / "nowhere.pem"))


# --- Through the relying party: a FranceConnect+-like provider that encrypts what it sends ----------


class EncryptingProvider(httpx.AsyncBaseTransport):
    """The test-only provider (tests/auth/fake_provider.py), plus FranceConnect+'s encryption step:
    the ID token in the token response and the userinfo JWT are encrypted to ``recipient_jwks``
    (with ``extra_header`` added to the JWE's protected header)."""

    def __init__(
        self,
        provider: FakeProvider,
        recipient_jwks: dict[str, Any] | None,
        alg: str,
        extra_header: dict[str, Any] | None = None,
    ) -> None:
        self.inner = asgi_transport(provider.app())
        self.recipient_jwks = recipient_jwks
        self.alg = alg
        self.extra_header = extra_header

    def _encrypt(self, token: str) -> str:
        if self.recipient_jwks is None:
            return token
        return provider_encrypts(token, self.recipient_jwks, self.alg, extra_header=self.extra_header)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if request.url.path == "/token" and response.status_code == 200:
            body = json.loads(response.content)
            body["id_token"] = self._encrypt(body["id_token"])
            return httpx.Response(200, json=body)
        if request.url.path == "/userinfo" and response.headers.get("content-type", "").startswith("application/jwt"):
            return httpx.Response(
                200, content=self._encrypt(response.text).encode(), headers={"content-type": "application/jwt"}
            )
        return response


def fcplus_upstream(key_path: str, transport: httpx.AsyncBaseTransport) -> Upstream:
    settings = Settings(
        env="dev",
        oidc_issuer=fake_provider.ISSUER,
        oidc_client_id=fake_provider.CLIENT_ID,
        oidc_client_secret=fake_provider.CLIENT_SECRET,
        oidc_acr="eidas2",
        oidc_encryption_key=key_path,
    )
    return Upstream(settings, transport=transport)


def upstream_code(provider: FakeProvider, **choices: Any) -> tuple[str, str, str]:
    nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    code = provider.issue_code(nonce, create_s256_code_challenge(verifier), acr="eidas2", **choices)
    return code, verifier, nonce


@pytest.mark.parametrize(
    ("pem_fixture", "alg", "signing"), [("rsa_pem", "RSA-OAEP-256", "RS256"), ("ec_pem", "ECDH-ES", "ES256")]
)
async def test_relying_party_decrypts_then_verifies_fcplus_id_token_and_userinfo(
    request: pytest.FixtureRequest, pem_fixture: str, alg: str, signing: str
) -> None:
    key_path = request.getfixturevalue(pem_fixture)
    provider = FakeProvider()
    jwks = public_jwks(load_encryption_key(key_path))
    upstream = fcplus_upstream(key_path, EncryptingProvider(provider, jwks, alg))
    code, verifier, nonce = upstream_code(provider, alg=signing)

    login = await upstream.finish_login(code, verifier, nonce=nonce)

    assert login.id_token.count(".") == 4  # kept as received (the JWE), e.g. for id_token_hint
    assert login.claims["acr"] == "eidas2" and login.claims["nonce"] == nonce
    assert login.userinfo["given_name"] == "Inès" and login.userinfo["sub"] == login.claims["sub"]


async def test_relying_party_refuses_an_unencrypted_id_token_in_fcplus_mode(rsa_pem: str) -> None:
    provider = FakeProvider()
    upstream = fcplus_upstream(rsa_pem, EncryptingProvider(provider, None, "RSA-OAEP"))
    code, verifier, nonce = upstream_code(provider)

    with pytest.raises(UpstreamRefused, match="unencrypted token"):
        await upstream.finish_login(code, verifier, nonce=nonce)


async def test_relying_party_refuses_a_token_encrypted_to_another_key(rsa_pem: str, tmp_path: Path) -> None:
    provider = FakeProvider()
    another = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    strangers_jwks = public_jwks(
        load_encryption_key(write_pem(tmp_path / "another.pem", another, serialization.PrivateFormat.PKCS8))
    )
    upstream = fcplus_upstream(rsa_pem, EncryptingProvider(provider, strangers_jwks, "RSA-OAEP"))
    code, verifier, nonce = upstream_code(provider)

    with pytest.raises(UpstreamRefused, match="cannot be decrypted with the configured key"):
        await upstream.finish_login(code, verifier, nonce=nonce)


async def test_relying_party_still_checks_the_signature_inside_the_encryption(rsa_pem: str) -> None:
    provider = FakeProvider()
    jwks = public_jwks(load_encryption_key(rsa_pem))
    upstream = fcplus_upstream(rsa_pem, EncryptingProvider(provider, jwks, "RSA-OAEP"))
    code, verifier, nonce = upstream_code(provider, sign_with_stranger=True)

    with pytest.raises(UpstreamRefused, match="signature does not verify"):
        await upstream.finish_login(code, verifier, nonce=nonce)


# --- The whole login, against a FranceConnect+-like provider that adds its own header parameters ------


@asynccontextmanager
async def fcplus_login(
    fake_settings: Settings, key_path: str, mails: Outbox, extra_header: dict[str, Any]
) -> AsyncIterator[FakeLogin]:
    """A browser at an ENS in FranceConnect+ mode (eidas2, ``key_path``) whose provider encrypts to it."""
    provider = FakeProvider()
    transport = EncryptingProvider(
        provider, public_jwks(load_encryption_key(key_path)), "ECDH-ES", extra_header=extra_header
    )
    settings = msgspec.structs.replace(fake_settings, oidc_acr="eidas2", oidc_encryption_key=key_path)
    async with asgi_client(create_app(settings, upstream_transport=transport), BASE) as client:
        client.follow_redirects = False
        yield FakeLogin(Browser(client, mails), provider)


async def test_login_goes_through_when_the_provider_adds_header_parameters_that_are_not_critical(
    fake_settings: Settings, ec_pem: str, outbox: tuple[Outbox, int]
) -> None:
    async with fcplus_login(fake_settings, ec_pem, outbox[0], EXTENSIONS) as login:
        await login.start()
        back = await login.come_back(login.code(acr="eidas2"))
        assert back.status_code == 303 and back.headers["location"] == "/login/otp", back.text
        enrol = await login.browser.open("/login/otp")
        assert enrol.status_code == 200 and "otpauth://" in enrol.text


@pytest.mark.parametrize(
    ("crit", "reason"),
    [(["x-fcp-trace"], "does not understand"), *[(crit, "malformed crit") for crit in MALFORMED_CRIT]],
    ids=["unknown", "empty", "a-standard-name", "repeated"],
)
async def test_login_is_refused_when_the_provider_marks_header_parameters_critical_wrongly(
    fake_settings: Settings,
    ec_pem: str,
    outbox: tuple[Outbox, int],
    caplog: pytest.LogCaptureFixture,
    crit: Any,
    reason: str,
) -> None:
    async with fcplus_login(fake_settings, ec_pem, outbox[0], {**EXTENSIONS, "crit": crit}) as login:
        await login.start()
        # The "ens" loggers do not propagate to the root, where caplog listens: listen on the login's.
        login_log = logging.getLogger("ens.auth.login")
        login_log.addHandler(caplog.handler)
        try:
            refused = await login.come_back(login.code(acr="eidas2"))
        finally:
            login_log.removeHandler(caplog.handler)
        assert refused.status_code == 400 and "location" not in refused.headers
        assert refused.headers["content-type"].startswith("text/html")
        assert "pas pu être vérifiée" in refused.text
        assert any(reason in record.getMessage() for record in caplog.records), caplog.text
