"""The access history is tamper-evident (issue 16, point 5): a row changed, deleted or added in the
database, or a checkpoint removed, is reported by ``ens audit verify`` as the first broken link;
an intact history verifies."""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import os
import secrets
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ens.core import clock, db, keyring
from ens.core.api import Cursors
from ens.core.db import Row
from ens.core.settings import Settings
from ens.spaces import audit
from ens.spaces.history import SEALED_COLUMNS
from tests.helpers.carers import court_measure
from tests.helpers.people import MakePerson, Person
from tests.helpers.plans import explain_analyze
from tests.helpers.server import ROOT, ens_command

COLUMNS = SEALED_COLUMNS.split(", ")


async def _history_of_a_few_requests(client: httpx.AsyncClient, person: Person) -> list[int]:
    for _ in range(3):
        assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200
    rows = await db.fetch("SELECT id FROM access_history WHERE space_id = {} ORDER BY id", person.space_id)
    return [int(row["id"]) for row in rows]


_RUNS = itertools.count(1)


async def _seal_now() -> None:
    """Two runs, each later than any before: the first seals what was noted and notes the newest
    row, the second (its lag passed) seals up to that one."""
    for _ in range(2):
        await audit.seal(lag=timedelta(0), now=clock.now() + timedelta(minutes=next(_RUNS)))


