"""A person's first page of measures is read in the door's own statement (PostgreSQL), and used
only when it is exactly the read the handler makes once the door has decided
(``ens.spaces.door.companion``): anyone else's read, or any other page, is made as always."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from ens.core import db
from ens.spaces.door import resolution
from ens.spaces.door.companion import door_columns
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
    assert (await hide_measure(client, holder, space, hidden)).status_code == 200
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


async def test_the_door_s_statement_has_as_many_columns_as_counted() -> None:
    sql, _ = db._numbered(resolution._SPACE_BY_ID)
    async with db.current().pool.acquire() as connection:  # type: ignore[attr-defined]
        statement = await connection.prepare(sql)
        assert len(statement.get_attributes()) == door_columns(resolution._SPACE_BY_ID) > 20
