"""A refused one-time code is said where the person is: beside the code's field, and tied to it for a
screen reader (an outside audit, in Chromium at 360 px).

The field takes the focus when a page with a refusal opens, so a phone shows the page scrolled to
the field and a screen reader starts reading there. The refusal was said at the top of the page:
on the enrolment page, whose QR code stands between the two, it was 180 px above the screen, and a
screen reader, its focus on the field, read the label alone ("Code à 6 chiffres..."), never the
refusal. On first sight the enrolment page took the focus to the field too, below the steps to
follow (the page opened scrolled past its title and the link to the authenticator app).
"""

from __future__ import annotations

import re
import uuid

from tests.helpers.login import FakeLogin, signed_in_browser


def _code_input(page: str) -> str:
    found = re.search(r'<input[^>]* name="code"[^>]*>', page)
    assert found is not None, page
    return found.group(0)


def _said_at_the_field(page: str, text: str) -> None:
    """``text`` is said in the element the code's field names as its description, just before it."""
    field = _code_input(page)
    assert 'aria-invalid="true"' in field and 'aria-describedby="code-error"' in field, field
    refusal = re.search(r'<p class="error" id="code-error" role="alert">([^<]*)</p>(<input[^>]*>)', page)
    assert refusal is not None, page
    assert text in refusal.group(1) and refusal.group(2) == field
    assert page.count('class="error"') == 1  # not said twice (the top of the page no more)
    assert "autofocus" in field


async def test_a_refused_enrolment_code_is_said_after_the_qr_code_at_the_field(fake_login):
    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code())
    first_sight = await login.browser.open("/login/otp")
    assert "otpauth://" in first_sight.text
    # The page opens at its title: the field waits for the person to have added the key.
    assert "autofocus" not in _code_input(first_sight.text) and "aria-invalid" not in first_sight.text
    refused = await login.browser.post_form("/login/otp", {"code": "123"})
    assert refused.status_code == 400
    _said_at_the_field(refused.text, "Le code doit comporter 6 chiffres.")
    assert refused.text.index('<div class="qr">') < refused.text.index('id="code-error"')


async def test_a_refused_code_at_a_later_login_is_tied_to_the_field(fake_login):
    sub = f"field-{uuid.uuid4().hex[:12]}"
    await signed_in_browser(fake_login, sub)
    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code(sub=sub))
    page = await login.browser.open("/login/otp")
    assert "aria-invalid" not in page.text and "autofocus" in _code_input(page.text)
    refused = await login.browser.post_form("/login/otp", {"code": "000000"})
    assert refused.status_code == 400
    _said_at_the_field(refused.text, "Il vous reste 4 essais.")


async def test_a_code_that_could_not_be_sent_is_not_blamed_on_the_field(fake_login, fake_settings, outbox):
    """No code sent (the hourly limit): said at the top of the page, the field left as it is."""
    sub = f"field-{uuid.uuid4().hex[:12]}"
    await signed_in_browser(fake_login, sub)
    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code(sub=sub))
    await login.browser.open("/login/otp")
    for _ in range(fake_settings.email_codes_per_hour):
        await login.browser.post_form("/login/email-code", {})
    limited = await login.browser.post_form("/login/email-code", {})
    assert limited.status_code == 400 and "Trop de codes envoyés" in limited.text
    assert "aria-invalid" not in limited.text and 'id="code-error"' not in limited.text
    assert limited.text.index('role="alert"') < limited.text.index('name="code"')
