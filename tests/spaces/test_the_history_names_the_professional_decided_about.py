"""Each decision about a professional is said in the access history with the professional's name:
renewed, revoked, blocked, a request approved or refused. Only the authorisation named them; the
others read "a bloqué un professionnel de santé", and a person with several professionals — or the
other parent reading what one parent decided — could not tell whom (an outside audit)."""

from __future__ import annotations

from datetime import date

import httpx

from ens.core.settings import Settings
from tests.helpers.carers import create_child_space, join_as_second_parent
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, NURSE, PHARMACIST, authorise, sign_in_pro

PRO = "professionnel de santé"


async def _changes(client: httpx.AsyncClient, reader: Person, space: str) -> list[str]:
    answer = await client.get(f"/v1/spaces/{space}/access-history?limit=500", headers=reader.headers)
    assert answer.status_code == 200, answer.text
    return [row["description"] for row in answer.json()["items"]]


async def test_the_holders_decisions_name_the_professional(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person(given_name="Zoé", family_name="Nommée-Test", birthdate=date(1980, 2, 3))
    space = str(holder.space_id)
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")
    base = f"/v1/spaces/{space}/professionals"

    entry = await authorise(client, holder, nurse)
    one = await client.get(f"{base}/{entry['id']}", headers=holder.headers)
    renewed = await client.patch(
        f"{base}/{entry['id']}", json={"renew": True}, headers={**holder.headers, "If-Match": one.headers["etag"]}
    )
    assert renewed.status_code == 200, renewed.text
    assert (await client.delete(f"{base}/{entry['id']}", headers=holder.headers)).status_code == 204
    # Renewing a revoked authorisation is refused: the attempt stays worded as one, naming no one.
    assert (
        await client.patch(f"{base}/{entry['id']}", json={"renew": True}, headers=holder.headers)
    ).status_code == 409
    await authorise(client, holder, nurse)
    assert (await client.post(f"{base}/{entry['id']}/block", headers=holder.headers)).status_code == 200

    # Two professionals ask for access: one approved, one refused.
    doctor = await sign_in_pro(settings, GP, given_name="Claire", family_name="Bernard")
    pharmacist = await sign_in_pro(settings, PHARMACIST, given_name="Inès", family_name="Roux")
    traits = {"familyName": "Nommée-Test", "givenName": "Zoé", "birthdate": "1980-02-03"}
    for pro in (doctor, pharmacist):
        assert (await client.post("/v1/pro/access-requests", json=traits, headers=pro.headers)).status_code == 202
    requests = (await client.get(f"/v1/spaces/{space}/access-requests", headers=holder.headers)).json()["items"]
    by_name = {request["familyName"]: request["id"] for request in requests}
    approve = f"/v1/spaces/{space}/access-requests/{by_name['Bernard']}/approve"
    assert (await client.post(approve, headers=holder.headers)).status_code == 200
    refuse = f"/v1/spaces/{space}/access-requests/{by_name['Roux']}/refuse"
    assert (await client.post(refuse, headers=holder.headers)).status_code == 200

    said = await _changes(client, holder, space)
    me = "Zoé Nommée-Test (titulaire)"
    for sentence in (
        f"{me} a autorisé Hugo Petit, {PRO}.",
        f"{me} a renouvelé l'autorisation d'Hugo Petit, {PRO}.",
        f"{me} a révoqué l'autorisation d'Hugo Petit, {PRO}.",
        f"{me} a bloqué Hugo Petit, {PRO}.",
        f"{me} a accepté la demande d'accès de Claire Bernard, {PRO}.",
        f"{me} a refusé la demande d'accès d'Inès Roux, {PRO}.",
        f"{me} a tenté de renouveler l'autorisation d'un {PRO} : refusé (conflit).",
    ):
        assert sentence in said, (sentence, said)


async def test_the_other_parent_reads_whom_a_parent_blocked(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    jean = await make_person(given_name="Jean", family_name="Parent-Test")
    lea = await make_person(given_name="Léa", family_name="Parent-Test")
    child = await create_child_space(client, jean, given_name="Inès", birthdate=date(2016, 5, 4))
    assert (await join_as_second_parent(client, jean, lea, child)).status_code == 200
    doctor = await sign_in_pro(settings, GP, given_name="Claire", family_name="Bernard")
    entry = await authorise(client, jean, doctor, space=child)
    blocked = await client.post(f"/v1/spaces/{child}/professionals/{entry['id']}/block", headers=jean.headers)
    assert blocked.status_code == 200, blocked.text

    said = await _changes(client, lea, str(child))
    assert f"Jean Parent-Test (parent) a bloqué Claire Bernard, {PRO}." in said, said
