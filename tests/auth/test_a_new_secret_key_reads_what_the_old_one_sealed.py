"""ENS_SECRET_KEY replaced, the old one in ENS_PREVIOUS_SECRET_KEYS: a person signed in before the
change keeps their phone's session (its refresh token), their authenticator and recovery codes,
their documents, a listing's cursor and a retry's Idempotency-Key; their old access token is
refused (no key that was replaced signs anything the service takes); the access history sealed
under both keys verifies. ``ens keys rotate`` then re-encrypts the OTP seeds and re-wraps the
document keys, after which the new key alone opens them.

The rotation runs on the suite's shared database: every seed and document key under the suite's
key is rotated to a new one and back again (``finally``), and the process-wide access-history key
is given back, so that the tests after this one find the database as it was."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from ens.app import create_app
from ens.auth.clients import find_client, register_app, secret_matches
from ens.auth.otp.totp import reseal_seeds
from ens.core import clock, db, keyring
from ens.core.errors import NotFound
from ens.core.settings import Settings
from ens.documents.encryption import new_wrapped_key, open_key
from ens.documents.keys import rewrap_space_keys
from ens.spaces import audit
from ens.spaces.codes import take_code
from ens.spaces.history import SEALED_COLUMNS
from tests.helpers.asgi import asgi_client, asgi_transport
from tests.helpers.concurrency import open_transaction, second_while_first_is_open
from tests.helpers.documents import pdf, uploaded
from tests.helpers.fake_provider import FakeProvider
from tests.helpers.login import BASE, Browser, FakeLogin, Outbox, signed_in_browser
from tests.helpers.people import MakePerson
from tests.helpers.server import run_ens
from tests.helpers.vitals import weight

NEW_KEY = "rotated-" + secrets.token_urlsafe(40)


def _rotated(settings: Settings, *, previous: str) -> Settings:
    return msgspec.structs.replace(settings, secret_key=NEW_KEY, previous_secret_keys=previous)


@asynccontextmanager
async def _served(settings: Settings, provider: FakeProvider) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, upstream_transport=asgi_transport(provider.app()))
    async with asgi_client(app, BASE) as client:
        client.follow_redirects = False
        yield client


async def _refreshed(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    """The phone app's refresh (a public client)."""
    return await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "ens-mobile"},
    )


async def _rotate(settings: Settings) -> tuple[int, int]:
    """``ens keys rotate`` under ``settings``: seeds and document keys re-sealed."""
    seeds, _ = await reseal_seeds(settings)
    keys, _ = await rewrap_space_keys(settings.secret_key)
    return seeds, keys


