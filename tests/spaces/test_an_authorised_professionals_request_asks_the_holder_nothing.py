"""A professional whose authorisation runs asks the holder nothing: their access request reaches no
one (the same 202 as always), and a request they made before the holder authorised them directly is
approved as the authorisation it already is. The holder was shown a request they could not approve
(409, "authorised already: renew instead") and that stayed pending for ever (an outside audit)."""

from __future__ import annotations

from datetime import date

import httpx

from ens.core.settings import Settings
from tests.helpers.people import MakePerson
from tests.helpers.professionals import GP, authorise, sign_in_pro

TRAITS = {"familyName": "Déjà-Test", "givenName": "Anne", "birthdate": "1979-08-14"}


async def test_a_request_made_before_a_direct_authorisation_is_approved_as_it_stands(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person(given_name="Anne", family_name="Déjà-Test", birthdate=date(1979, 8, 14))
    doctor = await sign_in_pro(settings, GP, given_name="Claire", family_name="Bernard")
    requests = f"/v1/spaces/{holder.space_id}/access-requests"
    assert (await client.post("/v1/pro/access-requests", json=TRAITS, headers=doctor.headers)).status_code == 202
    [request] = (await client.get(requests, headers=holder.headers)).json()["items"]
    # The holder authorises the doctor from the app meanwhile, then answers the request.
    entry = await authorise(client, holder, doctor)
    approved = await client.post(f"{requests}/{request['id']}/approve", headers=holder.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["id"] == entry["id"] and approved.json()["status"] == "authorised"
    assert approved.json()["until"] == entry["until"]  # approving changes nothing of it
    [answered] = (await client.get(requests, headers=holder.headers)).json()["items"]
    assert answered["status"] == "approved"

    # Asked again while authorised: nothing reaches the holder, the answer is the same.
    again = await client.post("/v1/pro/access-requests", json=TRAITS, headers=doctor.headers)
    assert again.status_code == 202
    assert [item["status"] for item in (await client.get(requests, headers=holder.headers)).json()["items"]] == [
        "approved"
    ]
    # Once revoked, asking reaches the holder again.
    assert (
        await client.delete(f"/v1/spaces/{holder.space_id}/professionals/{entry['id']}", headers=holder.headers)
    ).status_code == 204
    assert (await client.post("/v1/pro/access-requests", json=TRAITS, headers=doctor.headers)).status_code == 202
    statuses = sorted(item["status"] for item in (await client.get(requests, headers=holder.headers)).json()["items"])
    assert statuses == ["approved", "pending"]
