"""The second factor through the login pages: TOTP replays, stale codes, races, e-mail codes, lockout,
recovery codes, the lost-factor path, CSRF."""

from __future__ import annotations

import html
import re
import time
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ens.auth import otp
from ens.auth.login import pages
from ens.core import db
from tests.helpers.login import LOOPBACK, Browser, FakeLogin, concurrently, signed_in_browser
from tests.helpers.rows import one_row

# U+FF10..U+FF19: the digits a Japanese or Chinese keyboard types; NFKC makes them ASCII.
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))


async def _at_otp_page(fake_login, sub: str, browser_of: FakeLogin | None = None) -> FakeLogin:
    """A new login of an enrolled person, stopped at the code form (the TOTP secret carried over)."""
    login: FakeLogin = fake_login()
    await login.start()
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    assert 'name="code"' in login.browser.page and "otpauth://" not in login.browser.page
    if browser_of is not None:
        login.browser.totp_secret = browser_of.browser.totp_secret
        login.browser.recovery_codes = browser_of.browser.recovery_codes
    return login


def _sub() -> str:
    import uuid

    return f"otp-{uuid.uuid4().hex[:12]}"


async def test_replayed_totp_and_its_full_width_spelling_are_refused(fake_login):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    # The enrolment spent the current step; a later login uses the next one, once.
    code = first.browser.totp().at(time.time() + 30)
    second = await _at_otp_page(fake_login, sub, first)
    assert (await second.browser.post_form("/login/otp", {"code": code})).status_code == 303
    third = await _at_otp_page(fake_login, sub, first)
    replay = await third.browser.post_form("/login/otp", {"code": code})
    assert replay.status_code == 400 and "déjà été utilisé" in replay.text
    wide = code.translate(FULL_WIDTH)
    assert wide != code and unicodedata.normalize("NFKC", wide) == code
    wide_replay = await third.browser.post_form("/login/otp", {"code": wide})
    assert wide_replay.status_code == 400 and "déjà été utilisé" in wide_replay.text


async def test_a_code_two_steps_old_is_refused(fake_login):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    await db.fetch(
        "UPDATE otp_factors SET last_step = NULL WHERE account_id IN (SELECT id FROM accounts WHERE sub = {})", sub
    )
    login = await _at_otp_page(fake_login, sub, first)
    stale = await login.browser.post_form("/login/otp", {"code": first.browser.totp().at(time.time() - 60)})
    assert stale.status_code == 400 and "pas valable" in stale.text


async def test_two_concurrent_submissions_of_one_code_one_wins(fake_login):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    a = await _at_otp_page(fake_login, sub, first)
    b = await _at_otp_page(fake_login, sub, first)
    code = first.browser.totp().at(time.time() + 30)
    results = await concurrently(
        a.browser.post_form("/login/otp", {"code": code}), b.browser.post_form("/login/otp", {"code": code})
    )
    assert sorted(r.status_code for r in results) == [303, 400]


async def test_email_code_works_once_and_only_for_its_login_attempt(fake_login, outbox):
    mails, _ = outbox
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    address = f"{sub}@example.test"
    a = await _at_otp_page(fake_login, sub, first)
    sent = await a.browser.post_form("/login/email-code", {})
    assert sent.status_code == 200 and "envoyé par e-mail" in sent.text
    code = mails.last_code(address)
    b = await _at_otp_page(fake_login, sub, first)
    other_attempt = await b.browser.post_form("/login/otp", {"code": code})
    assert other_attempt.status_code == 400
    assert (await a.browser.post_form("/login/otp", {"code": code})).status_code == 303


async def test_expired_email_code_is_refused(fake_login, outbox):
    mails, _ = outbox
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub, first)
    await login.browser.post_form("/login/email-code", {})
    code = mails.last_code(f"{sub}@example.test")
    # Time moves on 11 minutes for this code (its expiry is the database's to hold).
    await db.fetch(
        "UPDATE email_codes SET expires_at = {} WHERE account_id IN (SELECT id FROM accounts WHERE sub = {})",
        datetime.now(UTC) - timedelta(minutes=1),
        sub,
    )
    expired = await login.browser.post_form("/login/otp", {"code": code})
    assert expired.status_code == 400 and "expiré" in expired.text


async def test_email_codes_are_rate_limited(fake_login, outbox, fake_settings):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub, first)
    for _ in range(fake_settings.email_codes_per_hour):
        assert "envoyé par e-mail" in (await login.browser.post_form("/login/email-code", {})).text
    limited = await login.browser.post_form("/login/email-code", {})
    assert "Trop de codes envoyés" in limited.text


