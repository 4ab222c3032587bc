"""The access history says a request about one measure or one vaccination as one: "a supprimé une
mesure", not "a supprimé les mesures"; "a ajouté une vaccination", not "a ajouté le carnet de
vaccination". A doctor who removed one entry read as having removed the whole booklet (an outside
audit; the profile's entries and the contacts were mended so before)."""

from __future__ import annotations

import httpx

from tests.helpers.people import MakePerson
from tests.helpers.vitals import weight


async def test_one_item_is_said_as_one_and_the_lists_as_lists(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder = await make_person(given_name="Alix", family_name="Unité-Test")
    me = "Alix Unité-Test (titulaire)"
    space = "/v1/spaces/me"
    batch = await client.post(f"{space}/vitals", json={"measurements": [weight()]}, headers=holder.headers)
    assert batch.status_code == 201, batch.text
    measure = batch.json()["items"][0]["id"]
    assert (await client.get(f"{space}/vitals/{measure}", headers=holder.headers)).status_code == 200
    assert (await client.delete(f"{space}/vitals/{measure}", headers=holder.headers)).status_code == 204
    assert (await client.get(f"{space}/vitals", headers=holder.headers)).status_code == 200

    entry = await client.post(
        f"{space}/vaccinations", json={"vaccineName": "Grippe", "date": "2025-11-02"}, headers=holder.headers
    )
    assert entry.status_code == 201, entry.text
    url = f"{space}/vaccinations/{entry.json()['id']}"
    read = await client.get(url, headers=holder.headers)
    changed = await client.patch(
        url, json={"lotNumber": "L2"}, headers={**holder.headers, "If-Match": read.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    assert (await client.delete(url, headers=holder.headers)).status_code == 204
    assert (await client.get(f"{space}/vaccinations", headers=holder.headers)).status_code == 200

    rows = (await client.get(f"{space}/access-history?limit=50", headers=holder.headers)).json()["items"]
    said = [row["description"] for row in rows]
    for sentence in (
        f"{me} a consulté une mesure.",
        f"{me} a supprimé une mesure.",
        f"{me} a consulté les mesures.",
        f"{me} a ajouté une vaccination.",
        f"{me} a consulté une vaccination.",
        f"{me} a modifié une vaccination.",
        f"{me} a supprimé une vaccination.",
        f"{me} a consulté le carnet de vaccination.",
    ):
        assert sentence in said, (sentence, said)
    assert f"{me} a supprimé les mesures." not in said and f"{me} a supprimé le carnet de vaccination." not in said
    # A refused attempt on one item is said of one item too.
    gone = await client.delete(url, headers=holder.headers)
    assert gone.status_code == 404
    [latest] = (await client.get(f"{space}/access-history?limit=1&action=delete", headers=holder.headers)).json()[
        "items"
    ]
    assert latest["description"] == f"{me} a tenté de supprimer une vaccination : refusé (introuvable).", latest
