"""A confidential app registered with its public keys authenticates with a JWT it signed
(``private_key_jwt``, RFC 7523 §2.2), never with a secret ENS would have to keep: an outside audit
of the login listed shared secrets as the only way a confidential app could prove who it is.

Each assertion is checked as RFC 7523 §3 says: signed by one of the app's registered keys with an
asymmetric algorithm, ``iss`` and ``sub`` the app, ``aud`` this server only, an ``exp`` within five
minutes, and a ``jti`` taken once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from ens.auth import client_admin, client_keys
from ens.auth.clients import register_app
from ens.auth.maintenance import purge_expired_login_state
from ens.core import clock, db
from ens.core.errors import Invalid
from ens.core.settings import Settings
from tests.helpers.login import at_the_consent_page, signed_in_browser
from tests.helpers.server import run_ens

REDIRECT = "https://scale.example/ens/callback"
SCOPE = "vitals.body_weight:write"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# ens apps register, but for its key set.
REGISTER = ("apps", "register", "--name", "Balance", "--redirect-uri", REDIRECT, "--scope", SCOPE)


def _key_set(*keys: Any) -> str:
    return json.dumps({"keys": [key.as_dict(private=False) for key in keys]})


async def _signing_app(settings: Settings, *keys: Any) -> str:
    app = await register_app(
        settings.secret_key,
        name="Balance signée",
        redirect_uris=[REDIRECT],
        scopes=[SCOPE],
        jwks=_key_set(*keys),
    )
    assert app.client_secret is None  # no secret: its keys prove it
    return app.client_id


def _claims(client_id: str, settings: Settings, **claims: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": settings.public_url,
        "exp": now + 60,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    body.update(claims)
    return {k: v for k, v in body.items() if v is not None}


def _assertion(
    key: Any,
    client_id: str,
    settings: Settings,
    *,
    alg: str = "ES256",
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    head = {"alg": alg, **({"kid": key.kid} if getattr(key, "kid", None) else {}), **(header or {})}
    return jwt.encode(head, _claims(client_id, settings, **claims), key, algorithms=[alg])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _refresh_with(client: httpx.AsyncClient, assertion: str, *, client_id: str | None = None) -> httpx.Response:
    """A token request whose refresh token is unknown: authenticated, it is 400 invalid_grant."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "unknown",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **({"client_id": client_id} if client_id else {}),
    }
    return await client.post("/oauth/token", data=form)


