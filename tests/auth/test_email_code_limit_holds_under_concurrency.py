"""``ENS_EMAIL_CODES_PER_HOUR`` holds when the requests come all at once: the limit is taken in the
database in one step with the code's creation, so parallel ``POST /login/email-code`` (from one
login page or several) send at most that many e-mails."""

from __future__ import annotations

import uuid

from ens.core import db
from tests.helpers.login import FakeLogin, concurrently, csrf_of, signed_in_browser

PARALLEL = 20
BROWSERS = 4


async def _at_otp_page(fake_login, sub: str) -> FakeLogin:
    login: FakeLogin = fake_login()
    await login.start()
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    assert "/login/email-code" in login.browser.page
    return login


async def test_parallel_requests_send_at_most_the_hourly_limit(fake_login, outbox, fake_settings):
    mails, _ = outbox
    sub = f"mail-{uuid.uuid4().hex[:12]}"
    await signed_in_browser(fake_login, sub)
    address = f"{sub}@example.test"
    logins = [await _at_otp_page(fake_login, sub) for _ in range(BROWSERS)]
    answers = await concurrently(
        *[
            logins[i % BROWSERS].browser.post("/login/email-code", {"csrf": csrf_of(logins[i % BROWSERS].browser.page)})
            for i in range(PARALLEL)
        ]
    )
    statuses = sorted({a.status_code for a in answers})
    assert set(statuses) <= {200, 400}, statuses
    sent = [a for a in answers if "Un code vous a été envoyé" in a.text]
    limited = [a for a in answers if "Trop de codes envoyés" in a.text]
    limit = fake_settings.email_codes_per_hour
    assert len(sent) == limit and len(limited) == PARALLEL - limit
    codes_mailed = [m for m in mails.to(address) if "code de connexion est" in m.get_content()]
    assert len(codes_mailed) == limit
    rows = await db.fetch(
        "SELECT COUNT(*) AS n FROM email_codes WHERE account_id IN (SELECT id FROM accounts WHERE sub = {})", sub
    )
    assert int(rows[0]["n"]) == limit
