"""The records' answers are the ones the OpenAPI document lists: 201 and 200 for a PUT, 428 and 412
for a change without or with a stale If-Match, the PDF as a media type of the directives' 200."""

from __future__ import annotations

import httpx

from tests.core.test_openapi_responses_are_what_the_server_sends import assert_sent_as_documented
from tests.helpers.records import CONTACTS, DIRECTIVES, DOCTOR, TRUSTED_PERSON, contact, structured, trusted

SPACE = "/v1/spaces/{space}"


async def test_records_answer_as_documented(client, person, openapi):
    headers = person.headers
    probes: list[tuple[str, str, httpx.Response]] = []

    async def probe(method: str, template: str, url: str, **kwargs) -> httpx.Response:
        response: httpx.Response = await client.request(method, url, **{"headers": headers, **kwargs})
        probes.append((method.lower(), SPACE + template, response))
        return response

    await probe("GET", "/directives", DIRECTIVES)  # 404
    first = await probe("PUT", "/directives", DIRECTIVES, json=structured())  # 201
    await probe("PUT", "/directives", DIRECTIVES, json=structured())  # 428
    await probe("PUT", "/directives", DIRECTIVES, json={"wishes": 1})  # 422
    await probe("PUT", "/directives", DIRECTIVES, json=structured(), headers={**headers, "If-Match": '"x"'})  # 412
    second = await probe(
        "PUT", "/directives", DIRECTIVES, json=structured(), headers={**headers, "If-Match": first.headers["etag"]}
    )
    await probe("POST", "/directives/confirm", f"{DIRECTIVES}/confirm", headers={**headers, "If-Match": '"x"'})  # 412
    await probe("POST", "/directives/confirm", f"{DIRECTIVES}/confirm")
    await probe("GET", "/directives/versions", f"{DIRECTIVES}/versions")
    await probe("GET", "/directives/versions", f"{DIRECTIVES}/versions?limit=0")  # 400
    current = await probe("GET", "/directives", DIRECTIVES)
    revoked = await probe("DELETE", "/directives", DIRECTIVES, headers={**headers, "If-Match": current.headers["etag"]})
    await probe("DELETE", "/directives", DIRECTIVES, headers={**headers, "If-Match": revoked.headers["etag"]})  # 409
    await probe("GET", "/directives", DIRECTIVES, headers={**headers, "Accept": "application/pdf"})  # 409
    await probe("PUT", "/trusted-person", TRUSTED_PERSON, json=trusted())  # 201
    await probe("PUT", "/trusted-person", TRUSTED_PERSON, json=trusted())  # 428
    await probe("GET", "/trusted-person/history", f"{TRUSTED_PERSON}/history")
    added = await probe("POST", "/emergency-contacts", CONTACTS, json=contact())
    await probe("PATCH", "/emergency-contacts/{id}", f"{CONTACTS}/{added.json()['id']}", json={"priority": 1})
    await probe("PUT", "/doctor", DOCTOR, json={"givenName": "Jacques", "familyName": "Lefèvre", "rpps": "12345678901"})
    await probe("GET", "/profile/allergies", "/v1/spaces/me/profile/allergies")
    assert second.status_code == 200
    statuses = {(method, path, response.status_code) for method, path, response in probes}
    assert {
        ("put", SPACE + "/directives", 201),
        ("put", SPACE + "/directives", 200),
        ("put", SPACE + "/directives", 428),
        ("put", SPACE + "/directives", 412),
        ("delete", SPACE + "/directives", 409),
        ("post", SPACE + "/directives/confirm", 412),
        ("put", SPACE + "/trusted-person", 428),
        ("put", SPACE + "/doctor", 422),
    } <= statuses
    for method, path, response in probes:
        assert_sent_as_documented(openapi, method, path, response)


async def test_the_printed_directives_are_a_documented_media_type(client, person, openapi):
    await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    printed = await client.get(DIRECTIVES, headers={**person.headers, "Accept": "application/pdf"})
    documented = openapi["paths"][SPACE + "/directives"]["get"]["responses"]["200"]["content"]
    assert printed.headers["content-type"] in documented
    assert list(documented) == ["application/json", "application/pdf"]  # JSON first: what clients parse
    assert documented["application/pdf"]["schema"]["format"] == "binary"
