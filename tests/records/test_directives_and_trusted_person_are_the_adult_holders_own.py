"""Advance directives and the designation of a trusted person are the adult holder's own acts: a
minor cannot make them, a representative never makes them for the person (CSP L1111-6,
L1111-11). Apps have no scope on records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ens.core import clock
from tests.helpers.carers import court_measure
from tests.helpers.records import CONTACTS, DIRECTIVES, JUDGE, TRUSTED_PERSON, contact, structured, trusted

MeasureKind = Literal["tutelle", "curatelle", "habilitation_familiale"]


def _years_ago(years: int, *, days: int = 0) -> date:
    today = clock.now().astimezone(ZoneInfo("Europe/Paris")).date()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day + timedelta(days=days)


async def test_a_minor_writes_no_directives_and_designates_no_trusted_person(client, make_person):
    minor = await make_person(given_name="Léo", birthdate=_years_ago(16))
    refused = [
        await client.put(DIRECTIVES, json=structured(), headers=minor.headers),
        await client.put(DIRECTIVES, json={"pointer": {"location": "Chez moi"}}, headers=minor.headers),
        await client.put(TRUSTED_PERSON, json=trusted(), headers=minor.headers),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert all(r.json()["type"] == "urn:ens:problem:forbidden" for r in refused)
    assert "under 18" in refused[0].json()["detail"]
    assert (await client.get(DIRECTIVES, headers=minor.headers)).status_code == 404
    assert (await client.get(TRUSTED_PERSON, headers=minor.headers)).status_code == 404
    # The rest of the records are theirs to keep.
    assert (await client.post(CONTACTS, json=contact(), headers=minor.headers)).status_code == 201


async def test_the_day_of_the_18th_birthday_counts_in_the_spaces_time_zone(client, make_person):
    adult_today = await make_person(birthdate=_years_ago(18))
    adult_tomorrow = await make_person(birthdate=_years_ago(18, days=1))
    assert (await client.put(DIRECTIVES, json=structured(), headers=adult_today.headers)).status_code == 201
    assert (await client.put(DIRECTIVES, json=structured(), headers=adult_tomorrow.headers)).status_code == 403


async def test_without_a_birthdate_no_one_can_tell_an_adult(client, make_person):
    unknown = await make_person(birthdate=None)
    response = await client.put(DIRECTIVES, json=structured(), headers=unknown.headers)
    assert response.status_code == 403 and "birthdate" in response.json()["detail"]


async def test_a_representative_never_writes_directives_nor_designates_the_trusted_person(client, make_person, history):
    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    written = await client.put(DIRECTIVES, json=structured(protectionAuthorisation=JUDGE), headers=holder.headers)
    designated = await client.put(TRUSTED_PERSON, json=trusted(protectionAuthorisation=JUDGE), headers=holder.headers)
    assert (written.status_code, designated.status_code) == (201, 201)
    as_tutor = tutor.headers
    refused = [
        await client.put(f"{space}/directives", json=structured(), headers=as_tutor),
        await client.put(
            f"{space}/directives", json=structured(), headers={**as_tutor, "If-Match": written.headers["etag"]}
        ),
        await client.delete(f"{space}/directives", headers={**as_tutor, "If-Match": written.headers["etag"]}),
        await client.post(f"{space}/directives/confirm", headers=as_tutor),
        await client.put(f"{space}/trusted-person", json=trusted("Hugo", "Bernard"), headers=as_tutor),
        await client.put(
            f"{space}/trusted-person",
            json=trusted("Hugo", "Bernard"),
            headers={**as_tutor, "If-Match": designated.headers["etag"]},
        ),
        await client.delete(f"{space}/trusted-person", headers=as_tutor),
    ]
    assert [r.status_code for r in refused] == [403] * 7
    assert all(r.json()["type"] == "urn:ens:problem:forbidden" for r in refused)
    assert refused[0].json()["detail"] == "The guardian (tutelle) may not write advance directives."
    # Nothing changed; the representative may still read them, and keeps the emergency contacts.
    read = await client.get(f"{space}/directives", headers=as_tutor)
    assert read.status_code == 200 and read.json()["version"] == 1
    assert (await client.get(f"{space}/trusted-person", headers=as_tutor)).json()["givenName"] == "Élise"
    assert (await client.post(f"{space}/emergency-contacts", json=contact(), headers=as_tutor)).status_code == 201
    # Each refusal is in the holder's history, as the representative's.
    rows = [r for r in await history(holder.space_id) if r["actor_account_id"] == tutor.account_id]
    assert [(r["acting_as"], r["outcome"]) for r in rows[:7]] == [("representative", 403)] * 7


async def test_a_person_represented_as_a_person_acts_with_the_judges_authorisation(client, make_person):
    """CSP L1111-6, L1111-11: under a tutelle or an habilitation familiale relating to the person, the
    holder writes directives and designates a trusted person with the authorisation of the judge or
    the family council. Not under a curatelle (assistance), nor a measure relating to property only,
    nor one ended; a pointer to directives kept elsewhere is not writing them."""
    cases: list[tuple[MeasureKind, Literal["person", "property"], bool]] = [
        ("tutelle", "person", True),
        ("habilitation_familiale", "person", True),
        ("tutelle", "property", False),
        ("curatelle", "person", False),
    ]
    for kind, relates_to, needed in cases:
        holder, carer = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
        await court_measure(holder, carer, kind, relates_to=relates_to)
        without = [
            await client.put(DIRECTIVES, json=structured(), headers=holder.headers),
            await client.put(TRUSTED_PERSON, json=trusted(), headers=holder.headers),
        ]
        if not needed:
            assert [r.status_code for r in without] == [201, 201], kind
            continue
        assert [r.status_code for r in without] == [422, 422], kind
        assert all(r.json()["errors"][0]["pointer"] == "/protectionAuthorisation" for r in without)
        assert "L1111-11" in without[0].json()["errors"][0]["detail"]
        assert (await client.get(DIRECTIVES, headers=holder.headers)).status_code == 404  # nothing stored
        assert (
            await client.put(DIRECTIVES, json={"pointer": {"location": "Chez mon notaire"}}, headers=holder.headers)
        ).status_code == 201
        pointed = await client.get(DIRECTIVES, headers=holder.headers)
        written = await client.put(
            DIRECTIVES,
            json=structured(protectionAuthorisation=JUDGE),
            headers={**holder.headers, "If-Match": pointed.headers["etag"]},
        )
        assert written.status_code == 200, written.text
        assert written.json()["protectionAuthorisation"] == JUDGE
        designated = await client.put(
            TRUSTED_PERSON,
            json=trusted(protectionAuthorisation={"authority": "family_council", "reference": "CF 12"}),
            headers=holder.headers,
        )
        assert designated.status_code == 201, designated.text

    # A measure that has ended asks for nothing more.
    holder, carer = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    today = clock.now().astimezone(ZoneInfo("Europe/Paris")).date()
    await court_measure(holder, carer, "tutelle", since=today - timedelta(days=400), until=today - timedelta(days=2))
    assert (await client.put(DIRECTIVES, json=structured(), headers=holder.headers)).status_code == 201


async def test_apps_have_no_scope_on_records(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:read", "vitals.body_weight:write"])
    for path in ("directives", "trusted-person", "emergency-contacts", "doctor", "profile/allergies"):
        response = await client.get(f"/v1/spaces/me/{path}", headers=app.headers)
        assert response.status_code == 403, path
