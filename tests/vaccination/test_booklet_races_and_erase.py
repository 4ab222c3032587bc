"""Two requests racing to record the same injection make one entry and one 409 (never a 500, never
two entries); erasing a space removes its booklet."""

from __future__ import annotations

import asyncio

from ens.core import db
from tests.helpers.vaccination import entry_count, vaccine_id


async def test_racing_twins_make_one_entry_and_one_conflict(client, person):
    body = {"vaccineId": await vaccine_id(client, "prevenar 13", "PREVENAR 13"), "date": "2024-05-06"}
    for _ in range(3):
        answers = await asyncio.gather(
            *(
                client.post("/v1/spaces/me/vaccinations", json={**body, "lotNumber": str(n)}, headers=person.headers)
                for n in range(4)
            )
        )
        assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
        assert await entry_count(person.space_id) == 1
        created = next(a.json() for a in answers if a.status_code == 201)
        for refused in (a for a in answers if a.status_code == 409):
            assert created["id"] in refused.json()["detail"]
        await client.delete(f"/v1/spaces/me/vaccinations/{created['id']}", headers=person.headers)


async def test_erasing_the_space_removes_its_booklet(client, person, make_person):
    other = await make_person()
    body = {"vaccineId": await vaccine_id(client, "prevenar 13", "PREVENAR 13"), "date": "2024-05-06"}
    for who in (person, other):
        assert (await client.post("/v1/spaces/me/vaccinations", json=body, headers=who.headers)).status_code == 201
    assert (await client.delete("/v1/spaces/me?erase=true", headers=person.headers)).status_code == 204
    assert await entry_count(person.space_id) == 0
    counters = await db.fetch("SELECT COUNT(*) AS n FROM vaccination_booklets WHERE space_id = {}", person.space_id)
    assert counters[0]["n"] == 0
    assert await entry_count(other.space_id) == 1
