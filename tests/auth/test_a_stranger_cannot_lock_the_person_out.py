"""Whoever holds only the person's password at the identity provider cannot lock them out of their
own browsers, nor have the person's own logins start the guessing over (an outside audit of the
login, 2026-12-07).

Before: six logins of five wrong codes each locked the account's second factor for everyone, the
person's right code, recovery codes and e-mail code included, lock after lock; and each right code
of the person's started the lock's escalation over, giving the guesser 30 more codes each time. A
browser that has passed the person's second factor is now remembered (a cookie, hashed with the
account in ``known_browsers``): there the person's codes count on that browser's own lock, and the
account's lock, which strangers' browsers meet, does not hold them back."""

from __future__ import annotations

import html
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from ens.auth import otp
from ens.auth.maintenance import purge_expired_login_state
from ens.core import db, keyring
from ens.core.settings import Settings
from tests.helpers.login import LOOPBACK, FakeLogin, query_of, signed_in_browser
from tests.helpers.rows import account_of, one_row

LOCKED = "bloquée"


def _sub() -> str:
    return f"stranger-{uuid.uuid4().hex[:12]}"


async def _account_failures(sub: str) -> int:
    row = await one_row(
        "SELECT g.failures FROM otp_guards g JOIN accounts a ON a.id = g.account_id WHERE a.sub = {}", sub
    )
    return int(row["failures"]) if row else 0


async def _at_otp_page(fake_login: Any, sub: str, *, known: FakeLogin | None = None) -> FakeLogin:
    """A new login of the enrolled person ``sub`` at the code form: in a stranger's browser, or
    (``known``) in the browser where ``known`` signed in, its known-browser cookie with it."""
    login: FakeLogin = fake_login()
    if known is not None:
        login.browser.known_browser = known.browser.known_browser
        login.browser.totp_secret = known.browser.totp_secret
    await login.start()
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    assert 'name="code"' in login.browser.page
    return login


async def _replace_the_factor(login: FakeLogin, sub: str, mails: Any) -> None:
    """``login``, at the code form, takes the lost-factor way: the provider again, the e-mailed
    code, a new authenticator enrolled."""
    to_provider = await login.browser.post_form("/login/lost-factor", {})
    login.upstream = query_of(to_provider.headers["location"])
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    verified = await login.browser.post_form("/login/otp", {"code": mails.last_code(f"{sub}@example.test")})
    assert verified.status_code == 303
    login.browser.totp_secret = None
    assert (await login.browser.second_factor()).status_code == 303


