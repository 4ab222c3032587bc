"""A right that ends while a request runs (an outside review, 2026-12-06): the door decided before
the body came in, or before an export's stream, at the client's pace. Its decision is taken again
first thing in the request's write (``SpaceAccess.readmit``, the space's row held), and before each
batch and file of an export; a kind that may do nothing (a curator without consent) is not a kind
that may read."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from ens.core import clock, db
from ens.core.settings import Settings
from ens.vitals.ingest import INSERT_COLUMNS
from tests.helpers.carers import consent_until, court_measure, create_child_space, join_as_second_parent
from tests.helpers.concurrency import open_transaction
from tests.helpers.documents import pdf, upload, uploaded
from tests.helpers.export_stream import export_acting_during_first_file
from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.professionals import authorise, sign_in_pro
from tests.helpers.vaccination import vaccine_id
from tests.helpers.vitals import weight


async def test_a_curator_whose_consent_is_withdrawn_during_the_export_gets_no_more_files(app, client, make_person):
    """A curator reads only while the holder consents; without consent they are a kind that may do
    nothing, which the export's re-check took for one that may read, and the export went on."""
    holder, curator = await make_person(given_name="Marie"), await make_person(given_name="Curateur")
    measure = await court_measure(holder, curator, "curatelle")
    await consent_until(holder, measure, clock.now() + timedelta(days=30))
    meta = {"typeCode": "11488-4", "title": "Compte rendu", "date": "2026-03-03"}
    first = await uploaded(client, holder.headers, pdf(200_000, seed=70), meta=meta)
    later = await uploaded(client, holder.headers, pdf(1_000, seed=71), meta={**meta, "date": "2025-01-02"})

    read = await export_acting_during_first_file(
        app, curator.headers, holder.space_id, first["id"], lambda: consent_until(holder, measure, None)
    )
    status, body = read.status, read.body
    assert status == [200] and read.acted
    # Consent withdrawn: the door refuses the curator now.
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=curator.headers)).status_code == 403
    # ... but the export they had started kept sending documents.
    assert later["id"].encode() not in body, "the curator received a document after consent was withdrawn"
    with pytest.raises(ValueError):
        json.loads(bytes(body))
    # The holder's history: the export began (200), then the refusal that stopped it (not a 500).
    history = await client.get("/v1/spaces/me/access-history?limit=50", headers=holder.headers)
    rows = [e for e in history.json()["items"] if e["action"] == "GET /v1/spaces/{space}/export"]
    assert sorted(e["outcome"] for e in rows) == [200, 403]


async def test_a_curator_whose_consent_is_withdrawn_while_the_records_are_read_gets_none_of_them(
    app, client, make_person, monkeypatch
):
    """The export reads the records first, every version of the directives printed (seconds apiece:
    23 versions of long notes took 86 s), and sent them without asking again: a curator whose
    consent was withdrawn meanwhile received the directives, the trusted person and the profile; a
    holder who erased the space meanwhile (204) was still sent its directives two minutes later (an
    outside audit)."""
    from ens.records.fhir import to_fhir
    from ens.records.trusted_person import current_trusted_person
    from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, structured, trusted

    holder, curator = await make_person(given_name="Marie"), await make_person(given_name="Curateur")
    measure = await court_measure(holder, curator, "curatelle")
    await consent_until(holder, measure, clock.now() + timedelta(days=30))
    assert (await client.put(TRUSTED_PERSON, json=trusted(), headers=holder.headers)).status_code == 201
    assert (await client.put(DIRECTIVES, json=structured(), headers=holder.headers)).status_code == 201
    allergy = {"substance": "Arachide", "reaction": "Œdème de Quincke"}
    added = await client.post("/v1/spaces/me/profile/allergies", json=allergy, headers=holder.headers)
    assert added.status_code == 201

    async def withdrawn_meanwhile(space_id: UUID) -> Any:
        # The holder's own request, in a context of its own, while the export prints the directives.
        withdraw = consent_until(holder, measure, None)
        await asyncio.get_running_loop().create_task(withdraw, context=contextvars.Context())
        return await current_trusted_person(space_id)

    monkeypatch.setattr(to_fhir, "current_trusted_person", withdrawn_meanwhile)

    async def nothing() -> None:
        return None

    read = await export_acting_during_first_file(app, curator.headers, holder.space_id, "no-document", nothing)
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=curator.headers)).status_code == 403
    body = bytes(read.body)
    for said in (b"Consent", b"Arachide", b"Durand", b"Patient"):
        assert said not in body, f"the curator received {said.decode()} after consent was withdrawn"