async def test_a_person_keeps_everything_across_a_change_of_secret_key(
    fake_login: Any,
    fake_settings: Settings,
    fake_client: httpx.AsyncClient,
    provider: FakeProvider,
    outbox: tuple[Outbox, int],
) -> None:
    old_key = fake_settings.secret_key
    sub = f"rotation-{uuid.uuid4().hex[:12]}"
    # Before: signed in through the pages (TOTP enrolled, recovery codes), a phone session, a
    # document, two measures (one with an Idempotency-Key), a page's cursor, a confidential app.
    login, final = await signed_in_browser(fake_login, sub)
    tokens = (await login.browser.exchange(final.headers["location"])).json()
    old_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    space = (await fake_client.get("/v1/spaces/me", headers=old_headers)).json()
    content = pdf(3000, seed=7)
    document = await uploaded(fake_client, old_headers, content)
    keyed = {**old_headers, "Idempotency-Key": f"rotation-{sub}"}
    sent = {"measurements": [weight(70.5, minutes_ago=5)]}
    first = await fake_client.post("/v1/spaces/me/vitals", json=sent, headers=keyed)
    assert first.status_code == 201, first.text
    await fake_client.post(
        "/v1/spaces/me/vitals", json={"measurements": [weight(70.0, minutes_ago=50)]}, headers=old_headers
    )
    cursor = (await fake_client.get("/v1/spaces/me/vitals?limit=1", headers=old_headers)).json()["nextCursor"]
    server = await register_app(
        old_key,
        name=f"Serveur {sub}",
        redirect_uris=["https://app.example/cb"],
        scopes=["vitals.body_weight:read"],
        confidential=True,
    )

    rotated = _rotated(fake_settings, previous=old_key)
    try:
        async with _served(rotated, provider) as new:
            # The access token signed with the old key: refused; the phone refreshes, as at expiry.
            assert (await new.get("/v1/spaces/me", headers=old_headers)).status_code == 401
            refreshed = await _refreshed(new, tokens["refresh_token"])
            assert refreshed.status_code == 200, refreshed.text
            headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
            assert (await new.get("/v1/spaces/me", headers=headers)).json()["id"] == space["id"]
            # The document, its key wrapped under the old key, reads the same.
            got = await new.get(f"/v1/spaces/me/documents/{document['id']}/content", headers=headers)
            assert got.status_code == 200 and got.content == content
            # The page's cursor, and the retry under the first request's key: the same answer.
            page = await new.get(f"/v1/spaces/me/vitals?limit=1&cursor={cursor}", headers=headers)
            assert page.status_code == 200 and page.json()["items"][0]["value"] == 70.0, page.text
            again = await new.post(
                "/v1/spaces/me/vitals",
                json=sent,
                headers={**headers, "Idempotency-Key": keyed["Idempotency-Key"]},
            )
            assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
            # A new login on the new key, with a recovery code hashed under the old key.
            rescued = FakeLogin(Browser(new, outbox[0]), provider)
            await rescued.start()
            await rescued.come_back(rescued.code(sub=sub))
            await rescued.browser.open("/login/otp")
            used = await rescued.browser.post_form("/login/otp", {"code": login.browser.recovery_codes[0]})
            assert used.status_code == 303, used.text
            # The app's secret, hashed under the old key; a code looked up under both keys.
            client = await find_client(server.client_id)
            assert client is not None and secret_matches(NEW_KEY, client, secret=server.client_secret)
            assert not secret_matches(NEW_KEY, client, secret="not-" + str(server.client_secret))
            with pytest.raises(NotFound):
                await take_code(uuid.uuid4(), "ABCD-EFGH-JKLM", purpose="claim", secret_key=NEW_KEY)
            # The history: rows sealed under the old key and under the new one verify together.
            assert await audit.verify_space(uuid.UUID(space["id"]), SEALED_COLUMNS.split(", ")) is None

            # ens keys rotate: what can be re-sealed is, once; then the new key alone opens it.
            seeds, keys = await _rotate(rotated)
            assert seeds >= 1 and keys >= 1
            assert await _rotate(rotated) == (0, 0)
        # The new key alone (the old one dropped): the document, and a login with the authenticator
        # (its seed sealed again under the new key).
        alone = _rotated(fake_settings, previous="")
        async with _served(alone, provider) as new_only:
            got = await new_only.get(f"/v1/spaces/me/documents/{document['id']}/content", headers=headers)
            assert got.status_code == 200 and got.content == content
            last = FakeLogin(Browser(new_only, outbox[0]), provider)
            last.browser.totp_secret = login.browser.totp_secret
            await last.start()
            await last.come_back(last.code(sub=sub))
            assert (await last.browser.second_factor()).status_code == 303
    finally:
        # Back to the suite's key for the tests after this one: what was rotated is rotated back (the
        # new key as the previous one), and the process-wide history key is the suite's again.
        keyring.configure(old_key, (NEW_KEY,))
        await _rotate(msgspec.structs.replace(fake_settings, previous_secret_keys=NEW_KEY))
        keyring.configure(old_key, ())
        audit.configure(old_key)


