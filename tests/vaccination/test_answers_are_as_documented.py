"""What the vaccination routes answer is what the OpenAPI document says (status, media type, body),
including the PDF and FHIR representations content negotiation serves."""

from __future__ import annotations

from typing import Any

from tests.core.test_openapi_responses_are_what_the_server_sends import assert_sent_as_documented
from tests.helpers.openapi import resolve
from tests.helpers.vaccination import vaccine_id

BOOKLET = "/v1/spaces/me/vaccinations"


async def test_vaccination_answers_match_the_document(client, person):
    document: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    h = person.headers
    body = {"vaccineId": await vaccine_id(client, "prevenar 13", "PREVENAR 13"), "date": "2024-05-06"}
    created = await client.post(BOOKLET, json=body, headers=h)
    entry = f"{BOOKLET}/{created.json()['id']}"
    probes = [
        ("get", "/v1/vaccines", await client.get("/v1/vaccines", params={"q": "rougeole"})),
        ("get", "/v1/vaccines", await client.get("/v1/vaccines", params={"limit": 0})),
        ("post", "/v1/spaces/{space}/vaccinations", created),
        ("post", "/v1/spaces/{space}/vaccinations", await client.post(BOOKLET, json=body, headers=h)),
        ("post", "/v1/spaces/{space}/vaccinations", await client.post(BOOKLET, json={"date": "2024"}, headers=h)),
        (
            "post",
            "/v1/spaces/{space}/vaccinations",
            await client.post(BOOKLET, content=b"{", headers={**h, "content-type": "application/json"}),
        ),
        ("get", "/v1/spaces/{space}/vaccinations", await client.get(BOOKLET, headers=h)),
        ("get", "/v1/spaces/{space}/vaccinations/schedule", await client.get(f"{BOOKLET}/schedule", headers=h)),
        (
            "get",
            "/v1/spaces/{space}/vaccinations/schedule",
            await client.get(f"{BOOKLET}/schedule", params={"gestationalWeeks": 3}, headers=h),
        ),
        ("get", "/v1/spaces/{space}/vaccinations/{id}", await client.get(entry, headers=h)),
        (
            "get",
            "/v1/spaces/{space}/vaccinations/{id}",
            await client.get(entry, headers={**h, "Accept": "application/fhir+json"}),
        ),
        (
            "get",
            "/v1/spaces/{space}/vaccinations/{id}",
            await client.get(f"{BOOKLET}/00000000-0000-4000-8000-000000000000", headers=h),
        ),
        ("patch", "/v1/spaces/{space}/vaccinations/{id}", await client.patch(entry, json={"note": "vu"}, headers=h)),
        ("patch", "/v1/spaces/{space}/vaccinations/{id}", await client.patch(entry, json={"note": 3}, headers=h)),
        (
            "patch",
            "/v1/spaces/{space}/vaccinations/{id}",
            await client.patch(entry, json={}, headers={**h, "If-Match": '"x"'}),
        ),
        (
            "delete",
            "/v1/spaces/{space}/vaccinations/{id}",
            await client.delete(entry, headers={**h, "If-Match": '"x"'}),
        ),
        ("delete", "/v1/spaces/{space}/vaccinations/{id}", await client.delete(entry, headers=h)),
    ]
    assert [p[2].status_code for p in probes] == [
        200,
        400,
        201,
        409,
        422,
        400,
        200,
        200,
        400,
        200,
        200,
        404,
        200,
        422,
        412,
        412,
        204,
    ]
    for method, path, response in probes:
        assert_sent_as_documented(document, method, path, response)
    pdf = await client.get(BOOKLET, headers={**h, "Accept": "application/pdf"})
    documented = document["paths"]["/v1/spaces/{space}/vaccinations"]["get"]["responses"]["200"]["content"]
    assert list(documented) == ["application/json", "application/pdf"]
    assert resolve(document, documented["application/pdf"]["schema"]) == {
        "type": "string",
        "format": "binary",
        "description": "The vaccination certificate",
    }
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    fhir = document["paths"]["/v1/spaces/{space}/vaccinations/{id}"]["get"]["responses"]["200"]["content"]
    assert list(fhir) == ["application/json", "application/fhir+json"]