async def test_five_wrong_codes_end_the_attempt_and_thirty_over_attempts_lock_the_account(fake_login, fake_settings):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    per_attempt, per_account = fake_settings.otp_max_failures, fake_settings.otp_account_max_failures
    for attempt_number in range(per_account // per_attempt):
        login = await _at_otp_page(fake_login, sub, first)
        for n in range(1, per_attempt):
            wrong = await login.browser.post_form("/login/otp", {"code": "000000"})
            left = per_attempt - n  # said in French: "1 essai", "4 essais" (never "essai(s)")
            assert wrong.status_code == 400
            assert f"Il vous reste {left} essai{'' if left == 1 else 's'}." in wrong.text
        last = await login.browser.post_form("/login/otp", {"code": "000000"})
        assert last.status_code == 400
        if attempt_number < per_account // per_attempt - 1:
            assert "elle est annulée" in html.unescape(last.text) and "bloquée" not in last.text
    assert "bloquée pendant 15 minutes" in last.text
    locked = await _at_otp_page(fake_login, sub, first)
    good = await locked.browser.post_form("/login/otp", {"code": first.browser.totp().at(time.time() + 30)})
    assert good.status_code == 400 and "bloquée" in good.text
    assert re.search(r"bloquée pendant encore \d+ minutes\. ", good.text), good.text
    # 15 minutes later (time injected into the service), the factor works again.
    account = await one_row("SELECT id FROM accounts WHERE sub = {}", sub)
    later = datetime.now(UTC) + timedelta(minutes=16)
    await otp.ensure_not_locked(account["id"], later)


async def test_recovery_code_works_once_and_tells_the_person(fake_login, outbox):
    mails, _ = outbox
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    recovery = first.browser.recovery_codes[0]
    login = await _at_otp_page(fake_login, sub, first)
    used = await login.browser.post_form("/login/otp", {"code": recovery.lower().replace("-", " ")})
    assert used.status_code == 303 and used.headers["location"].startswith(LOOPBACK)
    assert any(m["Subject"] == "Un code de secours a été utilisé" for m in mails.to(f"{sub}@example.test"))
    again = await _at_otp_page(fake_login, sub, first)
    twice = await again.browser.post_form("/login/otp", {"code": recovery})
    assert twice.status_code == 400 and "pas valable" in twice.text


async def test_lost_second_factor_reproves_identity_and_replaces_the_factor(fake_login, outbox):
    mails, _ = outbox
    sub = _sub()
    address = f"{sub}@example.test"
    first, signed_in = await signed_in_browser(fake_login, sub)
    # The phone later lost: signed in, with its tokens.
    lost_phone = (await first.browser.exchange(signed_in.headers["location"])).json()
    lost_headers = {"Authorization": f"Bearer {lost_phone['access_token']}"}
    assert (await first.browser.client.get("/v1/me", headers=lost_headers)).status_code == 200
    # And a login with the old factor under way: its code not yet exchanged.
    pending = await _at_otp_page(fake_login, sub, first)
    passed = await pending.browser.second_factor()
    assert passed.status_code == 303 and passed.headers["location"].startswith(LOOPBACK)
    # And one more at the code page, not past it.
    waiting = await _at_otp_page(fake_login, sub, first)
    login = await _at_otp_page(fake_login, sub, first)
    to_provider = await login.browser.post_form("/login/lost-factor", {})
    assert to_provider.status_code == 303
    from tests.helpers.login import query_of

    login.upstream = query_of(to_provider.headers["location"])
    assert login.upstream["prompt"] == "login"
    back = await login.come_back(login.code(sub=sub))
    assert back.status_code == 303
    page = await login.browser.open("/login/otp")
    assert "Vérification par e-mail" in page.text
    verified = await login.browser.post_form("/login/otp", {"code": mails.last_code(address)})
    assert verified.status_code == 303
    new = Browser(
        login.browser.client,
        mails,
        verifier=login.browser.verifier,
        state=login.browser.state,
        cookie=login.browser.cookie,
    )
    done = await new.second_factor()
    assert done.status_code == 303 and done.headers["location"].startswith(LOOPBACK)
    assert new.totp_secret != first.browser.totp_secret
    assert any(m["Subject"] == "Votre second facteur a été remplacé" for m in mails.to(address))
    # The lost phone's session ended with the old factor: its access token and its refresh token.
    assert (await first.browser.client.get("/v1/me", headers=lost_headers)).status_code == 401
    refreshed = await first.browser.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": lost_phone["refresh_token"], "client_id": "ens-mobile"},
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    late = await pending.browser.exchange(passed.headers["location"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant", late.text
    # The login waiting at the code page is told why it ended, not that it spent its codes.
    typed = await waiting.browser.post_form("/login/otp", {"code": first.browser.totp().now()})
    for ended in (typed, await waiting.browser.open("/login/otp")):
        assert ended.status_code == 400 and "remplacé pendant cette connexion" in ended.text, ended.text
        assert "Trop de codes" not in ended.text
    # The new phone signs in.
    assert (await new.exchange(done.headers["location"])).status_code == 200
    # The old authenticator no longer works; the old recovery codes neither.
    later = await _at_otp_page(fake_login, sub, first)
    old = await later.browser.post_form("/login/otp", {"code": first.browser.totp().at(time.time() + 30)})
    assert old.status_code == 400
    old_recovery = await later.browser.post_form("/login/otp", {"code": first.browser.recovery_codes[1]})
    assert old_recovery.status_code == 400


async def test_lost_factor_needs_a_fresh_authentication_at_the_provider(fake_login):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub, first)
    to_provider = await login.browser.post_form("/login/lost-factor", {})
    from tests.helpers.login import query_of

    login.upstream = query_of(to_provider.headers["location"])
    code = login.code(sub=sub)
    # The provider ignored prompt=login and reused a session from an hour ago.
    login.provider.codes[code].id_token_overrides["auth_time"] = int(time.time()) - 3600
    refused = await login.come_back(code)
    assert refused.status_code == 400


async def test_lost_factor_with_another_identity_is_refused(fake_login):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub, first)
    to_provider = await login.browser.post_form("/login/lost-factor", {})
    from tests.helpers.login import query_of

    login.upstream = query_of(to_provider.headers["location"])
    refused = await login.come_back(login.code(sub=_sub()))
    assert refused.status_code == 400 and "autre personne" in refused.text


async def test_forms_without_the_right_csrf_token_are_refused(fake_login):
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub, first)
    forged = await login.browser.post("/login/otp", {"csrf": "forged", "code": "123456"})
    assert forged.status_code == 403
    assert (await login.browser.post("/login/otp", {"code": "123456"})).status_code == 403


