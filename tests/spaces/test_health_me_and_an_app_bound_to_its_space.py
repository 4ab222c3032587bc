from __future__ import annotations


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"status": "ready"}


async def test_me_lists_own_space(client, person):
    response = await client.get("/v1/me", headers=person.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["account"]["familyName"] == person.family_name
    assert [s["id"] for s in body["spaces"]] == [str(person.space_id)]
    assert body["spaces"][0]["role"] == "holder"


async def test_app_token_reaches_only_its_space(client, make_person, make_app_token):
    alice = await make_person()
    bob = await make_person()
    app = await make_app_token(alice, ["vitals.body_weight:read"])
    mine = await client.get("/v1/spaces/me/access-history", headers=app.headers)
    # An app never reads the access history (a person's route), but the space is visible to it.
    assert mine.status_code == 403
    other = await client.get(f"/v1/spaces/{bob.space_id}/access-history", headers=app.headers)
    assert other.status_code == 404
