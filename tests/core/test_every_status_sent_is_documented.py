"""A status the server sends is one the OpenAPI document lists for the operation: a client generated
from it has a branch for each, and an outside test suite written against it is not surprised. An
outside audit of the contract found two families missing: the 400 every route under /v1 answers to
a query parameter it does not read (or a body where it takes none), which the document left out
wherever the route reads no query parameter and no body (``GET /v1/me``, a space's summary, every
``GET .../{id}``, every ``DELETE``), and the 409 five changes answer that their operations did not
list (their descriptions said so for two of them); then the fuzzing, checking statuses, the 404 of
an emergency access to no space."""

from __future__ import annotations

import uuid

import httpx

from ens.core.settings import Settings
from tests.core.test_openapi_responses_are_what_the_server_sends import assert_sent_as_documented
from tests.helpers.carers import court_measure
from tests.helpers.documents import metadata, pdf, uploaded
from tests.helpers.openapi import Document, operations
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.professionals import authorise, sign_in_pro
from tests.helpers.records import contact
from tests.helpers.vitals import weight

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


async def test_the_conflicts_of_five_changes_are_documented(
    client: httpx.AsyncClient,
    make_person: MakePerson,
    make_app_token: MakeAppToken,
    settings: Settings,
    openapi: Document,
) -> None:
    holder = await make_person()
    probes: list[tuple[str, str, httpx.Response]] = []

    # The same person listed twice among the contacts, by a change of names.
    contacts = "/v1/spaces/me/emergency-contacts"
    first = await client.post(contacts, json=contact("Paul"), headers=holder.headers)
    second = await client.post(contacts, json=contact("Pierre", phones=["06 12 34 56 79"]), headers=holder.headers)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    twice = await client.patch(f"{contacts}/{second.json()['id']}", json={"givenName": "Paul"}, headers=holder.headers)
    probes.append(("patch", SPACE + "/emergency-contacts/{id}", twice))

    # A measure an app sent, corrected by hand.
    scale = await make_app_token(holder, ["vitals.body_weight:write"])
    sent = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight()]},
        headers={"Authorization": f"Bearer {scale.token}"},
    )
    assert sent.status_code == 201, sent.text
    corrected = await client.patch(
        f"/v1/spaces/me/vitals/{sent.json()['items'][0]['id']}", json={"value": 71.0}, headers=holder.headers
    )
    probes.append(("patch", SPACE + "/vitals/{id}", corrected))

    # A professional holding back a document the holder may see already; renewing a blocked one.
    pro = await sign_in_pro(settings)
    entry = await authorise(client, holder, pro)
    document = await uploaded(client, pro.headers, pdf(), meta=metadata(), space=holder.space_id)
    held = await client.patch(
        f"/v1/spaces/{holder.space_id}/documents/{document['id']}", json={"hiddenFromHolder": True}, headers=pro.headers
    )
    probes.append(("patch", SPACE + "/documents/{id}", held))
    professionals = "/v1/spaces/me/professionals"
    blocked = await client.post(f"{professionals}/{entry['id']}/block", headers=holder.headers)
    assert blocked.status_code == 200, blocked.text
    renewed = await client.patch(f"{professionals}/{entry['id']}", json={"renew": True}, headers=holder.headers)
    probes.append(("patch", SPACE + "/professionals/{id}", renewed))

    # A consent recorded for a representative who is no curator.
    relative = await make_person("Marc")
    measure = await court_measure(holder, relative, "habilitation_familiale", relates_to="property")
    consent = await client.put(
        f"/v1/spaces/me/representatives/{measure}/consent", json={"until": None}, headers=holder.headers
    )
    probes.append(("put", SPACE + "/representatives/{id}/consent", consent))

    for method, path, response in probes:
        assert response.status_code == 409, (method, path, response.text)
        assert response.json()["type"] == "urn:ens:problem:conflict"
        assert_sent_as_documented(openapi, method, path, response)


async def test_an_emergency_access_to_no_space_is_a_documented_404(
    client: httpx.AsyncClient, settings: Settings, openapi: Document
) -> None:
    """The route names its space in the body, not the path: the document listed no 404 (its
    description said it), found by the fuzzing once it checked the statuses."""
    pro = await sign_in_pro(settings)
    body = {"space": str(uuid.uuid4()), "reason": "Patient inconscient aux urgences"}
    opened = await client.post("/v1/pro/emergency-access", json=body, headers=pro.headers)
    assert opened.status_code == 404, opened.text
    assert_sent_as_documented(openapi, "post", "/v1/pro/emergency-access", opened)
