"""A POST that creates an item answers the ETag its GET gives (the same bytes, the same tag), as a
PUT or a PATCH already did: a phone that adds an emergency contact, a condition or a vaccination and
corrects it a moment later sends If-Match without reading it first (found by an outside audit of the
contract: the 201s carried none)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from ens.core.settings import Settings
from tests.helpers.people import Person
from tests.helpers.professionals import sign_in_pro
from tests.helpers.records import CONTACTS, contact
from tests.helpers.vaccination import vaccine_id


async def _vaccination(client: httpx.AsyncClient) -> dict[str, Any]:
    return {"vaccineId": await vaccine_id(client, "hexyon", "HEXYON"), "date": "2024-03-12", "doseNumber": 1}


Body = dict[str, Any]
CREATIONS: dict[str, tuple[str, Callable[[httpx.AsyncClient], Body | Awaitable[Body]], Body]] = {
    "emergency contact": (CONTACTS, lambda client: contact(), {"relationship": "ami"}),
    "condition": ("/v1/spaces/me/profile/conditions", lambda client: {"label": "Asthme"}, {"label": "Asthme léger"}),
    "allergy": (
        "/v1/spaces/me/profile/allergies",
        lambda client: {"substance": "Pénicilline"},
        {"substance": "Amoxicilline"},
    ),
    "vaccination": ("/v1/spaces/me/vaccinations", _vaccination, {"lotNumber": "X1234"}),
}


@pytest.mark.parametrize("kind", sorted(CREATIONS))
async def test_the_201_carries_the_etag_the_get_gives(client: httpx.AsyncClient, person: Person, kind: str) -> None:
    path, make, change = CREATIONS[kind]
    made = make(client)
    body = made if isinstance(made, dict) else await made
    created = await client.post(path, json=body, headers=person.headers)
    assert created.status_code == 201, created.text
    tag = created.headers.get("etag")
    assert tag, f"{kind}: the 201 carries no ETag"
    url = f"{path}/{created.json()['id']}"
    read = await client.get(url, headers=person.headers)
    assert read.headers["etag"] == tag and read.content == created.content
    changed = await client.patch(url, json=change, headers={**person.headers, "If-Match": tag})
    assert changed.status_code == 200, changed.text
    # The tag is of the version created: after the change it is stale.
    stale = await client.patch(url, json=change, headers={**person.headers, "If-Match": tag})
    assert stale.status_code == 412, stale.text


async def test_an_authorisation_answers_its_etag_given_and_renewed(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """The professional's authorisation too: given (201) and renewed (200), each answer with the
    tag its GET gives, which revoking then compares."""
    pro = await sign_in_pro(settings)
    given = await client.post(
        "/v1/spaces/me/professionals", json={"nationalId": pro.national_id}, headers=person.headers
    )
    assert given.status_code == 201, given.text
    url = f"/v1/spaces/me/professionals/{given.json()['id']}"
    read = await client.get(url, headers=person.headers)
    assert given.headers.get("etag") == read.headers["etag"] and given.content == read.content
    renewed = await client.patch(
        url, json={"renew": True}, headers={**person.headers, "If-Match": read.headers["etag"]}
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.headers.get("etag") == (await client.get(url, headers=person.headers)).headers["etag"]
    revoked = await client.delete(url, headers={**person.headers, "If-Match": renewed.headers["etag"]})
    assert revoked.status_code == 204, revoked.text
