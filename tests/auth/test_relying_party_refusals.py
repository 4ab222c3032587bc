"""What the relying party refuses from the identity provider (forged with the test-only provider)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest

from ens.core import db
from tests.helpers import fake_provider
from tests.helpers.login import LOOPBACK, query_of
from tests.helpers.rows import one_row


async def _attempt_rows(state: str) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch("SELECT step FROM login_attempts WHERE upstream_state = {}", state)]


async def test_login_with_any_provider_rs256_json_userinfo_and_basic_auth(fake_login, provider):
    provider.token_auth_methods = ["client_secret_basic"]
    try:
        login = fake_login()
        await login.start()
        assert login.upstream["acr_values"] == "eidas1"
        response = await login.come_back(login.code(userinfo_as_jwt=False))
        assert response.status_code == 303 and response.headers["location"] == "/login/otp"
        assert provider.token_requests[-1] == {"client_id": fake_provider.CLIENT_ID, "basic": True}
    finally:
        provider.token_auth_methods = ["client_secret_post"]


@pytest.mark.parametrize("alg", ["ES256", "HS256"])
async def test_es256_and_hs256_id_tokens_are_accepted_when_announced(fake_login, alg):
    login = fake_login()
    await login.start()
    response = await login.come_back(login.code(alg=alg))
    assert response.status_code == 303, response.text


async def test_hs256_refused_when_the_provider_does_not_announce_it(fake_login, provider):
    provider.announced_algs = ["RS256"]
    try:
        login = fake_login()
        await login.start()
        response = await login.come_back(login.code(alg="HS256"))
        assert response.status_code == 400
        assert "pas pu être vérifiée" in response.text
    finally:
        provider.announced_algs = ["RS256", "ES256", "HS256"]


@pytest.mark.parametrize(
    "forgery",
    [
        {"sign_with_stranger": True},
        {"aud": "someone-else"},
        {"aud": ["someone-else", "another"]},
        {"exp": int(time.time()) - 3600},
        {"iat": int(time.time()) + 3600},
        {"iss": "http://evil.test"},
        {"acr": "eidas0"},
        {"acr": None},
        {"nonce_for_code": "a-nonce-that-ens-never-sent-0123456789"},
        {"nonce": None},
    ],
    ids=[
        "bad-signature",
        "wrong-aud",
        "wrong-aud-list",
        "expired",
        "issued-in-future",
        "wrong-iss",
        "acr-too-low",
        "acr-missing",
        "nonce-mismatch",
        "nonce-missing",
    ],
)
async def test_forged_id_tokens_are_refused_and_nobody_is_signed_in(fake_login, forgery):
    login = fake_login()
    await login.start()
    response = await login.come_back(login.code(**forgery))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "pas pu être vérifiée" in response.text
    # The state was spent: the same callback cannot be retried with a better token.
    again = await login.come_back(login.code())
    assert again.status_code == 400 and "déjà servi" in again.text


async def test_acr_below_the_configured_level_is_refused_in_franceconnect_plus_mode():
    # eidas1 from the provider while eidas2 is configured: refused.
    from ens.auth.errors import UpstreamRefused
    from ens.auth.upstream import Upstream

    upstream = Upstream(_settings_with_acr("eidas2"))
    with pytest.raises(UpstreamRefused, match="below eidas2"):
        upstream._check_id_token(
            {
                "iss": fake_provider.ISSUER,
                "sub": "x",
                "aud": fake_provider.CLIENT_ID,
                "exp": time.time() + 60,
                "iat": time.time(),
                "nonce": "n",
                "acr": "eidas1",
            },
            "n",
        )


def _settings_with_acr(acr: str):
    from ens.core.settings import Settings

    return Settings.from_env(
        {}, env="dev", oidc_issuer=fake_provider.ISSUER, oidc_client_id=fake_provider.CLIENT_ID, oidc_acr=acr
    )


async def test_missing_state_unknown_state_and_replayed_state(fake_login):
    login = fake_login()
    await login.start()
    missing = await login.come_back(login.code(), state="")
    assert missing.status_code == 400 and "state manquant" in missing.text
    forged = await login.come_back(login.code(), state="x" * 43)
    assert forged.status_code == 400 and "pas attendue" in forged.text
    ok = await login.come_back(login.code())
    assert ok.status_code == 303
    replay = await login.come_back(login.code())
    assert replay.status_code == 400 and "déjà servi" in replay.text


async def test_error_callbacks(fake_login):
    # An error with a state ENS never issued: an error page, no redirect anywhere.
    login = fake_login()
    await login.start()
    forged = await login.come_back(state="y" * 43, error="access_denied")
    assert forged.status_code == 400 and "location" not in forged.headers
    # The person cancels at the provider: back to the app with access_denied and the app's state.
    cancelled = await login.come_back(error="access_denied")
    assert cancelled.status_code == 303
    back = query_of(cancelled.headers["location"])
    assert cancelled.headers["location"].startswith(LOOPBACK)
    assert back["error"] == "access_denied" and back["state"] == login.browser.state
    # And that state is spent too.
    assert (await login.come_back(login.code())).status_code == 400


async def test_callback_from_another_browser_is_refused(fake_login):
    login = fake_login()
    await login.start()
    login.browser.cookie = None  # the provider sends someone else's browser back with this state
    response = await login.come_back(login.code())
    assert response.status_code == 400 and "autre navigateur" in response.text


async def test_unknown_signing_key_triggers_one_jwks_refetch(fake_login, provider):
    from joserfc.jwk import RSAKey

    login = fake_login()
    await login.start()
    old = provider.rsa
    provider.rsa = RSAKey.generate_key(2048, auto_kid=True)  # the provider rotates its key
    try:
        assert (await login.come_back(login.code())).status_code == 303
    finally:
        provider.rsa = old


async def test_a_jwks_listing_what_is_no_key_still_gives_its_keys(fake_login, provider):
    """A JWKS whose list holds a string or a number beside its keys was a 500 (an outside audit)."""
    provider.extra_keys = ["x", 7, None]
    try:
        login = fake_login()
        await login.start()
        assert (await login.come_back(login.code())).status_code == 303
    finally:
        provider.extra_keys = []


async def test_later_login_updates_changed_claims_and_keeps_one_account(fake_login, provider):
    from tests.helpers.login import signed_in_browser

    sub = f"claims-change-{uuid.uuid4().hex[:12]}"  # unique: the database may outlive one run
    first, _ = await signed_in_browser(fake_login, sub=sub)
    rows = await db.fetch("SELECT id, family_name FROM accounts WHERE sub = {}", sub)
    assert len(rows) == 1
    second = fake_login()
    second.browser.totp_secret = first.browser.totp_secret
    await second.start()
    code = second.code(sub=sub)
    provider.codes[code].claims["family_name"] = "Mariée"
    assert (await second.come_back(code)).status_code == 303
    # Claims change only once the person has passed the second factor.
    rows = await db.fetch("SELECT id, family_name FROM accounts WHERE sub = {}", sub)
    assert [r["family_name"] for r in rows] != ["Mariée"]
    assert (await second.browser.second_factor()).status_code == 303
    rows = await db.fetch("SELECT id, family_name FROM accounts WHERE sub = {}", sub)
    assert [r["family_name"] for r in rows] == ["Mariée"]


async def test_an_address_changed_at_the_provider_gets_no_code_before_the_second_factor(fake_login, provider, outbox):
    """Someone holding only the provider login changes the e-mail there: this login's e-mail code
    still goes to the address ENS knows; the new address is taken only after the second factor,
    and the old one is told."""
    from tests.helpers.login import logged_in_again, signed_in_browser

    mails, _ = outbox
    sub = f"email-swap-{uuid.uuid4().hex[:12]}"
    first, _ = await signed_in_browser(fake_login, sub=sub)
    known = f"{sub}@example.test"
    intruder = f"intruder-{sub}@evil.test"
    attack = fake_login()
    await attack.start()
    code = attack.code(sub=sub)
    provider.codes[code].claims["email"] = intruder
    assert (await attack.come_back(code)).status_code == 303
    await attack.browser.open("/login/otp")
    sent = await attack.browser.post_form("/login/email-code", {})
    assert sent.status_code == 200
    assert mails.to(intruder) == []
    assert mails.last_code(known)
    stored = await one_row("SELECT email FROM accounts WHERE sub = {}", sub)
    assert stored["email"] == known
    # The real person, passing the second factor with a changed address, moves it, and the old
    # address hears of it.
    await logged_in_again(
        fake_login, known=first, sub=sub, claims=lambda claims: claims.update(email=f"new-{sub}@example.test")
    )
    stored = await one_row("SELECT email FROM accounts WHERE sub = {}", sub)
    assert stored["email"] == f"new-{sub}@example.test"
    assert any(m["Subject"] == "Votre adresse e-mail a changé" for m in mails.to(known))


async def test_two_logins_started_in_one_browser_both_finish(fake_client, provider, outbox):
    """The second /oauth/authorize replaced the login cookie: the first tab's login came back from
    the provider to "commencée dans un autre navigateur", its provider answer spent (an outside
    audit). The cookie names the browser's attempts; the provider's answer serves its own."""
    from tests.helpers.login import Browser, FakeLogin

    browser = Browser(fake_client, outbox[0])
    first, second = FakeLogin(browser, provider), FakeLogin(browser, provider)
    await first.start()
    await second.start()
    assert browser.cookie is not None and len(browser.cookie.split(".")) == 2
    for login in (first, second):
        back = await login.come_back(login.code())
        assert back.status_code == 303 and back.headers["location"] == "/login/otp", back.text
        final = await browser.second_factor()
        assert final.status_code == 303, final.text
        token = await browser.exchange(final.headers["location"])
        assert token.status_code == 200, token.text
    # A third and a fourth login: the cookie keeps the three newest.
    for _ in range(2):
        await FakeLogin(browser, provider).start()
    assert len(browser.cookie.split(".")) == 3
    # Someone else's browser is still refused.
    stranger = FakeLogin(Browser(fake_client, outbox[0]), provider)
    await stranger.start()
    stranger.browser.cookie = browser.cookie
    refused = await stranger.come_back(stranger.code())
    assert refused.status_code == 400 and "autre navigateur" in refused.text


async def test_a_login_started_while_another_is_at_its_code_leaves_that_one_its_pages(fake_client, provider, outbox):
    """A second /oauth/authorize (a second tap in the app) while a first login was at its code page
    put the new attempt, still at the provider, first in the cookie: the first's code was refused
    (403, "le formulaire n'est plus valable") and its page was gone (an outside audit). The pages
    serve the attempt the provider answered last."""
    from tests.helpers.login import Browser, FakeLogin

    browser = Browser(fake_client, outbox[0])
    first = FakeLogin(browser, provider)
    await first.start()
    back = await first.come_back(first.code())
    assert back.status_code == 303 and back.headers["location"] == "/login/otp", back.text
    await browser.open("/login/otp")
    await FakeLogin(browser, provider).start()  # at the provider, never answered
    assert browser.cookie is not None and len(browser.cookie.split(".")) == 2
    final = await browser.second_factor()
    assert final.status_code == 303, final.text
    token = await browser.exchange(final.headers["location"])
    assert token.status_code == 200, token.text


async def test_a_key_replaced_under_the_same_kid_is_fetched_again_not_refused_for_the_cache_s_hour() -> None:
    """The provider replaced its signing key but kept its kid: the cached key refused every login
    until the cache ended (an hour by default: an outside audit). A signature that fails with a
    cached key fetches the keys once more; a forged one is still refused."""
    import secrets

    from authlib.oauth2.rfc7636 import create_s256_code_challenge
    from joserfc.jwk import RSAKey

    from ens.auth.errors import UpstreamRefused
    from ens.auth.upstream import Upstream
    from ens.core.settings import Settings
    from tests.helpers.asgi import asgi_transport
    from tests.helpers.fake_provider import FakeProvider

    provider = FakeProvider()
    settings = Settings(
        env="dev",
        oidc_issuer=fake_provider.ISSUER,
        oidc_client_id=fake_provider.CLIENT_ID,
        oidc_client_secret=fake_provider.CLIENT_SECRET,
        oidc_cache_ttl=3600,
    )
    upstream = Upstream(settings, transport=asgi_transport(provider.app()))

    async def login(**choices: Any) -> dict[str, Any]:
        nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        code = provider.issue_code(nonce, create_s256_code_challenge(verifier), **choices)
        return (await upstream.finish_login(code, verifier, nonce=nonce)).claims

    assert (await login())["sub"]
    kid = provider.rsa.kid
    assert kid is not None
    provider.rsa = RSAKey.import_key(RSAKey.generate_key(2048).as_dict(private=True), {"kid": kid})
    assert provider.rsa.kid == kid
    assert (await login())["sub"]  # was: "signature does not verify" for the cache's hour
    with pytest.raises(UpstreamRefused, match="signature does not verify"):
        await login(sign_with_stranger=True)


@pytest.mark.parametrize(
    ("provider_says", "app_told"),
    [
        ("temporarily_unavailable", "temporarily_unavailable"),
        ("server_error", "server_error"),
        ("login_required", "access_denied"),
        ("something_of_its_own", "access_denied"),
    ],
)
async def test_a_provider_down_is_told_apart_from_a_refusal(fake_login, caplog, provider_says, app_told):
    """Every provider error reached the app as access_denied (an outside audit): it could not offer
    to try again when the provider was down. Its code goes to the log, one it may send or "other"."""
    login = fake_login()
    await login.start()
    with caplog.at_level(logging.WARNING, logger="ens.auth.login"):
        back = await login.come_back(error=provider_says)
    assert back.status_code == 303
    told = query_of(back.headers["location"])
    assert told["error"] == app_told and told["state"] == login.browser.state
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "provider_error"]
    assert record.reason == (provider_says if provider_says != "something_of_its_own" else "other")


async def test_an_email_claim_of_two_addresses_is_left_out_and_the_login_goes_on(fake_login, outbox):
    """A provider's e-mail claim of two addresses ("a@x.fr, b@y.fr") was stored as it came, and
    every message then went to both: the login's e-mail code, the security notices (an outside audit
    of the e-mails). It is left out; the login goes on, and the account keeps the address it had
    (emptied, no security notice reached the person: a review)."""
    from tests.helpers.login import logged_in_again, signed_in_browser

    mails, _ = outbox
    sub = f"two-addresses-{uuid.uuid4().hex[:12]}"
    first, _ = await signed_in_browser(fake_login, sub=sub)
    other = f"other-{sub}@evil.test"
    await logged_in_again(
        fake_login, known=first, sub=sub, claims=lambda claims: claims.update(email=f"{sub}@example.test, {other}")
    )
    stored = await one_row("SELECT email FROM accounts WHERE sub = {}", sub)
    assert stored["email"] == f"{sub}@example.test"
    assert mails.to(other) == []
    # Nothing changed, nothing to tell the address kept.
    assert not [m for m in mails.to(f"{sub}@example.test") if "adresse e-mail" in m["Subject"]]


async def test_an_email_claim_a_header_reads_as_two_recipients_is_left_out(fake_login, outbox):
    """One "@" and no space, so the pattern of one address took it, but a To header reads
    "autre,…@example.test" as two recipients ("autre", which a relay completes with its own
    domain, and the address): stored, every message went to both, as the claim of two addresses
    did (a review of the e-mail claim's commit). Left out, as that one."""
    from tests.helpers.login import logged_in_again, signed_in_browser

    sub = f"two-recipients-{uuid.uuid4().hex[:12]}"
    first, _ = await signed_in_browser(fake_login, sub=sub)
    await logged_in_again(
        fake_login, known=first, sub=sub, claims=lambda claims: claims.update(email=f"autre,{sub}@example.test")
    )
    stored = await one_row("SELECT email FROM accounts WHERE sub = {}", sub)
    assert stored["email"] == f"{sub}@example.test"  # the address it had


async def test_an_address_left_out_is_told_to_the_old_one_as_removed_not_replaced(fake_login, outbox):
    """A provider that gives no address any more empties the account's, and the old address was
    told "remplacée par celle que votre service d'identité a transmise ; les messages de sécurité
    iront désormais à la nouvelle adresse": there is none, and no notice will reach the person until
    a login brings one (a review of the e-mail claim's commit)."""
    from tests.helpers.login import logged_in_again, signed_in_browser

    mails, _ = outbox
    sub = f"address-removed-{uuid.uuid4().hex[:12]}"
    first, _ = await signed_in_browser(fake_login, sub=sub)
    known = f"{sub}@example.test"
    assert (await one_row("SELECT email FROM accounts WHERE sub = {}", sub))["email"] == known
    await logged_in_again(fake_login, known=first, sub=sub, claims=lambda claims: claims.pop("email"))
    [told] = [m for m in mails.to(known) if "adresse e-mail" in m["Subject"]]
    assert told["Subject"] == "Votre adresse e-mail a été retirée"
    text = told.get_content()
    assert "retirée" in text and "nouvelle adresse" not in text
