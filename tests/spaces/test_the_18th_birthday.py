"""A parent's access ends on the child's 18th birthday in the space's time zone, computed at every
request; from the 17th birthday a parent makes the claim code; the young adult takes the space over
with their own identity (issue 12, point 5)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from ens.core import clock, db
from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.spaces import adulthood as adulthood_module
from ens.spaces.adulthood import send_adulthood_notices
from ens.spaces.codes import space_of
from ens.spaces.door import SpaceRef, adulthood, representation_kind
from ens.spaces.representatives import end_court_measure
from tests.helpers.carers import (
    court_measure,
    create_child_space,
    join_as_second_parent,
    representation,
    set_birthdate,
    today_in_paris,
    years_before,
)
from tests.helpers.concurrency import allergy_being_written, open_transaction, second_while_first_is_open
from tests.helpers.login import Outbox
from tests.helpers.mail import Stopped, StopsAt, WaitsAt, address, lease_passed, mailer_on
from tests.helpers.people import HistoryRows, MakeAppToken, MakePerson, Person, grant_app
from tests.helpers.professionals import GP, authorise, sign_in_pro

PARIS = ZoneInfo("Europe/Paris")
# The parents' notice of a coming 18th birthday, once told (owed, its row says so until then).
TOLD = "SELECT id FROM space_notices WHERE space_id = {} AND NOT owed"


def _space(born: date, timezone: str = "Europe/Paris") -> SpaceRef:
    return SpaceRef(
        id=uuid.uuid4(),
        status="open",
        timezone=timezone,
        birthdate=born,
        sex=None,
        given_name="Léa",
        family_name="Martin",
        holder_account_id=None,
    )


def _parent_kind(space: SpaceRef, now: datetime) -> str | None:
    return representation_kind(
        kind="parent",
        relates_to="person",
        since=datetime(2010, 1, 1, tzinfo=UTC),
        until=None,
        consent_until=None,
        space=space,
        now=now,
    )


def test_the_right_ends_at_midnight_of_the_birthday_in_the_spaces_zone() -> None:
    space = _space(date(2008, 12, 2))
    midnight = datetime(2026, 12, 2, 0, 0, tzinfo=PARIS)  # 23:00 UTC the day before
    assert adulthood(space) == midnight.astimezone(UTC)
    assert _parent_kind(space, midnight - timedelta(microseconds=1)) == "parent"
    assert _parent_kind(space, midnight) is None
    # Another zone, another instant: Nouméa's midnight comes eleven hours before Paris's... and UTC's after.
    noumea = _space(date(2008, 12, 2), "Pacific/Noumea")
    assert adulthood(noumea) == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert _parent_kind(noumea, datetime(2026, 12, 1, 12, 59, tzinfo=UTC)) == "parent"
    assert _parent_kind(noumea, datetime(2026, 12, 1, 13, 0, tzinfo=UTC)) is None


def test_a_29_february_child_comes_of_age_on_1_march() -> None:
    space = _space(date(2008, 2, 29))
    assert adulthood(space) == datetime(2026, 3, 1, 0, 0, tzinfo=PARIS).astimezone(UTC)


async def test_over_http_the_day_before_opens_and_the_birthday_closes(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent = await make_person()
    child = await create_child_space(client, parent)
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=1), 18))
    assert (await client.get(f"/v1/spaces/{child}", headers=parent.headers)).status_code == 200
    listed = {s["id"]: s for s in (await client.get("/v1/me", headers=parent.headers)).json()["spaces"]}
    assert str(child) in listed
    await set_birthdate(child, years_before(today_in_paris(), 18))
    assert (await client.get(f"/v1/spaces/{child}", headers=parent.headers)).status_code == 404
    assert (await client.get(f"/v1/spaces/{child}/vitals", headers=parent.headers)).status_code == 404
    listed = {s["id"]: s for s in (await client.get("/v1/me", headers=parent.headers)).json()["spaces"]}
    assert str(child) not in listed


async def test_a_claim_code_from_the_17th_birthday_and_the_space_taken_over_at_18(
    client: httpx.AsyncClient, make_person: MakePerson, history: HistoryRows, settings: Settings
) -> None:
    parent, other_parent = await make_person(), await make_person()
    child = await create_child_space(client, parent, given_name="Inès")
    assert (await join_as_second_parent(client, parent, other_parent, child)).status_code == 200
    written = await client.post(
        f"/v1/spaces/{child}/vitals",
        json={
            "measurements": [{"type": "body_weight", "value": 52, "unit": "kg", "effectiveAt": "2026-02-01T08:00:00Z"}]
        },
        headers=parent.headers,
    )
    assert written.status_code == 201
    # Before the 17th birthday: too early.
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=1), 17))
    early = await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)
    assert early.status_code == 409 and "17th birthday" in early.json()["detail"]
    # On the 17th birthday: a code, valid until three months after the 18th.
    born = years_before(today_in_paris(), 17)
    await set_birthdate(child, born)
    made = await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    code = made.json()["code"]
    assert made.json()["adulthoodOn"] == born.replace(year=born.year + 18).isoformat()
    assert datetime.fromisoformat(made.json()["expiresAt"]) > clock.now() + timedelta(days=365)
    # The young adult signs in with their own identity; before 18 the code waits.
    young = await make_person(given_name="Inès", birthdate=born)
    waiting = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert waiting.status_code == 409 and "18th birthday" in waiting.json()["detail"]
    # Their 18th birthday: the parents' right has ended; the code still works.
    await set_birthdate(child, years_before(today_in_paris(), 18))
    await db.fetch(
        "UPDATE accounts SET birthdate = {} WHERE id = {}", years_before(today_in_paris(), 18), young.account_id
    )
    assert (await client.get(f"/v1/spaces/{child}", headers=parent.headers)).status_code == 404
    # Someone else with the code but another birthdate is refused (and the code is not spent).
    impostor = await make_person(birthdate=date(1990, 5, 17))
    refused = await client.post(f"/v1/claims/{code}/accept", headers=impostor.headers)
    assert refused.status_code == 403 and "birthdate" in refused.json()["detail"]
    claimed = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["id"] == str(child) and claimed.json()["role"] == "holder"
    # The space is theirs with everything in it, under "me".
    listed = (await client.get("/v1/spaces/me/vitals", headers=young.headers)).json()["items"]
    assert [item["value"] for item in listed] == [52]
    me = (await client.get("/v1/me", headers=young.headers)).json()
    assert [s["id"] for s in me["spaces"]] == [str(child)]
    # The empty space their first sign-in made is gone, with the operators' record of it.
    assert await db.fetch_one("SELECT id FROM spaces WHERE id = {}", young.space_id) is None
    erasure = await db.fetch_one("SELECT acting_as FROM space_erasures WHERE erased_space_id = {}", young.space_id)
    assert erasure is not None
    # The parents' links are ended, kept with the reason; their actions stay in the history.
    ended = await db.fetch("SELECT revoked_at, ended_reason FROM representatives WHERE space_id = {}", child)
    assert len(ended) == 2 and all(
        r["revoked_at"] is not None and r["ended_reason"] == "holder came of age" for r in ended
    )
    rows = await history(child)
    assert {r["actor_kind"] for r in rows if r["acting_as"] == "representative"} == {"parent"}
    taken = [r for r in rows if r["action"] == "POST /v1/claims/{code}/accept"]
    assert [(r["acting_as"], r["actor_account_id"], r["outcome"]) for r in taken] == [("holder", young.account_id, 200)]
    # Used once.
    assert (await client.post(f"/v1/claims/{code}/accept", headers=young.headers)).status_code == 404
    assert (await client.get(f"/v1/spaces/{child}", headers=other_parent.headers)).status_code == 404


async def test_a_providers_presumed_first_of_january_is_the_same_person(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent = await make_person()
    child = await create_child_space(client, parent)
    born = years_before(today_in_paris(), 17)
    await set_birthdate(child, born)
    code = (await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)).json()["code"]
    adult = years_before(today_in_paris() - timedelta(days=1), 18)
    await set_birthdate(child, adult)
    young = await make_person(birthdate=date(adult.year, 1, 1))
    assert (await client.post(f"/v1/claims/{code}/accept", headers=young.headers)).status_code == 200


async def _a_code_and_its_young_adult(client: httpx.AsyncClient, make_person: MakePerson) -> tuple[uuid.UUID, str, Any]:
    """A child's space whose parent made the claim code at 17, the child 18 today, and the young
    adult signed in with their own identity: the space, the code, the young adult."""
    parent = await make_person()
    child = await create_child_space(client, parent)
    await set_birthdate(child, years_before(today_in_paris(), 17))
    code = (await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)).json()["code"]
    adult = years_before(today_in_paris(), 18)
    await set_birthdate(child, adult)
    return child, code, await make_person(birthdate=adult)


async def test_a_young_adult_who_already_keeps_data_is_not_merged(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    child, code, young = await _a_code_and_its_young_adult(client, make_person)
    own = await client.post(
        "/v1/spaces/me/vitals",
        json={
            "measurements": [
                {"type": "steps_per_day", "value": 9000, "unit": "/d", "effectiveAt": "2026-02-01T20:00:00Z"}
            ]
        },
        headers=young.headers,
    )
    assert own.status_code == 201
    refused = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert refused.status_code == 409 and "merge" in refused.json()["detail"]
    # Nothing changed: their own space and the child's are as they were; the code still works later.
    assert (await client.get("/v1/spaces/me/vitals", headers=young.headers)).json()["items"][0]["value"] == 9000
    row = await db.fetch_one("SELECT holder_account_id FROM spaces WHERE id = {}", child)
    assert row is not None and row["holder_account_id"] is None


async def test_a_court_measure_on_the_young_adults_own_space_stops_the_claim(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The claim erased the own space with the tutelle recorded on it: the tutor lost every access,
    nothing said so (a review). Now it is refused, naming the measure, and nothing is erased; once
    an operator ended the measure there, the same code works."""
    child, code, young = await _a_code_and_its_young_adult(client, make_person)
    tutor = await make_person(given_name="Tuteur")
    measure = await court_measure(young, tutor, "tutelle", since=today_in_paris() - timedelta(days=1))
    refused = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert "guardian (tutelle)" in refused.json()["detail"] and "operator" in refused.json()["detail"]
    # Nothing changed: the own space, the measure and the tutor's access; the child's space unclaimed.
    assert await db.fetch_one("SELECT id FROM spaces WHERE id = {}", young.space_id) is not None
    assert await db.fetch("SELECT id FROM space_erasures WHERE erased_space_id = {}", young.space_id) == []
    live = await representation(young.space_id, tutor.account_id)
    assert live is not None and live["revoked_at"] is None
    assert (await client.get(f"/v1/spaces/{young.space_id}", headers=tutor.headers)).status_code == 200
    row = await db.fetch_one("SELECT holder_account_id FROM spaces WHERE id = {}", child)
    assert row is not None and row["holder_account_id"] is None
    # The operator ends the measure there (to record it on the space taken over): the code works.
    await end_court_measure(young.space_id, measure, reason="TJ Lyon: mesure reportée sur l'espace repris")
    assert (await client.post(f"/v1/claims/{code}/accept", headers=young.headers)).status_code == 200
    assert await db.fetch("SELECT id FROM space_erasures WHERE erased_space_id = {}", young.space_id) != []


