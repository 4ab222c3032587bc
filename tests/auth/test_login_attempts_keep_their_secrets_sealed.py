"""A copy of ``login_attempts`` (a backup, a replica's disk) holds no login in flight and no identity
(an outside audit): the ``state`` sent to the provider is kept as a keyed hash, its nonce and PKCE
verifier sealed until the provider answers and then emptied; the ID token and the person's claims
waiting for the second factor are sealed, each bound to its own attempt."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from ens.auth.login.attempt import seal, unseal
from ens.core import db
from ens.core.settings import Settings
from tests.helpers.login import attempt_key, csrf_of, query_of, signed_in_browser


async def _row(cookie: str | None) -> dict[str, Any]:
    rows = await db.fetch("SELECT * FROM login_attempts WHERE browser_key = {}", attempt_key(cookie))
    assert len(rows) == 1
    return dict(rows[0])


def _text_of(row: dict[str, Any]) -> str:
    return " ".join(str(value) for value in row.values())


async def test_a_login_at_the_provider_leaves_neither_its_state_nor_its_nonce_in_the_row(fake_login):
    login = fake_login()
    await login.start()
    row = await _row(login.browser.cookie)
    text = _text_of(row)
    assert login.upstream["state"] not in text
    assert login.upstream["nonce"] not in text
    assert row["upstream_state"] and row["upstream_nonce"] and row["upstream_verifier"]
    # The provider's answer still finds the login by its state, and the verifier still proves it.
    back = await login.come_back(login.code())
    assert back.status_code == 303, back.text


async def test_the_provider_answered_the_row_keeps_no_nonce_no_verifier_and_no_clear_identity(fake_login):
    login = fake_login()
    await login.start()
    back = await login.come_back(login.code(sub="sealed-identity-sub"))
    assert back.status_code == 303, back.text
    row = await _row(login.browser.cookie)
    assert row["upstream_nonce"] == "" and row["upstream_verifier"] == ""
    text = _text_of(row)
    for clear in ("sealed-identity-sub", "Testeuse", "Inès", "1992-03-04", "example.test"):
        assert clear not in text, clear
    assert row["id_token"] and row["pending_identity"]
    assert "." not in row["id_token"]  # not a JWT (header.claims.signature)


async def test_the_row_gives_neither_the_login_cookie_nor_the_forms_token(fake_login):
    """The cookie named the attempt's id, the row's key, and the forms' token was a column: a read of
    the table rebuilt the cookie of a login in flight and finished its enrolment, seeing the TOTP
    seed and the recovery codes (an outside security audit). The row keeps a hash of the cookie's
    token; the forms' token is derived from it. A cookie made of the row's id opens nothing."""
    login = fake_login()
    await login.start()
    assert (await login.come_back(login.code(sub="cookie-copy-sub"))).status_code == 303
    enrolment = await login.browser.open("/login/otp")
    assert enrolment.status_code == 200 and "otpauth://" in enrolment.text
    row = await _row(login.browser.cookie)
    text = _text_of(row)
    cookie, csrf = login.browser.cookie or "", csrf_of(enrolment.text)
    assert cookie and cookie not in text and csrf not in text
    # What a copy of the row gives, as a cookie: no login.
    for forged in (str(row["id"]), str(row["browser_key"])):
        page = await login.browser.client.get("/login/otp", headers={"Cookie": f"ens_login={forged}"})
        assert page.status_code == 400 and "otpauth://" not in page.text, page.text[:200]


async def test_the_id_token_the_logout_sends_is_not_the_rows_text(fake_login):
    login, _ = await signed_in_browser(fake_login)
    row = await _row(login.browser.cookie)
    posted = await login.browser.post_form("/oauth/logout", {})
    assert posted.status_code == 303, posted.text
    hint = query_of(posted.headers["location"])["id_token_hint"]
    assert hint.count(".") == 2  # a JWT, opened from the row
    assert hint not in _text_of(row)
    # The return's state is kept hashed too.
    state = query_of(posted.headers["location"])["state"]
    assert state not in _text_of(await _row(login.browser.cookie))


async def test_a_sealed_secret_opens_only_for_its_attempt_and_under_its_key(fake_settings: Settings):
    attempt_id = uuid.uuid4()
    sealed = seal(fake_settings, attempt_id, "secret-value")
    assert unseal(fake_settings, attempt_id, sealed) == "secret-value"
    assert seal(fake_settings, attempt_id, "secret-value") != sealed  # a fresh nonce each time
    # Moved to another attempt's row, it does not open: the attempt's id is bound to it.
    assert unseal(fake_settings, uuid.uuid4(), sealed) is None
    other_key = msgspec.structs.replace(fake_settings, secret_key="another-secret-key-" + "x" * 40)
    assert unseal(other_key, attempt_id, sealed) is None
    assert unseal(fake_settings, attempt_id, sealed[:-4] + "AAAA") is None
    assert unseal(fake_settings, attempt_id, "not base64!") is None
    assert unseal(fake_settings, attempt_id, "") is None
    assert unseal(fake_settings, attempt_id, None) is None


async def test_an_id_token_that_does_not_open_leaves_nothing_to_close(fake_login):
    """A row sealed under another key (or copied from another attempt) is no session to end."""
    login, _ = await signed_in_browser(fake_login)
    other = fake_login()
    await other.start()
    moved = (await _row(other.browser.cookie))["upstream_nonce"]  # sealed, for another attempt
    await db.fetch(
        "UPDATE login_attempts SET id_token = {} WHERE browser_key = {}", moved, attempt_key(login.browser.cookie)
    )
    page = await login.browser.open("/oauth/logout")
    assert page.status_code == 200
    posted = await login.browser.post_form("/oauth/logout", {})
    assert posted.status_code == 400, posted.text
    assert "rien à fermer" in posted.text
