"""A measure the holder hides from the representatives is nowhere in what they read: the list, one
measure, the CSV, the summary's figures, the home screen's latest values, and the change feed, where
it shows as a deletion (issue 12, point 6)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from ens.auth.tokens import AccessTokens, new_app_token
from ens.core.settings import Settings
from tests.helpers.carers import court_measure, create_child_space, today_in_paris, years_before
from tests.helpers.hidden import hide_measure, tutored_space_with_two_weights
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.professionals import MIDWIFE, authorise, sign_in_pro
from tests.helpers.vitals import weight


async def test_a_hidden_measure_is_in_no_read_of_a_representative(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder, tutor, space, shown, hidden = await tutored_space_with_two_weights(client, make_person)
    before = (await client.get(f"{space}/vitals/changes", headers=tutor.headers)).json()["nextCursor"]
    patched = await hide_measure(client, holder.headers, space, hidden)
    assert patched.status_code == 200 and patched.json()["hiddenFromRepresentatives"] is True
    # The holder still sees everything, with the flag.
    mine = (await client.get(f"{space}/vitals", headers=holder.headers)).json()["items"]
    assert [(m["id"], m.get("hiddenFromRepresentatives", False)) for m in mine] == [(hidden, True), (shown, False)]
    # The representative: the list, one measure, the CSV.
    theirs = (await client.get(f"{space}/vitals", headers=tutor.headers)).json()["items"]
    assert [m["id"] for m in theirs] == [shown]
    assert (await client.get(f"{space}/vitals/{hidden}", headers=tutor.headers)).status_code == 404
    rows = list(
        csv.DictReader(
            io.StringIO((await client.get(f"{space}/vitals", headers={**tutor.headers, "Accept": "text/csv"})).text)
        )
    )
    assert [row["id"] for row in rows] == [shown]
    # The summary's figures are computed without it; the home screen's latest value is the one before.
    summary = (await client.get(f"{space}/vitals/summary?type=body_weight&bucket=day", headers=tutor.headers)).json()
    assert sum(item["count"] for item in summary["items"]) == 1 and summary["items"][-1]["max"] == 61.0
    home = (await client.get(space, headers=tutor.headers)).json()
    assert [(v["type"], v["value"]) for v in home["vitals"]] == [("body_weight", 61.0)]
    assert [(v["type"], v["value"]) for v in (await client.get(space, headers=holder.headers)).json()["vitals"]] == [
        ("body_weight", 64.0)
    ]
    # The change feed: from the start, nothing of it; after hiding, a deletion.
    full = (await client.get(f"{space}/vitals/changes", headers=tutor.headers)).json()["changes"]
    assert [(c["op"], c.get("measurement", {}).get("id")) for c in full] == [("upsert", shown)]
    since = (await client.get(f"{space}/vitals/changes?cursor={before}", headers=tutor.headers)).json()["changes"]
    assert since == [{"op": "delete", "id": hidden}]
    # Writes on it are 404 to the representative.
    assert (
        await client.delete(f"{space}/vitals/{hidden}", headers={**tutor.headers, "If-Match": "*"})
    ).status_code == 404
    # Shown again: back in their feed as an upsert.
    cursor = (await client.get(f"{space}/vitals/changes", headers=tutor.headers)).json()["nextCursor"]
    assert (await hide_measure(client, holder.headers, space, hidden, hidden=False)).status_code == 200
    back = (await client.get(f"{space}/vitals/changes?cursor={cursor}", headers=tutor.headers)).json()["changes"]
    assert [(c["op"], c["measurement"]["id"]) for c in back] == [("upsert", hidden)]
    assert "hiddenFromRepresentatives" not in back[0]["measurement"]


async def test_only_the_holder_hides_and_an_apps_replacement_keeps_it_hidden(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    app = await make_app_token(holder, ["vitals.body_weight:write", "vitals.body_weight:read"])
    sent = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight(70.0, clientRecordId="w-1", clientRecordVersion=1)]},
        headers=app.headers,
    )
    measure = sent.json()["items"][0]["id"]
    # The representative may not hide (the table: the holder only); an app may not either.
    assert (await hide_measure(client, tutor.headers, space, measure)).status_code == 403
    assert (await hide_measure(client, app.headers, "/v1/spaces/me", measure)).status_code == 403
    # The holder hides an app's measure (its values stay the app's to correct).
    assert (await hide_measure(client, holder.headers, space, measure)).status_code == 200
    corrected = await client.patch(
        f"{space}/vitals/{measure}",
        json={"value": 71.0, "hiddenFromRepresentatives": False},
        headers={
            **holder.headers,
            "If-Match": (await client.get(f"{space}/vitals/{measure}", headers=holder.headers)).headers["etag"],
        },
    )
    assert corrected.status_code == 409  # only hand-typed measures are corrected
    # The app re-sends it with a higher version: still hidden.
    resent = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight(70.5, clientRecordId="w-1", clientRecordVersion=2)]},
        headers=app.headers,
    )
    assert resent.json()["items"][0]["result"] == "replaced"
    again = (await client.get(f"{space}/vitals/{measure}", headers=holder.headers)).json()
    assert again["value"] == 70.5 and again["hiddenFromRepresentatives"] is True
    assert (await client.get(f"{space}/vitals/{measure}", headers=tutor.headers)).status_code == 404


async def test_a_hidden_measure_deleted_is_not_in_a_representatives_first_sync(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Its tombstone says it was hidden: a first sync shows nothing of it, not even its deletion (the
    id of a measure they never saw came as a delete before, found by a review); a sync that follows
    a cursor still learns of it as a deletion, as of every hidden measure that changes."""
    holder, tutor, space, shown, hidden = await tutored_space_with_two_weights(client, make_person)
    before = (await client.get(f"{space}/vitals/changes", headers=tutor.headers)).json()["nextCursor"]
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    removed = await client.delete(f"{space}/vitals/{hidden}", headers={**holder.headers, "If-Match": "*"})
    assert removed.status_code == 204, removed.text
    first = (await client.get(f"{space}/vitals/changes", headers=tutor.headers)).json()["changes"]
    assert [(c["op"], c.get("measurement", {}).get("id")) for c in first] == [("upsert", shown)]
    since = (await client.get(f"{space}/vitals/changes?cursor={before}", headers=tutor.headers)).json()["changes"]
    assert {"op": "delete", "id": hidden} in since
    holders = (await client.get(f"{space}/vitals/changes", headers=holder.headers)).json()["changes"]
    assert {"op": "delete", "id": hidden} in holders


