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