async def _lock_the_account(fake_login: Any, settings: Settings, sub: str) -> None:
    """What the audit did: logins from strangers' browsers, five wrong codes each, until locked."""
    for _ in range(settings.otp_account_max_failures // settings.otp_max_failures):
        stranger = await _at_otp_page(fake_login, sub)
        for _ in range(settings.otp_max_failures):
            wrong = await stranger.browser.post_form("/login/otp", {"code": "000000"})
            assert wrong.status_code == 400
    assert LOCKED in html.unescape(wrong.text)
    assert await _account_failures(sub) == settings.otp_account_max_failures


async def test_a_browser_that_passed_the_second_factor_is_remembered_by_a_cookie_not_stored(
    fake_login: Any,
) -> None:
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    token = owner.browser.known_browser
    # The account's mark (11 characters), then the random token (43).
    assert token is not None and len(token) == 11 + 43
    # Set with the answer that ended the second factor: HttpOnly, Lax, the whole site, half a year.
    replayed = await _at_otp_page(fake_login, sub, known=owner)
    passed = await replayed.browser.post_form("/login/otp", {"code": owner.browser.totp().at(time.time() + 30)})
    assert passed.status_code == 303, passed.text
    cookie = next(c for c in passed.headers.get_list("set-cookie") if c.startswith("ens_browser="))
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= set(attributes) and "domain" not in attributes
    assert attributes["max-age"].lower() == f"max-age={180 * 24 * 3600}"
    assert attributes["samesite"].lower() == "samesite=lax" and attributes["path"] == "Path=/"
    # The same token again (the browser keeps one), and only its keyed hash is stored.
    assert cookie.startswith(f"ens_browser={token};")
    rows = await db.fetch("SELECT key_hash FROM known_browsers WHERE account_id = {}", await account_of(sub))
    assert len(rows) == 1 and token[11:] not in str(rows[0]["key_hash"])


async def test_strangers_lock_the_account_not_the_persons_own_browser(fake_login: Any, fake_settings: Settings) -> None:
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    await _lock_the_account(fake_login, fake_settings, sub)
    # A stranger's browser is held back, the right code included (the account's lock).
    stranger = await _at_otp_page(fake_login, sub)
    refused = await stranger.browser.post_form("/login/otp", {"code": owner.browser.totp().at(time.time() + 30)})
    assert refused.status_code == 400 and LOCKED in html.unescape(refused.text)
    # The person's own browser is not: an e-mail code is sent there, and their code passes.
    mine = await _at_otp_page(fake_login, sub, known=owner)
    sent = await mine.browser.post_form("/login/email-code", {})
    assert sent.status_code == 200 and "Un code vous a été envoyé" in html.unescape(sent.text), sent.text
    passed = await mine.browser.post_form("/login/otp", {"code": owner.browser.totp().at(time.time() + 30)})
    assert passed.status_code == 303 and passed.headers["location"].startswith(LOOPBACK), passed.text
    # And it started nothing over for the guesser: the account's count and lock stay.
    assert await _account_failures(sub) == fake_settings.otp_account_max_failures
    again = await _at_otp_page(fake_login, sub)
    still = await again.browser.post_form("/login/otp", {"code": "000000"})
    assert still.status_code == 400 and LOCKED in html.unescape(still.text)


async def test_a_known_browsers_wrong_codes_lock_that_browser_alone(fake_login: Any, fake_settings: Settings) -> None:
    """The same limit and locks hold in a known browser (someone at the person's own computer), on
    that browser's row: the account's lock, and the person's other browsers, are not touched."""
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    for _ in range(fake_settings.otp_account_max_failures // fake_settings.otp_max_failures):
        at_the_computer = await _at_otp_page(fake_login, sub, known=owner)
        for _ in range(fake_settings.otp_max_failures):
            wrong = await at_the_computer.browser.post_form("/login/otp", {"code": "000000"})
            assert wrong.status_code == 400
    assert LOCKED in html.unescape(wrong.text)
    assert await _account_failures(sub) == 0
    held = await _at_otp_page(fake_login, sub, known=owner)
    refused = await held.browser.post_form("/login/otp", {"code": owner.browser.totp().at(time.time() + 30)})
    assert refused.status_code == 400 and LOCKED in html.unescape(refused.text)
    elsewhere = await _at_otp_page(fake_login, sub)
    elsewhere.browser.totp_secret = owner.browser.totp_secret
    passed = await elsewhere.browser.post_form("/login/otp", {"code": owner.browser.totp().at(time.time() + 30)})
    assert passed.status_code == 303, passed.text


async def test_a_cookie_is_known_to_the_account_it_passed_only(fake_login: Any, fake_settings: Settings) -> None:
    """One browser, two people (a family computer): each is remembered apart; a cookie that
    passed one person's second factor is a stranger's to the other's account."""
    first, second = _sub(), _sub()
    owner, _ = await signed_in_browser(fake_login, first)
    other, _ = await signed_in_browser(fake_login, second)
    await _lock_the_account(fake_login, fake_settings, second)
    borrowed = await _at_otp_page(fake_login, second)
    borrowed.browser.known_browser = owner.browser.known_browser  # passed `first`'s factor, not `second`'s
    code = other.browser.totp().at(time.time() + 30)
    refused = await borrowed.browser.post_form("/login/otp", {"code": code})
    assert refused.status_code == 400 and LOCKED in html.unescape(refused.text)


async def test_a_lost_factor_replaced_forgets_every_browser_but_the_one_replacing_it(
    fake_login: Any, fake_settings: Settings, outbox: Any
) -> None:
    """The lost phone's browser is no longer the person's: it meets the account's lock again."""
    mails, _ = outbox
    sub = _sub()
    lost_phone, _ = await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub)
    await _replace_the_factor(login, sub, mails)
    new_phone = login.browser.known_browser
    assert new_phone is not None and new_phone != lost_phone.browser.known_browser
    account_id = await account_of(sub)
    now = datetime.now(UTC)
    assert await otp.known_browser(fake_settings, account_id, lost_phone.browser.known_browser, now=now) is None
    assert await otp.known_browser(fake_settings, account_id, new_phone, now=now) is not None


async def test_browsers_unused_for_half_a_year_go(fake_login: Any, fake_settings: Settings) -> None:
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    account_id = await account_of(sub)
    later = datetime.now(UTC) + otp.BROWSER_KEPT + timedelta(minutes=1)
    # Past its time it is a stranger's, then purged.
    assert await otp.known_browser(fake_settings, account_id, owner.browser.known_browser, now=later) is None
    removed = await purge_expired_login_state(fake_settings, later)
    assert removed["known browsers"] >= 1
    assert await db.fetch("SELECT key_hash FROM known_browsers WHERE account_id = {}", account_id) == []


# ---------------------------------------------------------------------------------------------
# What a review of the first version found (each test failed on it).


async def _session(owner: FakeLogin, final: Any) -> dict[str, str]:
    tokens = (await owner.browser.exchange(final.headers["location"])).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_the_persons_signed_in_session_neither_restarts_the_strangers_count_nor_meets_their_lock(
    fake_login: Any, fake_settings: Settings
) -> None:
    """Renewing recovery codes from the phone app (a session past the second factor) counted on the
    account: its right code gave the guesser 30 codes more, and strangers' lock refused it."""
    sub = _sub()
    owner, final = await signed_in_browser(fake_login, sub)
    session = await _session(owner, final)
    client = owner.browser.client
    for _ in range(5):
        stranger = await _at_otp_page(fake_login, sub)
        for _ in range(fake_settings.otp_max_failures):
            assert (await stranger.browser.post_form("/login/otp", {"code": "000000"})).status_code == 400
    assert await _account_failures(sub) == 25
    code = owner.browser.totp().at(time.time() + 30)
    renewed = await client.post("/v1/me/otp/recovery-codes", headers=session, json={"code": code})
    assert renewed.status_code == 201, renewed.text
    assert await _account_failures(sub) == 25
    await _lock_the_account_from(fake_login, fake_settings, sub, already=25)
    recovery = renewed.json()["recoveryCodes"][0]
    again = await client.post("/v1/me/otp/recovery-codes", headers=session, json={"code": recovery})
    assert again.status_code == 201, again.text


async def _lock_the_account_from(fake_login: Any, settings: Settings, sub: str, *, already: int) -> None:
    stranger = await _at_otp_page(fake_login, sub)
    for _ in range(settings.otp_account_max_failures - already):
        wrong = await stranger.browser.post_form("/login/otp", {"code": "000000"})
    assert LOCKED in html.unescape(wrong.text)


async def test_strangers_cannot_spend_the_persons_e_mail_codes(fake_login: Any, fake_settings: Settings) -> None:
    """The hour's e-mail codes were counted per account: a stranger asked for them all, without a
    wrong code, and the person's own browser got none."""
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    stranger = await _at_otp_page(fake_login, sub)
    for _ in range(fake_settings.email_codes_per_hour):
        sent = await stranger.browser.post_form("/login/email-code", {})
        assert "Un code vous a été envoyé" in html.unescape(sent.text)
    refused = await (await _at_otp_page(fake_login, sub)).browser.post_form("/login/email-code", {})
    assert "Trop de codes envoyés par e-mail" in html.unescape(refused.text)
    mine = await _at_otp_page(fake_login, sub, known=owner)
    asked = await mine.browser.post_form("/login/email-code", {})
    assert "Un code vous a été envoyé" in html.unescape(asked.text), asked.text


async def test_the_lost_factor_way_in_a_known_browser_sends_its_first_code_while_strangers_lock(
    fake_login: Any, fake_settings: Settings
) -> None:
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    await _lock_the_account(fake_login, fake_settings, sub)
    mine = await _at_otp_page(fake_login, sub, known=owner)
    to_provider = await mine.browser.post_form("/login/lost-factor", {})
    mine.upstream = query_of(to_provider.headers["location"])
    back = await mine.come_back(mine.code(sub=sub))
    assert back.status_code == 303 and back.headers["location"] == "/login/otp", back.headers["location"]


async def test_a_lost_phone_whose_login_races_the_replacement_is_not_remembered_again(
    fake_login: Any, fake_settings: Settings, monkeypatch: Any
) -> None:
    """The thief's login in the lost phone passes the old code; the person's replacement lands
    (its transaction forgets the browsers); then the thief's login remembered its browser again."""
    sub = _sub()
    lost_phone, _ = await signed_in_browser(fake_login, sub)
    account_id = await account_of(sub)
    thief = await _at_otp_page(fake_login, sub, known=lost_phone)
    original = otp.remember_browser
    replaced: list[bool] = []

    async def replacement_lands_first(settings: Settings, account: Any, cookie: Any, **kwargs: Any) -> str | None:
        if not replaced:
            factor = await otp.start_enrolment(settings, account)
            replaced.append(await otp.activate_factor(account, factor, replacing=True))
        return await original(settings, account, cookie, **kwargs)

    monkeypatch.setattr(otp, "remember_browser", replacement_lands_first)
    ended = await thief.browser.post_form("/login/otp", {"code": lost_phone.browser.totp().at(time.time() + 30)})
    assert replaced == [True] and "Second facteur remplacé" in html.unescape(ended.text), ended.status_code
    known = await otp.known_browser(fake_settings, account_id, lost_phone.browser.known_browser, now=datetime.now(UTC))
    assert known is None
    assert await db.fetch("SELECT key_hash FROM known_browsers WHERE account_id = {}", account_id) == []


async def test_a_browser_row_gone_since_it_was_recognised_is_a_strangers_try_not_a_lock(
    fake_login: Any, monkeypatch: Any
) -> None:
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    mine = await _at_otp_page(fake_login, sub, known=owner)
    original = otp.known_browser

    async def then_gone(settings: Settings, account: Any, cookie: Any, *, now: datetime) -> Any:
        found = await original(settings, account, cookie, now=now)
        await db.fetch("DELETE FROM known_browsers WHERE account_id = {}", account)
        return found

    monkeypatch.setattr(otp, "known_browser", then_gone)
    passed = await mine.browser.post_form("/login/otp", {"code": owner.browser.totp().at(time.time() + 30)})
    assert passed.status_code == 303 and LOCKED not in html.unescape(passed.text), passed.text


async def test_after_a_key_change_a_known_browser_keeps_one_row_its_count_with_it(
    fake_login: Any, fake_settings: Settings
) -> None:
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    account_id = await account_of(sub)
    await db.fetch("UPDATE known_browsers SET failures = 7 WHERE account_id = {}", account_id)
    old = fake_settings.secret_key
    new = msgspec.structs.replace(fake_settings, secret_key="n" * 40, previous_secret_keys=old)
    keyring.configure(new.secret_key, (old,))
    try:
        cookie = owner.browser.known_browser
        now = datetime.now(UTC)
        found = await otp.known_browser(new, account_id, cookie, now=now)
        assert found is not None
        again = await otp.remember_browser(new, account_id, cookie, known=found, attempt_id=uuid.uuid4(), now=now)
        # The same token, under the new key's mark of the account.
        assert again is not None and cookie is not None and again[11:] == cookie[11:] and again != cookie
        rows = await db.fetch("SELECT key_hash, failures FROM known_browsers WHERE account_id = {}", account_id)
        assert len(rows) == 1 and rows[0]["failures"] == 7 and rows[0]["key_hash"] != found.key
        assert (await otp.known_browser(new, account_id, again, now=now)) is not None
    finally:
        keyring.configure(old, ())


async def test_a_planted_token_is_never_adopted(fake_login: Any) -> None:
    """A cookie set in the person's browser by someone else (plain HTTP, a sibling host) would have
    made its planter's copy a known browser: a token this account never issued is replaced."""
    sub = _sub()
    planted = "M" * 11 + "P" * 43  # a mark and a token of the right shape
    login: FakeLogin = fake_login()
    login.browser.known_browser = planted
    await login.start()
    await login.come_back(login.code(sub=sub))
    assert (await login.browser.second_factor()).status_code == 303
    held = login.browser.known_browser
    assert held is not None and held.split(".")[0] != planted and held.split(".")[1:] == [planted]
    account_id = await account_of(sub)
    assert await otp.known_browser(Settings.from_env({}, env="dev"), account_id, planted, now=datetime.now(UTC)) is None


async def test_one_browser_two_people_each_remembered_by_their_own_token(fake_login: Any) -> None:
    """A family computer: each person's token beside the other's in the cookie, known to its own account."""
    first, second = _sub(), _sub()
    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code(sub=first))
    assert (await login.browser.second_factor()).status_code == 303
    theirs: FakeLogin = fake_login()
    theirs.browser.known_browser = login.browser.known_browser
    await theirs.start()
    await theirs.come_back(theirs.code(sub=second))
    assert (await theirs.browser.second_factor()).status_code == 303
    cookie = theirs.browser.known_browser
    assert cookie is not None and len(cookie.split(".")) == 2
    settings, now = Settings.from_env({}, env="dev"), datetime.now(UTC)
    one, two = [await otp.known_browser(settings, await account_of(s), cookie, now=now) for s in (first, second)]
    assert one is not None and two is not None and one.token != two.token


