"""A route that takes no body refuses one (400 problem+json, recorded), rather than drop it unread:
``POST .../directives/confirm {"note": "..."}`` answered 200 and kept nothing of the note, so what
the client sent was not what was done. Routes that read their own body (a document's upload, the
/fhir door, an import) still take theirs; an empty body (``Content-Length: 0``) is no body."""

from __future__ import annotations

import httpx

from tests.helpers.documents import pdf, upload
from tests.helpers.people import HistoryRows, MakePerson
from tests.helpers.records import DIRECTIVES, structured
from tests.helpers.vitals import weight

VITALS = "/v1/spaces/me/vitals"


async def test_a_body_sent_to_a_route_without_one_is_refused_and_recorded(
    client: httpx.AsyncClient, make_person: MakePerson, history: HistoryRows
) -> None:
    person = await make_person()
    written = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    assert written.status_code == 201, written.text

    refused = await client.post(f"{DIRECTIVES}/confirm", json={"note": "relu"}, headers=person.headers)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"] == [{"pointer": "", "detail": "no body expected"}]
    row = (await history(person.space_id))[-1]
    assert (row["action"], row["outcome"]) == ("POST /v1/spaces/{space}/directives/confirm", 400)

    # Without a body (none, or an empty one) the same request is done.
    assert (await client.post(f"{DIRECTIVES}/confirm", headers=person.headers)).status_code == 200
    empty = await client.post(
        f"{DIRECTIVES}/confirm", content=b"", headers={**person.headers, "Content-Type": "application/json"}
    )
    assert empty.status_code == 200, empty.text


async def test_a_delete_with_a_body_removes_nothing(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    person = await make_person()
    posted = await client.post(VITALS, json={"measurements": [weight()]}, headers=person.headers)
    measure = posted.json()["items"][0]["id"]

    refused = await client.request(
        "DELETE", f"{VITALS}/{measure}", json={"reason": "erreur"}, headers={**person.headers, "If-Match": "*"}
    )
    assert refused.status_code == 400, refused.text
    assert (await client.get(f"{VITALS}/{measure}", headers=person.headers)).status_code == 200

    removed = await client.delete(f"{VITALS}/{measure}", headers={**person.headers, "If-Match": "*"})
    assert removed.status_code == 204


async def test_routes_that_read_their_own_body_still_take_it(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    person = await make_person()
    assert (await upload(client, person.headers, pdf())).status_code == 201


async def test_the_account_door_refuses_a_body_it_would_drop(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    person = await make_person()
    sessions = (await client.get("/v1/me/sessions", headers=person.headers)).json()["items"]
    path = f"/v1/me/sessions/{sessions[0]['id']}"
    refused = await client.request("DELETE", path, json={"everywhere": True}, headers=person.headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [{"pointer": "", "detail": "no body expected"}]
    assert (await client.get("/v1/me", headers=person.headers)).status_code == 200  # the session lives on


async def test_a_query_parameter_given_twice_is_refused_where_one_value_is_read(
    client: httpx.AsyncClient, make_person: MakePerson, history: HistoryRows
) -> None:
    person = await make_person()
    # Closing or erasing: litestar kept the last value, so the order of two values decided.
    for query in ("erase=true&erase=false", "erase=false&erase=true"):
        refused = await client.delete(f"/v1/spaces/me?{query}", headers={**person.headers, "If-Match": "*"})
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"] == [{"pointer": "/erase", "detail": "given more than once"}]
    assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200  # still open
    assert [row["outcome"] for row in await history(person.space_id)][-3:] == [400, 400, 200]
    assert (await client.get(f"{VITALS}?limit=1&limit=2", headers=person.headers)).status_code == 400
    # A listing of the account reads its limit once.
    assert (await client.get("/v1/me/sessions?limit=1&limit=2", headers=person.headers)).status_code == 400
    assert (await client.get(f"{VITALS}?limit=1&type=body_weight", headers=person.headers)).status_code == 200
    # The cache-buster, which no route reads, may come more than once.
    assert (await client.get(f"{VITALS}?_=1&_=2", headers=person.headers)).status_code == 200
    # A dependency's parameter is the route's too: the page's cursor.
    assert (await client.get(f"{VITALS}?cursor=a&cursor=b", headers=person.headers)).status_code == 400
