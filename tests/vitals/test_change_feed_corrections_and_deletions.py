"""The change feed (phone sync), corrections by hand, deletions and their tombstones, the purge."""

from __future__ import annotations

import asyncio
import contextvars
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ens.core import clock, db
from ens.core.api import Cursors
from ens.vitals import feed
from ens.vitals.service import purge_tombstones
from tests.helpers.hidden import hide_measure, tutored_space_with_two_weights
from tests.helpers.plans import Statements
from tests.helpers.vitals import VITALS, at, pressure, weight

FEED = f"{VITALS}/changes"


class Phone:
    """A phone's local copy, kept only from the change feed."""

    def __init__(self, client, who) -> None:
        self.client, self.who = client, who
        self.view: dict[str, dict[str, Any]] = {}
        self.cursor: str | None = None

    async def sync(self, limit: int = 500) -> int:
        pages = 0
        while True:
            query = f"limit={limit}" + (f"&cursor={self.cursor}" if self.cursor else "")
            response = await self.client.get(f"{FEED}?{query}", headers=self.who.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            for change in body["changes"]:
                if change["op"] == "upsert":
                    self.view[change["measurement"]["id"]] = change["measurement"]
                else:
                    assert change["op"] == "delete"
                    self.view.pop(change["id"], None)
            self.cursor = body["nextCursor"]
            pages += 1
            if not body["hasMore"]:
                return pages


async def server_view(get_all, who) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in await get_all(who)}


async def test_the_feed_replays_a_phones_view_exactly(client, person, make_app_token, post_vitals, get_all):
    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.blood_pressure:write"])
    phone = Phone(client, person)
    assert await phone.sync() == 1 and phone.view == {}
    first = await post_vitals(scale, [weight(70 + i, minutes_ago=100 - i, clientRecordId=f"s{i}") for i in range(12)])
    typed = await post_vitals(person, [pressure(125, 82, minutes_ago=3), weight(69.5, minutes_ago=2)])
    assert await phone.sync(limit=5) == 3  # 14 changes, 5 at a time
    assert phone.view == await server_view(get_all, person)
    # Replacements, a no-op re-send, a correction by hand, deletions of both kinds.
    await post_vitals(scale, [weight(90, clientRecordId="s3", clientRecordVersion=1)])
    await post_vitals(scale, [weight(91, clientRecordId="s4", clientRecordVersion=0)])
    typed_ids = [item["id"] for item in typed.json()["items"]]
    correction = {"value": 68.9, "note": "corrigé"}
    patched = await client.patch(f"{VITALS}/{typed_ids[1]}", json=correction, headers=person.headers)
    assert patched.status_code == 200, patched.text
    deleted = [first.json()["items"][0]["id"], typed_ids[0]]
    for measurement_id in deleted:
        assert (await client.delete(f"{VITALS}/{measurement_id}", headers=person.headers)).status_code == 204
    await phone.sync(limit=2)
    assert phone.view == await server_view(get_all, person)
    assert not set(deleted) & set(phone.view)
    assert phone.view[typed_ids[1]]["value"] == 68.9 and phone.view[typed_ids[1]]["note"] == "corrigé"
    # Nothing new: an empty page and a cursor that still works.
    before = phone.cursor
    await phone.sync()
    body = (await client.get(f"{FEED}?cursor={before}", headers=person.headers)).json()
    assert body["changes"] == [] and body["hasMore"] is False