async def test_an_account_keeps_its_twenty_most_recent_browsers(fake_login: Any, fake_settings: Settings) -> None:
    """A client that keeps no cookie makes a row at each login: an account keeps its 20 newest."""
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    account_id = await account_of(sub)
    now = datetime.now(UTC)
    for minutes in range(otp.BROWSERS_PER_ACCOUNT + 5):
        await otp.remember_browser(
            fake_settings, account_id, None, known=None, attempt_id=uuid.uuid4(), now=now + timedelta(minutes=minutes)
        )
    rows = await db.fetch("SELECT key_hash FROM known_browsers WHERE account_id = {}", account_id)
    assert len(rows) == otp.BROWSERS_PER_ACCOUNT
    assert await otp.known_browser(fake_settings, account_id, owner.browser.known_browser, now=now) is None


async def test_a_dead_token_is_replaced_in_its_own_slot_never_pushing_another_persons_out(
    fake_login: Any, fake_settings: Settings
) -> None:
    """A family computer where one person's browser row keeps going (a factor replaced elsewhere,
    the expiry, the cap): each of their logins there made a new token beside the dead one, and
    enough of those pushed the other person's live token out of the cookie's five (a re-review)."""
    first, second = _sub(), _sub()
    other, _ = await signed_in_browser(fake_login, second)
    await signed_in_browser(fake_login, first)
    first_id, now = await account_of(first), datetime.now(UTC)
    cookie = other.browser.known_browser
    for _ in range(otp.TOKENS_PER_BROWSER + 1):
        await db.fetch("DELETE FROM known_browsers WHERE account_id = {}", first_id)
        assert await otp.known_browser(fake_settings, first_id, cookie, now=now) is None
        cookie = await otp.remember_browser(
            fake_settings, first_id, cookie, known=None, attempt_id=uuid.uuid4(), now=now
        )
        assert cookie is not None and len(cookie.split(".")) == 2, cookie
    assert await otp.known_browser(fake_settings, await account_of(second), cookie, now=now) is not None
    assert await otp.known_browser(fake_settings, first_id, cookie, now=now) is not None


