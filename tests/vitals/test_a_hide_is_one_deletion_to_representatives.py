"""A measure the holder hides once a representative had it is, to the representative, one deletion
at the hide's place: its later changes (a correction, an app's replacement, its deletion) tell them
nothing more. Each came as a new deletion of the same id, so their feed told "hidden, still changed"
from "deleted", and when the holder worked on it (an outside audit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ens.core import db
from ens.vitals.feed import purge_tombstones
from tests.helpers.hidden import hide_measure, tutored_space_with_two_weights
from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.vitals import weight


async def _changes(client: httpx.AsyncClient, who: Person, space: str, cursor: str | None) -> tuple[list[Any], str]:
    """Every change after ``cursor``, page by page of two, and the cursor after the last."""
    changes: list[Any] = []
    while True:
        url = f"{space}/vitals/changes?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await client.get(url, headers=who.headers)
        assert page.status_code == 200, page.text
        changes += page.json()["changes"]
        cursor = page.json()["nextCursor"]
        if not page.json()["hasMore"]:
            assert cursor is not None
            return changes, cursor


def _ops(changes: list[Any]) -> list[tuple[str, str]]:
    return [(c["op"], c["id"] if c["op"] == "delete" else c["measurement"]["id"]) for c in changes]


async def _correct(client: httpx.AsyncClient, who: Person, space: str, measure: str, value: float) -> None:
    etag = (await client.get(f"{space}/vitals/{measure}", headers=who.headers)).headers["etag"]
    corrected = await client.patch(
        f"{space}/vitals/{measure}", json={"value": value}, headers={**who.headers, "If-Match": etag}
    )
    assert corrected.status_code == 200, corrected.text


async def test_a_hidden_measures_later_changes_tell_a_representative_nothing(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    holder, tutor, space, _, typed = await tutored_space_with_two_weights(client, make_person)
    app = await make_app_token(holder, ["vitals.body_weight:write", "vitals.body_weight:read"])

    async def send(value: float, version: int, **extra: Any) -> str:
        sent = await client.post(
            "/v1/spaces/me/vitals",
            json={"measurements": [weight(value, clientRecordId="s-1", clientRecordVersion=version, **extra)]},
            headers=app.headers,
        )
        assert sent.status_code == 201, sent.text
        return str(sent.json()["items"][0]["id"])

    by_app = await send(70.0, 1)
    _, cursor = await _changes(client, tutor, space, None)
    # Hidden by the holder (a typed measure), and by its app's replacement: one deletion each.
    assert (await hide_measure(client, holder.headers, space, typed)).status_code == 200
    assert await send(70.2, 2, hiddenFromRepresentatives=True) == by_app
    changes, cursor = await _changes(client, tutor, space, cursor)
    assert _ops(changes) == [("delete", typed), ("delete", by_app)]
    # Then corrected, replaced again, and deleted: nothing more to the tutor.
    await _correct(client, holder, space, typed, 64.5)
    assert await send(70.4, 3) == by_app
    assert (await client.get(f"{space}/vitals/{by_app}", headers=holder.headers)).json()["hiddenFromRepresentatives"]
    changes, cursor = await _changes(client, tutor, space, cursor)
    assert changes == []
    removed = await client.delete(f"{space}/vitals/{by_app}", headers={**holder.headers, "If-Match": "*"})
    assert removed.status_code == 204
    changes, cursor = await _changes(client, tutor, space, cursor)
    assert changes == []
    # The holder's own feed has every change; the typed measure shown again is the tutor's again.
    holders, _ = await _changes(client, holder, space, None)
    assert ("delete", by_app) in _ops(holders)
    assert [c["measurement"]["value"] for c in holders if c.get("measurement", {}).get("id") == typed] == [64.5]
    assert (await hide_measure(client, holder.headers, space, typed, hidden=False)).status_code == 200
    changes, cursor = await _changes(client, tutor, space, cursor)
    assert _ops(changes) == [("upsert", typed)] and changes[0]["measurement"]["value"] == 64.5
    # Hidden again: one deletion again, at that hide.
    assert (await hide_measure(client, holder.headers, space, typed)).status_code == 200
    await _correct(client, holder, space, typed, 64.0)
    changes, cursor = await _changes(client, tutor, space, cursor)
    assert _ops(changes) == [("delete", typed)]


async def test_a_representative_behind_the_hide_is_told_once(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """A tutor whose phone last synced before the hide, syncing after the measure was corrected and
    then deleted, hidden, learns of one deletion; one who synced between the hide and the deletion
    learns nothing more. A measure shown again before they sync is only an upsert."""
    holder, tutor, space, shown, hidden = await tutored_space_with_two_weights(client, make_person)
    _, before = await _changes(client, tutor, space, None)
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    _, between = await _changes(client, tutor, space, before)
    await _correct(client, holder, space, hidden, 63.0)
    assert (
        await client.delete(f"{space}/vitals/{hidden}", headers={**holder.headers, "If-Match": "*"})
    ).status_code == 204
    assert _ops((await _changes(client, tutor, space, before))[0]) == [("delete", hidden)]
    assert (await _changes(client, tutor, space, between))[0] == []
    # Hidden and shown again between two syncs: the measure, as it is.
    assert (await hide_measure(client, holder.headers, space, shown)).status_code == 200
    await _correct(client, holder, space, shown, 60.5)
    assert (await hide_measure(client, holder.headers, space, shown, hidden=False)).status_code == 200
    changes, _ = await _changes(client, tutor, space, between)
    assert _ops(changes) == [("upsert", shown)] and changes[0]["measurement"]["value"] == 60.5


async def test_a_measure_hidden_before_a_first_sync_and_changed_during_it_is_nothing(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Hidden before the tutor's first sync began, corrected between two of its pages: nothing of it
    in the sync (its correction's place, past the first read, gave the id of a measure the tutor
    never had as a deletion)."""
    holder, tutor, space, shown, hidden = await tutored_space_with_two_weights(client, make_person)
    third = await client.post(f"{space}/vitals", json={"measurements": [weight(65.0)]}, headers=holder.headers)
    assert third.status_code == 201
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    page = (await client.get(f"{space}/vitals/changes?limit=1", headers=tutor.headers)).json()
    assert page["hasMore"]
    await _correct(client, holder, space, hidden, 63.0)
    rest, _ = await _changes(client, tutor, space, page["nextCursor"])
    ids = {i for _, i in _ops(page["changes"] + rest)}
    assert hidden not in ids and shown in ids and third.json()["items"][0]["id"] in ids


