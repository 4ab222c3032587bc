"""A person's first page of measures is read in the door's own statement (PostgreSQL), and used
only when it is exactly the read the handler makes once the door has decided
(``ens.spaces.door.companion``): anyone else's read, or any other page, is made as always."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest

from ens.core import clock, db
from ens.spaces.caller import Caller
from ens.spaces.door import resolution
from ens.spaces.door.companion import DOOR_SPACE, Companion
from ens.vitals import reads
from tests.helpers.hidden import hide_measure, tutored_space_with_two_weights
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.vitals import pressure, weight

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="the companion read is PostgreSQL's"
)


@pytest.fixture
def page_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the list made after the door (passed on to the database as they are)."""
    made: list[str] = []
    real = db.fetch

    async def fetch(sql: str, *args: Any) -> Any:
        made.append(sql)
        return await real(sql, *args)

    monkeypatch.setattr(reads, "fetch", fetch)
    return made


async def test_a_holder_s_first_page_comes_with_the_door_and_is_the_same_page(
    client: httpx.AsyncClient, make_person: MakePerson, page_reads: list[str]
) -> None:
    holder = await make_person()
    space = f"/v1/spaces/{holder.space_id}"
    items = [weight(60 + i, minutes_ago=i + 1) for i in range(6)] + [pressure(minutes_ago=30)]
    assert (
        await client.post(f"{space}/vitals", json={"measurements": items}, headers=holder.headers)
    ).status_code == 201
    first = await client.get(f"{space}/vitals?limit=5", headers=holder.headers)
    typed = await client.get(f"{space}/vitals?limit=3&type=body_weight", headers=holder.headers)
    mine = await client.get("/v1/spaces/me/vitals", headers=holder.headers)
    assert [r.status_code for r in (first, typed, mine)] == [200, 200, 200]
    assert page_reads == []  # all three read with the door
    # The same measures, in the same order, as the same page read after the door.
    after_door = await client.get(f"{space}/vitals?limit=5&since=1900-01-01T00:00:00Z", headers=holder.headers)
    assert len(page_reads) == 1
    assert first.json()["items"] == after_door.json()["items"] and len(first.json()["items"]) == 5
    assert first.json()["nextCursor"] is not None
    assert [m["type"] for m in typed.json()["items"]] == ["body_weight"] * 3
    assert len(mine.json()["items"]) == 7
    # Its next page, by the cursor, is read after the door.
    following = await client.get(f"{space}/vitals?limit=5&cursor={first.json()['nextCursor']}", headers=holder.headers)
    assert len(following.json()["items"]) == 2 and len(page_reads) == 2


async def test_a_representative_s_page_is_read_after_the_door_without_what_the_holder_hid(
    client: httpx.AsyncClient, make_person: MakePerson, page_reads: list[str]
) -> None:
    holder, tutor, space, shown, hidden = await tutored_space_with_two_weights(client, make_person)
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    page_reads.clear()
    theirs = await client.get(f"{space}/vitals?limit=10", headers=tutor.headers)
    # The door's companion read what a holder sees; the tutor's read is another one, made after.
    assert [m["id"] for m in theirs.json()["items"]] == [shown]
    assert len(page_reads) == 1 and "hidden_from_representatives" in page_reads[0]


async def test_an_app_s_page_and_a_stranger_s_are_not_read_with_the_door(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken, page_reads: list[str]
) -> None:
    holder, stranger = await make_person(), await make_person()
    space = f"/v1/spaces/{holder.space_id}"
    assert (
        await client.post(f"{space}/vitals", json={"measurements": [weight()]}, headers=holder.headers)
    ).status_code == 201
    scale = await make_app_token(holder, ["vitals.body_weight:read"])
    assert len((await client.get(f"{space}/vitals?limit=5", headers=scale.headers)).json()["items"]) == 1
    assert len(page_reads) == 1  # an app's reads are read after the door
    refused = await client.get(f"{space}/vitals?limit=5", headers=stranger.headers)
    assert refused.status_code == 404 and "items" not in refused.json()
    assert len(page_reads) == 1


async def test_the_door_brings_its_companion_s_rows_on_its_one_row_in_their_order(make_person: MakePerson) -> None:
    """The companion's rows come back in arrays on the door's row, in the companion's ORDER BY."""
    holder = await make_person()
    caller = Caller(
        kind="person", account_id=holder.account_id, client_id="ens-app", grant_id=holder.grant_id, scopes=frozenset()
    )
    # Thirty numbers, in an order the table does not give, named after the resolved space's id.
    companion = Companion(
        sql=f"SELECT n AS body, {DOOR_SPACE} AS seq FROM generate_series(1, 40) AS n ORDER BY n % 7, n DESC LIMIT 30",
        args=(),
        columns=("body", "seq"),
    )
    expected = sorted(range(1, 41), key=lambda n: (n % 7, -n))[:30]
    row, space, kind, prefetched = await resolution.resolve_space(caller, "me", now=clock.now(), companion=companion)
    assert row is not None and space is not None and kind == "holder" and prefetched is not None
    assert prefetched.columns_for(companion.sql, ()) == (expected, [holder.space_id] * 30)
    # A space the door does not resolve: no rows, and none from another space.
    _, nothing, _, empty = await resolution.resolve_space(
        caller, str(uuid.uuid4()), now=clock.now(), companion=companion
    )
    assert nothing is None and (empty is None or empty.columns == ([], []))