async def test_the_cap_evicts_once_seen_rows_before_a_browser_the_person_comes_back_to(
    fake_login: Any, fake_settings: Settings
) -> None:
    """An app's private in-app browser keeps no cookie: a row a login, never seen again. Twenty of
    them evicted the person's computer, used once a month, which then met strangers' lock."""
    sub = _sub()
    computer, _ = await signed_in_browser(fake_login, sub)
    account_id, now = await account_of(sub), datetime.now(UTC)
    cookie = computer.browser.known_browser
    known = await otp.known_browser(fake_settings, account_id, cookie, now=now)
    assert known is not None  # its second login there: seen again
    await otp.remember_browser(fake_settings, account_id, cookie, known=known, attempt_id=uuid.uuid4(), now=now)
    for minutes in range(1, otp.BROWSERS_PER_ACCOUNT + 5):
        later = now + timedelta(minutes=minutes)
        await otp.remember_browser(fake_settings, account_id, None, known=None, attempt_id=uuid.uuid4(), now=later)
    rows = await db.fetch("SELECT key_hash FROM known_browsers WHERE account_id = {}", account_id)
    assert len(rows) == otp.BROWSERS_PER_ACCOUNT
    assert await otp.known_browser(fake_settings, account_id, cookie, now=now) is not None
    # The browser just used is kept even when every other row was seen again.
    await db.fetch("UPDATE known_browsers SET seen_again = TRUE WHERE account_id = {}", account_id)
    newest = await otp.remember_browser(
        fake_settings, account_id, None, known=None, attempt_id=uuid.uuid4(), now=now - timedelta(days=1)
    )
    assert await otp.known_browser(fake_settings, account_id, newest, now=now) is not None