async def test_a_first_sync_page_by_page_shows_nothing_of_a_hidden_measure(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Every page of a first sync leaves hidden measures out, not only the one asked without a
    cursor: the pages after it gave their ids as deletions (a review). Once the first sync is done,
    a hidden measure that changes comes as a deletion, as before."""
    holder, tutor, space, shown, hidden = await tutored_space_with_two_weights(client, make_person)
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    seen: list[dict[str, Any]] = []
    url = f"{space}/vitals/changes?limit=1"
    while True:
        page = (await client.get(url, headers=tutor.headers)).json()
        seen += page["changes"]
        url = f"{space}/vitals/changes?limit=1&cursor={page['nextCursor']}"
        if not page["hasMore"]:
            break
    assert [(c["op"], c.get("measurement", {}).get("id")) for c in seen] == [("upsert", shown)]
    # After the first sync, the holder changes the hidden measure: a deletion, to the tutor.
    assert (await hide_measure(client, holder.headers, space, hidden, hidden=False)).status_code == 200
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    after = (await client.get(url, headers=tutor.headers)).json()["changes"]
    assert after[-1] == {"op": "delete", "id": hidden}


async def test_a_measure_hidden_during_a_first_sync_comes_as_a_deletion(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The tutor gets a measure on the first page; the holder hides it before the next page: it must
    come as a deletion (skipping every hidden row of a first sync left the tutor holding it, a
    review of this session's change)."""
    holder, tutor, space, _, _ = await tutored_space_with_two_weights(client, make_person)
    page = (await client.get(f"{space}/vitals/changes?limit=1", headers=tutor.headers)).json()
    [first] = page["changes"]
    assert first["op"] == "upsert" and page["hasMore"]
    assert (await hide_measure(client, holder.headers, space, first["measurement"]["id"])).status_code == 200
    rest: list[dict[str, Any]] = []
    cursor = page["nextCursor"]
    while True:
        page = (await client.get(f"{space}/vitals/changes?limit=1&cursor={cursor}", headers=tutor.headers)).json()
        rest += page["changes"]
        cursor = page["nextCursor"]
        if not page["hasMore"]:
            break
    assert {"op": "delete", "id": first["measurement"]["id"]} in rest


async def test_a_professional_creates_a_measure_hidden_from_a_minors_parents(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    """On a minor's space a professional hides what the minor keeps from the parents (CSP
    L1111-5): created hidden, a measure never reaches them, nor the history row of its creation.
    Before, the flag was refused (422) and the measure was the parents' to read until a PATCH hid
    it, its creation's row for good (a review)."""
    parent = await make_person(given_name="Paul")
    child = await create_child_space(client, parent, birthdate=years_before(today_in_paris(), 15))
    midwife = await sign_in_pro(settings, MIDWIFE)
    await authorise(client, parent, midwife, space=child)
    space = f"/v1/spaces/{child}"
    kept = await client.post(
        f"{space}/vitals",
        json={"measurements": [weight(61.0, hiddenFromRepresentatives=True)]},
        headers=midwife.headers,
    )
    assert kept.status_code == 201, kept.text
    [item] = kept.json()["items"]
    mine = await client.get(f"{space}/vitals/{item['id']}", headers=midwife.headers)
    assert mine.json()["hiddenFromRepresentatives"] is True
    # The parents: not in their list, nor their feed, nor their history.
    assert (await client.get(f"{space}/vitals", headers=parent.headers)).json()["items"] == []
    assert (await client.get(f"{space}/vitals/changes", headers=parent.headers)).json()["changes"] == []
    rows = (await client.get(f"{space}/access-history?actor=professionals", headers=parent.headers)).json()["items"]
    assert not [row for row in rows if row["resourceType"] == "vitals"]
    # One created visible, then hidden: the row of its creation goes from their history too.
    shown = await client.post(f"{space}/vitals", json={"measurements": [weight(62.0)]}, headers=midwife.headers)
    created = shown.json()["items"][0]["id"]
    hidden = await hide_measure(client, midwife.headers, space, created)
    assert hidden.status_code == 200, hidden.text
    rows = (await client.get(f"{space}/access-history?actor=professionals", headers=parent.headers)).json()["items"]
    assert not [row for row in rows if row["resourceType"] == "vitals"]
    # Whoever may not hide may not create hidden either: a parent, an app a representative connected.
    by_parent = await client.post(
        f"{space}/vitals", json={"measurements": [weight(63.0, hiddenFromRepresentatives=True)]}, headers=parent.headers
    )
    assert by_parent.status_code == 403, by_parent.text
    _, parents_app = await new_app_token(
        AccessTokens(settings),
        parent.account_id,
        space_id=child,
        client_id="scale-of-the-parent",
        client_name="Scale",
        scopes=["vitals.body_weight:write"],
    )
    by_parents_app = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight(63.0, hiddenFromRepresentatives=True)]},
        headers={"Authorization": f"Bearer {parents_app}"},
    )
    assert by_parents_app.status_code == 403, by_parents_app.text
    # An app the holder connected writes on the holder's authority: it creates a measure hidden (as
    # the FHIR door does with an Observation labelled restricted); it still may not hide one later.
    holder = await make_person()
    app = await make_app_token(holder, ["vitals.body_weight:write"])
    by_app = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight(70.0, hiddenFromRepresentatives=True)]},
        headers=app.headers,
    )
    assert by_app.status_code == 201, by_app.text
    created_hidden = by_app.json()["items"][0]["id"]
    mine = await client.get(f"/v1/spaces/me/vitals/{created_hidden}", headers=holder.headers)
    assert mine.json()["hiddenFromRepresentatives"] is True


