"""A status the server sends is one the OpenAPI document lists for the operation: a client generated
from it has a branch for each, and an outside test suite written against it is not surprised. An
outside audit of the contract found the 400 every route under /v1 answers to a query parameter it
does not read (or a body where it takes none) missing wherever the route reads no query parameter
and no body (``GET /v1/me``, a space's summary, every ``GET .../{id}``, every ``DELETE``)."""

from __future__ import annotations

import httpx

from tests.core.test_openapi_responses_are_what_the_server_sends import assert_sent_as_documented
from tests.helpers.openapi import Document, operations
from tests.helpers.people import MakePerson
from tests.helpers.records import contact

SPACE = "/v1/spaces/{space}"


def test_every_operation_documents_a_400(openapi: Document) -> None:
    """Under /v1 any route refuses a query parameter it does not read (and, behind a door, a body
    where it takes none); any address holding ``%00`` is 400 before it is read, the public ones too."""
    missing = [(method, path) for method, path, operation in operations(openapi) if "400" not in operation["responses"]]
    assert missing == []


async def test_a_stray_query_parameter_or_body_is_a_documented_400(
    client: httpx.AsyncClient, make_person: MakePerson, openapi: Document
) -> None:
    person = await make_person()
    added = await client.post("/v1/spaces/me/emergency-contacts", json=contact(), headers=person.headers)
    assert added.status_code == 201, added.text
    contact_id = added.json()["id"]
    probes = [
        ("get", "/v1/me", await client.get("/v1/me?limit=1", headers=person.headers)),
        ("get", "/v1/me/notifications", await client.get("/v1/me/notifications?all=1", headers=person.headers)),
        ("get", SPACE, await client.get("/v1/spaces/me?erase=true", headers=person.headers)),
        ("get", "/v1/document-types", await client.get("/v1/document-types?limit=5")),
        (
            "get",
            SPACE + "/emergency-contacts/{id}",
            await client.get(f"/v1/spaces/me/emergency-contacts/{contact_id}?fields=phones", headers=person.headers),
        ),
        (
            "delete",
            SPACE + "/emergency-contacts/{id}",
            await client.request(
                "DELETE", f"/v1/spaces/me/emergency-contacts/{contact_id}", json={"reason": "x"}, headers=person.headers
            ),
        ),
        ("get", "/health", await client.get("/health?probe=%00")),
    ]
    for method, path, response in probes:
        assert response.status_code == 400, (method, path, response.text)
        assert_sent_as_documented(openapi, method, path, response)
