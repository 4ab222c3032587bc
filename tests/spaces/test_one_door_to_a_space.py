"""The space door: visibility, roles, history rows, closed spaces, revocation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ens.core import db
from ens.spaces.door import Need


async def test_other_holders_space_is_404_and_leaves_no_trace(client, make_person, history):
    alice = await make_person()
    bob = await make_person()
    for path in ("", "/access-history", "/test-notes/x"):
        response = await client.get(f"/v1/spaces/{bob.space_id}{path}", headers=alice.headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:ens:problem:not-found"
    # Same answer as for a space that does not exist at all: existence is not revealed.
    missing = await client.get(f"/v1/spaces/{uuid.uuid4()}", headers=alice.headers)
    assert missing.json() == (await client.get(f"/v1/spaces/{bob.space_id}", headers=alice.headers)).json()
    assert await history(bob.space_id) == []


async def test_not_a_uuid_is_404(client, person):
    response = await client.get("/v1/spaces/not-a-uuid", headers=person.headers)
    assert response.status_code == 404


async def test_each_request_adds_exactly_one_history_row_whatever_the_outcome(client, person, history):
    before = len(await history(person.space_id))
    outcomes = [
        (await client.get("/v1/spaces/me", headers=person.headers)).status_code,
        (await client.get("/v1/spaces/me/test-notes/missing", headers=person.headers)).status_code,
        (
            await client.post(
                "/v1/spaces/me/test-notes",
                content=b"{not json",
                headers={**person.headers, "content-type": "application/json"},
            )
        ).status_code,
        (await client.post("/v1/spaces/me/test-notes", json={"text": ""}, headers=person.headers)).status_code,
        (await client.post("/v1/spaces/me/test-notes", json={"text": "ok"}, headers=person.headers)).status_code,
    ]
    assert outcomes == [200, 404, 400, 422, 201]
    rows = await history(person.space_id)
    assert len(rows) == before + len(outcomes)
    assert [row["outcome"] for row in rows[before:]] == outcomes
    last = rows[-1]
    assert last["acting_as"] == "holder"
    assert last["action"] == "POST /v1/spaces/{space}/test-notes"
    assert str(last["actor_account_id"]) == str(person.account_id)
    assert last["client_id"] == "ens-mobile"


async def test_refused_action_on_visible_space_is_recorded(client, make_person, make_app_token, history):
    holder = await make_person()
    app = await make_app_token(holder, ["vitals.body_weight:write"])
    response = await client.get("/v1/spaces/me/access-history", headers=app.headers)
    assert response.status_code == 403
    assert response.json()["type"] == "urn:ens:problem:forbidden"
    rows = await history(holder.space_id)
    assert rows[-1]["outcome"] == 403
    assert rows[-1]["acting_as"] == "app"
    assert rows[-1]["client_id"] == app.client_id


async def test_access_history_lists_newest_first_with_pages(client, person):
    for _ in range(5):
        await client.get("/v1/spaces/me", headers=person.headers)
    first = await client.get("/v1/spaces/me/access-history?limit=2", headers=person.headers)
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2 and page["nextCursor"]
    times = [item["at"] for item in page["items"]]
    assert times == sorted(times, reverse=True)
    second = await client.get(
        f"/v1/spaces/me/access-history?limit=2&cursor={page['nextCursor']}", headers=person.headers
    )
    assert all(item["at"] <= times[-1] for item in second.json()["items"])
    # Opaque ids, UUIDs as every id of the API: the table's key (a sequence over every space) is not told.
    ids = [item["id"] for item in page["items"] + second.json()["items"]]
    assert len(set(ids)) == 4 and all(str(uuid.UUID(row_id)) == row_id for row_id in ids)
    again = await client.get(
        f"/v1/spaces/me/access-history?limit=2&cursor={page['nextCursor']}", headers=person.headers
    )
    assert [item["id"] for item in again.json()["items"]] == ids[2:]  # stable: the same row, the same id
    item = page["items"][0]
    assert set(item) >= {"at", "actor", "client", "actingAs", "action", "outcome"}


async def test_forged_cursor_is_400(client, person):
    page = (await client.get("/v1/spaces/me/access-history?limit=1", headers=person.headers)).json()
    await client.get("/v1/spaces/me", headers=person.headers)
    page = (await client.get("/v1/spaces/me/access-history?limit=1", headers=person.headers)).json()
    cursor = page["nextCursor"]
    forged = cursor[:-4] + ("AAAA" if cursor[-4:] != "AAAA" else "BBBB")
    for bad in (forged, "garbage", "a.b.c", cursor + "x", cursor[:20]):
        response = await client.get(f"/v1/spaces/me/access-history?cursor={bad}", headers=person.headers)
        assert response.status_code == 400, bad
        assert response.json()["type"] == "urn:ens:problem:validation"


async def test_a_cursor_is_opaque_and_one_issued_signed_before_is_still_taken(client, person, settings):
    """Signed only, a cursor could be read: a representative's change-feed cursor (on SQLite, the
    space's counter) told how many measures hidden from them were written (an outside audit). It
    is encrypted now; a phone's signed cursor from before still works until it expires."""
    import base64

    import msgspec

    from ens.core import keyring
    from ens.core.api import Cursors

    for _ in range(3):
        await client.get("/v1/spaces/me", headers=person.headers)
    page = (await client.get("/v1/spaces/me/access-history?limit=1", headers=person.headers)).json()
    cursor = page["nextCursor"]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    [newest] = [
        row["id"]
        for row in await db.fetch("SELECT id FROM access_history WHERE space_id = {}", person.space_id)
        if str(Cursors(settings.secret_key).opaque_id("access-history", int(row["id"]))) == page["items"][0]["id"]
    ]
    assert "." not in cursor
    assert f"[{newest}]".encode() not in raw and str(newest).encode() not in raw
    # One place, one cursor: a page's body (and its ETag) stays the same while nothing changes.
    cursors = Cursors(settings.secret_key)
    assert cursors.encode("p", [1, "a"]) == cursors.encode("p", [1, "a"]) != cursors.encode("q", [1, "a"])
    # A cursor as they were issued before: its position readable, and a MAC.
    purpose = f"history:{person.space_id}:None|None|None|None|None"
    second = (await client.get(f"/v1/spaces/me/access-history?limit=1&cursor={cursor}", headers=person.headers)).json()
    payload = msgspec.json.encode([int(newest)])
    mac = keyring.sign(settings.secret_key, f"cursor:{purpose}", payload=payload)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signed = await client.get(
        f"/v1/spaces/me/access-history?limit=1&cursor={b64(payload)}.{b64(mac)}", headers=person.headers
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["items"] == second["items"]


async def test_cursor_of_another_space_is_refused(client, make_person):
    alice = await make_person()
    bob = await make_person()
    for who in (alice, bob):
        await client.get("/v1/spaces/me", headers=who.headers)
        await client.get("/v1/spaces/me", headers=who.headers)
    cursor = (await client.get("/v1/spaces/me/access-history?limit=1", headers=alice.headers)).json()["nextCursor"]
    response = await client.get(f"/v1/spaces/me/access-history?cursor={cursor}", headers=bob.headers)
    assert response.status_code == 400


async def test_closed_space_is_gone_everywhere_but_reopen(client, person, history):
    assert (await client.delete("/v1/spaces/me", headers=person.headers)).status_code == 204
    for method, path in (
        ("GET", ""),
        ("GET", "/access-history"),
        ("POST", "/test-notes"),
        ("DELETE", ""),
    ):
        body = {"json": {"text": "x"}} if method == "POST" else {}
        response = await client.request(method, f"/v1/spaces/me{path}", headers=person.headers, **body)
        assert response.status_code == 410, (method, path)
        assert response.json()["type"] == "urn:ens:problem:gone"
    me = (await client.get("/v1/me", headers=person.headers)).json()
    assert me["spaces"][0]["status"] == "closed"
    reopened = await client.post("/v1/spaces/me/reopen", headers=person.headers)
    assert reopened.status_code == 200
    assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200
    # Reopening an open space is a conflict.
    assert (await client.post("/v1/spaces/me/reopen", headers=person.headers)).status_code == 409
    outcomes = [row["outcome"] for row in await history(person.space_id)]
    assert outcomes[-8:] == [204, 410, 410, 410, 410, 200, 200, 409]


async def test_erase_leaves_no_row_of_the_space(client, person, make_app_token):
    app = await make_app_token(person, ["test-notes:write"])
    created = await client.post(
        "/v1/spaces/me/test-notes", json={"text": "x"}, headers={**app.headers, "Idempotency-Key": "erase-me"}
    )
    assert created.status_code == 201
    await client.get("/v1/spaces/me", headers=person.headers)
    response = await client.delete("/v1/spaces/me?erase=true", headers=person.headers)
    assert response.status_code == 204
    for table in db.bound_tables():
        columns = {c._meta.name for c in table._meta.columns}
        if "space_id" in columns:
            rows = await db.fetch(f"SELECT * FROM {table._meta.tablename} WHERE space_id = {{}}", person.space_id)
            assert rows == [], table._meta.tablename
    assert await db.fetch("SELECT * FROM spaces WHERE id = {}", person.space_id) == []
    # The account survives; its own space is gone, and the app's grant with it.
    assert (await client.get("/v1/me", headers=person.headers)).json()["spaces"] == []
    assert (await client.get("/v1/spaces/me", headers=app.headers)).status_code == 401


async def test_erase_of_a_closed_space_is_accepted(client, person):
    await client.delete("/v1/spaces/me", headers=person.headers)
    assert (await client.delete("/v1/spaces/me?erase=true", headers=person.headers)).status_code == 204
    assert await db.fetch("SELECT id FROM spaces WHERE id = {}", person.space_id) == []


async def test_revoked_session_is_refused_on_the_next_request(client, make_person):
    person = await make_person()
    assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200
    sessions = (await client.get("/v1/me/sessions", headers=person.headers)).json()["items"]
    assert [s["id"] for s in sessions] == [str(person.grant_id)] and sessions[0]["current"] is True
    assert (await client.delete(f"/v1/me/sessions/{person.grant_id}", headers=person.headers)).status_code == 204
    for path in ("/v1/spaces/me", "/v1/me"):
        response = await client.get(path, headers=person.headers)
        assert response.status_code == 401
        assert response.json()["type"] == "urn:ens:problem:grant-revoked"


async def test_a_session_past_its_lifetime_is_no_device_signed_in(client, person, settings):
    """A session whose refresh chain has passed ENS_REFRESH_TOKEN_MAX_AGE (and whose last access
    token has expired) can do nothing: it left the list of signed-in devices (an outside audit found
    every past login listed forever)."""
    from datetime import timedelta

    from ens.auth.oauth import session_lifetime
    from ens.core import clock

    lifetime = session_lifetime(settings)
    copy = (
        "INSERT INTO grants (id, kind, account_id, client_id, client_name, scopes, label, created_at) "
        "SELECT {}, kind, account_id, client_id, client_name, scopes, {}, {} FROM grants WHERE id = {}"
    )
    old, recent = uuid.uuid4(), uuid.uuid4()
    await db.fetch(copy, old, "old phone", clock.now() - lifetime - timedelta(minutes=1), person.grant_id)
    await db.fetch(copy, recent, "tablet", clock.now() - lifetime + timedelta(minutes=5), person.grant_id)
    sessions = (await client.get("/v1/me/sessions", headers=person.headers)).json()["items"]
    assert {s["id"] for s in sessions} == {str(person.grant_id), str(recent)}


async def test_revoked_app_grant_is_refused_on_the_next_request(client, person, make_app_token):
    from ens.spaces.service import revoke_grant

    app = await make_app_token(person, ["test-notes:read"])
    assert (await client.get("/v1/spaces/me/test-notes/none", headers=app.headers)).status_code == 404
    await revoke_grant(app.grant_id)
    response = await client.get("/v1/spaces/me/test-notes/none", headers=app.headers)
    assert response.status_code == 401
    assert response.json()["type"] == "urn:ens:problem:grant-revoked"


async def test_app_token_is_bound_to_its_space_and_kind_of_access(client, make_person, make_app_token):
    alice = await make_person()
    bob = await make_person()
    reader = await make_app_token(alice, ["test-notes:read"])
    # Reads allowed by a read scope, writes are not.
    assert (
        await client.post("/v1/spaces/me/test-notes", json={"text": "x"}, headers=reader.headers)
    ).status_code == 403
    assert (await client.get(f"/v1/spaces/{alice.space_id}/test-notes/x", headers=reader.headers)).status_code == 404
    assert (await client.get(f"/v1/spaces/{bob.space_id}/test-notes/x", headers=reader.headers)).status_code == 404
    # Person-only routes are closed to apps.
    assert (await client.get("/v1/spaces/me", headers=reader.headers)).status_code == 403
    assert (await client.get("/v1/me", headers=reader.headers)).status_code == 403


async def test_missing_bad_and_expired_tokens_are_401(client, settings, person):
    from ens.auth.tokens import AccessTokens
    from ens.spaces.caller import Caller

    session = Caller(
        kind="person",
        account_id=person.account_id,
        client_id="ens-mobile",
        grant_id=person.grant_id,
        scopes=frozenset({"space"}),
    )
    expired = AccessTokens(settings).issue(session, ttl=-1)
    other_key = AccessTokens(
        type(settings).from_env(env="dev", secret_key="x" * 40, database_url=settings.database_url)
    )
    forged = other_key.issue(session)
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer x.y.z"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {forged}"},
    ):
        response = await client.get("/v1/spaces/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["type"] == "urn:ens:problem:unauthorized"
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer")
        # RFC 6750 §3.1: a token sent and refused is invalid_token (refresh it); none sent, no error code.
        sent = headers.get("Authorization", "").startswith("Bearer ")
        assert ('error="invalid_token"' in challenge) == sent, (headers, challenge)


async def test_two_authorization_headers_are_400_whichever_comes_first(client, make_person, history):
    # Which of two credentials is the caller? Neither is guessed (one was taken, the first).
    alice, bob = await make_person(), await make_person()
    for first, second in ((alice, bob), (alice, alice), (bob, alice)):
        pair = [("Authorization", first.headers["Authorization"]), ("Authorization", second.headers["Authorization"])]
        response = await client.get("/v1/spaces/me", headers=pair)
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [{"pointer": "", "detail": "Authorization repeated"}]
        # An unknown address too: no one is named, so no space's history is written.
        assert (await client.get("/v1/spaces/me/nowhere", headers=pair)).status_code == 404
    assert await history(alice.space_id) == [] and await history(bob.space_id) == []


async def test_refusals_reach_the_security_log_with_ids_and_no_token(client, make_person):
    import logging

    from ens.core.log import KeyValueFormatter

    alice = await make_person()
    bob = await make_person()
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(KeyValueFormatter().format(record))

    handler = Collect()
    logger = logging.getLogger("ens")
    logger.addHandler(handler)
    try:
        await client.get(f"/v1/spaces/{bob.space_id}", headers=alice.headers)
        await client.post("/v1/spaces/me/test-notes", json={"text": "secret note"}, headers=alice.headers)
    finally:
        logger.removeHandler(handler)
    refused = [line for line in lines if "space_not_visible" in line]
    assert len(refused) == 1
    assert f"account_id={alice.account_id}" in refused[0] and "request_id=" in refused[0]
    assert str(bob.space_id) not in refused[0]  # what was asked for is not echoed
    assert all(alice.token not in line and "secret note" not in line for line in lines)


async def test_a_scope_of_one_capability_never_opens_another(client, person, make_app_token):
    """The door matches the route's capability, not only read versus write."""
    vitals_writer = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    response = await client.post("/v1/spaces/me/test-notes", json={"text": "x"}, headers=vitals_writer.headers)
    assert response.status_code == 403
    assert (await client.get("/v1/spaces/me/test-notes/x", headers=vitals_writer.headers)).status_code == 403
    notes_writer = await make_app_token(person, ["test-notes:write"])
    assert (
        await client.post("/v1/spaces/me/vitals", json={"measurements": []}, headers=notes_writer.headers)
    ).status_code == 403


def test_the_app_refuses_to_start_with_a_space_route_outside_the_door(settings):
    """A route under /v1/spaces/{space} that bypasses the door, or declares no need, is impossible."""
    from litestar import Controller, get

    from ens.app import create_app

    class Undeclared(Controller):
        path = "/undeclared"

        @get("/", operation_id="undeclaredForTests")
        async def read(self) -> dict[str, str]:
            return {}

    class Bypassing(Controller):
        path = "/bypassing"

        @get("/", opt={"need": Need("space")}, before_request=lambda request: None, operation_id="bypassingForTests")
        async def read(self) -> dict[str, str]:
            return {}

    for controller, message in ((Undeclared, "does not declare"), (Bypassing, "not behind the space door")):
        with pytest.raises(RuntimeError, match=message):
            create_app(settings, extra_space_routes=[controller])


def test_the_app_refuses_to_start_with_a_fhir_route_outside_the_door(settings):
    """The FHIR door (/fhir) is under the same start-up check: a route there that bypasses the space
    door is impossible; /fhir/metadata alone is public."""
    from litestar import get

    from ens.app import create_app

    @get("/fhir/Patient", operation_id="fhirPatientForTests", opt={"need": Need("vitals", app_scope="read")})
    async def outside() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="not behind the space door"):
        create_app(settings, extra_routes=[outside])


