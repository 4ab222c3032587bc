"""An outside audit of the login (2026-12-04): a provider's claim ENS cannot store was a 500 on
PostgreSQL (and stored as ``"{'x': 1}"`` on SQLite); the provider's answer opened in another
browser spent the person's own login; a redirect URI holding a space was read back as two; a
missing ``response_type`` was ``unsupported_response_type``; and the lock set by thirty wrong codes
was told to no one."""

from __future__ import annotations

import html
import logging
import uuid
from typing import Any

import pytest

from ens.auth.clients import register_app
from ens.core.errors import Invalid
from ens.core.settings import Settings
from tests.helpers.login import LOOPBACK, FakeLogin, query_of, signed_in_browser


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("given_name", "A" * 256),
        ("family_name", "Mar\x00tin"),
        ("given_name", {"x": 1}),
        ("gender", "f" * 17),
        ("email", "a" * 321 + "@example.test"),
    ],
)
async def test_a_claim_ens_cannot_store_stops_the_login_with_a_page_not_a_500(
    fake_login: Any, provider: Any, caplog: pytest.LogCaptureFixture, claim: str, value: Any
) -> None:
    login: FakeLogin = fake_login()
    await login.start()
    code = login.code(sub=f"claims-{uuid.uuid4().hex[:12]}")
    provider.codes[code].claims[claim] = value
    with caplog.at_level(logging.WARNING, logger="ens.auth.login"):
        response = await login.come_back(code)
    assert response.status_code == 400, response.text
    assert "ne peut pas enregistrer" in html.unescape(response.text) and claim in response.text
    logged = [r for r in caplog.records if getattr(r, "event", None) == "upstream_claim_refused"]
    assert [getattr(r, "claim", None) for r in logged] == [claim]
    assert all(str(value) not in r.getMessage() and str(value) not in str(vars(r)) for r in logged)


async def test_the_providers_answer_opened_elsewhere_leaves_the_persons_login_alive(fake_login: Any) -> None:
    login: FakeLogin = fake_login()
    await login.start()
    code = login.code()
    cookie, login.browser.cookie = login.browser.cookie, None  # a link preview, a proxy's log
    elsewhere = await login.come_back(code)
    assert elsewhere.status_code == 400 and "autre navigateur" in elsewhere.text
    login.browser.cookie = cookie
    mine = await login.come_back(code)
    assert mine.status_code == 303 and mine.headers["location"] == "/login/otp", mine.text
    # Spent now: the answer serves once.
    assert (await login.come_back(code)).status_code == 400


async def test_a_redirect_uri_holding_a_space_is_refused(fake_settings: Settings) -> None:
    for uri in (
        "https://a.example/cb https://evil.example/cb",
        "https://a.example/cb\thttps://evil.example",
        "https://a.example/c\x01b",
    ):
        with pytest.raises(Invalid) as refused:
            await register_app(
                fake_settings.secret_key, name="Spaced", redirect_uris=[uri], scopes=["vitals.body_weight:write"]
            )
        assert "space or a control character" in refused.value.detail


async def test_a_missing_response_type_is_invalid_request(fake_login: Any) -> None:
    login: FakeLogin = fake_login()
    answer = await login.browser.authorize(response_type="")
    assert answer.status_code in (302, 303), answer.text
    back = query_of(answer.headers["location"])
    assert answer.headers["location"].startswith(LOOPBACK)
    assert back["error"] == "invalid_request" and "response_type" in back["error_description"]
    other = await login.browser.authorize(response_type="token")
    assert query_of(other.headers["location"])["error"] == "unsupported_response_type"


async def test_the_wrong_code_that_locks_the_persons_codes_is_told_to_them_and_logged(
    fake_login: Any, fake_settings: Settings, outbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mails, _ = outbox
    sub = f"locked-{uuid.uuid4().hex[:12]}"
    await signed_in_browser(fake_login, sub)
    address = f"{sub}@example.test"
    rounds = fake_settings.otp_account_max_failures // fake_settings.otp_max_failures
    with caplog.at_level(logging.WARNING, logger="ens.security"):
        for _ in range(rounds):
            attacker: FakeLogin = fake_login()
            await attacker.start()
            assert (await attacker.come_back(attacker.code(sub=sub))).status_code == 303
            await attacker.browser.open("/login/otp")
            for _ in range(fake_settings.otp_max_failures):
                await attacker.browser.post_form("/login/otp", {"code": "000000"})
    assert "bloquée" in html.unescape(attacker.browser.page)
    told = [m for m in mails.to(address) if m["Subject"] == "Connexion bloquée après des codes erronés"]
    assert len(told) == 1 and "FranceConnect" in told[0].get_content()
    locked = [r for r in caplog.records if getattr(r, "event", None) == "otp_locked"]
    assert len(locked) == 1