async def test_expired_and_forged_feed_cursors(client, person, settings, post_vitals):
    await post_vitals(person, [weight()])
    cursors = Cursors(settings.secret_key)
    purpose = f"vitals.changes:{person.space_id}"
    old = (datetime.now(UTC) - timedelta(days=settings.tombstone_retention_days + 1)).timestamp()
    expired = await client.get(f"{FEED}?cursor={cursors.encode(purpose, [0, old])}", headers=person.headers)
    assert expired.status_code == 410
    assert expired.json()["type"] == "urn:ens:problem:gone"
    recent = (datetime.now(UTC) - timedelta(days=settings.tombstone_retention_days - 1)).timestamp()
    issued = cursors.decode(purpose, (await client.get(FEED, headers=person.headers)).json()["nextCursor"])
    issued[2] = recent
    fine = await client.get(f"{FEED}?cursor={cursors.encode(purpose, issued)}", headers=person.headers)
    assert fine.status_code == 200, fine.text
    # A cursor issued before cursors carried the caller's reach (its readable types, whether it
    # sees hidden measures) cannot be checked against it: the phone resyncs once.
    for before in ([0, recent], [0, 0, recent], [0, 0, recent, 0]):
        unbound = await client.get(f"{FEED}?cursor={cursors.encode(purpose, before)}", headers=person.headers)
        assert unbound.status_code == 410, unbound.text
    forged = Cursors("another-secret-key-of-sufficient-length-0123456789").encode(purpose, [0, recent])
    assert (await client.get(f"{FEED}?cursor={forged}", headers=person.headers)).status_code == 400
    # A cursor of another space's feed is refused too.
    other = cursors.encode("vitals.changes:00000000-0000-0000-0000-000000000000", [0, recent])
    assert (await client.get(f"{FEED}?cursor={other}", headers=person.headers)).status_code == 400
    assert (await client.get(f"{FEED}?limit=0", headers=person.headers)).status_code in (400, 422)


async def test_purge_removes_old_tombstones_and_cursors_from_before_them_are_gone(client, person, post_vitals):
    created = await post_vitals(person, [weight(70, minutes_ago=3), weight(71, minutes_ago=2)])
    ids = [item["id"] for item in created.json()["items"]]
    phone = Phone(client, person)
    await phone.sync()
    stale_cursor = phone.cursor
    for measurement_id in ids:
        await client.delete(f"{VITALS}/{measurement_id}", headers=person.headers)
    await phone.sync()
    assert phone.view == {}
    synced_cursor = phone.cursor
    # The first deletion is older than the retention; the second is not.
    await db.fetch(
        "UPDATE vital_tombstones SET deleted_at = {} WHERE space_id = {} AND id = {}",
        datetime.now(UTC) - timedelta(days=91),
        person.space_id,
        ids[0],
    )
    assert await purge_tombstones(90) >= 1
    left = await db.fetch("SELECT id FROM vital_tombstones WHERE space_id = {}", person.space_id)
    assert [str(row["id"]) for row in left] == [ids[1]]
    # A phone that had not seen the purged deletion must resync; one that had is fine.
    assert (await client.get(f"{FEED}?cursor={stale_cursor}", headers=person.headers)).status_code == 410
    assert (await client.get(f"{FEED}?cursor={synced_cursor}", headers=person.headers)).status_code == 200
    fresh = Phone(client, person)
    await fresh.sync()
    assert fresh.view == {}


async def _delete_heart_rate(client, person) -> None:
    """A heart rate written and deleted: a tombstone of a type a scale does not read."""
    written = await client.post(
        VITALS,
        json={"measurements": [{"type": "heart_rate", "value": 60, "unit": "/min", "effectiveAt": at(20)}]},
        headers=person.headers,
    )
    assert written.status_code == 201, written.text
    hr_id = written.json()["items"][0]["id"]
    assert (await client.delete(f"{VITALS}/{hr_id}", headers=person.headers)).status_code == 204


async def test_an_app_reading_some_types_is_not_gone_forever_after_a_purge_of_another_types_tombstone(
    client, person, make_app_token, post_vitals
):
    """The cursor of a scale reading only weights moved only with weights: a heart rate deleted
    after the last weight and purged put every cursor it got, a fresh sync's included, before the
    purge: 410 at every poll, forever. A last page now moves the cursor to the feed's head."""
    await post_vitals(person, [weight(70, minutes_ago=30)])
    await _delete_heart_rate(client, person)
    scale = await make_app_token(person, ["vitals.body_weight:read"])
    app = Phone(client, scale)
    await app.sync()
    assert [m["value"] for m in app.view.values()] == [70]
    phone = Phone(client, person)
    await phone.sync()
    # 91 days later (the cursors are not that old: they are asked again), the tombstone is purged.
    assert await purge_tombstones(90, now=datetime.now(UTC) + timedelta(days=91)) >= 1
    await app.sync()  # 200, and again
    await app.sync()
    await phone.sync()
    fresh = Phone(client, scale)
    await fresh.sync()
    await fresh.sync()
    assert fresh.view == app.view
    # A weight deleted, its tombstone purged before the scale asked: that cursor is gone (410).
    before = app.cursor
    weight_id = next(iter(app.view))
    assert (await client.delete(f"{VITALS}/{weight_id}", headers=person.headers)).status_code == 204
    assert await purge_tombstones(90, now=datetime.now(UTC) + timedelta(days=91)) >= 1
    assert (await client.get(f"{FEED}?cursor={before}", headers=scale.headers)).status_code == 410
    assert (await client.get(f"{FEED}?cursor={phone.cursor}", headers=person.headers)).status_code == 410
    again = Phone(client, scale)
    await again.sync()
    assert again.view == {}