def test_the_app_refuses_to_start_with_a_websocket_or_asgi_route_in_a_space(settings):
    """A websocket or raw ASGI route runs no before_request: under /v1/spaces/{space} nothing would
    open the door, so such a route is refused at start-up (the check saw HTTP routes only)."""
    from litestar import WebSocket, asgi, websocket
    from litestar.types import Receive, Scope, Send

    from ens.app import create_app

    @websocket("/v1/spaces/{space:str}/live", opt={"need": Need("vitals")})
    async def live(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.close()

    @asgi("/v1/spaces/{space:str}/raw", opt={"need": Need("vitals")}, copy_scope=True)
    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    for route in (live, raw):
        with pytest.raises(RuntimeError, match="not an HTTP route"):
            create_app(settings, extra_routes=[route])


async def test_the_fhir_door_records_refusals_in_the_apps_own_space(client, person, make_app_token, history):
    """/fhir resolves {space} = me from the app's token, through the one door: a refused request is
    in the space's history like any other."""
    app = await make_app_token(person, ["vitals.body_weight:read"])
    answer = await client.post("/fhir", json={"resourceType": "Bundle"}, headers=app.headers)
    assert answer.status_code == 403
    rows = await history(person.space_id)
    assert (rows[-1]["action"], rows[-1]["outcome"], rows[-1]["client_id"]) == ("POST /fhir", 403, app.client_id)