async def test_pages_are_french_mobile_and_never_cached(fake_login):
    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code())
    page = await login.browser.open("/login/otp")
    assert '<html lang="fr">' in page.text and 'name="viewport"' in page.text
    assert "http://" not in page.text.split("<body>")[0] and "<script" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers.get_list("referrer-policy") == ["no-referrer"]  # once, not twice


async def _back_at_the_provider_with_the_space_closed(fake_login) -> tuple[FakeLogin, Mapping[str, Any], str]:
    """A person signed in once, their space then closed, back from the provider on a new login:
    the login, their space's row and their provider identity."""
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    space = await one_row(
        "SELECT s.id FROM spaces s JOIN accounts a ON a.id = s.holder_account_id WHERE a.sub = {}", sub
    )
    await db.fetch("UPDATE spaces SET status = 'closed' WHERE id = {}", space["id"])
    login: FakeLogin = fake_login()
    login.browser.totp_secret = first.browser.totp_secret
    await login.start()
    await login.come_back(login.code(sub=sub))
    return login, space, sub


async def test_closed_space_is_offered_for_reopening_not_duplicated(fake_login):
    login, space, sub = await _back_at_the_provider_with_the_space_closed(fake_login)
    # The provider login alone neither reveals nor reopens the closed space: the second factor first.
    page = await login.browser.open("/login/otp")
    assert "Votre espace santé est fermé" not in page.text
    offered = await login.browser.second_factor()
    assert offered.headers["location"] == "/login/otp"
    status = await one_row("SELECT status FROM spaces WHERE id = {}", space["id"])
    assert status["status"] == "closed"
    page = await login.browser.open("/login/otp")
    assert "Votre espace santé est fermé" in page.text and page.text.count("<form") == 1
    assert 'value="reopen"' in page.text and 'value="later"' in page.text
    refused = await login.browser.post_form("/login/reopen", {"decision": "whatever"})
    assert refused.status_code == 400
    page = await login.browser.open("/login/otp")
    reopened = await login.browser.post_form("/login/reopen", {"decision": "reopen"})
    assert reopened.status_code == 303 and reopened.headers["location"].startswith(LOOPBACK)
    rows = await db.fetch(
        "SELECT s.id, s.status FROM spaces s JOIN accounts a ON a.id = s.holder_account_id WHERE a.sub = {}", sub
    )
    assert [(r["id"], r["status"]) for r in rows] == [(space["id"], "open")]


