"""The FHIR door answers JSON only. A client that asks for XML alone (``Accept:
application/fhir+xml``, or ``_format=xml``) is told so, 406 with an OperationOutcome, as FHIR's
HTTP page asks of a server that cannot give the format (it was answered JSON it would not parse);
one that accepts JSON among others, or anything, is answered JSON as before."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.helpers.people import MakeAppToken, Person
from tests.vitals.test_fhir_intake import body_weight, outcome, transaction

FHIR_JSON = "application/fhir+json"


async def _every_route_is_406(client: httpx.AsyncClient, app: Any, accept: str, *, saying: str) -> None:
    """A search, the metadata and a transaction asked with ``accept``: each 406 ``not-supported``,
    its diagnostics ``saying`` what the door gives."""
    for method, path, body in (
        ("GET", "/fhir/Observation", None),
        ("GET", "/fhir/metadata", None),
        ("POST", "/fhir", transaction(body_weight())),
    ):
        answer = await client.request(method, path, json=body, headers={**app.headers, "Accept": accept})
        issue = outcome(answer, 406)["issue"][0]
        assert issue["code"] == "not-supported" and saying in issue["diagnostics"], (path, issue)


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+xml",
        "application/xml",
        "text/xml, application/xml;q=0.9",
        "application/fhir+json;q=0, application/fhir+xml",
        "text/turtle",
    ],
)
async def test_xml_alone_is_not_acceptable(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, accept: str
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    await _every_route_is_406(client, app, accept, saying="JSON")
    # Nothing was stored by the refused transaction.
    listed = await client.get("/v1/spaces/me/vitals", headers=person.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize("format_", ["xml", "text/xml", "application/fhir+xml", "ttl"])
async def test_format_xml_is_not_acceptable(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, format_: str
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:read"])
    answer = await client.get("/fhir/Observation", params={"_format": format_}, headers=app.headers)
    outcome(answer, 406)


@pytest.mark.parametrize(
    ("accept", "format_"),
    [
        (None, None),
        ("*/*", None),
        ("application/json", None),
        ("application/fhir+xml;q=0.9, application/fhir+json", None),
        ("application/*", None),
        ("text/html, */*;q=0.1", None),
        (None, "json"),
        (None, "application/fhir+json"),
        ("application/fhir+xml", "json"),  # _format overrides Accept (FHIR's HTTP page)
        # A malformed header is disregarded, as RFC 9110 §12.5.1 allows (it was 406, "the Accept
        # header admits no JSON": a review), an empty element skipped as §5.6.1 asks.
        ("*/*;q=", None),
        (";;;", None),
        ("application/fhir+xml;q=high", None),
        ("application/fhir+xml;q=1.5", None),
        ("application/fhir+json, , ", None),
    ],
)
async def test_json_among_others_is_answered_json(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, accept: str | None, format_: str | None
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:read"])
    headers = {**app.headers, **({"Accept": accept} if accept else {})}
    params = {"_format": format_} if format_ else {}
    answer = await client.get("/fhir/Observation", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)


async def test_a_retry_that_accepts_json_is_not_replayed_the_406(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """The 406 depends on the Accept header, which is not part of what an Idempotency-Key compares
    (the path, the query, the body): kept as the key's answer, it was replayed for 24 hours to the
    same transaction retried, as it should be, with the key and Accept: application/fhir+json, and
    the measure was never stored (found by a review; the 406 is kept no more than a 5xx is)."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    keyed = {**app.headers, "Idempotency-Key": "fhir-406-then-json"}
    bundle = transaction(body_weight())
    refused = await client.post("/fhir", json=bundle, headers={**keyed, "Accept": "application/fhir+xml"})
    outcome(refused, 406)
    retried = await client.post("/fhir", json=bundle, headers={**keyed, "Accept": FHIR_JSON})
    assert retried.status_code == 200, retried.text
    assert "idempotent-replayed" not in retried.headers
    listed = await client.get("/v1/spaces/me/vitals", headers=person.headers)
    assert len(listed.json()["items"]) == 1


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+json; fhirVersion=3.0",
        'application/fhir+json;fhirVersion="5.0"',
        "application/fhir+json; fhirVersion=3.0, application/fhir+xml",
    ],
)
async def test_another_fhir_version_is_not_acceptable(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, accept: str
) -> None:
    """FHIR's version parameter (``fhirVersion=3.0`` on the media type) asks for another version's
    resources: an outside audit of the door found an STU3 client answered R4 as if it were what it
    asked, and an R5 body taken as R4. Asked in ``Accept`` or ``_format`` it is 406, sent as the
    body's ``Content-Type`` 415, the version the door speaks named; 4.0 (or 4.0.1, 4.0.0) is taken."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    await _every_route_is_406(client, app, accept, saying="4.0")
    answer = await client.get("/fhir/Observation", params={"_format": accept.split(",")[0]}, headers=app.headers)
    outcome(answer, 406)
    r5 = await client.post(
        "/fhir",
        content=json.dumps(transaction(body_weight())),
        headers={**app.headers, "Content-Type": "application/fhir+json; fhirVersion=5.0"},
    )
    assert "4.0" in outcome(r5, 415)["issue"][0]["diagnostics"]
    assert (await client.get("/v1/spaces/me/vitals", headers=person.headers)).json()["items"] == []
    # 4.0.0, R4's first publication, is R4 as 4.0.1 is: it had been 406 and 415 (a review of the
    # merged check).
    for version in ("4.0", "4.0.1", "4.0.0"):
        media = f"{FHIR_JSON}; fhirVersion={version}"
        taken = await client.post(
            "/fhir",
            content=json.dumps(transaction(body_weight(identifier=[{"value": version}]))),
            headers={**app.headers, "Content-Type": media, "Accept": media},
        )
        assert taken.status_code == 200, taken.text
