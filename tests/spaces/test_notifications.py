"""``/v1/me/notifications``: which e-mails the person wants. The holder is told when a professional
adds a document or uses emergency access (unless they turned it off), and, only if they asked, once
a day what representatives and apps changed. No e-mail carries health data."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from ens.core import clock, db
from ens.core.mail import Mailer
from ens.core.pdf import french_date
from ens.spaces import notifications
from ens.spaces.door import SpaceRef, space_ref
from ens.spaces.notifications import notify_holder, send_digests
from tests.helpers.carers import court_measure
from tests.helpers.concurrency import open_transaction
from tests.helpers.documents import metadata, pdf, uploaded
from tests.helpers.fhir import FHIR, paper_tetanus_dose
from tests.helpers.login import Outbox
from tests.helpers.people import MakePerson, Person
from tests.helpers.plans import Statements
from tests.helpers.professionals import NURSE, open_emergency, sign_in_pro
from tests.helpers.server import free_port

PREFS = "/v1/me/notifications"
DEFAULTS = {"documentAdded": True, "emergencyAccess": True, "representativesDigest": False, "appsDigest": False}


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run waits a minute on PostgreSQL before it reads (``notifications.DIGEST_SETTLE``): not in
    these tests, which write nothing meanwhile (but the one that gives its own ``settle``)."""
    monkeypatch.setattr(notifications, "DIGEST_SETTLE", timedelta(0))


def _mailer(settings, tmp_path: Path) -> tuple[Mailer, Path]:
    folder = tmp_path / "var"
    return Mailer(msgspec.structs.replace(settings, var_dir=str(folder), smtp_url=None)), folder / "outbox"


def _mails_to(outbox: Path, address: str) -> list[EmailMessage]:
    paths = sorted(outbox.glob("*.eml")) if outbox.exists() else []
    found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths]
    return [m for m in found if isinstance(m, EmailMessage) and m["To"] == address]


def _address(person) -> str:
    return f"{person.family_name.lower()}@example.test"


def _text(message: EmailMessage) -> str:
    text: str = message.get_content()
    return text