async def test_a_person_may_sign_in_and_leave_their_closed_space_closed(fake_login):
    """Reopening is offered, not imposed (an outside audit found no way past the page): a parent
    whose own space is closed still reaches their child's, and reopens theirs when they choose."""
    login, space, _ = await _back_at_the_provider_with_the_space_closed(fake_login)
    await login.browser.second_factor()
    await login.browser.open("/login/otp")
    went_on = await login.browser.post_form("/login/reopen", {"decision": "later"})
    assert went_on.status_code == 303 and went_on.headers["location"].startswith(LOOPBACK)
    assert (await one_row("SELECT status FROM spaces WHERE id = {}", space["id"]))["status"] == "closed"
    tokens = (await login.browser.exchange(went_on.headers["location"])).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    phone = login.browser.client
    me = await phone.get("/v1/me", headers=auth)
    assert me.status_code == 200, me.text
    assert (await phone.get("/v1/spaces/me", headers=auth)).status_code == 410
    assert (await phone.post("/v1/spaces/me/reopen", headers=auth)).status_code == 200
    assert (await phone.get("/v1/spaces/me", headers=auth)).status_code == 200


async def test_new_recovery_codes_from_the_api(fake_login, outbox):
    mails, _ = outbox
    sub = _sub()
    first, final = await signed_in_browser(fake_login, sub)
    tokens = (await first.browser.exchange(final.headers["location"])).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    # The token alone is not enough: a current code from the authenticator is asked for.
    without = await first.browser.client.post("/v1/me/otp/recovery-codes", headers=auth)
    assert without.status_code == 400
    wrong = await first.browser.client.post("/v1/me/otp/recovery-codes", headers=auth, json={"code": "000000"})
    assert wrong.status_code == 403 and wrong.json()["type"] == "urn:ens:problem:forbidden"
    fresh = first.browser.totp().at(time.time() + 30)  # the login spent the current step
    response = await first.browser.client.post("/v1/me/otp/recovery-codes", headers=auth, json={"code": fresh})
    assert response.status_code == 201 and response.headers["cache-control"].startswith("no-store")
    codes = response.json()["recoveryCodes"]
    assert len(codes) == 10 and not set(codes) & set(first.browser.recovery_codes)
    assert any(m["Subject"] == "Nouveaux codes de secours" for m in mails.to(f"{sub}@example.test"))
    login = await _at_otp_page(fake_login, sub, first)
    assert (await login.browser.post_form("/login/otp", {"code": first.browser.recovery_codes[0]})).status_code == 400
    assert (await login.browser.post_form("/login/otp", {"code": codes[0]})).status_code == 303


async def test_a_lost_factor_whose_first_code_cannot_be_sent_lands_on_its_page_not_a_500(
    fake_login, outbox, fake_settings
):
    """Back from the provider on the lost-factor way, after this hour's e-mail codes are spent: the
    person lands on the e-mail code page, told why no code came, and "send again" works later
    (here, once the codes of the hour are older than an hour). Before: a 500, and the login stuck."""
    mails, _ = outbox
    sub = _sub()
    address = f"{sub}@example.test"
    first, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub, first)
    for _ in range(fake_settings.email_codes_per_hour):
        await login.browser.post_form("/login/email-code", {})
    to_provider = await login.browser.post_form("/login/lost-factor", {})
    from tests.helpers.login import query_of

    login.upstream = query_of(to_provider.headers["location"])
    back = await login.come_back(login.code(sub=sub))
    assert back.status_code == 303 and back.headers["location"] == "/login/otp?notice=unsent"
    page = await login.browser.open(back.headers["location"])
    assert "Vérification par e-mail" in page.text and "Aucun code n'a pu vous être envoyé" in html.unescape(page.text)
    assert "Nous avons envoyé" not in page.text
    account = await one_row("SELECT id FROM accounts WHERE sub = {}", sub)
    await db.fetch(
        "UPDATE email_codes SET created_at = created_at - interval '2 hours' WHERE account_id = {}"
        if db.is_postgres(db.current())
        else "UPDATE email_codes SET created_at = datetime(created_at, '-2 hours') WHERE account_id = {}",
        account["id"],
    )
    again = await login.browser.post_form("/login/email-code", {})
    assert "envoyé par e-mail" in again.text
    verified = await login.browser.post_form("/login/otp", {"code": mails.last_code(address)})
    assert verified.status_code == 303