def _refused(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client", response.text
    return str(response.json()["error_description"])


async def test_an_app_connects_a_person_and_refreshes_with_signed_assertions(
    fake_login: Any, fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    sub = f"signing-{uuid.uuid4().hex[:8]}"
    person, _ = await signed_in_browser(fake_login, sub)
    login = await at_the_consent_page(
        fake_login, known=person, sub=sub, client_id=client_id, redirect_uri=REDIRECT, scope=SCOPE
    )
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    params = dict(httpx.URL(approved.headers["location"]).params)
    exchange = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": login.browser.verifier,
    }
    # Without its assertion (no secret to send): refused, and the code is still good.
    assert _refused(await fake_client.post("/oauth/token", data={**exchange, "client_id": client_id}))

    async def signed(endpoint: str, **form: str) -> httpx.Response:
        assertion = _assertion(key, client_id, fake_settings)
        return await fake_client.post(
            endpoint, data={**form, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        )

    tokens = await signed("/oauth/token", **exchange)
    assert tokens.status_code == 200, tokens.text
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
    refreshed = await signed("/oauth/token", **refresh, client_id=client_id)
    assert refreshed.status_code == 200, refreshed.text
    revoked = await signed("/oauth/revoke", token=refreshed.json()["refresh_token"])
    assert revoked.status_code == 200, revoked.text
    again = await signed("/oauth/token", grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text


async def test_each_algorithm_offered_verifies(fake_client: httpx.AsyncClient, fake_settings: Settings) -> None:
    keys = {
        "ES256": ECKey.generate_key("P-256", auto_kid=True),
        "ES384": ECKey.generate_key("P-384", auto_kid=True),
        "RS256": RSAKey.generate_key(2048, auto_kid=True),
        "PS256": RSAKey.generate_key(2048, auto_kid=True),
        "EdDSA": OKPKey.generate_key("Ed25519", auto_kid=True),
        "Ed25519": OKPKey.generate_key("Ed25519", auto_kid=True),
    }
    assert set(keys) == set(client_keys.ALGORITHMS)
    client_id = await _signing_app(fake_settings, *keys.values())
    for alg, key in keys.items():
        response = await _refresh_with(fake_client, _assertion(key, client_id, fake_settings, alg=alg))
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", (alg, response.text)


async def test_an_assertion_is_taken_once(fake_client: httpx.AsyncClient, fake_settings: Settings) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    assertion = _assertion(key, client_id, fake_settings)
    assert (await _refresh_with(fake_client, assertion)).status_code == 400
    assert "used already" in _refused(await _refresh_with(fake_client, assertion))
    # Once expired, ens purge forgets it; by then the assertion itself is refused as expired.
    removed = await purge_expired_login_state(fake_settings, clock.now() + client_keys.MAX_LIFETIME * 2)
    assert removed["client assertions"] >= 1


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"iss": "another-app"}, "iss and sub"),
        ({"sub": "another-app"}, "sub is not the client_id"),
        ({"aud": "https://elsewhere.example/oauth/token"}, "aud"),
        ({"aud": ["https://elsewhere.example", "{issuer}"]}, "aud"),
        # The issuer alone, one string (draft-ietf-oauth-rfc7523bis, after the 2025 audience injection).
        ({"aud": "{issuer}/oauth/token"}, "aud"),
        ({"aud": ["{issuer}"]}, "aud"),
        ({"aud": None}, "aud"),
        ({"exp": None}, "exp"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": int(time.time()) + 3600}, "too long"),
        ({"nbf": int(time.time()) + 600}, "nbf"),
        ({"jti": None}, "jti"),
        ({"jti": ""}, "jti"),
    ],
)
async def test_an_assertion_rfc_7523_refuses_authenticates_nothing(
    fake_client: httpx.AsyncClient, fake_settings: Settings, claims: dict[str, Any], says: str
) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    if isinstance(claims.get("aud"), str):
        claims = {"aud": claims["aud"].replace("{issuer}", fake_settings.public_url)}
    elif isinstance(claims.get("aud"), list):
        claims = {"aud": [name.replace("{issuer}", fake_settings.public_url) for name in claims["aud"]]}
    response = await _refresh_with(
        fake_client, _assertion(key, client_id, fake_settings, **claims), client_id=client_id
    )
    assert says in _refused(response)


async def test_a_forged_assertion_is_refused(fake_client: httpx.AsyncClient, fake_settings: Settings) -> None:
    """Signed by another key, by the public key as an HMAC secret, or not at all."""
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    other_with_kid = ECKey.generate_key("P-256", parameters={"kid": str(key.kid)})
    public_as_secret = OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())
    forged = [
        _assertion(other_with_kid, client_id, fake_settings),
        _assertion(public_as_secret, client_id, fake_settings, alg="HS256"),
        "e30.e30.",
        "not a jwt",
        "a" * 9000,
    ]
    for assertion in forged:
        _refused(await _refresh_with(fake_client, assertion, client_id=client_id))


async def test_one_way_of_authenticating_only(fake_client: httpx.AsyncClient, fake_settings: Settings) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    both = await fake_client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": client_id,
            "client_secret": "anything",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(key, client_id, fake_settings),
        },
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request", both.text
    wrong_type = await fake_client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            "client_assertion": _assertion(key, client_id, fake_settings),
        },
    )
    assert "client_assertion_type" in _refused(wrong_type)
    # The phone app and secret-holding apps cannot use the method: they have no keys.
    phone = await _refresh_with(fake_client, _assertion(key, "ens-mobile", fake_settings))
    assert "no app registered with keys" in _refused(phone)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ({"kty": "oct", "k": "c2VjcmV0"}, "private or shared-key"),
        (ECKey.generate_key("P-256").as_dict(private=True), "private"),
        ("rsa-1024", "2048 to 4096"),
        # joserfc reads no signature of a key over 6,144 bits: it registered, then never signed in.
        ("rsa-8192", "2048 to 4096"),
        ({**ECKey.generate_key("P-256").as_dict(private=False), "crv": "P-521"}, "crv"),
        ({**ECKey.generate_key("P-256").as_dict(private=False), "use": "enc"}, "use"),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "not a valid"),
        ("a string", "not a JSON object"),
    ],
)
async def test_a_key_set_with_a_private_weak_or_unusable_key_is_refused(
    fake_settings: Settings, key: Any, says: str
) -> None:
    if key in ("rsa-1024", "rsa-8192"):  # made here: an 8,192-bit key takes seconds, not at collection
        key = RSAKey.generate_key(int(key[4:])).as_dict(private=False)
    with pytest.raises(Invalid) as refused:
        await register_app(
            fake_settings.secret_key,
            name="Balance",
            redirect_uris=[REDIRECT],
            scopes=[SCOPE],
            jwks=json.dumps({"keys": [key]}),
        )
    assert any(says in error.detail for error in refused.value.errors), refused.value.errors


