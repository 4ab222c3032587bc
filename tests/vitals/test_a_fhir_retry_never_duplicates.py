"""An app whose answer to POST /fhir was lost sends the same request again: what keeps the measure
from being stored twice (the defect "FHIR retry without identifier duplicates").

- ``Idempotency-Key``: as on the /v1 routes, the first answer is replayed and nothing is stored
  again; the same key with another Bundle is 422, while the first still runs 409 (both
  ``OperationOutcome`` resources, as every /fhir error).
- The Observation entry's ``request.ifNoneExist`` (FHIR's conditional create inside a transaction),
  or the ``If-None-Exist`` header on POST /fhir, ``identifier=system|value``: a measure already
  stored under that identifier is answered ``200 OK`` and left as it is.
- The Observation's identifier alone: a retry is ``200 OK`` with the same measure (two at once too).
- Neither identifier nor key: every POST is a new measure (the app's choice, documented).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from ens.core import db
from ens.core.idempotency import _claim, stored_request_hashes
from ens.core.settings import Settings
from tests.helpers.people import HistoryRows, MakeAppToken, Person
from tests.helpers.vitals import VITALS
from tests.vitals.test_fhir_intake import FHIR, body_weight, transaction

SYSTEM = "urn:oid:1.2.3.4.5"


def anonymous_weight(value: float = 71) -> dict[str, Any]:
    """The guide's body weight without an identifier (an app that keeps no id of its measures)."""
    observation = body_weight(value)
    del observation["identifier"]
    return observation


def conditional(bundle: dict[str, Any], criteria: str) -> dict[str, Any]:
    """``bundle`` with ``criteria`` as its Observation entry's ``request.ifNoneExist``."""
    bundle = copy.deepcopy(bundle)
    bundle["entry"][-1]["request"]["ifNoneExist"] = criteria
    return bundle


