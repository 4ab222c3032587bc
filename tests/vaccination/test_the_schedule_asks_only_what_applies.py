"""Three findings of an outside audit (2026-12-04) on the schedule through the API: the older
adults' RSV dose is one dose (a dose at 74 for a chronic disease left the 75-year dose "to do"); a
pregnancy's doses are asked about only at the ages a pregnancy is (a girl of two weeks and a woman
of 65 had four "unknown" rows; a pregnancy said for a newborn was taken); and the MenB dose the
calendar says only "may be offered" at 15-24 years is not counted among the vaccinations to do."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from ens.vaccination.engine.dates import add_months
from tests.helpers.people import Person
from tests.helpers.vaccination import child_space, paris_today, set_birthdate, vaccine_id


async def _schedule(client: httpx.AsyncClient, who: Person, space: Any, query: str = "") -> dict[str, Any]:
    answer = await client.get(f"/v1/spaces/{space}/vaccinations/schedule{query}", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _doses(schedule: dict[str, Any], disease: str) -> dict[str, dict[str, Any]]:
    return {d["doseId"]: d for block in schedule["diseases"] if block["disease"] == disease for d in block["doses"]}


async def test_the_older_adults_rsv_dose_is_one_dose(client: httpx.AsyncClient, person: Person) -> None:
    today = paris_today()
    await set_birthdate(person.space_id, date(today.year - 76, 1, 10), sex="male")
    arexvy = await vaccine_id(client, "arexvy", "AREXVY")
    given = date(today.year - 2, 10, 1).isoformat()  # at 74
    entry = await client.post(
        "/v1/spaces/me/vaccinations", json={"vaccineId": arexvy, "date": given}, headers=person.headers
    )
    assert entry.status_code == 201, entry.text
    rsv = _doses(await _schedule(client, person, "me"), "rsv")
    assert "rsv.older-adult-75y-plus" not in rsv
    done = rsv["rsv.older-adult-65-74y-comorbidity"]
    assert done["status"] == "done" and done["vaccinationId"] == entry.json()["id"]
    assert "Tient lieu de « VRS : personnes de 75 ans et plus" in done["reason"]
    # Given at 75 instead, it is the 75-year dose, and stands for the other.
    await client.delete(f"/v1/spaces/me/vaccinations/{entry.json()['id']}", headers=person.headers)
    later = await client.post(
        "/v1/spaces/me/vaccinations",
        json={"vaccineId": arexvy, "date": date(today.year - 1, 3, 1).isoformat()},
        headers=person.headers,
    )
    assert later.status_code == 201, later.text
    rsv = _doses(await _schedule(client, person, "me"), "rsv")
    assert [(k, d["status"]) for k, d in rsv.items()] == [("rsv.older-adult-75y-plus", "done")]


async def test_a_pregnancys_doses_are_asked_about_only_at_the_ages_of_one(
    client: httpx.AsyncClient, person: Person
) -> None:
    today = paris_today()
    newborn = await child_space(person, birthdate=today - timedelta(days=14))
    schedule = await _schedule(client, person, newborn)
    pregnancy = [d["doseId"] for block in schedule["diseases"] for d in block["doses"] if "pregnan" in d["doseId"]]
    assert pregnancy == []
    refused = await client.get(
        f"/v1/spaces/{newborn}/vaccinations/schedule?pregnant=true&gestationalWeeks=30", headers=person.headers
    )
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/pregnant"]
    # A woman of 30: asked (unknown until the space says); of 65: not asked.
    await set_birthdate(person.space_id, date(today.year - 30, 5, 5))
    thirty = await _schedule(client, person, "me")
    assert _doses(thirty, "pertussis")["pertussis.pregnancy"]["status"] == "unknown"
    await set_birthdate(person.space_id, date(today.year - 65, 5, 5))
    sixty_five = await _schedule(client, person, "me")
    assert "pertussis.pregnancy" not in _doses(sixty_five, "pertussis")
    # Said, a pregnancy is taken at any age from 10 (the doses are then computed).
    said = await _schedule(client, person, "me", "?pregnant=true&gestationalWeeks=30")
    assert _doses(said, "pertussis")["pertussis.pregnancy"]["status"] != "unknown"


async def test_the_menb_dose_that_may_be_offered_is_not_counted_as_to_do(
    client: httpx.AsyncClient, person: Person
) -> None:
    born = add_months(paris_today(), -16 * 12)
    teenager = await child_space(person, birthdate=born, sex="male")
    schedule = await _schedule(client, person, teenager)
    offered = _doses(schedule, "meningococcus_b")["meningococcus_b.adolescent-15-24y-1"]
    assert offered["recommendation"] == "may_be_offered" and offered["status"] == "due"
    assert offered["reason"].startswith("Le calendrier dit seulement qu'elle peut être proposée")
    due = [
        d["doseId"]
        for block in schedule["diseases"]
        for d in block["doses"]
        if d["status"] == "due" and d["recommendation"] != "may_be_offered"
    ]
    assert schedule["counts"]["due"] == len(due)
    home = await client.get(f"/v1/spaces/{teenager}", headers=person.headers)
    assert home.status_code == 200 and home.json()["vaccination"]["due"] == len(due)


async def test_reasons_are_in_french_and_quote_a_catch_up_only_to_whom_it_is_for(
    client: httpx.AsyncClient, person: Person
) -> None:
    """The catch-up plans the calendar only describes were quoted in the calendar file's English
    ("Unvaccinated infants 6-12 months..."), to a child vaccinated on time too; a season without
    dates was named in English ("RSV season")."""
    today = paris_today()
    on_time = await child_space(person, birthdate=add_months(today, -11) - timedelta(days=5))
    url = f"/v1/spaces/{on_time}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    for months in (2, 4):
        given = add_months(add_months(today, -11) - timedelta(days=5), months).isoformat()
        assert (
            await client.post(url, json={"vaccineId": hexyon, "date": given}, headers=person.headers)
        ).status_code == 201
    unvaccinated = await child_space(person, birthdate=add_months(today, -8) - timedelta(days=5), given_name="Noé")
    await set_birthdate(person.space_id, date(today.year - 30, 5, 5))
    english = ("Unvaccinated", "Started at", " months", "season", "booster", " apart", " years")
    quoted: dict[tuple[str, str], list[str]] = {}
    for space, query in ((on_time, ""), (unvaccinated, ""), ("me", "?pregnant=true&gestationalWeeks=33")):
        schedule = await _schedule(client, person, space, query)
        reasons = [d["reason"] for block in schedule["diseases"] for d in block["doses"]]
        assert not [r for r in reasons if any(word in r for word in english)], space
        for block in schedule["diseases"]:
            said = [d["reason"] for d in block["doses"] if "Rattrapage selon le calendrier" in d["reason"]]
            quoted[(str(space), block["disease"])] = said
    # Hib: started on time (HEXYON at 2 and 4 months), no plan for the unvaccinated is quoted; never
    # started (pneumococcus, and everything for the other child), it is.
    assert quoted[(str(on_time), "hib")] == []
    assert any("nourrissons de 6 à 12 mois non vaccinés" in r for r in quoted[(str(unvaccinated), "hib")])
    assert any("nourrissons de 7 à 11 mois non vaccinés" in r for r in quoted[(str(on_time), "pneumococcus")])