async def test_a_first_sync_of_many_pages_passes_a_purge_of_older_deletions(client, person, post_vitals):
    """A first sync's page ended before the newest purged tombstone: the next page was 410, and so
    was every first sync of the space after it, forever. Its pages know that nothing deleted before
    its first read concerns them."""
    await post_vitals(person, [weight(70 + i, minutes_ago=60 - i) for i in range(5)])
    await _delete_heart_rate(client, person)
    await post_vitals(person, [weight(80, minutes_ago=1)])
    assert await purge_tombstones(90, now=datetime.now(UTC) + timedelta(days=91)) >= 1
    phone = Phone(client, person)
    assert await phone.sync(limit=2) == 3
    assert sorted(m["value"] for m in phone.view.values()) == [70, 71, 72, 73, 74, 80]


async def test_a_cursor_answers_410_once_its_callers_reach_changed(
    client, person, make_app_token, post_vitals, get_all
):
    """The cursor did not say what its caller could read: an app granted weights too after it had
    synced heart rates got 200 and an empty page, never the weights written before."""
    await post_vitals(person, [weight(70, minutes_ago=30)])
    hr = {"type": "heart_rate", "value": 60, "unit": "/min", "effectiveAt": at(20)}
    assert (await client.post(VITALS, json={"measurements": [hr]}, headers=person.headers)).status_code == 201
    watch = await make_app_token(person, ["vitals.heart_rate:read"])
    app = Phone(client, watch)
    await app.sync()
    assert [m["type"] for m in app.view.values()] == ["heart_rate"]
    # The person consents again, with weights too: the grant is replaced.
    wider = await make_app_token(
        person, ["vitals.heart_rate:read", "vitals.body_weight:read"], client_id=watch.client_id
    )
    gone = await client.get(f"{FEED}?cursor={app.cursor}", headers=wider.headers)
    assert gone.status_code == 410, gone.text
    assert gone.json()["type"] == "urn:ens:problem:gone"
    app = Phone(client, wider)
    await app.sync()
    assert sorted(m["type"] for m in app.view.values()) == ["body_weight", "heart_rate"]
    # And narrower again: the weights it keeps would never be deleted.
    narrower = await make_app_token(person, ["vitals.heart_rate:read"], client_id=watch.client_id)
    assert (await client.get(f"{FEED}?cursor={app.cursor}", headers=narrower.headers)).status_code == 410


async def test_a_cursor_of_one_who_sees_hidden_measures_is_410_to_one_who_does_not(client, make_person):
    """The holder's phone cursor, presented by the tutor (who does not see what the holder hid), was
    200: their reaches differ, so it is 410; each one's own cursor works."""
    holder, tutor, space, _, hidden = await tutored_space_with_two_weights(client, make_person)
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    feed_path = f"{space}/vitals/changes"
    holders = (await client.get(feed_path, headers=holder.headers)).json()["nextCursor"]
    tutors = (await client.get(feed_path, headers=tutor.headers)).json()["nextCursor"]
    assert (await client.get(f"{feed_path}?cursor={holders}", headers=tutor.headers)).status_code == 410
    assert (await client.get(f"{feed_path}?cursor={tutors}", headers=holder.headers)).status_code == 410
    assert (await client.get(f"{feed_path}?cursor={holders}", headers=holder.headers)).status_code == 200
    assert (await client.get(f"{feed_path}?cursor={tutors}", headers=tutor.headers)).status_code == 200