async def test_the_hide_of_a_measure_deleted_hidden_is_purged_with_its_tombstone(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder, tutor, space, _, hidden = await tutored_space_with_two_weights(client, make_person)
    _, before = await _changes(client, tutor, space, None)
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    assert (
        await client.delete(f"{space}/vitals/{hidden}", headers={**holder.headers, "If-Match": "*"})
    ).status_code == 204
    hides = "SELECT id, deleted_at FROM vital_hides WHERE space_id = {}"
    [row] = await db.fetch(hides, holder.space_id)
    assert str(row["id"]) == hidden and row["deleted_at"] is not None
    long_ago = datetime.now(UTC) - timedelta(days=91)
    for table in ("vital_tombstones", "vital_hides"):
        await db.fetch(f"UPDATE {table} SET deleted_at = {{}} WHERE space_id = {{}}", long_ago, holder.space_id)
    assert await purge_tombstones(90) >= 1
    assert await db.fetch(hides, holder.space_id) == []
    # The tutor's cursor from before the hide would now miss it: fetch everything again.
    assert (await client.get(f"{space}/vitals/changes?cursor={before}", headers=tutor.headers)).status_code == 410


async def test_measures_hidden_before_the_hides_had_a_place_get_one(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The migration gives a measure (and a tombstone) hidden once shown, stored before hides had a
    place of their own, one at its present place: a tutor behind it is told once."""
    from ens.vitals.piccolo_migrations.m2026_12_19_0001_hides import BACKFILL

    holder, tutor, space, shown, hidden = await tutored_space_with_two_weights(client, make_person)
    _, before = await _changes(client, tutor, space, None)
    for measure in (shown, hidden):
        assert (await hide_measure(client, holder.headers, space, measure)).status_code == 200
    assert (
        await client.delete(f"{space}/vitals/{hidden}", headers={**holder.headers, "If-Match": "*"})
    ).status_code == 204
    await db.fetch("DELETE FROM vital_hides WHERE space_id = {}", holder.space_id)
    assert (await _changes(client, tutor, space, before))[0] == []
    await db.run_ddl(db.current(), BACKFILL)
    await db.run_ddl(db.current(), BACKFILL)  # a hide placed is left as it is
    rows = await db.fetch("SELECT id, deleted_at FROM vital_hides WHERE space_id = {}", holder.space_id)
    assert {str(r["id"]): r["deleted_at"] is not None for r in rows} == {shown: False, hidden: True}
    assert sorted(_ops((await _changes(client, tutor, space, before))[0])) == sorted(
        [("delete", shown), ("delete", hidden)]
    )


async def test_a_measure_added_and_hidden_between_two_syncs_is_nothing_to_a_representative(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Added visible and hidden before the tutor's next sync, a measure they never had came to them
    as a deletion of its id: the id of a measure the holder hid (a known gap). Its hide keeps the
    place the measure took when added: a tutor whose feed has not reached it is told nothing; one
    who synced in between, and had it, is told of the deletion. A measure corrected before being
    hidden keeps no such place: its deletion is sent (the gap that stays, on the side of telling)."""
    holder, tutor, space, _, _ = await tutored_space_with_two_weights(client, make_person)
    _, before = await _changes(client, tutor, space, None)
    added = await client.post(f"{space}/vitals", json={"measurements": [weight(66.0)]}, headers=holder.headers)
    assert added.status_code == 201, added.text
    new = added.json()["items"][0]["id"]
    _, between = await _changes(client, tutor, space, before)
    assert (await hide_measure(client, holder.headers, space, new)).status_code == 200
    assert (await _changes(client, tutor, space, before))[0] == []
    assert _ops((await _changes(client, tutor, space, between))[0]) == [("delete", new)]
    # Corrected while visible, then hidden: where it was first shown is not kept.
    _, now = await _changes(client, tutor, space, between)
    other = await client.post(f"{space}/vitals", json={"measurements": [weight(67.0)]}, headers=holder.headers)
    changed = other.json()["items"][0]["id"]
    await _correct(client, holder, space, changed, 67.5)
    assert (await hide_measure(client, holder.headers, space, changed)).status_code == 200
    assert _ops((await _changes(client, tutor, space, now))[0]) == [("delete", changed)]