async def test_a_factor_replaced_in_a_known_browser_gives_it_a_new_token(
    fake_login: Any, fake_settings: Settings, outbox: Any
) -> None:
    """README: whoever read a shared computer's cookie holds every member's token 'until their next
    factor replacement'. A replacement done in that very browser must then not keep the old token."""
    mails, _ = outbox
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    copied = owner.browser.known_browser  # someone read the shared computer's cookie
    assert copied is not None
    login = await _at_otp_page(fake_login, sub, known=owner)
    await _replace_the_factor(login, sub, mails)
    account_id = await account_of(sub)
    now = datetime.now(UTC)
    # The factor was replaced: the copy taken before must be a stranger's now.
    assert await otp.known_browser(fake_settings, account_id, copied, now=now) is None, (
        "old token revived after the factor replacement",
        copied,
        login.browser.known_browser,
    )


async def test_with_the_old_key_listed_the_old_marked_dead_part_is_replaced(
    fake_login: Any, fake_settings: Settings
) -> None:
    sub, other_sub = _sub(), _sub()
    other, _ = await signed_in_browser(fake_login, other_sub)
    owner, _ = await signed_in_browser(fake_login, sub)
    account_id = await account_of(sub)
    assert owner.browser.known_browser is not None and other.browser.known_browser is not None
    cookie = owner.browser.known_browser + "." + other.browser.known_browser
    old = fake_settings.secret_key
    new = msgspec.structs.replace(fake_settings, secret_key="n" * 40, previous_secret_keys=old)
    keyring.configure(new.secret_key, (old,))
    try:
        now = datetime.now(UTC)
        await db.fetch("DELETE FROM known_browsers WHERE account_id = {}", account_id)  # its row dead
        assert await otp.known_browser(new, account_id, cookie, now=now) is None
        again = await otp.remember_browser(new, account_id, cookie, known=None, attempt_id=uuid.uuid4(), now=now)
        assert again is not None and len(again.split(".")) == 2, again
        assert again.split(".")[1] == other.browser.known_browser
        assert await otp.known_browser(new, await account_of(other_sub), again, now=now) is not None
        assert await otp.known_browser(new, account_id, again, now=now) is not None
    finally:
        keyring.configure(old, ())


async def test_an_accounts_marks_differ_from_one_browser_to_the_next(fake_login: Any) -> None:
    """Privacy: a mark of the account alone was the same in every browser, a pseudonym linking them (a review)."""
    sub = _sub()
    first, _ = await signed_in_browser(fake_login, sub)
    second = await _at_otp_page(fake_login, sub)  # another computer
    second.browser.totp_secret = first.browser.totp_secret
    assert (await second.browser.second_factor(time.time() + 30)).status_code == 303
    a, b = first.browser.known_browser, second.browser.known_browser
    assert a is not None and b is not None and a[11:] != b[11:]
    assert a[:11] != b[:11], (a, b)
