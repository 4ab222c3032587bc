"""A representative whose kind may only read (a curator with the holder's consent) can neither close,
erase, reopen nor disconnect apps (hardening review, item 1; the whole table of rights is tested in
tests/spaces/test_authorization_matrix.py), and an erase leaves the operators' record outside the
space."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ens.core import clock, db
from tests.helpers.carers import consent_until, court_measure
from tests.helpers.people import HistoryRows, MakeAppToken, MakePerson, Person


async def test_a_representative_may_read_but_not_close_erase_reopen_or_disconnect_apps(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken, history: HistoryRows
) -> None:
    holder, carer = await make_person(), await make_person()
    measure = await court_measure(holder, carer, "curatelle")
    await consent_until(holder, measure, clock.now() + timedelta(days=30))
    app = await make_app_token(holder, ["vitals.body_weight:write"])
    space = f"/v1/spaces/{holder.space_id}"
    assert (await client.get(space, headers=carer.headers)).status_code == 200
    refused = [
        await client.delete(f"{space}?erase=true", headers=carer.headers),
        await client.delete(space, headers=carer.headers),
        await client.post(f"{space}/reopen", headers=carer.headers),
        await client.delete(f"{space}/grants/{app.grant_id}", headers=carer.headers),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert all(r.json()["type"] == "urn:ens:problem:forbidden" for r in refused)
    # Nothing happened: the space is open, the app still writes.
    assert (await client.get(space, headers=holder.headers)).json()["status"] == "open"
    written = await client.post(
        "/v1/spaces/me/vitals",
        json={
            "measurements": [{"type": "body_weight", "value": 70, "unit": "kg", "effectiveAt": "2026-01-01T08:00:00Z"}]
        },
        headers=app.headers,
    )
    assert written.status_code == 201
    # Each refusal is in the holder's history, as the representative's.
    rows = [r for r in await history(holder.space_id) if r["actor_account_id"] == carer.account_id]
    assert [(r["acting_as"], r["outcome"]) for r in rows] == [("representative", s) for s in (200, 403, 403, 403, 403)]
    # A closed space: the representative cannot reopen it either.
    assert (await client.delete(space, headers=holder.headers)).status_code == 204
    assert (await client.post(f"{space}/reopen", headers=carer.headers)).status_code == 403
    assert (await client.post(f"{space}/reopen", headers=holder.headers)).status_code == 200


async def test_an_erase_leaves_the_operators_record_and_nothing_of_the_space(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    await client.post(
        "/v1/spaces/me/vitals",
        json={
            "measurements": [{"type": "body_weight", "value": 70, "unit": "kg", "effectiveAt": "2026-01-01T08:00:00Z"}]
        },
        headers=app.headers,
    )
    erased = await client.delete("/v1/spaces/me?erase=true", headers={**person.headers, "X-Request-Id": "erase-0001"})
    assert erased.status_code == 204
    records = await db.fetch("SELECT * FROM space_erasures WHERE erased_space_id = {}", person.space_id)
    assert len(records) == 1
    record = records[0]
    assert record["erased_by_account_id"] == person.account_id and record["acting_as"] == "holder"
    assert record["request_id"] == "erase-0001" and record["erased_by_client_id"] == "ens-mobile"
    # The record names no health data, and every table keyed by space_id is empty for the space.
    assert set(record.keys()) == {
        "id",
        "erased_space_id",
        "erased_by_account_id",
        "erased_by_client_id",
        "acting_as",
        "request_id",
        "erased_at",
        "finished_at",
    }
    assert record["finished_at"] is not None
    for table in db.bound_tables():
        if "space_id" in {c._meta.name for c in table._meta.columns}:
            left = await db.fetch(f"SELECT 1 FROM {table._meta.tablename} WHERE space_id = {{}}", person.space_id)
            assert left == [], table._meta.tablename