async def test_a_hide_committed_during_a_first_sync_is_a_deletion_whatever_its_clock(client, make_person, monkeypatch):
    """A first sync skipped a hidden measure whose hide was older than the sync's start by the clock.
    But a hide reads the clock before it waits for the write lock (and, on PostgreSQL, commits
    before it passes the feed's horizon): one that committed after the first page had sent the
    measure, with an earlier time, was skipped too, and the tutor kept the measure the holder hid.
    The hide's place in the feed, not its time, now says whether the first sync saw it."""
    holder, tutor, space, _, _ = await tutored_space_with_two_weights(client, make_person)
    feed_path = f"{space}/vitals/changes"
    first = (await client.get(f"{feed_path}?limit=1", headers=tutor.headers)).json()
    assert first["hasMore"] is True
    target = first["changes"][0]["measurement"]["id"]
    # The hide read its clock a minute before the first page, and committed after it.
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: earlier)
    assert (await hide_measure(client, holder.headers, space, target)).status_code == 200
    monkeypatch.undo()
    cursor, seen = first["nextCursor"], []
    while True:
        page = (await client.get(feed_path, params={"cursor": cursor, "limit": 1}, headers=tutor.headers)).json()
        seen += page["changes"]
        cursor = page["nextCursor"]
        if not page["hasMore"]:
            break
    assert {"op": "delete", "id": target} in seen
    # A measure hidden before a first sync began is still nothing at all to it.
    fresh = (await client.get(feed_path, headers=tutor.headers)).json()
    assert [c["measurement"]["id"] for c in fresh["changes"]] != [] and target not in str(fresh["changes"])