async def test_a_guardian_whose_measure_ends_while_the_import_body_arrives_writes_nothing(client, make_person):
    """The import's body arrives at the client's pace (up to ENS_IMPORT_MAX_BYTES): a guardian whose
    measure an operator ended meanwhile wrote into the space (201)."""
    from ens.spaces.representatives import end_court_measure
    from tests.helpers.records import contact

    source = await make_person(given_name="Source")
    url = "/v1/spaces/me/emergency-contacts"
    assert (await client.post(url, json=contact("Jean"), headers=source.headers)).status_code == 201
    exported = (await client.get("/v1/spaces/me/export", headers=source.headers)).content

    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    measure = await court_measure(holder, tutor, "tutelle")
    half = len(exported) // 2

    async def body() -> AsyncIterator[bytes]:
        yield exported[:half]
        # The operator's command, in a context of its own: run in the request's, its transaction
        # was the request's first write, and took the tutor's readmit in with it.
        end = end_court_measure(holder.space_id, measure, reason="TJ Paris, mainlevée")
        await asyncio.get_running_loop().create_task(end, context=contextvars.Context())
        yield exported[half:]

    answer = await client.post(
        f"/v1/spaces/{holder.space_id}/import",
        content=body(),
        headers={**tutor.headers, "Content-Type": "application/fhir+json"},
    )
    # The measure has ended: the door refuses the former guardian now.
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=tutor.headers)).status_code in (403, 404)
    contacts = (await client.get(url, headers=holder.headers)).json()["items"]
    assert answer.status_code == 404 and contacts == [], (answer.status_code, contacts)
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_professional_blocked_while_their_upload_arrives_adds_no_document(client, settings, make_person):
    """The holder blocks the doctor while their file arrives ("no access, not even in an
    emergency"): the document was added all the same."""
    from tests.helpers.documents import form_body, form_headers, metadata
    from tests.helpers.professionals import authorise, sign_in_pro

    holder = await make_person(given_name="Marie")
    doctor = await sign_in_pro(settings)
    entry = await authorise(client, holder, doctor)
    whole = form_body([("file", "cr.pdf", pdf(300_000, seed=80)), ("metadata", None, json.dumps(metadata()).encode())])

    async def body() -> AsyncIterator[bytes]:
        yield whole[:100_000]
        blocked = await client.post(f"/v1/spaces/me/professionals/{entry['id']}/block", headers=holder.headers)
        assert blocked.status_code == 200, blocked.text
        yield whole[100_000:]

    answer = await client.post(
        f"/v1/spaces/{holder.space_id}/documents", content=body(), headers=form_headers(doctor.headers)
    )
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=doctor.headers)).status_code == 404
    listed = (await client.get("/v1/spaces/me/documents", headers=holder.headers)).json()["items"]
    assert answer.status_code == 404 and listed == [], (answer.status_code, [d["title"] for d in listed])
    history = (await client.get("/v1/spaces/me/access-history", headers=holder.headers)).json()["items"]
    assert [row["outcome"] for row in history if row["action"].startswith("POST") and "documents" in row["action"]] == [
        404
    ]


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_a_write_that_waited_on_a_close_sees_the_space_closed(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """A close holds the space's row FOR UPDATE (_as_it_is) while it sets status = 'closed'. A write
    that comes then passes the door (open), and its readmit waits on the row (the CTE's FOR KEY
    SHARE). Once the close commits, the CTE locks the row's new version, but the same statement's
    LEFT JOIN spaces reads the snapshot taken at its start: status 'open'. The readmit passes and the
    write committed into the closed space (201): the space is read from the locked row now."""
    async with open_transaction(settings) as connection:
        await connection.execute("SELECT id FROM spaces WHERE id = $1 FOR UPDATE", person.space_id)
        await connection.execute(
            "UPDATE spaces SET status = 'closed', closed_at = now() WHERE id = $1", person.space_id
        )
        write = asyncio.ensure_future(
            client.post("/v1/spaces/me/profile/allergies", json={"substance": "Arachide"}, headers=person.headers)
        )
        await asyncio.sleep(0.4)
        assert not write.done()  # waiting on the close's lock
    answer = await write
    rows = await db.fetch("SELECT substance FROM profile_allergies WHERE space_id = {}", person.space_id)
    assert answer.status_code == 410 and rows == [], (answer.status_code, rows)


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_an_app_disconnected_while_its_batch_is_written_stores_nothing_after_the_answer(
    client: httpx.AsyncClient, person: Person, settings: Settings, make_app_token: MakeAppToken
) -> None:
    """The holder disconnects an app while its batch is past the door's second look and not yet
    committed (held here on the index by another writer's record, rolled back). The disconnection
    answered 204 at once, and the batch then committed its measure (201): a measure stored after
    the holder was told the app was gone (an outside audit of races). A write holds its grant now,
    as it holds its space: the disconnection waits for it, and what it does next is refused."""
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    model = await client.post(
        "/v1/spaces/me/vitals", json={"measurements": [weight(70, clientRecordId="model")]}, headers=scale.headers
    )
    assert model.status_code == 201, model.text
    columns = ", ".join(INSERT_COLUMNS)
    copied = columns.replace("client_record_id", "'raced'").replace("feed_xid", "0").replace("seq", "-1")
    copied = copied.replace("id, space_id", "gen_random_uuid(), space_id", 1)
    raced = "SELECT id FROM vital_measurements WHERE space_id = {} AND client_record_id = 'raced'"

    async def disconnect() -> list[Any]:
        answer = await client.delete(f"/v1/spaces/me/grants/{scale.grant_id}", headers=person.headers)
        assert answer.status_code == 204, answer.text
        return await db.fetch(raced, person.space_id)  # what was stored when the holder was answered

    connection = await asyncpg.connect(settings.database_url)
    try:
        rolled_back = connection.transaction()
        await rolled_back.start()
        await connection.execute(
            f"INSERT INTO vital_measurements ({columns}) SELECT {copied} FROM vital_measurements "
            "WHERE space_id = $1 AND id = $2",
            person.space_id,
            UUID(model.json()["items"][0]["id"]),
        )
        batch = asyncio.ensure_future(
            client.post(
                "/v1/spaces/me/vitals",
                json={"measurements": [weight(71, clientRecordId="raced")]},
                headers=scale.headers,
            )
        )
        await asyncio.sleep(0.4)
        assert not batch.done()  # readmitted, its insert waiting on the other writer's record
        revocation = asyncio.ensure_future(disconnect())
        await asyncio.sleep(0.4)
        await rolled_back.rollback()
    finally:
        await connection.close()
    stored, when_answered = await batch, await revocation
    rows = await db.fetch(raced, person.space_id)
    # Stored before the holder was answered, or refused: nothing comes after the answer.
    assert rows == when_answered, (stored.status_code, when_answered, rows)
    assert stored.status_code == (201 if rows else 401), stored.text


@asynccontextmanager
async def another_entry_being_written(settings: Settings, space_id: UUID, model: str, day: date) -> AsyncIterator[None]:
    """Another writer's booklet entry of the same vaccine as ``model`` on ``day``, not committed
    until the block ends, then rolled back: an entry of that vaccine and day written meanwhile waits
    on the booklet's unique index, past the door's second look, then goes in."""
    connection = await asyncpg.connect(settings.database_url)
    try:
        rolled_back = connection.transaction()
        await rolled_back.start()
        await connection.execute(
            "CREATE TEMPORARY TABLE raced ON COMMIT DROP AS SELECT * FROM vaccinations WHERE space_id = $1 AND id = $2",
            space_id,
            UUID(model),
        )
        await connection.execute("UPDATE raced SET id = gen_random_uuid(), earliest_on = $1", day)
        await connection.execute("INSERT INTO vaccinations SELECT * FROM raced")
        yield
        await rolled_back.rollback()
    finally:
        await connection.close()


async def right_ended_during_an_entry(
    client: httpx.AsyncClient,
    settings: Settings,
    holder: Person,
    writer: dict[str, str],
    end: Callable[[], Awaitable[None]],
) -> tuple[int, list[Any], list[Any]]:
    """``writer`` adds a booklet entry to ``holder``'s space that waits past the door's second look
    while ``end`` ends their right: the entry's status, its rows when the end returned, and after."""
    vaccine = await vaccine_id(client, "prevenar 13", "PREVENAR 13")
    model = await client.post(
        "/v1/spaces/me/vaccinations", json={"vaccineId": vaccine, "date": "2024-05-06"}, headers=holder.headers
    )
    assert model.status_code == 201, model.text
    day = date(2024, 6, 7)
    entries = "SELECT id FROM vaccinations WHERE space_id = {} AND earliest_on = {}"

    async def ended() -> list[Any]:
        await end()
        return await db.fetch(entries, holder.space_id, day)  # what was stored when the end returned

    async with another_entry_being_written(settings, holder.space_id, model.json()["id"], day):
        entry = asyncio.ensure_future(
            client.post(
                f"/v1/spaces/{holder.space_id}/vaccinations",
                json={"vaccineId": vaccine, "date": day.isoformat()},
                headers=writer,
            )
        )
        await asyncio.sleep(0.4)
        assert not entry.done()  # readmitted, its insert waiting on the other writer's entry
        ending = asyncio.ensure_future(ended())
        await asyncio.sleep(0.4)
    added, when_ended = await entry, await ending
    return added.status_code, when_ended, await db.fetch(entries, holder.space_id, day)


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_a_professional_blocked_while_their_entry_is_written_adds_it_before_the_answer_or_not_at_all(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """The holder blocks a doctor whose booklet entry is past the door's second look and not yet
    committed. The block answered 200 at once, and the entry was then added (201) by a doctor the
    holder had just been told was blocked (an outside audit of races; the README promised the write
    under way writes nothing). The doctor's write runs under the holder's decisions now: the block
    waits for it."""
    pro = await sign_in_pro(settings)
    authorised = await authorise(client, person, pro)

    async def block() -> None:
        url = f"/v1/spaces/me/professionals/{authorised['id']}/block"
        assert (await client.post(url, headers=person.headers)).status_code == 200

    status, when_blocked, rows = await right_ended_during_an_entry(client, settings, person, pro.headers, block)
    assert rows == when_blocked, (status, when_blocked, rows)
    assert status == (201 if rows else 404)


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_a_tutor_whose_measure_ends_while_their_entry_is_written_adds_it_before_the_end_or_not_at_all(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """An operator ends a tutor's court measure while the tutor's booklet entry is past the door's
    second look: the end returned at once, and the entry was added after it (201; an outside audit
    of races). The tutor's write runs under the decisions on who represents the space now."""
    from ens.spaces.representatives import end_court_measure

    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    measure = await court_measure(holder, tutor, "tutelle")

    async def end() -> None:
        await end_court_measure(holder.space_id, measure, reason="TJ Paris, mainlevée")

    status, when_ended, rows = await right_ended_during_an_entry(client, settings, holder, tutor.headers, end)
    assert rows == when_ended, (status, when_ended, rows)
    assert status == (201 if rows else 404)


async def other_write_beside_a_stalled_entry(
    client: httpx.AsyncClient,
    settings: Settings,
    space_id: UUID,
    model_headers: dict[str, str],
    stalled_headers: dict[str, str],
    other_write: Callable[[], Awaitable[httpx.Response]],
) -> tuple[bool, int, int]:
    """A booklet entry by ``stalled_headers`` waits past the door's second look (on another writer's
    entry) while ``other_write`` runs: whether that one answered while the entry still waited, its
    status, and the entry's."""
    vaccine = await vaccine_id(client, "prevenar 13", "PREVENAR 13")
    url = f"/v1/spaces/{space_id}/vaccinations"
    model = await client.post(url, json={"vaccineId": vaccine, "date": "2024-05-06"}, headers=model_headers)
    assert model.status_code == 201, model.text
    day = date(2024, 6, 7)
    async with another_entry_being_written(settings, space_id, model.json()["id"], day):
        stalled = asyncio.ensure_future(
            client.post(url, json={"vaccineId": vaccine, "date": day.isoformat()}, headers=stalled_headers)
        )
        await asyncio.sleep(0.4)
        assert not stalled.done()  # readmitted, its insert waiting on the other writer's entry
        other = asyncio.ensure_future(other_write())
        done, _ = await asyncio.wait({other}, timeout=3)
        alongside = other in done and not stalled.done()
    return alongside, (await other).status_code, (await stalled).status_code


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_a_professionals_write_waits_for_no_other_professionals_write(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """A professional's write holds the holder's decisions about professionals so that a block waits
    for it; held whole, it held every other professional's write to the space too: a doctor's
    document waited as long as a nurse's booklet entry did (a review of the races' audit). Writes
    hold them shared now: a decision waits for them all, and they for none of each other."""
    doctor, nurse = await sign_in_pro(settings), await sign_in_pro(settings)
    await authorise(client, person, doctor)
    await authorise(client, person, nurse)

    async def document() -> httpx.Response:
        return await upload(client, doctor.headers, pdf(2_000, seed=91), space=person.space_id)

    alongside, status, entry = await other_write_beside_a_stalled_entry(
        client, settings, person.space_id, person.headers, nurse.headers, document
    )
    assert alongside and status == 201 and entry == 201, (alongside, status, entry)


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)
async def test_a_parents_write_waits_for_no_write_of_the_other_parent(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The same for the decisions on who represents a child: one parent's write held whole waited for
    every write of the other parent (an import holds it as long as it runs)."""
    jean, lea = await make_person(given_name="Jean"), await make_person(given_name="Léa")
    child = await create_child_space(client, jean)
    assert (await join_as_second_parent(client, jean, lea, child)).status_code == 200

    async def document() -> httpx.Response:
        return await upload(client, lea.headers, pdf(2_000, seed=92), space=child)

    alongside, status, entry = await other_write_beside_a_stalled_entry(
        client, settings, child, jean.headers, jean.headers, document
    )
    assert alongside and status == 201 and entry == 201, (alongside, status, entry)
