"""The recovery codes are shown once, after the enrolment's first code; what the page says after that
(an outside audit of the login pages, in Chromium at 360 px).

- Asked again (``GET /login/otp``), the page said "Notez ces codes... Ils ne seront plus jamais
  affichés" above an empty list: a person who had not noted them looked for codes that were not
  there, and a screen reader announced a list of none.
- The codes are the answer to the form that sent the first code (a POST). A reload sends that form
  again, as does a phone bringing back a tab it had put away, while the person copied the codes
  elsewhere: that was "Connexion impossible. Cette étape de la connexion est terminée. Recommencez
  depuis l'application", a login given up that was still going on.
"""

from __future__ import annotations

import time

from tests.helpers.login import FakeLogin, otpauth_secret, recovery_codes_of


async def _codes_shown(fake_login) -> tuple[FakeLogin, str]:
    """A first login at its recovery codes; returns it and the code that enrolled."""
    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code())
    await login.browser.open("/login/otp")
    login.browser.totp_secret = otpauth_secret(login.browser.page)
    code = login.browser.totp().at(time.time())
    shown = await login.browser.post_form("/login/otp", {"code": code})
    assert shown.status_code == 200 and len(recovery_codes_of(shown.text)) == 10
    return login, code


def _says_they_were_shown(page: str) -> None:
    assert "Notez ces codes" not in page and "<ol" not in page, page
    assert "déjà été affichés" in page and "nouveaux" in page
    assert 'action="/login/recovery-codes"' in page


async def test_the_codes_page_asked_again_says_they_were_shown_and_the_login_goes_on(fake_login):
    login, _ = await _codes_shown(fake_login)
    again = await login.browser.open("/login/otp")
    assert again.status_code == 200
    _says_they_were_shown(again.text)
    assert (await login.browser.post_form("/login/recovery-codes", {})).status_code == 303


async def test_the_enrolment_form_sent_again_does_not_end_the_login(fake_login):
    login, code = await _codes_shown(fake_login)
    resent = await login.browser.post_form("/login/otp", {"code": code})
    assert resent.status_code == 200, resent.text
    _says_they_were_shown(resent.text)
    # The codes are not shown a second time, and the login goes on to the app.
    assert recovery_codes_of(resent.text) == []
    done = await login.browser.post_form("/login/recovery-codes", {})
    assert done.status_code == 303 and done.headers["location"].startswith("http://127.0.0.1")