async def test_an_operator_swaps_an_apps_secret_for_keys_and_back(
    fake_client: httpx.AsyncClient, fake_settings: Settings, tmp_path: Path, capsys: Any
) -> None:
    app = await register_app(
        fake_settings.secret_key, name="Balance", redirect_uris=[REDIRECT], scopes=[SCOPE], confidential=True
    )
    assert app.client_secret
    key = ECKey.generate_key("P-256", auto_kid=True)
    assert await client_admin.new_client_keys(app.client_id, _key_set(key)) == 1
    by_secret = await fake_client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert "registered with its keys" in _refused(by_secret)
    assert (await _refresh_with(fake_client, _assertion(key, app.client_id, fake_settings))).status_code == 400
    secret = await client_admin.new_client_secret(fake_settings.secret_key, app.client_id)
    _refused(await _refresh_with(fake_client, _assertion(key, app.client_id, fake_settings)))
    by_new_secret = await fake_client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": app.client_id, "client_secret": secret},
    )
    assert by_new_secret.status_code == 400, by_new_secret.text
    listed = await db.fetch("SELECT jwks, secret_hash FROM oauth_clients WHERE client_id = {}", app.client_id)
    assert listed[0]["jwks"] is None and listed[0]["secret_hash"]


async def test_the_metadata_offers_private_key_jwt(fake_client: httpx.AsyncClient) -> None:
    document = (await fake_client.get("/.well-known/oauth-authorization-server")).json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in document["revocation_endpoint_auth_methods_supported"]
    assert set(document["token_endpoint_auth_signing_alg_values_supported"]) == set(client_keys.ALGORITHMS)
    assert not {"none", "HS256"} & set(document["token_endpoint_auth_signing_alg_values_supported"])