async def test_revoking_a_token_issued_before_the_change_ends_its_session(
    fake_login: Any, fake_settings: Settings, provider: FakeProvider
) -> None:
    """A phone app signing out with the access token it holds, issued before ENS_SECRET_KEY
    changed (it was not opened since), was told 200, and its session refreshed on (an outside audit
    of the login): revocation reads a token signed under a previous key too, and only revocation."""
    old_key = fake_settings.secret_key
    login, final = await signed_in_browser(fake_login, f"rotation-{uuid.uuid4().hex[:12]}")
    tokens = (await login.browser.exchange(final.headers["location"])).json()
    try:
        async with _served(_rotated(fake_settings, previous=old_key), provider) as new:
            old_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert (await new.get("/v1/me", headers=old_headers)).status_code == 401  # opens nothing
            revoked = await new.post(
                "/oauth/revoke",
                data={"token": tokens["access_token"], "token_type_hint": "access_token", "client_id": "ens-mobile"},
            )
            assert revoked.status_code == 200, revoked.text
            refreshed = await _refreshed(new, tokens["refresh_token"])
            assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant", refreshed.text
        # The same grant named by a token under a key that is none of ours: nothing revoked.
        second, signed_in = await signed_in_browser(fake_login, f"rotation-{uuid.uuid4().hex[:12]}")
        kept = (await second.browser.exchange(signed_in.headers["location"])).json()
        payload = kept["access_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged = jwt.encode({"alg": "HS256", "typ": "at+jwt"}, claims, OctKey.import_key(secrets.token_bytes(32)))
        client = second.browser.client
        ignored = await client.post("/oauth/revoke", data={"token": forged, "client_id": "ens-mobile"})
        assert ignored.status_code == 200
        still = await _refreshed(client, kept["refresh_token"])
        assert still.status_code == 200, still.text
    finally:
        keyring.configure(old_key, ())
        audit.configure(old_key)


async def test_a_login_in_flight_across_the_change_takes_its_e_mail_code_and_its_authorization_code(
    fake_login: Any, fake_settings: Settings, provider: FakeProvider, outbox: tuple[Outbox, int]
) -> None:
    """A login in flight outlives the change (its sealed nonce is read under the old key), and so do
    the codes it was given: the e-mail code sent before the restart was refused as a wrong code
    (and counted as a guess), and the app's authorization code, in its 60 seconds, was
    ``invalid_grant``: both were hashed under the old key and looked up under the new one only (a
    review of the rotation)."""
    old_key = fake_settings.secret_key
    mails, _ = outbox
    sub = f"rotation-{uuid.uuid4().hex[:12]}"
    known, _ = await signed_in_browser(fake_login, sub)
    # One login at its second factor, a code sent by e-mail; another through, its code not yet exchanged.
    waiting: FakeLogin = fake_login()
    await waiting.start()
    await waiting.come_back(waiting.code(sub=sub))
    await waiting.browser.open("/login/otp")
    assert (await waiting.browser.post_form("/login/email-code", {})).status_code == 200
    code = mails.last_code(f"{sub}@example.test")
    through: FakeLogin = fake_login()
    through.browser.totp_secret = known.browser.totp_secret
    await through.start()
    await through.come_back(through.code(sub=sub))
    final = await through.browser.second_factor()
    assert final.status_code == 303, final.text
    # And one still at the provider: its callback finds it by the state's hash under the old key.
    at_provider: FakeLogin = fake_login()
    await at_provider.start()
    try:
        async with _served(_rotated(fake_settings, previous=old_key), provider) as new:
            waiting.browser.client = through.browser.client = at_provider.browser.client = new
            typed = await waiting.browser.post_form("/login/otp", {"code": code})
            assert typed.status_code == 303, typed.text
            exchanged = await through.browser.exchange(final.headers["location"])
            assert exchanged.status_code == 200, exchanged.text
            back = await at_provider.come_back(at_provider.code(sub=sub))
            assert back.status_code == 303 and back.headers["location"] == "/login/otp", back.text
    finally:
        keyring.configure(old_key, ())
        audit.configure(old_key)


async def test_ens_keys_rotate_counts_a_row_no_key_opens_and_exits_2(
    settings: Settings, make_person: MakePerson
) -> None:
    """A space's document key no configured key opens is counted and left as it is, and the command
    exits 2 (README). One cut short (shorter than a nonce: a damaged row) made the decryption raise
    ValueError, not InvalidTag: a traceback and exit status 1, the batch it was in rolled back and
    every key after it left unwrapped (a review of the rotation)."""
    unknown, cut = (await make_person()).space_id, (await make_person()).space_id
    stored = {unknown: new_wrapped_key("unknown-" + secrets.token_urlsafe(40), unknown), cut: b"cut"}
    for space_id, wrapped in stored.items():
        await db.fetch(
            "INSERT INTO document_keys (space_id, wrapped, created_at) VALUES ({}, {}, {})",
            space_id,
            wrapped,
            clock.now(),
        )
    try:
        done = run_ens(settings, "keys", "rotate", env={"ENS_SECRET_KEY": settings.secret_key})
        assert done.returncode == 2, done
        assert "re-wrapped 0 spaces' document keys under the current key" in done.stdout, done
        lost = re.search(r"(\d+) document keys open under no configured key", done.stderr)
        assert lost is not None and int(lost.group(1)) >= 2 and "Traceback" not in done.stderr, done
        for space_id, wrapped in stored.items():
            row = await db.fetch_one("SELECT wrapped FROM document_keys WHERE space_id = {}", space_id)
            assert row is not None and bytes(row["wrapped"]) == wrapped
    finally:
        await db.fetch("DELETE FROM document_keys WHERE space_id IN ({}, {})", unknown, cut)


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_ens_keys_rotate_beside_an_erasure_and_a_writer_of_documents(
    settings: Settings, make_person: MakePerson
) -> None:
    """(PostgreSQL, read committed; a guard.) ``ens keys rotate`` re-wraps a batch's keys in one
    transaction while requests go on: an erasure that has taken the space's row and deleted its key,
    not yet committed, is waited for, and the key stays destroyed (the re-wrap is conditional on the
    old value: nothing is written back); a writer of documents holding another space's key row (the
    space's row, then the key's, as ``lock_space_documents`` takes them) is waited for, and the key
    is re-wrapped after it. Neither waits on the rotation in turn: no deadlock."""
    old_key = settings.secret_key
    erased, written = (await make_person()).space_id, (await make_person()).space_id
    for space_id in (erased, written):
        await db.fetch(
            "INSERT INTO document_keys (space_id, wrapped, created_at) VALUES ({}, {}, {})",
            space_id,
            new_wrapped_key(old_key, space_id),
            clock.now(),
        )
    rotated = _rotated(settings, previous=old_key)
    keyring.configure(NEW_KEY, (old_key,))
    try:
        async with open_transaction(settings) as erasure, open_transaction(settings) as writer:
            await erasure.execute("SELECT id FROM spaces WHERE id = $1 FOR UPDATE", erased)
            await erasure.execute("DELETE FROM document_keys WHERE space_id = $1", erased)
            await writer.execute("SELECT id FROM spaces WHERE id = $1 FOR KEY SHARE", written)
            await writer.execute("SELECT space_id FROM document_keys WHERE space_id = $1 FOR UPDATE", written)
            rotation, waited = await second_while_first_is_open(rewrap_space_keys(rotated.secret_key))
            assert waited
        rewrapped, lost = await rotation
        assert lost == 0 and rewrapped >= 1
        assert await db.fetch("SELECT space_id FROM document_keys WHERE space_id = {}", erased) == []
        row = await db.fetch_one("SELECT wrapped FROM document_keys WHERE space_id = {}", written)
        assert row is not None
        keyring.configure(NEW_KEY, ())
        assert open_key(NEW_KEY, written, bytes(row["wrapped"])) is not None  # under the new key alone
    finally:
        keyring.configure(old_key, (NEW_KEY,))
        await _rotate(msgspec.structs.replace(settings, previous_secret_keys=NEW_KEY))
        keyring.configure(old_key, ())
        await db.fetch("DELETE FROM document_keys WHERE space_id = {}", written)
