"""An access request names a birthdate a person can have: one in the future (in every time zone)
or before 1900 is 422 at ``/birthdate``. "2086-04-12" for "1986-04-12" was answered 202, "received",
and the professional's software waited for an answer no holder could ever give (an outside audit).
A possible birthdate that matches no one still answers the one 202."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ens.core import clock
from ens.core.settings import Settings
from tests.helpers.professionals import GP, sign_in_pro


async def test_an_impossible_birthdate_is_a_422_and_a_possible_one_the_usual_202(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    doctor = await sign_in_pro(settings, GP)
    traits = {"familyName": "Martin", "givenName": "Camille"}
    # Two days ahead of UTC is tomorrow everywhere; 1899 before the earliest year ENS takes.
    for birthdate in ((clock.now() + timedelta(days=2)).date().isoformat(), "2086-04-12", "1899-12-31"):
        answer = await client.post(
            "/v1/pro/access-requests", json={**traits, "birthdate": birthdate}, headers=doctor.headers
        )
        assert answer.status_code == 422, (birthdate, answer.text)
        assert [error["pointer"] for error in answer.json()["errors"]] == ["/birthdate"], answer.text
    for birthdate in ("1900-01-01", "1986-04-12", clock.now().date().isoformat()):
        answer = await client.post(
            "/v1/pro/access-requests", json={**traits, "birthdate": birthdate}, headers=doctor.headers
        )
        assert answer.status_code == 202, (birthdate, answer.text)
