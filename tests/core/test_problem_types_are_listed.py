"""The OpenAPI document lists every problem type the API answers (an enum of ``Problem.type``), so a
client branching on one finds them there; it said only "urn:ens:problem:*" (an outside audit of the
contract). Each answered type is among them."""

from __future__ import annotations

import httpx

from tests.helpers.people import Person


async def test_the_problem_types_are_an_enum_holding_what_is_answered(
    client: httpx.AsyncClient, person: Person
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    types = document["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
    for expected in ("validation", "not-found", "precondition-required", "grant-revoked", "quota-exceeded"):
        assert f"urn:ens:problem:{expected}" in types
    answered = [
        await client.get("/v1/spaces/me/vitals?limit=0", headers=person.headers),
        await client.get("/v1/spaces/me/vitals/00000000-0000-0000-0000-000000000000", headers=person.headers),
        await client.delete("/v1/spaces/me/trusted-person", headers=person.headers),
        await client.get("/v1/spaces/me"),
    ]
    for answer in answered:
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        assert answer.json()["type"] in types, answer.text