async def test_the_person_reads_and_sets_their_choices(client, person, make_app_token):
    first = await client.get(PREFS, headers=person.headers)
    assert first.status_code == 200
    assert first.json() == DEFAULTS
    wanted = {**DEFAULTS, "documentAdded": False, "appsDigest": True}
    stale = await client.put(PREFS, json=wanted, headers={**person.headers, "If-Match": '"old"'})
    assert stale.status_code == 412
    changed = await client.put(PREFS, json=wanted, headers={**person.headers, "If-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert changed.json() == wanted
    assert (await client.get(PREFS, headers=person.headers)).json() == wanted

    missing = await client.put(PREFS, json={"documentAdded": True}, headers=person.headers)
    assert missing.status_code == 422
    assert "/emergencyAccess" in [e["pointer"] for e in missing.json()["errors"]]
    unknown = await client.put(PREFS, json={**DEFAULTS, "sms": True}, headers=person.headers)
    assert unknown.status_code == 422
    wrong = await client.put(PREFS, json={**DEFAULTS, "appsDigest": "yes"}, headers=person.headers)
    assert wrong.status_code == 422
    app = await make_app_token(person, ["documents:read"])
    assert (await client.get(PREFS, headers=app.headers)).status_code == 403


async def _space(person) -> SpaceRef:
    row = await db.fetch_one("SELECT * FROM spaces WHERE id = {}", person.space_id)
    assert row is not None
    return space_ref(row)


async def test_the_holder_is_told_of_a_new_document_unless_they_turned_it_off(client, person, settings, tmp_path):
    mailer, outbox = _mailer(settings, tmp_path)
    space = await _space(person)
    await uploaded(client, person.headers, pdf(100), meta=metadata(title="Résultats de biopsie"))
    told = await notify_holder(
        space, "document_added", mailer, hidden_from_representatives=False, told_before=frozenset()
    )
    assert told == (1, frozenset({str(person.account_id)}), 0, 0)
    (mail,) = _mails_to(outbox, _address(person))
    assert mail["Subject"] == "Un nouveau document dans votre espace santé"
    assert "biopsie" not in _text(mail)
    assert "aucune donnée de santé" in _text(mail)

    await client.put(PREFS, json={**DEFAULTS, "documentAdded": False}, headers=person.headers)
    nobody = await notify_holder(
        space, "document_added", mailer, hidden_from_representatives=False, told_before=frozenset()
    )
    assert nobody == (0, frozenset(), 0, 0)
    assert len(_mails_to(outbox, _address(person))) == 1


async def test_a_daily_digest_only_when_asked_and_never_for_a_scales_reading_by_default(
    client, person, make_person, make_app_token, settings, tmp_path
):
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    scale = await make_app_token(person, ["vitals.body_weight:write"], name="Balance connectée")
    reading = {
        "measurements": [{"type": "body_weight", "value": 71.3, "unit": "kg", "effectiveAt": clock.now().isoformat()}]
    }
    assert (await client.post("/v1/spaces/me/vitals", json=reading, headers=scale.headers)).status_code == 201
    await uploaded(client, tutor.headers, pdf(100, seed=8), space=person.space_id, meta=metadata(title="Bilan sanguin"))
    await client.get(f"/v1/spaces/{person.space_id}/documents", headers=tutor.headers)  # a read: never in a digest

    await send_digests(mailer)
    assert _mails_to(outbox, _address(person)) == []  # off by default

    # Turned on: the digest covers what happens from then on.
    await client.put(PREFS, json={**DEFAULTS, "representativesDigest": True}, headers=person.headers)
    await send_digests(mailer)
    assert _mails_to(outbox, _address(person)) == []
    await uploaded(client, tutor.headers, pdf(100, seed=9), space=person.space_id, meta=metadata(title="Bilan sanguin"))
    assert (await client.post("/v1/spaces/me/vitals", json=reading, headers=scale.headers)).status_code == 201
    await send_digests(mailer)
    (digest,) = _mails_to(outbox, _address(person))
    text = _text(digest)
    assert f"{tutor.given_name} {tutor.family_name} (tuteur) a ajouté un document." in text
    assert "Balance connectée" not in text
    assert "71.3" not in text and "71,3" not in text and "Bilan" not in text
    await send_digests(mailer)
    assert len(_mails_to(outbox, _address(person))) == 1  # nothing new: no e-mail

    await client.put(PREFS, json={**DEFAULTS, "appsDigest": True}, headers=person.headers)
    assert (await client.post("/v1/spaces/me/vitals", json=reading, headers=scale.headers)).status_code == 201
    await send_digests(mailer)
    mails = _mails_to(outbox, _address(person))
    assert len(mails) == 2
    (latest,) = [m for m in mails if m is not digest and _text(m) != text]
    assert "L'application Balance connectée a ajouté les mesures." in _text(latest)
    assert "tuteur" not in _text(latest)
    assert "71.3" not in _text(latest) and "71,3" not in _text(latest)


async def test_the_emergency_access_notice_follows_the_persons_choice(
    mail_client, settings, make_person, outbox: tuple[Outbox, int]
):
    holder, other = await make_person(), await make_person()
    off = {**DEFAULTS, "emergencyAccess": False}
    assert (await mail_client.put(PREFS, json=off, headers=holder.headers)).status_code == 200
    for person in (holder, other):
        nurse = await sign_in_pro(settings, NURSE)
        assert (await open_emergency(mail_client, nurse, person.space_id)).status_code == 201
    for _ in range(60):
        if outbox[0].to(_address(other)):
            break
        await asyncio.sleep(0.05)
    assert len(outbox[0].to(_address(other))) == 1  # the default: told
    assert outbox[0].to(_address(holder)) == []  # turned off


async def test_two_runs_at_once_send_one_digest(client, person, make_person, settings, tmp_path):
    """Two ``ens notify`` overlapping both read where the digest stood and both sent it (a review).
    Now each claims the span from where it read it: one sends, the other finds it taken."""
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    await client.put(PREFS, json={**DEFAULTS, "representativesDigest": True}, headers=person.headers)
    await uploaded(client, tutor.headers, pdf(100, seed=10), space=person.space_id, meta=metadata(title="Bilan"))
    # The mail server down first: the claim is given back, and the next runs cover the span again.
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    await asyncio.gather(send_digests(down), send_digests(down))
    assert _mails_to(outbox, _address(person)) == []
    await asyncio.gather(send_digests(mailer), send_digests(mailer))
    (digest,) = _mails_to(outbox, _address(person))
    assert f"{tutor.given_name} {tutor.family_name} (tuteur) a ajouté un document." in _text(digest)


ADDED = "(tuteur) a ajouté un document."
IMPORTED = "(tuteur) a ajouté les données importées dans l'espace."
IMMUNIZATION = paper_tetanus_dose("urn:uuid:8d7c4a52-3f0e-4a55-9d1a-0c4c1b0d6e11")


async def _tutored_with_digest(client: httpx.AsyncClient, person: Person, make_person: MakePerson) -> Person:
    """A tutor for ``person``, who turned on the representatives' digest."""
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    assert (
        await client.put(PREFS, json={**DEFAULTS, "representativesDigest": True}, headers=person.headers)
    ).status_code == 200
    return tutor


def _new_digests(outbox: Path, person: Person, seen: set[Path]) -> list[str]:
    """The texts of the e-mails to ``person`` written since the last call (by file: their names
    are in the order of the second they were written in, not within it)."""
    fresh = sorted(set(outbox.glob("*.eml")) - seen) if outbox.exists() else []
    seen.update(fresh)
    mails = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in fresh]
    return [_text(m) for m in mails if isinstance(m, EmailMessage) and m["To"] == _address(person)]


async def test_a_change_committed_after_a_run_read_its_span_is_in_the_next_digest(
    client, person, make_person, settings, tmp_path
):
    """A digest covered the rows dated from the last run to its own; a row is dated when its request
    came in, but commits at its end. The tutor's import came in before a run, received its Bundle
    for longer than the run took, and committed a row dated inside the span that run had read: it
    was in no digest, ever (a review). Here the run stands half an hour into the upload (a 1 GiB
    Bundle on a home connection): a run that waits a settle delay (ENS_IMPORT_MAX_SECONDS, 300 s,
    and a margin) before its span's end misses it just the same."""
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await _tutored_with_digest(client, person, make_person)
    asked_for_more, release = asyncio.Event(), asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b'{"resourceType": "Bundle", "type": "collection", "entry": ['
        asked_for_more.set()  # the request came in (its row is dated now) and waits for the rest
        await release.wait()
        yield json.dumps(IMMUNIZATION).encode() + b"]}"

    importing = asyncio.create_task(
        client.post(
            f"/v1/spaces/{person.space_id}/import", content=body(), headers={**tutor.headers, "Content-Type": FHIR}
        )
    )
    try:
        await asyncio.wait_for(asked_for_more.wait(), 10)
        assert await send_digests(mailer, now=clock.now() + timedelta(minutes=30)) == 0  # not committed yet
    finally:
        release.set()
    answer = await importing
    assert answer.status_code == 201, answer.text
    assert _mails_to(outbox, _address(person)) == []

    assert await send_digests(mailer, now=clock.now() + timedelta(days=1)) == 1
    (digest,) = _mails_to(outbox, _address(person))
    assert f"{tutor.given_name} {tutor.family_name} {IMPORTED}" in _text(digest), _text(digest)


async def test_no_change_is_in_two_digests(client, person, make_person, settings, tmp_path):
    """Each change the tutor made is in one digest: not again in the next run's, not after a run
    whose mail failed (its span is covered again, once), not when a run's clock is behind a change
    it covers (the digests follow the history's order, not its times)."""
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await _tutored_with_digest(client, person, make_person)
    seen: set[Path] = set()

    async def add(seed: int) -> None:
        await uploaded(client, tutor.headers, pdf(100, seed=seed), space=person.space_id, meta=metadata(title="B"))

    await add(31)
    # A run on a machine whose clock is an hour behind the service's.
    assert await send_digests(mailer, now=clock.now() - timedelta(hours=1)) == 1
    assert [ADDED in text and "fois" not in text for text in _new_digests(outbox, person, seen)] == [True]
    assert await send_digests(mailer) == 0
    assert await send_digests(mailer, now=clock.now() + timedelta(days=1)) == 0
    assert _new_digests(outbox, person, seen) == []

    await add(32)
    await add(33)
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    assert await send_digests(down, now=clock.now() + timedelta(days=2)) == 0
    assert await send_digests(mailer, now=clock.now() + timedelta(days=2)) == 1
    (again,) = _new_digests(outbox, person, seen)
    # The count inside the sentence, before its full stop ("… un document. (2 fois)" read as an
    # afterthought: an outside audit of the e-mails).
    assert f"{ADDED.removesuffix('.')} (2 fois).\n" in again and ". (2 fois)" not in again, again
    assert await send_digests(mailer, now=clock.now() + timedelta(days=3)) == 0
    assert _new_digests(outbox, person, seen) == []


async def test_a_row_still_committing_when_a_run_notes_the_newest_is_in_that_digest(
    client, person, make_person, settings, tmp_path
):
    """PostgreSQL takes a row's id when it is inserted; its transaction commits a moment later, and
    another's row, with a higher id, may commit first. A run that noted the space's newest id and
    read at once would cover the higher one and never the lower. It waits (``DIGEST_SETTLE``), here
    one second: the lower row, committed meanwhile, is in that same digest."""
    if not db.is_postgres(db.current()):
        pytest.skip("SQLite's writers commit one after another: ids commit in order")
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await _tutored_with_digest(client, person, make_person)
    async with open_transaction(settings) as committing:
        # As the door writes a representative's row with its data, a moment before it commits.
        await committing.execute(
            "INSERT INTO access_history (space_id, at, actor_account_id, actor_name, client_id, acting_as, "
            "actor_kind, action, resource_type, outcome, request_id) VALUES ($1, now(), $2, $3, 'ens-web', "
            "'representative', 'tutelle', 'PUT /v1/spaces/{space}/profile', 'profile', 200, $4)",
            person.space_id,
            tutor.account_id,
            f"{tutor.given_name} {tutor.family_name}",
            uuid.uuid4().hex,
        )
        await uploaded(client, tutor.headers, pdf(100, seed=41), space=person.space_id, meta=metadata(title="B"))
        running = asyncio.ensure_future(send_digests(mailer, settle=timedelta(seconds=1)))
        await asyncio.sleep(0.3)  # the run has noted the newest id (the upload's) and waits
    assert await running == 1
    (digest,) = _mails_to(outbox, _address(person))
    assert ADDED in _text(digest)
    # Committed after the run noted the upload's id (a higher one): a run that read at once had
    # covered up to the upload's, and no later run goes below it.
    assert "(tuteur) a modifié le profil médical." in _text(digest), _text(digest)
    assert await send_digests(mailer, settle=timedelta(seconds=1)) == 0  # and not again


async def test_subscribers_are_read_a_few_at_a_time_and_each_gets_their_digest(
    client, make_person, settings, tmp_path, monkeypatch
):
    """``ens notify`` reads the subscribers in batches (a scale audit: it read every preference,
    account and space at once); every one of them, across batches, still gets their digest."""
    from ens.spaces import notifications

    monkeypatch.setattr(notifications, "_DIGEST_BATCH", 2)
    mailer, outbox = _mailer(settings, tmp_path)
    holders = [await make_person(f"Abonné{n}") for n in range(5)]
    for n, holder in enumerate(holders):
        tutor = await make_person("Tuteur")
        await court_measure(holder, tutor, "tutelle")
        await client.put(PREFS, json={**DEFAULTS, "representativesDigest": True}, headers=holder.headers)
        meta = metadata(title="Bilan")
        await uploaded(client, tutor.headers, pdf(100, seed=40 + n), space=holder.space_id, meta=meta)
    await send_digests(mailer)
    for holder in holders:
        (digest,) = _mails_to(outbox, _address(holder))
        assert ADDED in _text(digest)


async def test_a_first_digest_reads_the_history_above_where_it_stood_when_turned_on(
    client, person, make_person, settings, tmp_path, monkeypatch
):
    """Turning a digest on notes the history's newest id: the first digest reads the ids above it,
    as every later one does. It read the space's rows of representatives and apps by their time
    before, every one the space ever had (``at`` has no index; a scale audit)."""
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    for _ in range(40):  # the tutor's history in this space before the digest
        assert (await client.get(f"/v1/spaces/{person.space_id}/documents", headers=tutor.headers)).status_code == 200
    await uploaded(client, tutor.headers, pdf(100, seed=50), space=person.space_id, meta=metadata(title="Avant"))
    newest = await notifications.newest_history_id()
    assert (
        await client.put(PREFS, json={**DEFAULTS, "representativesDigest": True}, headers=person.headers)
    ).status_code == 200
    noted = await db.fetch_one(
        "SELECT digest_sent_upto FROM notification_preferences WHERE account_id = {}", person.account_id
    )
    assert noted is not None and noted["digest_sent_upto"] == newest
    # Turned on again while on: where it stands does not move (nothing is skipped).
    assert (
        await client.put(
            PREFS, json={**DEFAULTS, "representativesDigest": True, "appsDigest": True}, headers=person.headers
        )
    ).status_code == 200
    again = await db.fetch_one(
        "SELECT digest_sent_upto FROM notification_preferences WHERE account_id = {}", person.account_id
    )
    assert again is not None and again["digest_sent_upto"] == newest
    await uploaded(client, tutor.headers, pdf(100, seed=51), space=person.space_id, meta=metadata(title="Après"))

    statements = Statements(monkeypatch, notifications)
    assert await send_digests(mailer) == 1
    (digest,) = _mails_to(outbox, _address(person))
    assert f"{ADDED}" in _text(digest) and "fois" not in _text(digest)  # the one after, not the one before
    sql, _ = statements.naming("FROM access_history WHERE space_id")
    assert "id > " in sql and "at >= " not in sql, sql
    if db.is_postgres(db.current()):
        # The tutor's 41 rows before it are not looked at.
        assert await statements.most_rows_looked_at("FROM access_history WHERE space_id") <= 2


async def test_a_digest_turned_on_while_a_run_sends_keeps_where_it_stood(
    client, person, make_person, settings, tmp_path, monkeypatch
):
    """A run notes the history's newest id first; a digest turned on after that, before the run
    reads its subscriber, stands above it. The run set it back to its own id, and the next digest
    told a change made before the digest was turned on (a review): it leaves such a one alone."""
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    original = notifications._digest_subscribers
    calls = {"n": 0}

    async def subscribers(after):
        calls["n"] += 1
        if calls["n"] == 1:  # after the run noted its newest id: a change, then the digest turned on
            await uploaded(client, tutor.headers, pdf(100, seed=90), space=person.space_id, meta=metadata(title="A"))
            on = await client.put(PREFS, json={**DEFAULTS, "representativesDigest": True}, headers=person.headers)
            assert on.status_code == 200, on.text
        return await original(after)

    monkeypatch.setattr(notifications, "_digest_subscribers", subscribers)
    assert await send_digests(mailer, settle=timedelta(0)) == 0
    monkeypatch.setattr(notifications, "_digest_subscribers", original)
    assert await send_digests(mailer, settle=timedelta(0), now=clock.now() + timedelta(days=1)) == 0
    assert _mails_to(outbox, _address(person)) == []
    # What the tutor does from then on is told.
    await uploaded(client, tutor.headers, pdf(100, seed=91), space=person.space_id, meta=metadata(title="B"))
    assert await send_digests(mailer, settle=timedelta(0), now=clock.now() + timedelta(days=2)) == 1


async def test_two_choices_sent_with_the_same_if_match_cannot_both_win(client, person, monkeypatch):
    """On PostgreSQL, two PUTs sent at once with the same If-Match both passed it: the person's row
    was read unlocked, so each was checked against the choices before the other's, and one answered
    200 for choices the other then replaced (a review, after 3716716 fixed the same for a
    document). One waits for the other now, then is checked against what it wrote. Each request,
    its row read, waits a moment for the other to have read its own (a lock makes it wait before:
    it never comes)."""
    arrived: list[int] = []
    newest = notifications.newest_history_id

    async def once_the_other_has_read() -> int:
        arrived.append(1)
        for _ in range(20):  # half a second at most: locked out, the other never comes
            if len(arrived) >= 2:
                break
            await asyncio.sleep(0.025)
        return await newest()

    first = await client.get(PREFS, headers=person.headers)
    tag = {**person.headers, "If-Match": first.headers["etag"]}
    monkeypatch.setattr(notifications, "newest_history_id", once_the_other_has_read)
    one, other = await asyncio.gather(
        client.put(PREFS, json={**DEFAULTS, "appsDigest": True}, headers=tag),
        client.put(PREFS, json={**DEFAULTS, "representativesDigest": True}, headers=tag),
    )
    assert sorted([one.status_code, other.status_code]) == [200, 412], (one.text, other.text)
    winner = one if one.status_code == 200 else other
    assert (await client.get(PREFS, headers=person.headers)).json() == winner.json()


async def test_a_digests_subject_names_the_days_it_covers(client, person, make_person, settings, tmp_path):
    """The subject said "Les changements d'hier" whatever the digest covered: after a run whose mail
    failed, the next one covers two days or more, and said yesterday (an outside audit). It says
    since when: yesterday, or the day the span starts."""
    mailer, outbox = _mailer(settings, tmp_path)
    tutor = await _tutored_with_digest(client, person, make_person)
    seen: set[Path] = set()
    zone = ZoneInfo((await _space(person)).timezone)
    start = clock.now()

    async def add(seed: int) -> None:
        await uploaded(client, tutor.headers, pdf(100, seed=seed), space=person.space_id, meta=metadata(title="B"))

    def subjects() -> list[str]:
        fresh = sorted(set(outbox.glob("*.eml")) - seen) if outbox.exists() else []
        seen.update(fresh)
        mails = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in fresh]
        return [str(m["Subject"]) for m in mails if m["To"] == _address(person)]

    await add(41)
    assert await send_digests(mailer, now=start + timedelta(days=1)) == 1
    assert subjects() == ["Les changements depuis hier dans votre espace santé"]

    await add(42)
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    assert await send_digests(down, now=start + timedelta(days=2)) == 0
    assert await send_digests(mailer, now=start + timedelta(days=3)) == 1
    # Covered since the last digest that went, two days before.
    since = (start + timedelta(days=1)).astimezone(zone).date()
    day = french_date(since).removesuffix(f" {since.year}")
    if since.year != (start + timedelta(days=3)).astimezone(zone).year:
        day = french_date(since)
    assert subjects() == [f"Les changements depuis le {day} dans votre espace santé"]

    # A run again the same day (by hand): today's changes.
    await add(43)
    again = start + timedelta(days=3, minutes=5)
    assert await send_digests(mailer, now=again) == 1
    same_day = again.astimezone(zone).date() == (start + timedelta(days=3)).astimezone(zone).date()
    when = "d'aujourd'hui" if same_day else "depuis hier"
    assert subjects() == [f"Les changements {when} dans votre espace santé"]