async def test_a_measure_never_shown_to_a_representative_is_nothing_in_their_later_syncs(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    """Added hidden, corrected, re-sent by its app, deleted: a representative's sync after their
    first learns nothing of it (each change came as the deletion of an id they never had, and so
    told them when the holder wrote something hidden: a review). Shown once, it is theirs to forget:
    hidden again, a deletion, once (its deletion while hidden tells them nothing more)."""
    holder, tutor, space, _, _ = await tutored_space_with_two_weights(client, make_person)
    app = await make_app_token(holder, ["vitals.body_weight:write", "vitals.body_weight:read"])

    async def tutor_sync(cursor: str) -> tuple[list[dict[str, Any]], str]:
        page = (await client.get(f"{space}/vitals/changes?cursor={cursor}", headers=tutor.headers)).json()
        return page["changes"], page["nextCursor"]

    cursor = (await client.get(f"{space}/vitals/changes", headers=tutor.headers)).json()["nextCursor"]
    typed = await client.post(
        f"{space}/vitals",
        json={"measurements": [weight(62.0, minutes_ago=30, hiddenFromRepresentatives=True)]},
        headers=holder.headers,
    )
    sent = await client.post(
        "/v1/spaces/me/vitals",
        json={
            "measurements": [weight(63.0, clientRecordId="w-9", clientRecordVersion=1, hiddenFromRepresentatives=True)]
        },
        headers=app.headers,
    )
    assert typed.status_code == 201 and sent.status_code == 201, (typed.text, sent.text)
    by_hand, by_app = typed.json()["items"][0]["id"], sent.json()["items"][0]["id"]
    etag = (await client.get(f"{space}/vitals/{by_hand}", headers=holder.headers)).headers["etag"]
    corrected = await client.patch(
        f"{space}/vitals/{by_hand}", json={"value": 62.5}, headers={**holder.headers, "If-Match": etag}
    )
    assert corrected.status_code == 200, corrected.text
    resent = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight(63.5, clientRecordId="w-9", clientRecordVersion=2)]},
        headers=app.headers,
    )
    assert resent.json()["items"][0]["result"] == "replaced"
    changes, cursor = await tutor_sync(cursor)
    assert changes == []
    removed = await client.delete(f"{space}/vitals/{by_app}", headers={**holder.headers, "If-Match": "*"})
    assert removed.status_code == 204
    changes, cursor = await tutor_sync(cursor)
    assert changes == []
    # The holder's own feed has every one of those changes.
    holders = (await client.get(f"{space}/vitals/changes", headers=holder.headers)).json()["changes"]
    assert {"op": "delete", "id": by_app} in holders
    assert any(c.get("measurement", {}).get("id") == by_hand for c in holders)
    # Shown, then hidden again: the tutor had it, so is told to forget it; and of its deletion too.
    assert (await hide_measure(client, holder.headers, space, by_hand, hidden=False)).status_code == 200
    changes, cursor = await tutor_sync(cursor)
    assert [(c["op"], c["measurement"]["id"]) for c in changes] == [("upsert", by_hand)]
    assert (await hide_measure(client, holder.headers, space, by_hand)).status_code == 200
    changes, cursor = await tutor_sync(cursor)
    assert changes == [{"op": "delete", "id": by_hand}]
    assert (
        await client.delete(f"{space}/vitals/{by_hand}", headers={**holder.headers, "If-Match": "*"})
    ).status_code == 204
    changes, cursor = await tutor_sync(cursor)
    assert changes == []