async def test_a_purge_between_the_feeds_statements_never_drops_a_deletion_silently(
    client, person, post_vitals, monkeypatch
):
    """The feed reads, and checks the cursor against the newest purge, in two statements: a purge
    that commits between them must not leave a phone without a deletion and without a 410."""
    created = await post_vitals(person, [weight(70, minutes_ago=3)])
    measurement_id = created.json()["items"][0]["id"]
    phone = Phone(client, person)
    await phone.sync()
    assert measurement_id in phone.view
    await client.delete(f"{VITALS}/{measurement_id}", headers=person.headers)
    await db.fetch(
        "UPDATE vital_tombstones SET deleted_at = {} WHERE space_id = {} AND id = {}",
        datetime.now(UTC) - timedelta(days=91),
        person.space_id,
        measurement_id,
    )
    # The purge commits right after the feed's first statement, whichever it is.
    purged: list[int] = []

    def then_purge(statement: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            answer = await statement(*args, **kwargs)
            if asyncio.current_task() is feed_task and not purged:
                purged.append(0)
                # Another request's work: a task of its own, with none of this request's context.
                purge = asyncio.get_running_loop().create_task(purge_tombstones(90), context=contextvars.Context())
                purged[0] = await purge
            return answer

        return wrapped

    monkeypatch.setattr(feed, "fetch", then_purge(db.fetch))
    monkeypatch.setattr(feed, "fetch_one", then_purge(db.fetch_one))
    feed_task = asyncio.ensure_future(client.get(f"{FEED}?cursor={phone.cursor}", headers=person.headers))
    answer = await feed_task
    assert purged and purged[0] >= 1, answer.text
    if answer.status_code == 200:
        assert {"op": "delete", "id": measurement_id} in answer.json()["changes"]
    else:
        assert answer.status_code == 410, answer.text


async def test_corrections_by_hand(client, person, make_app_token, post_vitals):
    typed = await post_vitals(person, [weight(70)])
    path = f"{VITALS}/{typed.json()['items'][0]['id']}"
    current = await client.get(path, headers=person.headers)
    stale = await client.patch(path, json={"value": 71}, headers={**person.headers, "If-Match": '"nope"'})
    assert stale.status_code == 412
    patched = await client.patch(
        path, json={"value": 160, "unit": "[lb_av]"}, headers={**person.headers, "If-Match": current.headers["etag"]}
    )
    assert patched.status_code == 200, patched.text
    # The answer carries the measure's new ETag, the one its GET answers.
    assert patched.headers["etag"] == (await client.get(path, headers=person.headers)).headers["etag"]
    body = patched.json()
    assert (body["value"], body["originalValue"], body["originalUnit"]) == (72.575, 160, "[lb_av]")
    # Typed in pounds, read in kilograms: a new value alone could be either (an outside audit saw
    # 70 meant as kg stored as 70 lb, 31.751 kg). The unit is asked for; nothing changes.
    ambiguous = await client.patch(path, json={"value": 70}, headers=person.headers)
    assert ambiguous.status_code == 422 and [e["pointer"] for e in ambiguous.json()["errors"]] == ["/unit"]
    assert (await client.get(path, headers=person.headers)).json()["value"] == 72.575
    # A unit alone re-read the number typed in another: 160 [lb_av] became 160 kg (an outside audit).
    unit_alone = await client.patch(path, json={"unit": "kg"}, headers=person.headers)
    assert unit_alone.status_code == 422 and [e["pointer"] for e in unit_alone.json()["errors"]] == ["/unit"]
    assert (await client.get(path, headers=person.headers)).json()["value"] == 72.575
    same_unit = await client.patch(path, json={"unit": "[lb_av]"}, headers=person.headers)
    assert same_unit.status_code == 200 and same_unit.json()["value"] == 72.575, same_unit.text
    in_kg = await client.patch(path, json={"value": 70, "unit": "kg"}, headers=person.headers)
    assert in_kg.status_code == 200 and (in_kg.json()["value"], in_kg.json()["originalUnit"]) == (70, "kg")
    # Typed in the unit it reads in: a value alone is plain.
    assert (await client.patch(path, json={"value": 70.5}, headers=person.headers)).json()["value"] == 70.5
    bad = await client.patch(path, json={"value": 4000}, headers=person.headers)
    assert bad.status_code == 422 and [e["pointer"] for e in bad.json()["errors"]] == ["/value"]
    # A unit that is the canonical one under another name (steps' /d) is no ambiguity.
    steps = {"type": "steps_per_day", "value": 4000, "unit": "/d", "effectiveAt": at(60 * 24 * 3)}
    typed_steps = await post_vitals(person, [steps])
    steps_path = f"{VITALS}/{typed_steps.json()['items'][0]['id']}"
    corrected = await client.patch(steps_path, json={"value": 4200}, headers=person.headers)
    assert corrected.status_code == 200 and corrected.json()["value"] == 4200, corrected.text
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    bad = await client.patch(path, json={"effectiveAt": future}, headers=person.headers)
    assert bad.status_code == 422 and [e["pointer"] for e in bad.json()["errors"]] == ["/effectiveAt"]
    unknown = await client.patch(path, json={"type": "heart_rate"}, headers=person.headers)
    assert unknown.status_code in (400, 422)
    cleared = await client.patch(path, json={"note": "à jeun"}, headers=person.headers)
    assert cleared.json()["note"] == "à jeun"
    cleared = await client.patch(path, json={"note": None}, headers=person.headers)
    assert "note" not in cleared.json()
    # An app's measure is the app's to correct (with a higher clientRecordVersion).
    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    sent = await post_vitals(scale, [weight(80, clientRecordId="x")])
    app_path = f"{VITALS}/{sent.json()['items'][0]['id']}"
    refused = await client.patch(app_path, json={"value": 81}, headers=person.headers)
    assert refused.status_code == 409
    assert (await client.patch(app_path, json={"value": 81}, headers=scale.headers)).status_code == 403
    bp = await post_vitals(person, [pressure(130, 85)])
    bp_path = f"{VITALS}/{bp.json()['items'][0]['id']}"
    wrong = await client.patch(bp_path, json={"components": {"systolic": 70, "diastolic": 85}}, headers=person.headers)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["pointer"] == "/components/systolic"
    fixed = await client.patch(bp_path, json={"components": {"systolic": 128, "diastolic": 84}}, headers=person.headers)
    assert fixed.json()["components"] == {"systolic": 128, "diastolic": 84}


async def test_a_days_step_count_stays_on_its_day(client, person, post_vitals):
    """A correction moving a day's count to another day kept its key of the first day: the next day
    then held two counts, and a re-sent count of the first day replaced the moved one (a review)."""
    typed = await post_vitals(
        person, [{"type": "steps_per_day", "value": 8000, "unit": "1/(24.h)", "effectiveAt": "2026-03-02T20:00:00Z"}]
    )
    path = f"{VITALS}/{typed.json()['items'][0]['id']}"
    tag = (await client.get(path, headers=person.headers)).headers["etag"]
    moved = await client.patch(
        path, json={"effectiveAt": "2026-03-03T20:00:00Z"}, headers={**person.headers, "If-Match": tag}
    )
    assert moved.status_code == 422 and [e["pointer"] for e in moved.json()["errors"]] == ["/effectiveAt"]
    later = await client.patch(
        path, json={"effectiveAt": "2026-03-02T21:30:00Z", "value": 9000}, headers={**person.headers, "If-Match": tag}
    )
    assert later.status_code == 200, later.text  # the same day (Paris) is fine


async def test_deletions(client, person, make_app_token, post_vitals):
    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    other = await make_app_token(person, ["vitals.body_weight:write"])
    own = (await post_vitals(scale, [weight(80)])).json()["items"][0]["id"]
    typed = (await post_vitals(person, [weight(70)])).json()["items"][0]["id"]
    assert (await client.delete(f"{VITALS}/{typed}", headers=scale.headers)).status_code == 403
    # A measure an app may not read and did not send does not exist for it, as for GET (an outside
    # audit: a 403 naming the scope it lacked told it the measure's type).
    assert (await client.delete(f"{VITALS}/{own}", headers=other.headers)).status_code == 404
    pulse = await make_app_token(person, ["vitals.heart_rate:read", "vitals.heart_rate:write"])
    for stranger in (pulse, other):
        refused = await client.delete(f"{VITALS}/{typed}", headers=stranger.headers)
        assert refused.status_code == 404 and "body_weight" not in refused.text, refused.text
    reader = await make_app_token(person, ["vitals.body_weight:read", "vitals.heart_rate:write"])
    lacking = await client.delete(f"{VITALS}/{typed}", headers=reader.headers)
    assert lacking.status_code == 403 and "vitals.body_weight:write" in lacking.text  # it reads the type
    current = await client.get(f"{VITALS}/{own}", headers=scale.headers)
    assert (await client.delete(f"{VITALS}/{own}", headers={**scale.headers, "If-Match": '"x"'})).status_code == 412
    response = await client.delete(f"{VITALS}/{own}", headers={**scale.headers, "If-Match": current.headers["etag"]})
    assert response.status_code == 204
    assert (await client.get(f"{VITALS}/{own}", headers=scale.headers)).status_code == 404
    assert (await client.delete(f"{VITALS}/{own}", headers=scale.headers)).status_code == 404
    feed = (await client.get(FEED, headers=person.headers)).json()["changes"]
    assert feed[-1] == {"op": "delete", "id": own}


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"),
    reason="commit order differing from number order needs concurrent transactions: PostgreSQL only",
)
async def test_the_feed_never_skips_a_change_under_concurrent_writers(
    client, person, make_app_token, post_vitals, get_all
):
    apps = [await make_app_token(person, ["vitals.body_weight:write"]) for _ in range(6)]
    phone = Phone(client, person)
    stop = asyncio.Event()

    async def write(app, n: int) -> None:
        for batch in range(12):
            items = [weight(60 + (i % 30), minutes_ago=i + 1, clientRecordId=f"{n}-{batch}-{i}") for i in range(5)]
            if batch % 3 == 2:  # replacements, renumbered in the feed
                items = [weight(61, clientRecordId=f"{n}-{batch - 1}-{i}", clientRecordVersion=1) for i in range(5)]
            assert (await post_vitals(app, items)).status_code == 201

    async def read() -> int:
        rounds = 0
        while not stop.is_set():
            await phone.sync(limit=7)
            rounds += 1
        return rounds

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(app, n) for n, app in enumerate(apps)))
    stop.set()
    assert await reader > 1
    await phone.sync()
    assert phone.view == await server_view(get_all, person)


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_a_feed_page_reads_a_page_of_each_table_not_the_whole_space(
    client, person, make_app_token, post_vitals, monkeypatch
):
    """With the page a LIMIT over the union of both tables, PostgreSQL read and sorted the whole
    space to serve one page (88 ms for a page of a 200,000-measure space, against 0.25 now)."""
    from ens.vitals import feed

    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    for batch in range(3):
        items = [weight(60 + i % 30, minutes_ago=batch * 1000 + i + 1) for i in range(1000)]
        assert (await post_vitals(scale, items)).status_code == 201
    # Statistics that know the space's 3,000 rows, as autovacuum keeps them. A CI run once saw a
    # step of this plan look at all 3,000; the run's plan was not kept, and a plan costed on
    # statistics sampled before these rows were written (which say the space has a few) is the one
    # cause found that fits. The suite's own autovacuum timing must not decide the test.
    await db.fetch("ANALYZE vital_measurements")
    statements = Statements(monkeypatch, feed)
    page = await client.get(f"{FEED}?limit=50", headers=person.headers)
    assert page.status_code == 200 and len(page.json()["changes"]) == 50
    # No step of the plan handles more than a page (and its one-row look-ahead) of the 3,000.
    assert await statements.most_rows_looked_at("vital_tombstones") <= 51


