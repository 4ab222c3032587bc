"""On a minor's space a professional hides an item from the parents at the minor's request (CSP
L1111-5). Another professional the parents authorised could show it to them again, for every kind
of item, although they may not change it (an outside audit): the secret was worth what the least
discreet professional made of it. Only the professional who recorded the item may show it again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ens.core.settings import Settings
from tests.helpers.carers import create_child_space, today_in_paris, years_before
from tests.helpers.documents import META, uploaded
from tests.helpers.people import MakePerson
from tests.helpers.professionals import GP, MIDWIFE, NURSE, authorise, sign_in_pro
from tests.helpers.vitals import weight

PDF = b"%PDF-1.7\n" + b"0" * 200


async def _hidden_item(client: httpx.AsyncClient, kind: str, space: str, headers: dict[str, str]) -> str:
    """An item of ``kind`` the doctor records hidden from the parents; its URL."""
    if kind == "vitals":
        answer = await client.post(
            f"{space}/vitals", json={"measurements": [weight(41.7, hiddenFromRepresentatives=True)]}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        return f"{space}/vitals/{answer.json()['items'][0]['id']}"
    if kind == "documents":
        meta = {**META, "hiddenFromRepresentatives": True}
        document = await uploaded(client, headers, PDF, meta=meta, space=space.rsplit("/", 1)[1])
        return f"{space}/documents/{document['id']}"
    path, body = {
        "vaccinations": ("vaccinations", {"vaccineName": "HPV", "date": "2026-11-20"}),
        "profile/conditions": ("profile/conditions", {"label": "Contraception"}),
    }[kind]
    answer = await client.post(f"{space}/{path}", json={**body, "hiddenFromRepresentatives": True}, headers=headers)
    assert answer.status_code == 201, answer.text
    return f"{space}/{path}/{answer.json()['id']}"


@pytest.mark.parametrize("kind", ["vitals", "documents", "vaccinations", "profile/conditions"])
async def test_another_professional_may_not_show_the_parents_what_a_doctor_hid(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, kind: str
) -> None:
    parent = await make_person("Jean")
    child = await create_child_space(client, parent, birthdate=years_before(today_in_paris(), 15))
    space = f"/v1/spaces/{child}"
    doctor = await sign_in_pro(settings, GP)
    other = await sign_in_pro(settings, MIDWIFE if kind == "profile/conditions" else NURSE)
    for pro in (doctor, other):
        await authorise(client, parent, pro, space=child)
    url = await _hidden_item(client, kind, space, doctor.headers)
    assert (await client.get(url, headers=parent.headers)).status_code == 404
    show: dict[str, Any] = {"hiddenFromRepresentatives": False}
    refused = await client.patch(url, json=show, headers=other.headers)
    assert refused.status_code == 403, refused.text
    assert "shows again to the representatives only" in refused.json()["detail"]
    assert (await client.get(url, headers=parent.headers)).status_code == 404
    assert (await client.get(url, headers=doctor.headers)).json()["hiddenFromRepresentatives"] is True
    # The doctor who recorded it may: the minor changed their mind, with them.
    shown = await client.patch(url, json=show, headers=doctor.headers)
    assert shown.status_code == 200, shown.text
    assert (await client.get(url, headers=parent.headers)).status_code == 200