async def test_an_app_and_a_professional_on_the_own_space_stop_the_claim_until_revoked(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken, settings: Settings
) -> None:
    child, code, young = await _a_code_and_its_young_adult(client, make_person)
    app = await make_app_token(young, ["vitals.body_weight:read"])
    pro = await sign_in_pro(settings, GP)
    entry = await authorise(client, young, pro)
    refused = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "connected apps: 1" in detail and "professionals' authorisations: 1" in detail
    assert (await client.get("/v1/spaces/me/vitals?type=body_weight", headers=app.headers)).status_code == 200
    # The holder revokes both in their own space: nothing stands in the way any more.
    own = f"/v1/spaces/{young.space_id}"
    assert (await client.delete(f"{own}/grants/{app.grant_id}", headers=young.headers)).status_code == 204
    assert (await client.delete(f"{own}/professionals/{entry['id']}", headers=young.headers)).status_code == 204
    claimed = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert claimed.status_code == 200 and claimed.json()["id"] == str(child)


async def test_an_app_whose_right_lapsed_on_the_own_space_does_not_stop_the_claim(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The claim counted an app a guardian connected under a measure whose last day passed, which
    the door refuses and the holder's list leaves out: "connected apps: 1", nothing to revoke, the
    claim refused for good (a review). It counts what the list shows."""
    child, code, young = await _a_code_and_its_young_adult(client, make_person)
    tutor = await make_person(given_name="Tuteur")
    measure = await court_measure(young, tutor, "tutelle", since=today_in_paris() - timedelta(days=1))
    await grant_app(settings, young, ["vitals.body_weight:read"], client_id="app-lapsed", name="Balance", by=tutor)
    await db.fetch(
        "UPDATE representatives SET until = {} WHERE space_id = {} AND id = {}",
        clock.now() - timedelta(seconds=1),
        young.space_id,
        measure,
    )  # the measure's last day has passed: nothing else happens
    assert (await client.get(f"/v1/spaces/{young.space_id}/grants", headers=young.headers)).json()["items"] == []
    claimed = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert claimed.status_code == 200 and claimed.json()["id"] == str(child), claimed.text


async def test_a_professional_a_parent_authorised_reads_until_the_18th_birthday_then_as_the_young_adult_decides(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """A parent's authorisation lives on the parent's authority, as an app a parent connects: it
    ran its year and kept reading the young adult's space after the claim (a review)."""
    parent = await make_person()
    born = years_before(today_in_paris() + timedelta(days=100), 18)
    child = await create_child_space(client, parent, birthdate=born)
    pro = await sign_in_pro(settings, GP)
    entry = await authorise(client, parent, pro, space=child)
    comes_of_age = adulthood(await space_of(child))
    assert datetime.fromisoformat(entry["until"]) == comes_of_age
    assert (await client.get(f"/v1/spaces/{child}/vitals", headers=pro.headers)).status_code == 200
    code = (await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)).json()["code"]
    # 101 days later (the dates moved back): the birthday has passed, the authorisation with it.
    await set_birthdate(child, years_before(today_in_paris() - timedelta(days=1), 18))
    await db.fetch(
        "UPDATE space_professionals SET since = {}, until = {} WHERE space_id = {}",
        clock.aware(entry["since"]) - timedelta(days=101),
        comes_of_age - timedelta(days=101),
        child,
    )
    assert (await client.get(f"/v1/spaces/{child}/vitals", headers=pro.headers)).status_code == 404
    # The young adult takes the space over: the professional is listed, expired, and reads nothing
    # until the young adult renews them (their own decision, for a year).
    young = await make_person(birthdate=years_before(today_in_paris() - timedelta(days=1), 18))
    assert (await client.post(f"/v1/claims/{code}/accept", headers=young.headers)).status_code == 200
    assert (await client.get(f"/v1/spaces/{child}/vitals", headers=pro.headers)).status_code == 404
    items = (await client.get(f"/v1/spaces/{child}/professionals", headers=young.headers)).json()["items"]
    assert [(item["id"], item["status"]) for item in items] == [(entry["id"], "expired")]
    current = await client.get(f"/v1/spaces/{child}/professionals/{entry['id']}", headers=young.headers)
    renewed = await client.patch(
        f"/v1/spaces/{child}/professionals/{entry['id']}",
        json={"renew": True},
        headers={**young.headers, "If-Match": current.headers["etag"]},
    )
    assert renewed.status_code == 200, renewed.text
    assert datetime.fromisoformat(renewed.json()["until"]) > clock.now() + timedelta(days=360)
    assert (await client.get(f"/v1/spaces/{child}/vitals", headers=pro.headers)).status_code == 200


