"""A code that cannot be one (empty, letters where digits go, a recovery code in the enrolment form,
a field left out) is answered with what a code looks like and spends none of the attempt's tries
(an outside review, 2026-12-02: each such slip cost one of the five). A well-formed wrong code
still spends one."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest

from ens.core import db
from ens.core.settings import Settings
from tests.auth.test_wrong_codes_end_the_attempt_not_the_account import _at_otp_page
from tests.helpers.login import FakeLogin, signed_in_browser


async def _failures(sub: str) -> int:
    rows = await db.fetch(
        "SELECT g.failures FROM otp_guards g JOIN accounts a ON a.id = g.account_id WHERE a.sub = {}", sub
    )
    return sum(int(row["failures"]) for row in rows)


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "abcdef", "\uff11\uff12\uff13\uff14\uff15", "ÉÉÉÉÉÉ", "ABCDEFGHJ0"]
)
async def test_a_code_of_no_possible_shape_costs_no_try(fake_login: Any, fake_settings: Settings, code: str) -> None:
    sub = f"shape-{uuid.uuid4().hex[:12]}"
    await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub)
    for _ in range(fake_settings.otp_max_failures + 1):
        answer = await login.browser.post_form("/login/otp", {"code": code})
        assert answer.status_code == 400, answer.text
        assert "Trop de codes" not in html.unescape(answer.text)
    assert await _failures(sub) == 0
    # A well-formed wrong code still counts.
    wrong = await login.browser.post_form("/login/otp", {"code": "000000"})
    assert f"reste {fake_settings.otp_max_failures - 1} essai" in html.unescape(wrong.text)
    assert await _failures(sub) == 1


async def test_a_missing_code_field_costs_no_try(fake_login: Any) -> None:
    sub = f"shape-{uuid.uuid4().hex[:12]}"
    await signed_in_browser(fake_login, sub)
    login = await _at_otp_page(fake_login, sub)
    answer = await login.browser.post_form("/login/otp", {})
    assert answer.status_code == 400
    assert await _failures(sub) == 0


async def test_a_recovery_code_in_the_enrolment_form_costs_no_try(fake_login: Any) -> None:
    sub = f"shape-{uuid.uuid4().hex[:12]}"
    login: FakeLogin = fake_login()
    await login.start()
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    assert "otpauth://" in login.browser.page  # the enrolment form
    answer = await login.browser.post_form("/login/otp", {"code": "ABCD-EFGH-JK"})
    assert answer.status_code == 400 and "6 chiffres" in html.unescape(answer.text)
    assert await _failures(sub) == 0