async def test_the_code_form_that_takes_recovery_codes_does_not_force_a_digit_pad(fake_login):
    """The code form after enrolment also takes recovery codes (``6CJPP-2PURU``): a phone showing
    only its digit pad (``inputmode="numeric"``) could not type one, on the one path left to a
    person whose phone is lost. The enrolment and e-mail forms take six digits, and keep the pad."""
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub, first)
    field = re.search(r'<input[^>]* name="code"[^>]*>', login.browser.page)
    assert field is not None and "code de secours" in login.browser.page
    assert "inputmode" not in field.group(0) and 'autocapitalize="characters"' in field.group(0)
    # A recovery code typed as a phone's letter keyboard gives it (capitals) opens the space.
    passed = await login.browser.post_form("/login/otp", {"code": first.browser.recovery_codes[0].upper()})
    assert passed.status_code == 303
    # The enrolment and the lost-factor e-mail forms: six digits, the digit pad.
    for page in (
        pages.enrol_page("", "otpauth://totp/x", secret="S", csrf="c"),
        pages.email_only_page("c", "ca…@example.fr"),
    ):
        six_digits = re.search(r'<input[^>]* name="code"[^>]*>', page)
        assert six_digits is not None and 'inputmode="numeric"' in six_digits.group(0)


async def test_what_is_refused_before_a_login_page_is_read_is_a_page_too(fake_login, fake_settings):
    # The browser shows what it gets: a page in French, never problem+json.
    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code())
    await login.browser.open("/login/otp")
    huge = await login.browser.post_form("/login/otp", {"code": "1" * (fake_settings.max_body_bytes + 1)})
    assert huge.status_code == 413 and huge.headers["content-type"].startswith("text/html")
    assert "trop volumineux" in html.unescape(huge.text)
    for query in ("notice=bad", "notice=unsent&notice=unsent"):
        followed = await login.browser.get(f"/login/otp?{query}")
        assert followed.status_code == 400 and followed.headers["content-type"].startswith("text/html")
        assert "Lien non valable" in html.unescape(followed.text), query
    # The page itself is still there.
    assert (await login.browser.open("/login/otp")).status_code == 200


async def test_a_space_being_erased_is_not_reopened_by_signing_in(fake_login):
    """An erasure past its point of no return (its data key destroyed, the space closed, its record
    unfinished: ``begin_erasure``) whose rows did not all go (the database lost between the committed
    batches that empty its growing tables, or before them) is finished by the same request sent
    again or by ``ens purge``, and cannot be reopened (``POST .../reopen`` is 409). The login's
    offer to reopen a closed space reopened it all the same: the holder was given back a space
    half erased, readable and writable, that ``ens purge`` then erased under them (found by a
    review of the batched erasure)."""
    login, space, sub = await _back_at_the_provider_with_the_space_closed(fake_login)
    account = await one_row("SELECT id FROM accounts WHERE sub = {}", sub)
    await db.fetch(
        "INSERT INTO space_erasures (id, erased_space_id, erased_by_account_id, erased_by_client_id, acting_as, "
        "request_id, erased_at) VALUES ({}, {}, {}, 'ens-app', 'holder', 'req-erase', {})",
        uuid.uuid4(),
        space["id"],
        account["id"],
        datetime.now(UTC),
    )
    went_on = await login.browser.second_factor()
    # Not offered (it was: a redirect to the offer, /login/otp): the login goes on to the app, with
    # the space left closed, its erasure to be finished.
    assert went_on.headers["location"].startswith(LOOPBACK), went_on.headers
    assert (await one_row("SELECT status FROM spaces WHERE id = {}", space["id"]))["status"] == "closed"


async def test_the_code_page_names_the_application_the_login_opens(fake_login, fake_settings):
    """An app on the phone may start a login in another's name (the phone app's is public, any
    loopback port): the code page says whose login it is, escaped (an outside audit of the login)."""
    from ens.auth.clients import MOBILE_CLIENT_NAME, register_app

    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    phone = await _at_otp_page(fake_login, sub, first)
    assert f"Connexion à <strong>{MOBILE_CLIENT_NAME}</strong>" in phone.browser.page
    app = await register_app(
        fake_settings.secret_key,
        name="Balance <b>& Co</b>",
        redirect_uris=["https://balance.example/cb"],
        scopes=["vitals.body_weight:write"],
    )
    login: FakeLogin = fake_login()
    await login.start(
        client_id=app.client_id, redirect_uri="https://balance.example/cb", scope="vitals.body_weight:write"
    )
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    assert "Connexion à <strong>Balance &lt;b&gt;&amp; Co&lt;/b&gt;</strong>" in login.browser.page