async def test_a_retried_batch_of_hidden_measures_shows_the_representative_no_row(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """A batch sent again with the same Idempotency-Key is answered with the first answer, and
    writes its own history row: that row named no measure (the replay named only what a top-level
    ``id`` of the answer said, and a batch answers ``{"items": [...]}``), so the tutor, kept out of
    the first request's row, read on the retry's that the holder "a ajouté des mesures" (an outside
    audit). The retry's row names what the first one named, for whoever reads the history."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    batch = {
        "measurements": [
            weight(61.0, minutes_ago=90, hiddenFromRepresentatives=True),
            weight(62.0, minutes_ago=30, hiddenFromRepresentatives=True),
        ]
    }
    answers = [
        await client.post(f"{space}/vitals", json=batch, headers={**holder.headers, "Idempotency-Key": "batch-1"})
        for _ in range(2)
    ]
    assert [answer.status_code for answer in answers] == [201, 201], answers[-1].text
    assert answers[1].headers.get("idempotent-replayed") == "true"
    assert answers[1].json() == answers[0].json()

    async def batches_seen(reader: Any) -> list[dict[str, Any]]:
        rows = (await client.get(f"{space}/access-history?limit=500", headers=reader.headers)).json()["items"]
        return [row for row in rows if row["action"] == "POST /v1/spaces/{space}/vitals"]

    assert await batches_seen(tutor) == []
    # The holder reads both rows, each naming the same measure (the first one created).
    first = answers[0].json()["items"][0]["id"]
    assert [row["resourceId"] for row in await batches_seen(holder)] == [first, first]
    # A batch whose first row named nothing (one measure of two hidden): its retry's row names
    # nothing either, and the tutor reads both, as the holder does.
    mixed = {"measurements": [weight(63.0, minutes_ago=20, hiddenFromRepresentatives=True), weight(64.0)]}
    for _ in range(2):
        sent = await client.post(
            f"{space}/vitals", json=mixed, headers={**holder.headers, "Idempotency-Key": "batch-2"}
        )
        assert sent.status_code == 201, sent.text
    assert [row["resourceId"] for row in await batches_seen(tutor)] == [None, None]
