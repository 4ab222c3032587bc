"""``GET .../access-history?resource=`` takes the words the history's rows use, and refuses another
(400, naming the choices): ``resource=vital`` or ``resource=professional`` answered an empty list,
which the app showed as "no one ever read your measures" (an outside audit). A bad choice is told
the choices, as everywhere else."""

from __future__ import annotations

import httpx

from ens.spaces.describe import RESOURCE_WORDS
from tests.helpers.people import MakePerson


async def test_an_unknown_resource_is_a_400_naming_the_choices(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder = await make_person()
    assert (await client.get("/v1/spaces/me/vitals", headers=holder.headers)).status_code == 200
    history = "/v1/spaces/me/access-history"
    found = await client.get(f"{history}?resource=vitals", headers=holder.headers)
    assert found.status_code == 200 and len(found.json()["items"]) == 1

    for typo in ("vital", "professional", "measures"):
        answer = await client.get(f"{history}?resource={typo}", headers=holder.headers)
        assert answer.status_code == 400, (typo, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        [error] = answer.json()["errors"]
        assert error["pointer"] == "/resource" and typo in error["detail"], error
        assert all(word in error["detail"] for word in ("vitals", "professionals", "documents")), error
    # Every word the history's rows use is taken, whether or not a row has it yet.
    for word in RESOURCE_WORDS:
        answer = await client.get(f"{history}?resource={word}", headers=holder.headers)
        assert answer.status_code == 200, (word, answer.text)