async def test_a_corrected_time_is_shown_in_utc_and_1900_is_the_instants_year(client, person, post_vitals):
    """A correction's effectiveAt sent at -05:00 kept its offset in every read (an outside audit),
    where a recorded one is shown in UTC; and 1900-01-01T05:00+14:00, 1899 in UTC, was stored,
    out of reach of ``since`` (which refuses 1899): the earliest year is the instant's."""
    typed = await post_vitals(person, [weight(70)])
    path = f"{VITALS}/{typed.json()['items'][0]['id']}"
    patched = await client.patch(path, json={"effectiveAt": "2026-11-10T09:30:00-05:00"}, headers=person.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["effectiveAt"] == "2026-11-10T14:30:00Z"
    assert (await client.get(path, headers=person.headers)).json()["effectiveAt"] == "2026-11-10T14:30:00Z"
    listed = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [m["effectiveAt"] for m in listed] == ["2026-11-10T14:30:00Z"]
    for early in ("1900-01-01T05:00:00+14:00", "1899-12-31T23:00:00+00:00"):
        recorded = await client.post(
            VITALS, json={"measurements": [weight(70, effectiveAt=early)]}, headers=person.headers
        )
        assert recorded.status_code == 422, (early, recorded.text)
        assert [e["pointer"] for e in recorded.json()["errors"]] == ["/measurements/0/effectiveAt"]
        corrected = await client.patch(path, json={"effectiveAt": early}, headers=person.headers)
        assert corrected.status_code == 422 and [e["pointer"] for e in corrected.json()["errors"]] == ["/effectiveAt"]
    # A body stored before the fix (its offset as sent) is written again from its columns, once.
    from ens.vitals.piccolo_migrations.m2026_12_17_0010_corrected_times_in_utc import rewrite_corrected_bodies

    served = (await client.get(path, headers=person.headers)).content
    measure_id = uuid.UUID(path.rsplit("/", 1)[1])
    stored = await db.fetch_one(
        "SELECT body FROM vital_measurements WHERE space_id = {} AND id = {}", person.space_id, measure_id
    )
    assert stored is not None and stored["body"].encode() == served
    old = stored["body"].replace('"2026-11-10T14:30:00Z"', '"2026-11-10T09:30:00-05:00"')
    assert old != stored["body"]
    await db.fetch(
        "UPDATE vital_measurements SET body = {} WHERE space_id = {} AND id = {}", old, person.space_id, measure_id
    )
    assert await rewrite_corrected_bodies() == 1
    assert await rewrite_corrected_bodies() == 0
    assert (await client.get(path, headers=person.headers)).content == served
    # A version without the record it is a version of says nothing: 422 (it was taken and ignored);
    # a day's step count is its day's record.
    versioned = await client.post(
        VITALS, json={"measurements": [weight(70, clientRecordVersion=3)]}, headers=person.headers
    )
    assert versioned.status_code == 422
    assert [e["pointer"] for e in versioned.json()["errors"]] == ["/measurements/0/clientRecordVersion"]
    steps = {"type": "steps_per_day", "value": 700, "unit": "/d", "effectiveAt": at(60), "clientRecordVersion": 2}
    assert (await client.post(VITALS, json={"measurements": [steps]}, headers=person.headers)).status_code == 201
    # The first instant of 1900 in UTC is taken, whatever the offset it is written with (in a space
    # whose holder's birthdate is not known: else a day before their birth is refused).
    await db.fetch("UPDATE spaces SET birthdate = NULL WHERE id = {}", person.space_id)
    first = await client.post(
        VITALS, json={"measurements": [weight(70, effectiveAt="1900-01-01T10:00:00+10:00")]}, headers=person.headers
    )
    assert first.status_code == 201, first.text
