"""The FHIR answers (export, import, the /fhir door) are what the OpenAPI document says: status,
media type, and the documented body's required and allowed properties."""

from __future__ import annotations

import json

from tests.core.test_openapi_responses_are_what_the_server_sends import assert_sent_as_documented
from tests.helpers.fhir import FHIR, fill_every_kind
from tests.helpers.openapi import Document


async def test_every_fhir_answer_is_as_documented(client, person, make_person, make_app_token):
    answer = await client.get("/schema/openapi.json")
    document: Document = json.loads(answer.content)
    await fill_every_kind(client, person)
    exported = await client.get("/v1/spaces/me/export", headers=person.headers)
    assert_sent_as_documented(document, "get", "/v1/spaces/{space}/export", exported)
    newcomer = await make_person("Lou")
    imported = await client.post(
        "/v1/spaces/me/import", content=exported.content, headers={**newcomer.headers, "Content-Type": FHIR}
    )
    assert_sent_as_documented(document, "post", "/v1/spaces/{space}/import", imported)
    refused = await client.post(
        "/v1/spaces/me/import", content=exported.content, headers={**newcomer.headers, "Content-Type": FHIR}
    )
    assert refused.status_code == 409, refused.text  # the space holds what was just imported
    assert_sent_as_documented(document, "post", "/v1/spaces/{space}/import", refused)
    app = await make_app_token(person, ["vitals.body_weight:read", "vitals.heart_rate:write"])
    found = await client.get("/fhir/Observation", params={"code": "29463-7"}, headers=app.headers)
    assert_sent_as_documented(document, "get", "/fhir/Observation", found)
    none = await client.get(
        "/fhir/Observation", params={"code": "29463-7", "date": "lt1990-01-01"}, headers=app.headers
    )
    assert_sent_as_documented(document, "get", "/fhir/Observation", none)
    bad = await client.get("/fhir/Observation", params={"date": "yesterday"}, headers=app.headers)
    assert bad.status_code == 400
    assert_sent_as_documented(document, "get", "/fhir/Observation", bad)
    forbidden = await client.post("/fhir", json={"resourceType": "Bundle"}, headers=app.headers)
    assert_sent_as_documented(document, "post", "/fhir", forbidden)
    assert_sent_as_documented(document, "get", "/fhir/metadata", await client.get("/fhir/metadata"))
