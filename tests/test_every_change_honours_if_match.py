"""``PUT``, ``PATCH`` and ``DELETE`` honour ``If-Match`` (412 on mismatch): API.md, Conventions.

Closing and erasing a space (irreversible) ignored it: a stale tag closed the space, and erased a
child's (an outside audit). So did the emergency-access switch, and the operations on resources
that have no GET of their own (a session, an app's grant, a representation): for those, no entity
tag can match a version, only ``*`` holds (RFC 9110 §13.1.1), and a missing item stays a 404.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
from litestar import Litestar

from tests.helpers.carers import court_measure, create_child_space, live_representation_id
from tests.helpers.people import MakeAppToken, MakePerson, Person

STALE = {"If-Match": '"not-the-current-version"'}


def test_every_put_patch_and_delete_reads_if_match_and_documents_412(app: Litestar) -> None:
    document = app.openapi_schema.to_schema()
    lacking = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("put", "patch", "delete")
        and not (
            any(p["in"] == "header" and p["name"] == "If-Match" for p in operation.get("parameters", []))
            and "412" in operation["responses"]
        )
    ]
    assert lacking == []


async def test_closing_or_erasing_a_space_needs_its_current_tag_when_one_is_sent(
    client: httpx.AsyncClient, person: Person
) -> None:
    read = await client.get("/v1/spaces/me", headers=person.headers)
    etag = read.headers["etag"]
    for query in ("?erase=true", ""):
        refused = await client.delete(f"/v1/spaces/me{query}", headers={**person.headers, **STALE})
        assert refused.status_code == 412, refused.text
        assert refused.json()["type"] == "urn:ens:problem:precondition-failed"
    # Nothing happened: the space is open and as it was (the same tag).
    again = await client.get("/v1/spaces/me", headers=person.headers)
    assert again.json()["status"] == "open" and again.headers["etag"] == etag
    # The tag of the summary the holder read closes it.
    closed = await client.delete("/v1/spaces/me", headers={**person.headers, "If-Match": etag})
    assert closed.status_code == 204, closed.text
    # A closed space has no representation (its GET is 410): not even * matches it.
    star = await client.delete("/v1/spaces/me?erase=true", headers={**person.headers, "If-Match": "*"})
    assert star.status_code == 412
    # Nor does any tag reopen it (an outside audit: reopening read no If-Match at all); without one
    # it reopens.
    for tag in ('"no-such-version"', etag, "*"):
        refused = await client.post("/v1/spaces/me/reopen", headers={**person.headers, "If-Match": tag})
        assert refused.status_code == 412, (tag, refused.text)
    assert (await client.post("/v1/spaces/me/reopen", headers=person.headers)).status_code == 200
    # Open, a stale tag is 412 before the 409 an open space's reopening is.
    stale = await client.post("/v1/spaces/me/reopen", headers={**person.headers, **STALE})
    assert stale.status_code == 412, stale.text


async def test_a_child_space_is_erased_only_with_the_tag_its_parent_read(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent = await make_person()
    child = await create_child_space(client, parent)
    space = f"/v1/spaces/{child}"
    etag = (await client.get(space, headers=parent.headers)).headers["etag"]
    assert (await client.delete(f"{space}?erase=true", headers={**parent.headers, **STALE})).status_code == 412
    assert (await client.get(space, headers=parent.headers)).status_code == 200
    erased = await client.delete(f"{space}?erase=true", headers={**parent.headers, "If-Match": etag})
    assert erased.status_code == 204
    assert (await client.get(space, headers=parent.headers)).status_code == 404


async def test_a_refusal_comes_before_the_precondition(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    """A representative who may not erase is told so (403), whatever tag they send."""
    holder, guardian = await make_person(), await make_person()
    await court_measure(holder, guardian, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    refused = await client.delete(f"{space}?erase=true", headers={**guardian.headers, **STALE})
    assert refused.status_code == 403


async def test_the_emergency_access_switch_compares_with_its_get(client: httpx.AsyncClient, person: Person) -> None:
    url = "/v1/spaces/me/emergency-access"
    etag = (await client.get(url, headers=person.headers)).headers["etag"]
    stale = await client.put(url, json={"allowed": False}, headers={**person.headers, **STALE})
    assert stale.status_code == 412
    assert (await client.get(url, headers=person.headers)).json() == {"allowed": True}
    changed = await client.put(url, json={"allowed": False}, headers={**person.headers, "If-Match": etag})
    assert changed.status_code == 200 and changed.json() == {"allowed": False}
    # The tag it answered with is now the stale one.
    again = await client.put(url, json={"allowed": True}, headers={**person.headers, "If-Match": etag})
    assert again.status_code == 412


async def test_a_session_or_an_apps_grant_has_no_version_only_star_holds(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    person, other_device = await make_person(), await make_person()
    sessions = (await client.get("/v1/me/sessions", headers=person.headers)).json()["items"]
    mine = next(s["id"] for s in sessions if s["current"])
    refused = await client.delete(f"/v1/me/sessions/{mine}", headers={**person.headers, **STALE})
    assert refused.status_code == 412
    assert (await client.get("/v1/me", headers=person.headers)).status_code == 200  # still signed in
    # An unknown session stays a 404 whatever the tag.
    missing = await client.delete(f"/v1/me/sessions/{other_device.grant_id}", headers={**person.headers, **STALE})
    assert missing.status_code == 404
    app = await make_app_token(person, ["vitals.body_weight:read"])
    grant = f"/v1/spaces/me/grants/{app.grant_id}"
    assert (await client.delete(grant, headers={**person.headers, **STALE})).status_code == 412
    assert (await client.get("/v1/spaces/me/vitals", headers=app.headers)).status_code == 200
    assert (await client.delete(grant, headers={**person.headers, "If-Match": "*"})).status_code == 204
    assert (await client.get("/v1/spaces/me/vitals", headers=app.headers)).status_code == 401
    out = await client.delete(f"/v1/me/sessions/{mine}", headers={**person.headers, "If-Match": "*"})
    assert out.status_code == 204


async def test_a_representation_has_no_version_only_star_holds(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent, holder, curator = await make_person(), await make_person(), await make_person()
    child = await create_child_space(client, parent)
    mine = await live_representation_id(child, parent)
    leave = f"/v1/spaces/{child}/representatives/{mine}"
    assert (await client.delete(leave, headers={**parent.headers, **STALE})).status_code == 412
    assert (await client.get(f"/v1/spaces/{child}", headers=parent.headers)).status_code == 200
    measure = await court_measure(holder, curator, "curatelle")
    consent = f"/v1/spaces/me/representatives/{measure}/consent"
    until = {"until": (date.today() + timedelta(days=30)).isoformat()}
    assert (await client.put(consent, json=until, headers={**holder.headers, **STALE})).status_code == 412
    given = await client.put(consent, json=until, headers={**holder.headers, "If-Match": "*"})
    assert given.status_code == 200, given.text


async def test_two_changes_sent_with_the_same_tag_cannot_both_pass(client: httpx.AsyncClient, person: Person) -> None:
    """The tag is compared under the space row's lock, in the change's transaction (a review: read
    before it, two changes with the same tag both passed)."""
    url = "/v1/spaces/me/emergency-access"
    for _ in range(3):
        etag = (await client.get(url, headers=person.headers)).headers["etag"]
        current = (await client.get(url, headers=person.headers)).json()["allowed"]
        body = {"allowed": not current}
        answers = await asyncio.gather(
            *(client.put(url, json=body, headers={**person.headers, "If-Match": etag}) for _ in range(2))
        )
        assert sorted(a.status_code for a in answers) == [200, 412]