async def test_the_authorisations_parents_gave_before_are_cut_to_the_18th_birthday_once(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The migration that brings the rows written before the rule to it: a parent's decision on a
    child's space is cut; the holder's own decision on their space is not."""
    from ens.spaces.piccolo_migrations.m2026_12_12_0001_parents_authorisations_end_at_18 import cut_to_adulthood

    parent = await make_person()
    child = await create_child_space(client, parent, birthdate=years_before(today_in_paris() + timedelta(days=30), 18))
    pro = await sign_in_pro(settings, GP)
    await authorise(client, parent, pro, space=child)
    adult = await make_person()
    await authorise(client, adult, pro)
    a_year = clock.now() + timedelta(days=365)
    await db.fetch(
        "UPDATE space_professionals SET until = {} WHERE space_id IN ({}, {})", a_year, child, adult.space_id
    )
    assert (await client.get(f"/v1/spaces/{child}/vitals", headers=pro.headers)).status_code == 200
    await cut_to_adulthood()
    assert await cut_to_adulthood() == 0
    rows = {
        row["space_id"]: row["until"]
        for row in await db.fetch(
            "SELECT space_id, until FROM space_professionals WHERE space_id IN ({}, {})", child, adult.space_id
        )
    }
    assert clock.aware(rows[db.as_uuid(child)]) == adulthood(await space_of(child))
    assert clock.aware(rows[db.as_uuid(adult.space_id)]) == a_year


async def test_the_parents_are_told_three_months_before_once(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent, other = await make_person(), await make_person()
    child = await create_child_space(client, parent, given_name="Jules")
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    summary = (await client.get(f"/v1/spaces/{child}", headers=parent.headers)).json()
    assert summary["adulthoodSoon"] is True
    outbox = Path(settings.var_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    mailer = Mailer(settings)
    await send_adulthood_notices(mailer)
    await send_adulthood_notices(mailer)  # the daily run again: nothing twice
    sent = [path.read_text() for path in set(outbox.glob("*.eml")) - before]
    to_parents = [m for m in sent if f"{parent.family_name.lower()}@" in m or f"{other.family_name.lower()}@" in m]
    assert len(to_parents) == 2
    for message in to_parents:
        assert "Jules aura 18 ans" in message and "aucune donn" in message
        # Which child: a parent of several read "Bientôt 18 ans".
        assert email.message_from_string(message, policy=email.policy.default)["Subject"] == "Jules aura bientôt 18 ans"
        # No health data: no measure, no record, only that something happens and where to look.
        assert "kg" not in message and "vital" not in message.lower()


async def test_three_months_before_counts_local_days_across_a_change_of_clocks(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """91 days before an 18th birthday on 15 June 2027 in Paris is 16 March, from its local
    midnight (23:00 UTC, winter time): 91 times 24 hours back from the birthday's midnight (summer
    time) fell at 23:00 in Paris on 15 March, an evening early."""
    parent = await make_person()
    child = await create_child_space(client, parent, given_name="Jules")
    await set_birthdate(child, date(2009, 6, 15))

    async def soon_at(now: datetime) -> bool:
        monkeypatch.setattr(clock, "now", lambda: now)
        summary = (await client.get(f"/v1/spaces/{child}", headers=parent.headers)).json()
        assert summary["adulthoodOn"] == "2027-06-15"
        return bool(summary["adulthoodSoon"])

    assert await soon_at(datetime(2027, 3, 15, 22, 30, tzinfo=UTC)) is False  # 23:30 on 15 March in Paris
    assert await soon_at(datetime(2027, 3, 15, 23, 0, tzinfo=UTC)) is True  # midnight starting 16 March
    assert await soon_at(datetime(2027, 6, 14, 21, 59, tzinfo=UTC)) is True  # 23:59 on 14 June


async def test_a_claim_code_ends_at_the_midnight_three_months_after_the_18th_where_the_child_lives(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """18 on 15 August 2027 in Paris (summer time): the code ends as 15 November starts there
    (winter time, 23:00 UTC), not 92 times 24 hours after the birthday's midnight (23:00 in Paris
    on the 14th). In Kiritimati (UTC+14, no change of clocks), as its 15 November starts. The
    code is made on 10 January 2027 (the clock set), when the child is 17."""
    parent = await make_person()
    monkeypatch.setattr(clock, "now", lambda: datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    for name, zone, ends in (
        ("Inès", "Europe/Paris", datetime(2027, 11, 14, 23, 0, tzinfo=UTC)),
        ("Maëlle", "Pacific/Kiritimati", datetime(2027, 11, 14, 10, 0, tzinfo=UTC)),
    ):
        created = await client.post(
            "/v1/spaces",
            json={
                "givenName": name,
                "familyName": parent.family_name,
                "birthdate": "2009-08-15",
                "relationship": "parent",
                "timezone": zone,
            },
            headers=parent.headers,
        )
        assert created.status_code == 201, created.text
        made = await client.post(f"/v1/spaces/{created.json()['id']}/claim-codes", headers=parent.headers)
        assert made.status_code == 201, made.text
        assert made.json()["adulthoodOn"] == "2027-08-15"
        assert datetime.fromisoformat(made.json()["expiresAt"]) == ends, zone


async def test_two_claims_at_once_give_the_space_one_holder(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each parent made a code; two people claim at the same moment, both having read the space
    before either took it. The second is refused, and nothing of its claim stays."""
    parent, other_parent = await make_person(), await make_person()
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, other_parent, child)).status_code == 200
    await set_birthdate(child, years_before(today_in_paris(), 17))
    codes = []
    for who in (parent, other_parent):
        made = await client.post(f"/v1/spaces/{child}/claim-codes", headers=who.headers)
        assert made.status_code == 201
        codes.append(made.json()["code"])
    adult = years_before(today_in_paris(), 18)
    await set_birthdate(child, adult)
    first, second = await make_person(birthdate=adult), await make_person(birthdate=adult)
    # The second claim reads the space as it was before the first took it.
    before = await space_of(child)
    assert before.holder_account_id is None
    assert (await client.post(f"/v1/claims/{codes[0]}/accept", headers=first.headers)).status_code == 200

    async def as_read_before(space_id: uuid.UUID) -> SpaceRef:
        return before

    monkeypatch.setattr(adulthood_module, "space_of", as_read_before)
    late = await client.post(f"/v1/claims/{codes[1]}/accept", headers=second.headers)
    assert late.status_code == 409 and "already has its holder" in late.json()["detail"]
    row = await db.fetch_one("SELECT holder_account_id FROM spaces WHERE id = {}", child)
    assert row is not None and row["holder_account_id"] == first.account_id
    # Rolled back: the second person's own space is still there, and their code unspent.
    assert await db.fetch_one("SELECT id FROM spaces WHERE id = {}", second.space_id) is not None
    unspent = await db.fetch("SELECT used_at FROM space_codes WHERE space_id = {} AND used_at IS NULL", child)
    assert len(unspent) == 1


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_what_is_being_written_into_the_own_space_as_the_claim_runs_is_kept(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The claim holds the young adult's own space before it asks whether it is empty: an allergy
    being written there that instant is seen (409, not merged), not erased with the space."""
    child, code, young = await _a_code_and_its_young_adult(client, make_person)
    async with open_transaction(settings) as connection:
        await allergy_being_written(connection, young.space_id)
        claim, waited = await second_while_first_is_open(
            client.post(f"/v1/claims/{code}/accept", headers=young.headers)
        )
    answer = await claim
    assert waited
    assert answer.status_code == 409 and "merge" in answer.json()["detail"]
    kept = await db.fetch("SELECT substance FROM profile_allergies WHERE space_id = {}", young.space_id)
    assert [row["substance"] for row in kept] == ["Pollen"]
    row = await db.fetch_one("SELECT holder_account_id FROM spaces WHERE id = {}", child)
    assert row is not None and row["holder_account_id"] is None


async def test_a_mail_server_that_fails_leaves_the_notice_due_and_the_run_going(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The notice was marked sent, then the mail failed: the run stopped there and the notice was
    never sent (a review). Now no parent reached leaves it due; the next run sends it."""

    from tests.helpers.server import free_port

    parent = await make_person()
    child = await create_child_space(client, parent, given_name="Lou")
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    await send_adulthood_notices(down)  # no exception: the run goes on
    assert await db.fetch(TOLD, child) == []
    outbox = Path(settings.var_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    await send_adulthood_notices(Mailer(settings))
    sent = [path.read_text() for path in set(outbox.glob("*.eml")) - before]
    assert any("Lou aura 18 ans" in message for message in sent)
    assert len(await db.fetch(TOLD, child)) == 1


async def test_ens_notify_says_which_e_mails_did_not_go_and_exits_1(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """``ens notify`` printed the notices as sent and exited 0 while the mail server refused every
    one (a review): cron saw nothing wrong. Now it counts them, says so, and exits 1."""
    from tests.helpers.server import free_port, run_ens

    parent = await make_person()
    child = await create_child_space(client, parent, given_name="Noé")
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    down = run_ens(settings, "notify", env={"ENS_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
    assert down.returncode == 1, down.stdout + down.stderr
    assert "0 notices of a coming 18th birthday" in down.stdout
    assert "e-mails not sent: the mail server failed" in down.stdout
    assert await db.fetch(TOLD, child) == []  # due again
    working = run_ens(settings, "notify")  # no ENS_SMTP_URL in development: the outbox
    assert working.returncode == 0, working.stdout + working.stderr
    assert "not sent" not in working.stdout
    assert len(await db.fetch(TOLD, child)) == 1


async def test_a_space_whose_erasure_began_is_not_taken_over(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parent's erasure that failed past its point of no return (its data key destroyed, the space
    closed, its record written: b8e554d) leaves the space to be finished by the same request or by
    ``ens purge``. A claim meanwhile took it over (200: "the space is yours, with everything in
    it"), ended the parents' links, and erased the young adult's own space to make room; then the
    erasure was finished, and the space they had just been given was gone (a review). Refused now,
    nothing changed."""
    from ens.spaces import service as spaces

    parent = await make_person()
    child = await create_child_space(client, parent)
    await set_birthdate(child, years_before(today_in_paris(), 17))
    code = (await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)).json()["code"]

    async def lost(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(spaces, "close_or_erase_space", lost)
        failed = await client.delete(f"/v1/spaces/{child}?erase=true", headers=parent.headers)
    assert failed.status_code == 503, failed.text
    adult = years_before(today_in_paris(), 18)
    await set_birthdate(child, adult)
    young = await make_person(birthdate=adult)
    claimed = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert claimed.status_code == 409 and "being erased" in claimed.json()["detail"], claimed.text
    # Nothing changed: their own space is there, the child's has no holder, the parent's link stands.
    assert await db.fetch_one("SELECT id FROM spaces WHERE id = {}", young.space_id) is not None
    row = await db.fetch_one("SELECT holder_account_id FROM spaces WHERE id = {}", child)
    assert row is not None and row["holder_account_id"] is None
    links = await db.fetch("SELECT revoked_at FROM representatives WHERE space_id = {}", child)
    assert [r["revoked_at"] for r in links] == [None]


async def test_a_closed_childs_space_is_announced_once_it_is_reopened(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The notice says "you may make the code now, from the app": of a space the parent closed (or
    whose erasure passed its point of no return, which closes it) that code is 410, and the notice
    went all the same (an outside audit of the e-mails). A closed space's notice waits: reopened
    within the three months, the next daily run sends it."""
    parent = await make_person()
    child = await create_child_space(client, parent, given_name="Maël")
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    assert (await client.delete(f"/v1/spaces/{child}", headers=parent.headers)).status_code == 204
    assert (await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)).status_code == 410
    outbox = Path(settings.var_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()

    async def told() -> int:
        await send_adulthood_notices(Mailer(settings))
        sent = [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in set(outbox.glob("*.eml")) - before
        ]
        return sum("Maël aura 18 ans" in message.get_content() for message in sent if isinstance(message, EmailMessage))

    assert await told() == 0
    assert await db.fetch(TOLD, child) == []
    assert (await client.post(f"/v1/spaces/{child}/reopen", headers=parent.headers)).status_code == 200
    assert await told() == 1


def _told(outbox: tuple[Outbox, int], parent: Person, given_name: str) -> int:
    messages = outbox[0].to(address(parent))
    return sum(f"{given_name} aura 18 ans" in m.get_content() for m in messages)


async def test_a_birthday_notice_whose_run_stopped_after_claiming_it_is_sent_once_the_lease_has_passed(
    client: httpx.AsyncClient,
    make_person: MakePerson,
    settings: Settings,
    outbox: tuple[Outbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The notice's row was written as sent before the e-mails went: a run stopped in between (killed,
    its machine gone) lost it for good (a review). It is claimed under a lease now, as every owed
    notice is: once the lease has passed, the next run sends it, once."""
    parent = await make_person()
    child = await create_child_space(client, parent, given_name="Anaël")
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    mailer = mailer_on(settings, outbox[1])
    with pytest.raises(Stopped):
        await send_adulthood_notices(StopsAt(mailer, address(parent)))
    assert await db.fetch(TOLD, child) == []

    await send_adulthood_notices(mailer)  # the lease lives: the claim is the stopped run's
    assert _told(outbox, parent, "Anaël") == 0

    lease_passed(monkeypatch)
    assert await send_adulthood_notices(mailer) >= 1
    assert _told(outbox, parent, "Anaël") == 1
    assert len(await db.fetch(TOLD, child)) == 1
    await send_adulthood_notices(mailer)
    assert _told(outbox, parent, "Anaël") == 1


async def test_a_birthday_notice_being_sent_is_not_taken_by_a_second_run(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings, outbox: tuple[Outbox, int]
) -> None:
    """Two ens notify at once: the first claimed the notice and is sending it; the second finds it
    under a live lease and leaves it. Each parent told once."""
    parent, other = await make_person(), await make_person()
    child = await create_child_space(client, parent, given_name="Soën")
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    mailer = mailer_on(settings, outbox[1])
    first_mailer = WaitsAt(mailer, address(parent))
    first = asyncio.create_task(send_adulthood_notices(first_mailer))
    await asyncio.wait_for(first_mailer.sending.wait(), 30)

    # The first may have told the other parent already: the second run tells no one.
    told_by_the_first = _told(outbox, other, "Soën")
    await send_adulthood_notices(mailer)
    assert (_told(outbox, parent, "Soën"), _told(outbox, other, "Soën")) == (0, told_by_the_first)
    first_mailer.go_on.set()
    await asyncio.wait_for(first, 30)
    assert (_told(outbox, parent, "Soën"), _told(outbox, other, "Soën")) == (1, 1)

    await asyncio.gather(send_adulthood_notices(mailer), send_adulthood_notices(mailer))
    assert (_told(outbox, parent, "Soën"), _told(outbox, other, "Soën")) == (1, 1)


async def test_two_runs_started_together_send_a_birthday_notice_once(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings, outbox: tuple[Outbox, int]
) -> None:
    parent, other = await make_person(), await make_person()
    child = await create_child_space(client, parent, given_name="Ilan")
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    mailer = mailer_on(settings, outbox[1])
    await asyncio.gather(send_adulthood_notices(mailer), send_adulthood_notices(mailer))
    assert (_told(outbox, parent, "Ilan"), _told(outbox, other, "Ilan")) == (1, 1)
    assert len(await db.fetch(TOLD, child)) == 1