def location(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    entry = answer.json()["entry"][-1]["response"]
    return str(entry["status"]) + " " + str(entry["location"])


async def stored(space_id: uuid.UUID) -> int:
    rows = await db.fetch("SELECT count(*) AS n FROM vital_measurements WHERE space_id = {}", space_id)
    return int(rows[0]["n"])


def outcome(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(FHIR), answer.headers["content-type"]
    body: dict[str, Any] = answer.json()
    OperationOutcome.model_validate(body)
    return body


async def test_without_identifier_nor_key_each_post_is_a_new_measure(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """What the app chose: the README and the OpenAPI description say how to retry safely."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    bundle = transaction(anonymous_weight())
    first = await client.post("/fhir", json=bundle, headers=app.headers)
    again = await client.post("/fhir", json=bundle, headers=app.headers)
    assert location(first) != location(again)
    assert location(first).startswith("201 Created") and location(again).startswith("201 Created")
    assert await stored(person.space_id) == 2


async def test_an_idempotency_key_replays_the_first_answer_and_stores_nothing_again(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, history: HistoryRows
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    headers = {**app.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    bundle = transaction(anonymous_weight())
    first = await client.post("/fhir", json=bundle, headers=headers)
    again = await client.post("/fhir", json=bundle, headers=headers)
    assert location(first).startswith("201 Created")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert await stored(person.space_id) == 1
    # Another key (or none) is another request: a new measure.
    other = await client.post("/fhir", json=bundle, headers={**app.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"})
    assert location(other).startswith("201 Created") and location(other) != location(first)
    assert await stored(person.space_id) == 2
    # Each request, the replay too, is in the access history.
    outcomes = [r["outcome"] for r in await history(person.space_id) if r["client_id"] == app.client_id]
    assert outcomes[-3:] == [200, 200, 200]


async def test_a_key_reused_with_another_bundle_is_422_and_one_still_running_409_as_operation_outcomes(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, history: HistoryRows, settings: Settings
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    key = f"k-{uuid.uuid4()}"
    headers = {**app.headers, "Idempotency-Key": key}
    assert location(await client.post("/fhir", json=transaction(anonymous_weight(71)), headers=headers))
    other = outcome(await client.post("/fhir", json=transaction(anonymous_weight(72)), headers=headers), 422)
    assert "Idempotency-Key" in other["issue"][0]["diagnostics"]
    bad_key = outcome(
        await client.post(
            "/fhir", json=transaction(anonymous_weight()), headers={**app.headers, "Idempotency-Key": ""}
        ),
        400,
    )
    assert "Idempotency-Key" in bad_key["issue"][0]["diagnostics"]
    # A first request still running (its claim taken, as the middleware takes it).
    running_key = f"k-{uuid.uuid4()}"
    body = b'{"entry":[],"resourceType":"Bundle","type":"transaction"}'  # canonical: keys sorted
    digest = stored_request_hashes(settings.secret_key, hashlib.sha256(b"/fhir?\n" + body).hexdigest())[0]
    caller = f"app:{app.client_id}:{app.grant_id}"
    await _claim(caller, running_key, request_hash=digest, lease=timedelta(seconds=60))
    running = await client.post(
        "/fhir", content=body, headers={**app.headers, "Idempotency-Key": running_key, "content-type": FHIR}
    )
    assert "still being processed" in outcome(running, 409)["issue"][0]["diagnostics"]
    assert await stored(person.space_id) == 1
    outcomes = [r["outcome"] for r in await history(person.space_id) if r["client_id"] == app.client_id]
    assert outcomes[-4:] == [200, 422, 400, 409]


async def test_the_observation_entrys_if_none_exist_finds_the_measure_stored_under_its_identifier(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    bundle = conditional(transaction(body_weight(70)), f"identifier={SYSTEM}|weigh-in-0001")
    first = await client.post("/fhir", json=bundle, headers=app.headers)
    again = await client.post("/fhir", json=bundle, headers=app.headers)
    assert location(first).startswith("201 Created")
    assert location(again) == location(first).replace("201 Created", "200 OK")
    # Conditional create: a match is left as it is, even sent with a higher version.
    newer = conditional(transaction(body_weight(69)), f"identifier={SYSTEM}|weigh-in-0001")
    newer["entry"][-1]["resource"]["meta"]["versionId"] = "2"
    assert location(await client.post("/fhir", json=newer, headers=app.headers)) == location(again)
    items = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [(m["type"], m["value"]) for m in items] == [("body_weight", 70)]
    # Percent-encoded, as a query string may be.
    encoded = conditional(transaction(body_weight(70)), "identifier=urn%3Aoid%3A1.2.3.4.5%7Cweigh-in-0001")
    assert location(await client.post("/fhir", json=encoded, headers=app.headers)) == location(again)
    # The value alone (any system) finds it too.
    by_value = conditional(transaction(body_weight(70)), "identifier=weigh-in-0001")
    assert location(await client.post("/fhir", json=by_value, headers=app.headers)) == location(again)
    assert await stored(person.space_id) == 1


async def test_the_if_none_exist_header_is_read_as_the_observation_entrys(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    headers = {**app.headers, "If-None-Exist": f"identifier={SYSTEM}|weigh-in-0001"}
    first = await client.post("/fhir", json=transaction(body_weight(70)), headers=headers)
    newer = transaction(body_weight(69))
    newer["entry"][-1]["resource"]["meta"]["versionId"] = "2"
    again = await client.post("/fhir", json=newer, headers=headers)
    assert location(again) == location(first).replace("201 Created", "200 OK")
    assert await stored(person.space_id) == 1
    # The header and the entry's ifNoneExist must not say two things.
    both = conditional(transaction(body_weight(70)), f"identifier={SYSTEM}|another")
    refused = outcome(await client.post("/fhir", json=both, headers=headers), 400)
    assert "If-None-Exist" in refused["issue"][0]["diagnostics"]
    # A header too long to be an identifier search is a 400, as any bad header.
    long = {**app.headers, "If-None-Exist": "identifier=" + "x" * 3000}
    outcome(await client.post("/fhir", json=transaction(body_weight(70)), headers=long), 400)
    # Said twice alike, it is one condition.
    alike = conditional(transaction(body_weight(70)), f"identifier={SYSTEM}|weigh-in-0001")
    assert location(await client.post("/fhir", json=alike, headers=headers)) == location(again)


async def test_if_none_exist_that_cannot_find_the_measure_it_sends_is_refused_never_ignored(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """A condition the Observation would never match (it carries no such identifier), or one ENS
    cannot search, would let every retry store the measure again: refused, nothing stored."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    cases = [
        (anonymous_weight(), f"identifier={SYSTEM}|weigh-in-0001", 422, "identifier"),
        (body_weight(), f"identifier={SYSTEM}|weigh-in-0002", 422, "identifier"),
        (body_weight(), "identifier=urn:oid:9.9|weigh-in-0001", 422, "identifier"),
        (body_weight(), "identifier=|weigh-in-0001", 422, "identifier"),
        (body_weight(), "code=29463-7&date=2026-12-01", 400, "identifier=system|value"),
        (body_weight(), f"identifier={SYSTEM}|weigh-in-0001&code=29463-7", 400, "identifier=system|value"),
        (body_weight(), "identifier=", 400, "identifier=system|value"),
        (body_weight(), "identifier=a,b", 400, "identifier=system|value"),
    ]
    for observation, criteria, status, words in cases:
        answer = await client.post("/fhir", json=conditional(transaction(observation), criteria), headers=app.headers)
        body = outcome(answer, status)
        issue = body["issue"][0]
        assert words in issue["diagnostics"], (criteria, issue)
        assert issue["expression"] == ["Bundle.entry[1].request.ifNoneExist"], (criteria, issue)
    wrong_type = conditional(transaction(body_weight()), "identifier=x")
    wrong_type["entry"][-1]["request"]["ifNoneExist"] = ["identifier=x"]
    outcome(await client.post("/fhir", json=wrong_type, headers=app.headers), 400)
    assert await stored(person.space_id) == 0
    # An escaped "|" or "," is part of the value (FHIR's token escapes).
    escaped = body_weight()
    escaped["identifier"] = [{"system": SYSTEM, "value": "a|b,c"}]
    bundle = conditional(transaction(escaped), f"identifier={SYSTEM}|a\\|b\\,c")
    first = await client.post("/fhir", json=bundle, headers=app.headers)
    assert location(await client.post("/fhir", json=bundle, headers=app.headers)) == location(first).replace(
        "201 Created", "200 OK"
    )


async def test_a_retry_under_the_observations_identifier_answers_the_same_measure(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    first = await client.post("/fhir", json=transaction(body_weight(70)), headers=app.headers)
    again = await client.post("/fhir", json=transaction(body_weight(70)), headers=app.headers)
    assert location(again) == location(first).replace("201 Created", "200 OK")
    assert await stored(person.space_id) == 1


async def test_two_identical_posts_at_once_store_one_measure(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """Two requests at once (the retry sent while the first still runs): on PostgreSQL both run side
    by side and meet at the unique index on the app's record ids; the loser runs again and finds
    the winner's measure."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    for round_, bundle in enumerate(
        (
            transaction(body_weight(70)),
            conditional(transaction(body_weight(71)), f"identifier={SYSTEM}|weigh-in-0002"),
        )
    ):
        if round_ == 1:
            bundle["entry"][-1]["resource"]["identifier"][0]["value"] = "weigh-in-0002"
        answers = await asyncio.gather(*(client.post("/fhir", json=bundle, headers=app.headers) for _ in range(2)))
        found = sorted(location(answer) for answer in answers)
        assert [f.split(" Observation/")[0] for f in found] == ["200 OK", "201 Created"], found
        assert len({f.split(" Observation/")[1] for f in found}) == 1
        assert await stored(person.space_id) == round_ + 1


async def test_two_posts_at_once_under_one_idempotency_key_store_one_measure(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """The retry sent while the first runs: 409 (still running), or the first answer replayed."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    headers = {**app.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    bundle = transaction(anonymous_weight())
    answers = await asyncio.gather(*(client.post("/fhir", json=bundle, headers=headers) for _ in range(2)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses in ([200, 200], [200, 409]), [answer.text for answer in answers]
    if statuses == [200, 200]:
        assert answers[0].content == answers[1].content
    else:
        outcome(next(answer for answer in answers if answer.status_code == 409), 409)
    assert await stored(person.space_id) == 1


async def test_a_measure_deleted_since_it_was_sent_stays_deleted_and_the_entry_says_so(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """The holder deleted the measure; the app's retry (conditional create, or its identifier at
    the same version) stores nothing, and its entry's outcome says why the location reads nothing
    (an outside audit found a bare 200 OK naming the deleted Observation)."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    bundle = conditional(transaction(body_weight(70)), f"identifier={SYSTEM}|weigh-in-0001")
    first = await client.post("/fhir", json=bundle, headers=app.headers)
    measure = location(first).split("Observation/")[1]
    assert _deleted_issues(first.json()["entry"][-1]) == []
    assert (await client.delete(f"{VITALS}/{measure}", headers=person.headers)).status_code == 204
    for retry in (bundle, transaction(body_weight(70))):
        again = await client.post("/fhir", json=retry, headers=app.headers)
        assert location(again) == f"200 OK Observation/{measure}"
        Bundle.model_validate(again.json())
        said = again.json()["entry"][-1]["response"]["outcome"]
        assert said["resourceType"] == "OperationOutcome"
        assert _deleted_issues(again.json()["entry"][-1]) == [("information", "deleted")]
        # The Device entry says nothing of it (only what of the Device was not stored).
        assert _deleted_issues(again.json()["entry"][0]) == []
    assert await stored(person.space_id) == 0
    # A measure stored and left as it is carries no outcome.
    kept = transaction(body_weight(71))
    kept["entry"][-1]["resource"]["identifier"][0]["value"] = "weigh-in-0002"
    await client.post("/fhir", json=kept, headers=app.headers)
    again = await client.post("/fhir", json=kept, headers=app.headers)
    assert location(again).startswith("200 OK") and _deleted_issues(again.json()["entry"][-1]) == []


def _deleted_issues(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """What the entry's outcome says of a deletion (its other issues name elements not stored:
    the guide's example Bundle sends some, tests/vitals/test_fhir_intake.py)."""
    issues = entry["response"].get("outcome", {}).get("issue", [])
    return [(i["severity"], i["code"]) for i in issues if i["code"] == "deleted"]