async def test_an_intact_history_verifies_and_a_changed_row_is_caught(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    person = await make_person()
    ids = await _history_of_a_few_requests(client, person)
    assert await audit.verify_space(person.space_id, COLUMNS) is None  # unsealed rows: their MACs hold
    await _seal_now()
    assert await db.fetch("SELECT id FROM history_checkpoints WHERE space_id = {}", person.space_id)
    assert await audit.verify_space(person.space_id, COLUMNS) is None
    # Someone with the database's keys turns a refusal into a success.
    await db.fetch("UPDATE access_history SET outcome = 403 WHERE space_id = {} AND id = {}", person.space_id, ids[1])
    finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None and finding.what == f"row {ids[1]} was changed after it was written"


@pytest.mark.parametrize("before", [0, 1, 2], ids=["first read", "second read", "third read"])
async def test_a_seal_committing_during_verification_is_no_tamper(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch, before: int
) -> None:
    """``ens audit verify`` read the rows, then the checkpoints, then how far the history was
    sealed: a seal committing between the last two made its freshly sealed rows look added later
    (a review). A seal is now committed before each of verify's reads in turn: none is a finding."""
    person = await make_person()
    await _history_of_a_few_requests(client, person)
    reads = 0
    sealing = False

    async def seal_before(read: Callable[..., Awaitable[Any]], sql: str, *args: Any) -> Any:
        nonlocal reads, sealing
        if not sealing:
            if reads == before:
                sealing = True
                try:
                    await _seal_now()
                finally:
                    sealing = False
            reads += 1
        return await read(sql, *args)

    monkeypatch.setattr(audit, "fetch", functools.partial(seal_before, db.fetch))
    monkeypatch.setattr(audit, "fetch_one", functools.partial(seal_before, db.fetch_one))
    assert await audit.verify_space(person.space_id, COLUMNS) is None
    assert reads == 3 and await db.fetch("SELECT id FROM history_checkpoints WHERE space_id = {}", person.space_id)


async def test_a_deleted_row_breaks_its_checkpoint(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    person = await make_person()
    ids = await _history_of_a_few_requests(client, person)
    await _seal_now()
    await db.fetch("DELETE FROM access_history WHERE space_id = {} AND id = {}", person.space_id, ids[0])
    finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None and "no longer matches" in finding.what and "3 sealed, 2 now" in finding.what


async def test_a_row_added_into_a_sealed_range_is_caught(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    person, filler = await make_person(), await make_person()
    await _history_of_a_few_requests(client, person)
    await _seal_now()
    # Later, a range where this space had no rows (another person's requests only) is sealed.
    taken = await _history_of_a_few_requests(client, filler)
    await _seal_now()
    # A genuine row of this space (its MAC valid) is copied into that range, under an id freed there.
    genuine = await db.fetch_one(
        "SELECT * FROM access_history WHERE space_id = {} ORDER BY id LIMIT 1", person.space_id
    )
    assert genuine is not None
    await db.fetch("DELETE FROM access_history WHERE space_id = {} AND id = {}", filler.space_id, taken[0])
    columns = [*COLUMNS, "mac"]
    await db.fetch(
        f"INSERT INTO access_history (id, {', '.join(columns)}) VALUES ({', '.join(['{}'] * (len(columns) + 1))})",
        taken[0],
        *(genuine[name] for name in columns),
    )
    finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None
    assert finding.what == (
        f"row {taken[0]} is in a sealed range but no checkpoint covers it: added later, or its checkpoint removed"
    )


async def test_a_removed_checkpoint_breaks_the_next_one(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    person = await make_person()
    await _history_of_a_few_requests(client, person)
    await _seal_now()
    await _history_of_a_few_requests(client, person)
    await _seal_now()
    checkpoints = await db.fetch(
        "SELECT id FROM history_checkpoints WHERE space_id = {} ORDER BY upto_id", person.space_id
    )
    assert len(checkpoints) >= 2
    await db.fetch(
        "DELETE FROM history_checkpoints WHERE space_id = {} AND id = {}", person.space_id, checkpoints[0]["id"]
    )
    finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None


async def test_an_operators_row_is_sealed_with_whose_right_it_was(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """An operator's row (``ens representatives add``: no account, whose right it was in two columns
    added later, ``audit.SEALED_IF_SET``) verifies, sealed or not; those columns are under its MAC:
    changed, or emptied as on a row written before they existed, the row is caught."""
    holder, tutor = await make_person(), await make_person(given_name="Paul", family_name="Langevin")
    await court_measure(holder, tutor, "curatelle")
    assert (await client.get("/v1/spaces/me", headers=holder.headers)).status_code == 200
    row = await db.fetch_one(
        "SELECT id, actor_account_id, subject_name, subject_kind FROM access_history "
        "WHERE space_id = {} AND acting_as = 'operator'",
        holder.space_id,
    )
    assert row is not None and row["actor_account_id"] is None
    assert (row["subject_name"], row["subject_kind"]) == ("Paul Langevin", "curatelle")
    assert await audit.verify_space(holder.space_id, COLUMNS) is None
    await _seal_now()
    assert await db.fetch("SELECT id FROM history_checkpoints WHERE space_id = {}", holder.space_id)
    assert await audit.verify_space(holder.space_id, COLUMNS) is None
    for change in ("subject_name = 'Jean Dupont'", "subject_name = NULL, subject_kind = NULL"):
        await db.fetch(
            f"UPDATE access_history SET {change} WHERE space_id = {{}} AND id = {{}}", holder.space_id, row["id"]
        )
        finding = await audit.verify_space(holder.space_id, COLUMNS)
        assert finding is not None and finding.what == f"row {row['id']} was changed after it was written"


async def test_the_command_reports_the_first_broken_link(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    person = await make_person()
    ids = await _history_of_a_few_requests(client, person)
    # PYTHONPATH: this checkout's code, whichever checkout the console script came from.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "PYTHONPATH": str(ROOT), "ENS_ENV": "dev"}
    env["ENS_DATABASE_URL"] = settings.database_url

    def ens(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own console script)
            [*ens_command(), "audit", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    async def as_if_lag_passed() -> None:
        """A noted range waits --lag seconds (60, at least 10): as if they had passed (earlier tests
        sealed at times of their own, later than now)."""
        past = clock.now() - timedelta(hours=1)
        await db.fetch("UPDATE history_seal_state SET pending_at = {} WHERE name = 'access'", past)

    await as_if_lag_passed()
    assert ens("seal").returncode == 0  # notes the newest rows
    await as_if_lag_passed()
    sealed = ens("seal")
    assert sealed.returncode == 0 and "sealed" in sealed.stdout
    assert await db.fetch("SELECT id FROM history_checkpoints WHERE space_id = {}", person.space_id)
    intact = ens("verify", str(person.space_id))
    assert intact.returncode == 0 and "1 spaces checked, 0 with a broken link" in intact.stdout
    # After a change of ENS_SECRET_KEY, rows sealed under the old key verify with it configured as
    # a previous key, and read as changed without it (the command says which key it would need).
    rotated = {**env, "ENS_SECRET_KEY": "n" * 48, "ENS_PREVIOUS_SECRET_KEYS": settings.secret_key}
    env, suite_env = rotated, env
    assert ens("verify", str(person.space_id)).returncode == 0
    env = {**rotated, "ENS_PREVIOUS_SECRET_KEYS": ""}
    unverified = ens("verify", str(person.space_id))
    assert unverified.returncode == 1 and "in ENS_PREVIOUS_SECRET_KEYS" in unverified.stdout, unverified
    env = suite_env
    await db.fetch(
        "UPDATE access_history SET actor_name = 'Quelqu''un d''autre' WHERE space_id = {} AND id = {}",
        person.space_id,
        ids[0],
    )
    broken = ens("verify", str(person.space_id))
    assert broken.returncode == 1
    assert f"space {person.space_id}: BROKEN: row {ids[0]} was changed after it was written" in broken.stdout
    # A space that does not exist (never created, or erased with its history) is no intact history.
    unknown = ens("verify", str(uuid.uuid4()))
    assert unknown.returncode == 2 and unknown.stdout == "" and "no space" in unknown.stderr, unknown


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_a_seal_run_reads_the_tail_of_the_history_not_all_of_it(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each seal run asked ``SELECT MAX(id) FROM access_history``, which neither the BRIN index on
    id nor the (space_id, id) key answers: a sequential scan of the whole history every few minutes
    (a review: 400,000 rows, a parallel one). It now asks past the last id noted."""
    person = await make_person()
    columns = "space_id, at, actor_account_id, client_id, acting_as, action, resource_type, outcome, request_id, mac"
    await db.fetch(
        f"INSERT INTO access_history ({columns}) SELECT {{}}, now() - interval '1 day' + g * interval '1 second', "
        "{}, 'c', 'holder', 'GET /v1/spaces/{space}/vitals', 'vitals', 200, 'r' || g, 'x' "
        "FROM generate_series(1, 60000) AS g",
        person.space_id,
        person.account_id,
    )
    # What autovacuum does after so many inserts: the BRIN index summarises the new block ranges.
    await db.fetch("SELECT brin_summarize_new_values('access_history_id_brin')")
    await db.fetch("ANALYZE access_history")
    await _seal_now()  # the 60,000 rows noted, and sealed
    await _history_of_a_few_requests(client, person)
    made: list[tuple[str, tuple[Any, ...]]] = []

    async def recorded(sql: str, *args: Any) -> Any:
        made.append((sql, args))
        return await db.fetch_one(sql, *args)

    monkeypatch.setattr(audit, "fetch_one", recorded)
    await _seal_now()
    sql, args = next((sql, args) for sql, args in made if "MAX(id)" in sql)
    plan = await explain_analyze(sql, *args)

    def nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(below for child in node.get("Plans", []) for below in nodes(child))]

    steps = nodes(plan[0]["Plan"])
    assert not [step for step in steps if "Seq Scan" in step["Node Type"]], plan
    looked_at = max(
        int(step["Actual Rows"]) + int(step.get("Rows Removed by Filter", 0))
        + int(step.get("Rows Removed by Index Recheck", 0))
        for step in steps
    )  # fmt: skip
    assert looked_at < 20_000, plan


async def _flushed() -> None:
    """Everything written so far sealed (rows other tests left too): what follows is sealed alone."""
    await _seal_now()


async def _note_now() -> None:
    """A run that notes the newest row (nothing pending to seal after :func:`_flushed`)."""
    await audit.seal(lag=timedelta(0), now=clock.now() + timedelta(minutes=next(_RUNS)))


async def _state() -> tuple[int, int]:
    state = await db.fetch_one("SELECT sealed_upto, pending_upto FROM history_seal_state WHERE name = 'access'")
    assert state is not None
    return int(state["sealed_upto"]), int(state["pending_upto"])


async def _interleaved(client: httpx.AsyncClient, person: Person, other: Person, times: int) -> None:
    for _ in range(times):
        for who in (person, other):
            assert (await client.get("/v1/spaces/me", headers=who.headers)).status_code == 200


async def test_a_seal_run_commits_chunk_by_chunk_and_the_next_run_finishes_a_stopped_one(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run sealed its whole range in one transaction: SQLite's write lock (and PostgreSQL's oldest
    snapshot) held as long as it took, 0.79 s for 200,000 rows (a review). Each chunk of ids now
    commits its checkpoints with ``sealed_upto``: a run stopped between two chunks leaves a history
    that verifies, and the next run seals the rest, each space's checkpoints chained across them."""
    person, other = await make_person(), await make_person()
    await _flushed()
    await _interleaved(client, person, other, 4)
    await _note_now()
    start, target = await _state()
    assert target - start >= 8
    real_seal_range = audit._seal_range
    chunks = 0

    async def stops_at_the_third(after: int, upto: int, *, at: Any) -> tuple[int, int]:
        nonlocal chunks
        chunks += 1
        if chunks == 3:
            raise RuntimeError("the sealer's process ends here")
        return await real_seal_range(after, upto, at=at)

    monkeypatch.setattr(audit, "_seal_range", stops_at_the_third)
    with pytest.raises(RuntimeError):
        await audit.seal(lag=timedelta(0), now=clock.now() + timedelta(minutes=next(_RUNS)), chunk=2)
    assert await _state() == (start + 4, target)  # two chunks committed, the range still to finish
    for space in (person, other):
        assert await audit.verify_space(space.space_id, COLUMNS) is None
    monkeypatch.setattr(audit, "_seal_range", real_seal_range)
    done = await audit.seal(lag=timedelta(0), now=clock.now() + timedelta(minutes=next(_RUNS)), chunk=2)
    assert done.upto_id == target and done.rows == target - start - 4
    assert (await _state())[0] == target
    for space in (person, other):
        assert await audit.verify_space(space.space_id, COLUMNS) is None
        checkpoints = await db.fetch(
            "SELECT after_id, upto_id, row_count FROM history_checkpoints WHERE space_id = {} AND upto_id > {} "
            "ORDER BY upto_id",
            space.space_id,
            start,
        )
        # One per chunk of two ids (one row of each person in each), in order, every row counted once.
        assert len(checkpoints) >= 4 and all(c["upto_id"] - c["after_id"] <= 2 for c in checkpoints)
        rows = await db.fetch(
            "SELECT id FROM access_history WHERE space_id = {} AND id > {} AND id <= {}", space.space_id, start, target
        )
        assert sum(int(c["row_count"]) for c in checkpoints) == len(rows)
    # Chained across the chunks: the middle one removed breaks the history.
    middle = await db.fetch(
        "SELECT id FROM history_checkpoints WHERE space_id = {} AND upto_id > {} ORDER BY upto_id",
        person.space_id,
        start,
    )
    await db.fetch(
        "DELETE FROM history_checkpoints WHERE space_id = {} AND id = {}",
        person.space_id,
        middle[len(middle) // 2]["id"],
    )
    assert await audit.verify_space(person.space_id, COLUMNS) is not None


async def _sealed_one_by_one(
    client: httpx.AsyncClient, person: Person, other: Person, times: int
) -> tuple[list[int], list[int]]:
    """``times`` rows of each person, interleaved, each row in a checkpoint of its own (chunks of one
    id): all the person's ids, and those of these rows."""
    await _flushed()
    start = (await _state())[0]
    await _interleaved(client, person, other, times)
    await _note_now()
    await audit.seal(lag=timedelta(0), now=clock.now() + timedelta(minutes=next(_RUNS)), chunk=1)
    rows = await db.fetch("SELECT id FROM access_history WHERE space_id = {} ORDER BY id", person.space_id)
    ids = [int(row["id"]) for row in rows]
    return ids, [row_id for row_id in ids if row_id > start]


async def test_verification_reads_a_page_at_a_time_each_row_and_checkpoint_once(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ens audit verify`` read a space's whole history in memory, then its rows again for each
    checkpoint: time as rows times checkpoints (a review: 8,000 rows and 4,000 checkpoints, 1.95 s).
    It now reads rows and checkpoints together, in id order, a page at a time: no statement reads
    more than a page, and each row and checkpoint is read once."""
    person, other = await make_person(), await make_person()
    ids, _ = await _sealed_one_by_one(client, person, other, 9)
    checkpoints = await db.fetch("SELECT id FROM history_checkpoints WHERE space_id = {}", person.space_id)
    assert len(checkpoints) >= 9
    read: list[int] = []

    async def counted(sql: str, *args: Any) -> Any:
        rows = await db.fetch(sql, *args)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(audit, "fetch", counted)
    assert await audit.verify_space(person.space_id, COLUMNS, page=2) is None
    assert max(read) <= 2
    assert sum(read) == len(ids) + len(checkpoints)
    assert len(read) <= (len(ids) + 2 * len(checkpoints)) // 2 + 3


def _added_later(row_id: int) -> str:
    return f"row {row_id} is in a sealed range but no checkpoint covers it: added later, or its checkpoint removed"


@pytest.mark.parametrize(
    "tamper", ["none", "row deleted", "row added", "middle checkpoint removed", "last checkpoint removed"]
)
async def test_each_tampering_is_caught_across_pages(
    client: httpx.AsyncClient, make_person: MakePerson, tamper: str
) -> None:
    """The one pass over rows and checkpoints, a page of two at a time across many checkpoints."""
    person, other = await make_person(), await make_person()
    _, ids = await _sealed_one_by_one(client, person, other, 7)
    checkpoints = await db.fetch(
        "SELECT id, upto_id FROM history_checkpoints WHERE space_id = {} AND upto_id >= {} ORDER BY upto_id",
        person.space_id,
        ids[0],
    )
    assert [int(c["upto_id"]) for c in checkpoints] == ids  # one checkpoint per row
    middle = len(checkpoints) // 2
    if tamper == "row deleted":
        await db.fetch("DELETE FROM access_history WHERE space_id = {} AND id = {}", person.space_id, ids[middle])
    elif tamper == "row added":
        # A genuine row of this space (its MAC valid) copied under an id freed in the other's range.
        taken = await db.fetch(
            "SELECT id FROM access_history WHERE space_id = {} AND id > {} ORDER BY id LIMIT 1",
            other.space_id,
            ids[middle],
        )
        genuine = await db.fetch_one(
            "SELECT * FROM access_history WHERE space_id = {} AND id = {}", person.space_id, ids[middle]
        )
        assert taken and genuine is not None
        await db.fetch("DELETE FROM access_history WHERE space_id = {} AND id = {}", other.space_id, taken[0]["id"])
        columns = [*COLUMNS, "mac"]
        await db.fetch(
            f"INSERT INTO access_history (id, {', '.join(columns)}) VALUES ({', '.join(['{}'] * (len(columns) + 1))})",
            taken[0]["id"],
            *(genuine[name] for name in columns),
        )
    elif tamper.endswith("checkpoint removed"):
        gone = checkpoints[middle if tamper.startswith("middle") else -1]
        await db.fetch("DELETE FROM history_checkpoints WHERE space_id = {} AND id = {}", person.space_id, gone["id"])
    finding = await audit.verify_space(person.space_id, COLUMNS, page=2)
    if tamper == "none":
        assert finding is None
        return
    assert finding is not None
    if tamper == "row deleted":
        assert finding.what.startswith(f"checkpoint {checkpoints[middle]['id']} ") and "1 sealed, 0 now" in finding.what
    elif tamper == "row added":
        assert finding.what == _added_later(int(taken[0]["id"]))
    elif tamper == "middle checkpoint removed":
        assert finding.what == _added_later(ids[middle])  # its row, the first link broken (the next one's chain too)
    else:
        assert finding.what == _added_later(ids[-1])


# The history read since a time skips the rows a checkpoint knows to be older (newest_at).

_HISTORY_COLUMNS = (
    "space_id, at, actor_account_id, client_id, acting_as, action, resource_type, outcome, request_id, mac"
)


async def _old_reads(person: Person, count: int, *, days_ago: float) -> None:
    """``count`` of the holder's reads, written now, of ``days_ago`` days ago (one second apart)."""
    for n in range(count):
        await db.fetch(
            f"INSERT INTO access_history ({_HISTORY_COLUMNS}) "
            "VALUES ({}, {}, {}, 'c', 'holder', {}, 'vitals', 200, {}, 'x')",
            person.space_id,
            clock.now() - timedelta(days=days_ago) + timedelta(seconds=n),
            person.account_id,
            "GET /v1/spaces/{space}/vitals",
            f"old-{n}",
        )


async def _listed(client: httpx.AsyncClient, person: Person, **bounds: datetime) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        query: dict[str, str | int] = {name: bound.isoformat() for name, bound in bounds.items()}
        query.update({"limit": 7, **({"cursor": cursor} if cursor else {})})
        page = await client.get("/v1/spaces/me/access-history", params=query, headers=person.headers)
        assert page.status_code == 200, page.text
        ids += [item["id"] for item in page.json()["items"]]
        if not (cursor := page.json()["nextCursor"]):
            return ids


async def test_the_history_since_or_until_a_time_lists_exactly_the_rows_between(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """Every ``since`` gives the rows whose ``at`` is at or after it, every ``until`` those before
    it, both those between, whatever the checkpoints skip: old rows sealed, a row written late for a
    request that began days ago (an upload from a slow link), new rows sealed and not."""
    person = await make_person()
    await _old_reads(person, 20, days_ago=3)
    await _seal_now()
    await _old_reads(person, 1, days_ago=2.5)  # written late, of a request begun 2.5 days ago
    for _ in range(3):
        assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200
    await _seal_now()
    for _ in range(2):  # not sealed yet
        assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200
    checkpoints = await db.fetch("SELECT newest_at FROM history_checkpoints WHERE space_id = {}", person.space_id)
    assert len(checkpoints) >= 2 and all(row["newest_at"] is not None for row in checkpoints)
    # Exactly the first checkpoint's newest_at, its newest row's time: that row is listed.
    first = await db.fetch_one(
        "SELECT MIN(newest_at) AS at FROM history_checkpoints WHERE space_id = {}", person.space_id
    )
    assert first is not None
    times = (
        clock.aware(first["at"]),
        clock.now() - timedelta(days=4),
        clock.now() - timedelta(days=3) + timedelta(seconds=10, milliseconds=500),
        clock.now() - timedelta(days=2.75),
        clock.now() - timedelta(days=1),
        clock.now() - timedelta(minutes=5),
        clock.now() + timedelta(minutes=5),
    )
    rows = await db.fetch("SELECT id, at FROM access_history WHERE space_id = {} ORDER BY id DESC", person.space_id)
    # The API names a row by an opaque id: each row's, to read the listings by.
    opaque = Cursors(settings.secret_key)
    known = {str(opaque.opaque_id("access-history", int(row["id"]))): int(row["id"]) for row in rows}
    for bounds in (
        *({"since": time} for time in times),
        *({"until": time} for time in times),
        *({"since": since, "until": until} for since in times for until in times if since < until),
    ):
        since, until = bounds.get("since"), bounds.get("until")
        expected = [
            int(row["id"])
            for row in rows
            if (since is None or clock.aware(row["at"]) >= since) and (until is None or clock.aware(row["at"]) < until)
        ]
        listed = await _listed(client, person, **bounds)
        # The listing's own requests write rows too (after their answers): those newer are not asked.
        assert [known[row_id] for row_id in listed if row_id in known] == expected, bounds


@pytest.mark.parametrize(("column", "moved"), [("newest_at", -30), ("oldest_at", 30)])
async def test_a_checkpoint_time_changed_is_caught(
    client: httpx.AsyncClient, make_person: MakePerson, column: str, moved: int
) -> None:
    """A checkpoint's ``newest_at`` set back, or its ``oldest_at`` forward, would hide its rows from
    the history read since, or until, a time between: ``ens audit verify`` reports it."""
    person = await make_person()
    await _history_of_a_few_requests(client, person)
    await _seal_now()
    assert await audit.verify_space(person.space_id, COLUMNS) is None
    await db.fetch(
        f"UPDATE history_checkpoints SET {column} = {{}} WHERE space_id = {{}}",
        clock.now() + timedelta(days=moved),
        person.space_id,
    )
    finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None and f"{column.removesuffix('_at')} row" in finding.what


async def test_a_checkpoint_newest_at_set_to_the_year_1_is_caught(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The year 1 marks a checkpoint's ``oldest_at`` as unknown (made before it was kept: its rows
    are always read), and ``ens audit verify`` let it pass. On ``newest_at`` it says the opposite:
    every row up to that checkpoint is older than any ``since``, so the history read since a time
    skips them all. ``newest_at`` set to the year 1 (or a few days after) hid the rows and verify
    said nothing: it is reported as any other change."""
    person = await make_person()
    ids = await _history_of_a_few_requests(client, person)
    await _seal_now()
    await db.fetch(
        "UPDATE history_checkpoints SET newest_at = {} WHERE space_id = {}",
        datetime(1, 1, 1, 12, tzinfo=UTC),
        person.space_id,
    )
    since = clock.now() - timedelta(hours=1)
    listed = await _listed(client, person, since=since)
    assert not set(ids) & set(listed)  # what the change hides
    finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None and "newest row" in finding.what


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_the_history_since_an_hour_ago_does_not_walk_the_older_rows(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``since`` few rows match walked the space's whole history, newest first, down to its oldest
    row (3,000 here; a year of a watch's readings is half a million). The checkpoints' ``newest_at``
    bound the walk: the rows up to the last checkpoint older than ``since`` are skipped."""
    from ens.spaces import history
    from tests.helpers.plans import Statements

    person = await make_person()
    await db.fetch(
        f"INSERT INTO access_history ({_HISTORY_COLUMNS}) SELECT {{}}, now() - interval '2 days' + g * interval "
        "'1 second', {}, 'c', 'holder', 'GET /v1/spaces/{space}/vitals', 'vitals', 200, 'r' || g, 'x' "
        "FROM generate_series(1, 3000) AS g",
        person.space_id,
        person.account_id,
    )
    await _seal_now()
    for _ in range(3):
        assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200
    await db.fetch("ANALYZE access_history")
    statements = Statements(monkeypatch, history)
    since = (clock.now() - timedelta(hours=1)).isoformat()
    answer = await client.get("/v1/spaces/me/access-history", params={"since": since}, headers=person.headers)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 3
    assert await statements.most_rows_looked_at("FROM access_history") <= 25


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_the_history_until_long_ago_does_not_walk_the_newer_rows(
    client: httpx.AsyncClient, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ``until`` long past walked every newer row of the space, newest first (3,000 here). The
    checkpoints' ``oldest_at`` bound the walk: it starts at the last checkpoint sealing an older row."""
    from ens.spaces import history
    from tests.helpers.plans import Statements

    person = await make_person()
    await _old_reads(person, 20, days_ago=30)
    await _seal_now()
    await db.fetch(
        f"INSERT INTO access_history ({_HISTORY_COLUMNS}) SELECT {{}}, now() - interval '1 day' + g * interval "
        "'1 second', {}, 'c', 'holder', 'GET /v1/spaces/{space}/vitals', 'vitals', 200, 'r' || g, 'x' "
        "FROM generate_series(1, 3000) AS g",
        person.space_id,
        person.account_id,
    )
    await _seal_now()
    await db.fetch("ANALYZE access_history")
    statements = Statements(monkeypatch, history)
    until = (clock.now() - timedelta(days=10)).isoformat()
    answer = await client.get("/v1/spaces/me/access-history", params={"until": until}, headers=person.headers)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 20
    assert await statements.most_rows_looked_at("FROM access_history") <= 25


# ---------------------------------------------------------------------------------------------
# Across a change of ENS_SECRET_KEY: a key that was replaced (perhaps because it leaked) and is still
# configured in ENS_PREVIOUS_SECRET_KEYS, so that the rows sealed under it verify, seals nothing
# written after the change. ``ens audit verify`` took any configured key for any row: whoever held
# the replaced key and could write to the database edited a row written after the change and MACed
# it again under that key, or added one, which the next run sealed, and both verified (a review of
# the rotation). Along a space's history the keys now only ever go newer.

NEW_KEY = "history-rotated-" + secrets.token_urlsafe(40)


@contextmanager
def _key_changed(old_key: str) -> Iterator[None]:
    """This process as after a change of key: ``NEW_KEY`` current, ``old_key`` replaced (the access
    history's keys are process-wide: the suite's app seals its rows under ``NEW_KEY`` meanwhile)."""
    keyring.configure(NEW_KEY, (old_key,))
    audit.configure(NEW_KEY)
    try:
        yield
    finally:
        keyring.configure(old_key, ())
        audit.configure(old_key)


async def _requests(client: httpx.AsyncClient, person: Person, count: int = 2) -> None:
    for _ in range(count):
        assert (await client.get("/v1/spaces/me", headers=person.headers)).status_code == 200


async def _rows(person: Person) -> list[Row]:
    return await db.fetch(
        f"SELECT id, {SEALED_COLUMNS}, {', '.join(audit.SEALED_IF_SET)}, mac FROM access_history "
        "WHERE space_id = {} ORDER BY id",
        person.space_id,
    )


def _forged_mac(key: str, row: Row) -> str:
    """What the holder of ``key`` computes for ``row`` as it now reads (ens.spaces.audit's MAC)."""
    values = audit.sealed(audit._stored_values(row, COLUMNS), audit._stored_values(row, audit.SEALED_IF_SET))
    payload = audit._row_payload(values)
    return hmac.new(keyring.derive_key(key, "access-history-mac"), payload, hashlib.sha256).hexdigest()


async def test_the_history_sealed_across_a_change_of_key_verifies(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    person = await make_person()
    await _requests(client, person)
    await _seal_now()
    await _requests(client, person)  # rows under the old key, sealed after the change
    with _key_changed(settings.secret_key):
        await _requests(client, person)
        await _seal_now()
        await _requests(client, person)  # new rows not sealed yet
        assert await audit.verify_space(person.space_id, COLUMNS) is None


async def test_a_row_written_after_the_change_and_macd_again_under_the_replaced_key_is_caught(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    person = await make_person()
    await _requests(client, person)
    with _key_changed(settings.secret_key):
        await _requests(client, person)
        # The holder of the replaced key turns the newest row, a success, into a refusal and MACs it.
        newest = (await _rows(person))[-1]
        await db.fetch(
            "UPDATE access_history SET outcome = 403 WHERE space_id = {} AND id = {}", person.space_id, newest["id"]
        )
        edited = (await _rows(person))[-1]
        await db.fetch(
            "UPDATE access_history SET mac = {} WHERE space_id = {} AND id = {}",
            _forged_mac(settings.secret_key, edited),
            person.space_id,
            edited["id"],
        )
        finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None
    assert finding.what.startswith(f"row {newest['id']} is sealed under a key ENS_SECRET_KEY replaced"), finding


async def test_a_row_added_under_the_replaced_key_after_a_new_checkpoint_is_caught_once_sealed(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The space's rows are all from before the change; the first run after it seals them under the
    new key. A row then added under the old key, and sealed by the next run, is caught."""
    person = await make_person()
    await _requests(client, person)
    with _key_changed(settings.secret_key):
        await _seal_now()
        genuine = (await _rows(person))[-1]
        columns = [*COLUMNS, "mac"]
        forged = dict(genuine)
        forged["actor_name"] = "Personne"
        forged["at"] = clock.now()
        await db.fetch(
            f"INSERT INTO access_history ({', '.join(columns)}) VALUES ({', '.join(['{}'] * len(columns))})",
            *(forged[name] for name in COLUMNS),
            "pending",
        )
        added = (await _rows(person))[-1]
        await db.fetch(
            "UPDATE access_history SET mac = {} WHERE space_id = {} AND id = {}",
            _forged_mac(settings.secret_key, added),
            person.space_id,
            added["id"],
        )
        await _seal_now()
        finding = await audit.verify_space(person.space_id, COLUMNS)
    assert finding is not None
    assert finding.what.startswith(f"row {added['id']} is sealed under a key ENS_SECRET_KEY replaced"), finding