async def test_ens_apps_register_and_new_keys_take_a_key_set_file(
    settings: Settings, migrated: None, tmp_path: Path
) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    keys, private = tmp_path / "keys.json", tmp_path / "private.json"
    keys.write_text(_key_set(key))
    private.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    done = run_ens(settings, *REGISTER, "--jwks-file", str(keys))
    assert done.returncode == 0, done.stderr
    assert "client_id:" in done.stdout and "client_secret" not in done.stdout and "private_key_jwt" in done.stdout
    client_id = done.stdout.split("client_id:")[1].split()[0]
    refused = run_ens(settings, *REGISTER, "--jwks-file", str(private))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr and "private" in refused.stderr, refused
    missing = run_ens(settings, "apps", "new-keys", client_id, "--jwks-file", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "cannot read the key set" in missing.stderr, missing
    again = run_ens(settings, "apps", "new-keys", client_id, "--jwks-file", str(keys))
    assert again.returncode == 0 and "keys registered: 1" in again.stdout, again
    listed = run_ens(settings, "apps", "list")
    assert any(client_id in line and "signs (keys)" in line for line in listed.stdout.splitlines()), listed.stdout


async def test_a_4096_bit_rsa_key_signs_in(fake_client: httpx.AsyncClient, fake_settings: Settings) -> None:
    key = RSAKey.generate_key(4096, auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    response = await _refresh_with(fake_client, _assertion(key, client_id, fake_settings, alg="RS256"))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant", response.text


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/revoke"])
async def test_a_deeply_nested_unsigned_assertion_is_invalid_client(
    fake_client: httpx.AsyncClient, endpoint: str
) -> None:
    """Its payload read before any key is looked at: 1,500 nested arrays (2.7 kB) escaped as a
    RecursionError, answered 400 "the body nests too deeply" with a warning logged (a review)."""
    payload = '{"sub":' + "[" * 1500 + "]" * 1500 + "}"
    header = _b64(json.dumps({"alg": "ES256"}).encode())
    assertion = f"{header}.{_b64(payload.encode())}.{_b64(b'x' * 64)}"
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    form |= {"grant_type": "refresh_token", "refresh_token": "x"} if endpoint == "/oauth/token" else {"token": "x"}
    _refused(await fake_client.post(endpoint, data=form))


async def test_a_key_in_the_assertions_header_is_never_used(
    fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    attacker = ECKey.generate_key("P-256", auto_kid=True)
    public = attacker.as_dict(private=False)
    for header in (
        {"jwk": public},
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"kid": key.kid, "jwk": public},
    ):
        _refused(await _refresh_with(fake_client, _assertion(attacker, client_id, fake_settings, header=header)))


async def test_none_hs256_keyed_with_the_pem_and_a_jwe_are_refused(
    fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    key = RSAKey.generate_key(2048, auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    claims = json.dumps(_claims(client_id, fake_settings)).encode()
    none = f"{_b64(json.dumps({'alg': 'none', 'kid': key.kid}).encode())}.{_b64(claims)}."
    signed_part = f"{_b64(json.dumps({'alg': 'HS256', 'kid': key.kid}).encode())}.{_b64(claims)}"
    mac = hmac.new(key.as_pem(private=False), signed_part.encode(), hashlib.sha256).digest()
    encrypted = jwe.encrypt_compact(
        {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.kid}, claims, key, algorithms=["RSA-OAEP-256", "A256GCM"]
    )
    for token in (none, f"{signed_part}.{_b64(mac)}", encrypted):
        _refused(await _refresh_with(fake_client, token, client_id=client_id))


async def test_a_disabled_app_a_secret_holding_app_and_a_public_one_take_no_assertion(
    fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    await client_admin.disable_client(client_id, reason="test")
    _refused(await _refresh_with(fake_client, _assertion(key, client_id, fake_settings)))
    for confidential in (True, False):
        other = await register_app(
            fake_settings.secret_key, name="Autre", redirect_uris=[REDIRECT], scopes=[SCOPE], confidential=confidential
        )
        _refused(await _refresh_with(fake_client, _assertion(key, other.client_id, fake_settings)))


async def test_one_jti_per_app_and_an_assertion_sent_at_once_many_times_is_taken_once(
    fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    one, two = ECKey.generate_key("P-256", auto_kid=True), ECKey.generate_key("P-256", auto_kid=True)
    first, second = await _signing_app(fake_settings, one), await _signing_app(fake_settings, two)
    jti = uuid.uuid4().hex
    for key, client_id in ((one, first), (two, second)):
        response = await _refresh_with(fake_client, _assertion(key, client_id, fake_settings, jti=jti))
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", response.text
    assertion = _assertion(one, first, fake_settings)
    answers = await asyncio.gather(*(_refresh_with(fake_client, assertion) for _ in range(8)))
    assert sorted(answer.status_code for answer in answers) == [400] + [401] * 7, [a.text for a in answers]


async def test_an_assertion_without_its_type_is_invalid_request(
    fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    key = ECKey.generate_key("P-256", auto_kid=True)
    client_id = await _signing_app(fake_settings, key)
    response = await fake_client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_assertion": _assertion(key, client_id, fake_settings),
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text


@pytest.mark.parametrize("kid", [["a"], {"k": 1}, 7])
async def test_a_key_set_whose_kid_is_not_a_string_is_refused_in_one_line(
    settings: Settings, migrated: None, tmp_path: Path, kid: Any
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [ECKey.generate_key("P-256").as_dict(private=False) | {"kid": kid}]}))
    done = run_ens(settings, *REGISTER, "--jwks-file", str(keys))
    assert done.returncode == 2 and "kid must be a string" in done.stderr, (done.returncode, done.stderr[-600:])


async def test_a_key_set_nested_too_deep_is_refused_in_one_line(
    settings: Settings, migrated: None, tmp_path: Path
) -> None:
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    done = run_ens(settings, *REGISTER, "--jwks-file", str(nested))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-600:]


async def test_one_key_registered_without_a_kid_verifies_whatever_kid_the_header_names(
    fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    key = ECKey.generate_key("P-256")  # no kid
    client_id = await _signing_app(fake_settings, key)
    for header in ({}, {"kid": "a-thumbprint-the-client-chose"}):
        response = await _refresh_with(fake_client, _assertion(key, client_id, fake_settings, header=header))
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", (header, response.text)
    # Another key under that kid is still no signature of the app's.
    other = ECKey.generate_key("P-256")
    _refused(await _refresh_with(fake_client, _assertion(other, client_id, fake_settings, header={"kid": "x"})))
    # With a kid registered, the header's kid chooses: another kid verifies nothing.
    named = ECKey.generate_key("P-256", auto_kid=True)
    named_id = await _signing_app(fake_settings, named)
    _refused(await _refresh_with(fake_client, _assertion(named, named_id, fake_settings, header={"kid": "other"})))
