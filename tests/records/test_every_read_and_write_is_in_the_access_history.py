"""Every read and write of the records appears once in the space's access history, with what was
done, by whom, and what the caller got."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.records import CONTACTS, DIRECTIVES, DOCTOR, TRUSTED_PERSON, VALID_RPPS, contact, structured, trusted

TEMPLATE = "/v1/spaces/{space}"


async def test_each_request_adds_exactly_one_row(client, person, history):
    calls: list[tuple[str, str, httpx.Response]] = []

    async def call(method: str, url: str, template: str, **kwargs) -> httpx.Response:
        request_id = f"records-{len(calls):03d}"
        headers = {**person.headers, **kwargs.pop("headers", {}), "X-Request-Id": request_id}
        response: httpx.Response = await client.request(method, url, headers=headers, **kwargs)
        calls.append((request_id, f"{method} {TEMPLATE}{template}", response))
        return response

    written = await call("PUT", DIRECTIVES, "/directives", json=structured())
    await call("GET", DIRECTIVES, "/directives")
    await call("GET", DIRECTIVES, "/directives", headers={"Accept": "application/pdf"})
    await call("PUT", DIRECTIVES, "/directives", json=structured())  # 428
    await call("POST", f"{DIRECTIVES}/confirm", "/directives/confirm")
    await call("GET", f"{DIRECTIVES}/versions", "/directives/versions")
    current = await call("GET", DIRECTIVES, "/directives")
    await call("DELETE", DIRECTIVES, "/directives", headers={"If-Match": current.headers["etag"]})
    await call("PUT", TRUSTED_PERSON, "/trusted-person", json=trusted(alsoEmergencyContact=True))
    await call("GET", TRUSTED_PERSON, "/trusted-person")
    await call("GET", f"{TRUSTED_PERSON}/history", "/trusted-person/history")
    added = await call("POST", CONTACTS, "/emergency-contacts", json=contact())
    await call("GET", CONTACTS, "/emergency-contacts")
    contact_id = added.json()["id"]
    await call("PATCH", f"{CONTACTS}/{contact_id}", "/emergency-contacts/{id}", json={"priority": 1})
    await call("GET", f"{CONTACTS}/{contact_id}", "/emergency-contacts/{id}")
    await call("DELETE", f"{CONTACTS}/{contact_id}", "/emergency-contacts/{id}")
    await call("PUT", DOCTOR, "/doctor", json={"givenName": "Jacques", "familyName": "Lefèvre", "rpps": VALID_RPPS})
    await call("GET", DOCTOR, "/doctor")
    await call("DELETE", DOCTOR, "/doctor")
    allergy = await call("POST", "/v1/spaces/me/profile/allergies", "/profile/allergies", json={"substance": "Latex"})
    await call("GET", "/v1/spaces/me/profile/allergies", "/profile/allergies")
    await call("PUT", DOCTOR, "/doctor", json={"givenName": "", "familyName": "X"})  # 422
    await call("DELETE", f"/v1/spaces/me/profile/allergies/{allergy.json()['id']}", "/profile/allergies/{id}")
    assert written.status_code == 201

    rows = await history(person.space_id)
    by_request: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_request.setdefault(row["request_id"], []).append(row)
    for request_id, action, response in calls:
        recorded = by_request.get(request_id, [])
        assert len(recorded) == 1, (request_id, action, len(recorded))
        row = recorded[0]
        resource = action.split("{space}/")[1].split("/")[0]  # the record: directives, profile...
        assert (row["action"], row["outcome"], row["resource_type"]) == (action, response.status_code, resource)
        assert (row["actor_account_id"], row["acting_as"]) == (person.account_id, "holder")
    statuses = [response.status_code for _, _, response in calls]
    assert {201, 200, 204, 422, 428} <= set(statuses)
    contact_rows = [by_request[r][0] for r, a, _ in calls if a.endswith("{id}") and "emergency" in a]
    assert {row["resource_id"] for row in contact_rows} == {contact_id}
