"""Which e-mails a person wants about their space (``/v1/me/notifications``), the notices sent when
something happens, and the daily digest of what representatives and apps changed (``ens notify``).

E-mails say that something happened and where to look, never what: no health data, no document
title, no value. The digest is off by default for both kinds: a scale that sends its daily reading
must not make a daily e-mail unless the person asked for one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from ens.core import clock
from ens.core.api import require_if_match
from ens.core.db import Row, as_uuid, current, fetch, fetch_one, is_postgres, serialise, write_transaction
from ens.core.mail import Delivery, Mailer, deliver
from ens.core.owed_mail import Told, tell_each
from ens.core.pdf import french_date
from ens.spaces.describe import CONNECTION_ENDED_BY_SERVICE, describe, of_name
from ens.spaces.door import SpaceRef, minors_space, space_ref
from ens.spaces.schemas import NotificationPreferences

log = logging.getLogger("ens.spaces.notifications")

Notice = Literal["document_added", "emergency_access"]
NOTICE_COLUMNS: dict[Notice, str] = {"document_added": "document_added", "emergency_access": "emergency_access"}

DEFAULTS = NotificationPreferences(
    document_added=True, emergency_access=True, representatives_digest=False, apps_digest=False
)

# The emergency access notice's words are the professionals' (``ens.spaces.pro_access``). ``{whose}``:
# "votre espace santé" to the holder, "l'espace santé d'Inès" to the parents (:func:`whose_space`).
NOTICES: dict[Notice, tuple[str, str]] = {
    "document_added": (
        "Un nouveau document dans {whose}",
        "Bonjour,\n\nUn professionnel de santé a ajouté un document dans {whose}. Ouvrez l'application "
        "pour le consulter.\n\nCet e-mail ne contient aucune donnée de santé. Vous pouvez choisir les e-mails que "
        "vous recevez dans l'application (Notifications).",
    ),
}

_DIGEST_INTRO = "Bonjour,\n\nVoici ce qui a changé dans votre espace santé depuis le dernier résumé :\n\n"
_DIGEST_END = (
    "\n\nL'historique des accès, dans l'application, donne le détail.\n\nCet e-mail ne contient aucune donnée de "
    "santé. Ce résumé quotidien se règle dans l'application (Notifications)."
)
# Should a digest's start be lost, it looks back one day (never over the whole history).
_FIRST_LOOK_BACK = timedelta(days=1)
# How long a digest run waits, on PostgreSQL, between noting each space's newest history id and
# reading the rows up to it, so that every row whose id is below has committed (``send_digests``):
# a row's id is taken a moment before it commits; the shortest wait the history's sealer may be
# given for the same reason (``ens audit seal --lag``, ``ens.cli.seals.MIN_SEAL_LAG``).
DIGEST_SETTLE = timedelta(seconds=10)
# How long a run's claim on a person's digest holds (a run that died meanwhile: the next run after it
# covers the span, which never moved); far longer than one e-mail (10 s at most an exchange).
DIGEST_LEASE = timedelta(minutes=10)


def _read(row: Row | None) -> NotificationPreferences:
    if row is None:
        return DEFAULTS
    return NotificationPreferences(
        document_added=bool(row["document_added"]),
        emergency_access=bool(row["emergency_access"]),
        representatives_digest=bool(row["representatives_digest"]),
        apps_digest=bool(row["apps_digest"]),
    )


async def get_preferences(account_id: UUID) -> NotificationPreferences:
    """The person's choices (the defaults until they make any)."""
    return _read(await fetch_one("SELECT * FROM notification_preferences WHERE account_id = {}", account_id))


async def set_preferences(
    account_id: UUID, wanted: NotificationPreferences, *, if_match: str | None
) -> NotificationPreferences:
    """Replace the person's choices (``If-Match``: the ETag of what they read). A digest turned on
    covers the changes made from then on, not the days before: ``digest_sent_upto`` notes where the
    history stands (its newest id), and the first digest covers the ids above, as every later one
    does (:func:`send_digests`; it read the space's rows by their time before, every row of
    representatives and apps the space ever had, as time has no index: a scale audit)."""
    now = clock.now()
    async with write_transaction():
        # One change at a time, each checked against what the one before it wrote: two sent at once
        # with the same If-Match both passed it (PostgreSQL, read committed; a review). An advisory
        # lock rather than the row's: a person who never chose has none to lock.
        await serialise(f"notifications:{account_id}")
        current = await fetch_one("SELECT * FROM notification_preferences WHERE account_id = {}", account_id)
        require_if_match(if_match, msgspec.json.encode(_read(current)))
        upto = await newest_history_id() if wanted.representatives_digest or wanted.apps_digest else None
        await fetch(
            """INSERT INTO notification_preferences (account_id, document_added, emergency_access,
               representatives_digest, apps_digest, digest_sent_until, digest_sent_upto, updated_at)
               VALUES ({}, {}, {}, {}, {}, {}, {}, {})
               ON CONFLICT (account_id) DO UPDATE SET document_added = EXCLUDED.document_added,
               emergency_access = EXCLUDED.emergency_access, representatives_digest = EXCLUDED.representatives_digest,
               apps_digest = EXCLUDED.apps_digest, updated_at = EXCLUDED.updated_at,
               digest_sent_until = CASE WHEN notification_preferences.representatives_digest
                 OR notification_preferences.apps_digest THEN notification_preferences.digest_sent_until
                 ELSE EXCLUDED.digest_sent_until END,
               digest_sent_upto = CASE WHEN notification_preferences.representatives_digest
                 OR notification_preferences.apps_digest THEN notification_preferences.digest_sent_upto
                 ELSE EXCLUDED.digest_sent_upto END""",
            account_id,
            wanted.document_added,
            wanted.emergency_access,
            wanted.representatives_digest,
            wanted.apps_digest,
            now,
            upto,
            now,
        )
    return wanted


def parents_are_told(space: SpaceRef, *, at: datetime | None = None) -> bool:
    """Whether the space's notices go to the parents: a child's space no one holds yet (a parent
    made it; its holder has no account). A minor who signed in holds their own space, and is told
    as any holder is; once the child is 18, the parents' right has ended, and nobody is told."""
    return space.holder_account_id is None and minors_space(space, at=at or clock.now())


def whose_space(space: SpaceRef, *, at: datetime | None = None) -> str:
    """The space a notice is about, as its recipients (:func:`recipients`) call it: the holder's
    own, or for the parents their child's, by the child's name. A parent has their own space and
    perhaps several children's: "votre espace santé" told them of a document in their child's as
    if it were in theirs, and not in which child's (an outside audit of the e-mails)."""
    return f"l'espace santé {of_name(space.given_name)}" if parents_are_told(space, at=at) else "votre espace santé"


async def recipients(
    space: SpaceRef, notice: Notice, *, hidden_from_representatives: bool, at: datetime | None = None
) -> list[tuple[str, str]]:
    """Who is told of ``notice`` on ``space`` (each account's id, and its address): the holder, or
    for a child's space no one holds, the parents (:func:`parents_are_told`), less those who turned
    that notice off. A notice about an item hidden from the representatives
    (``hidden_from_representatives``) never goes to them."""
    column = NOTICE_COLUMNS[notice]
    if parents_are_told(space, at=at):
        if hidden_from_representatives:
            # A minor's confidential care (CSP L1111-5): not even its existence reaches the parents.
            return []
        rows = await fetch(
            f"""SELECT a.id, a.email FROM representatives r JOIN accounts a ON a.id = r.account_id
               LEFT JOIN notification_preferences p ON p.account_id = a.id
               WHERE r.space_id = {{}} AND r.kind = 'parent' AND r.revoked_at IS NULL AND a.email IS NOT NULL
               AND (p.{column} IS NULL OR p.{column})""",
            space.id,
        )
    elif space.holder_account_id is not None:
        rows = await fetch(
            f"""SELECT a.id, a.email FROM accounts a LEFT JOIN notification_preferences p ON p.account_id = a.id
               WHERE a.id = {{}} AND a.email IS NOT NULL AND (p.{column} IS NULL OR p.{column})""",
            space.holder_account_id,
        )
    else:
        return []
    return [(str(as_uuid(row["id"])), str(row["email"])) for row in rows]


class SpacesReadOnce:
    """The spaces a notice job meets, each read once however many of its notices are due; ``None``
    for a space that is gone."""

    def __init__(self) -> None:
        self._read: dict[UUID, SpaceRef | None] = {}

    async def get(self, space_id: UUID) -> SpaceRef | None:
        if space_id not in self._read:
            found = await fetch_one("SELECT * FROM spaces WHERE id = {}", space_id)
            self._read[space_id] = space_ref(found) if found is not None else None
        return self._read[space_id]


async def notify_holder(
    space: SpaceRef, notice: Notice, mailer: Mailer, *, hidden_from_representatives: bool, told_before: frozenset[str]
) -> Told:
    """Tell the holder (for a child's space no one holds, the parents) that ``notice`` happened,
    unless they turned it off; about an item hidden from the representatives, never them; those
    ``told_before`` not again. After the fact (a failing mail server fails nothing). Who was told,
    and how many are owed it still (a job that can try again later tells them then)."""
    subject, text = (words.format(whose=whose_space(space)) for words in NOTICES[notice])
    told = await recipients(space, notice, hidden_from_representatives=hidden_from_representatives)
    return await tell_each(mailer, told, subject, text, told_before=told_before)


async def send_digests(mailer: Mailer, *, now: datetime | None = None, settle: timedelta | None = None) -> int:
    """``ens notify`` (daily): to each holder who asked for it, what representatives (and/or apps)
    changed in their space since the last digest — who, and what kind of thing, counted. Nothing
    changed: no e-mail. How many were sent.

    **Which rows a digest covers: by id, not by time.** A row's ``at`` is when its request came in
    (the space door), but a write's row commits with its data, at the request's end: an import
    receives its whole Bundle first (up to ``ENS_IMPORT_MAX_BYTES``; only the wait between two of
    its parts is bounded, ``ENS_BODY_IDLE_SECONDS``, not the whole), then writes for up to
    ``ENS_IMPORT_MAX_SECONDS``; any write's body may likewise trickle in, or its write wait for a
    lock.
    A digest that covered the rows dated up to its run missed a row dated before the run and
    committed after it, for good; waiting a settle delay first would not do either, as nothing
    bounds how long a request takes from its door to its commit. What is bounded is the moment
    between a row's id and its commit: the id is taken when the row is inserted, just before its
    transaction commits (``ens.spaces.history``), which the history's sealer relies on too
    (``ens.spaces.audit``: it seals the ids it noted ``SEAL_LAG`` before, and the digest is that
    same answer to the same problem). So each digest notes the newest id of the space, waits
    ``settle`` (:data:`DIGEST_SETTLE`, PostgreSQL only) so that every row whose id is below it has
    committed, and covers the ids above the last digest's up to that one: a row committed after
    a run read is above what that run noted, and in the next digest; no id is in two. On SQLite a
    writer takes the write lock first and keeps it until it commits, so the ids commit in order: an
    id not yet committed is above every one a reader sees, and there is nothing to wait for.

    (A document upload is one such write: its row commits with the document, once its file has
    streamed in, ``ens.documents.upload``.)

    Turning a digest on notes the newest id then (:func:`set_preferences`): the first digest covers
    the ids above it too. Only a digest turned on before that rule (``digest_sent_upto`` null) covers
    the rows dated from ``digest_sent_until`` (when it was turned on; that lost too,
    :data:`_FIRST_LOOK_BACK` back), once."""
    at = now or clock.now()
    upto = await newest_history_id()
    wait = DIGEST_SETTLE if settle is None else settle
    same = "IS NOT DISTINCT FROM" if is_postgres(current()) else "IS"
    sent = 0
    waited = False
    after = UUID(int=0)
    while not mailer.stopped and (people := await _digest_subscribers(after)):
        after = as_uuid(people[-1]["account_id"])
        if not waited and is_postgres(current()) and wait > timedelta(0):
            # Every row whose id is at most the one noted has committed by now (or never will).
            await asyncio.sleep(wait.total_seconds())
        waited = True
        sent += await _send_digests_to(mailer, people, at=at, upto=upto, same=same)
    return sent


def digest_subject(since: datetime, at: datetime, zone: str) -> str:
    """The digest's subject, true to what it covers: the changes since the last digest (or its
    turning on), ``since``, to this run, ``at``, the days as the space's time zone says them: "depuis
    hier" when that was yesterday, "d'aujourd'hui" earlier today (a second run), else "depuis le 3
    décembre" (the year too when it was another). It said "d'hier" whatever the span: after a run
    whose mail failed, the next covers two days or more (an outside audit)."""
    here = ZoneInfo(zone)
    start, today = since.astimezone(here).date(), at.astimezone(here).date()
    if start >= today:
        when = "d'aujourd'hui"
    elif start == today - timedelta(days=1):
        when = "depuis hier"
    else:
        day = french_date(start)
        when = f"depuis le {day.removesuffix(f' {start.year}') if start.year == today.year else day}"
    return f"Les changements {when} dans votre espace santé"


def _counted(sentence: str, count: int) -> str:
    """A digest's line: the sentence, and how many times, inside it ("a ajouté un document
    (3 fois)."; after its full stop, the count read as an afterthought)."""
    if count == 1:
        return sentence
    return f"{sentence.removesuffix('.')} ({count} fois)."


async def newest_history_id() -> int:
    """The newest access-history id handed out, whatever the space: every digest of a run covers up
    to it, and a digest turned on starts above it. (The sequence's last value on PostgreSQL, one
    read; MAX(id) there would read the whole table, whose id has a BRIN index only. Before, each
    subscriber's space was asked its own newest id, in one statement over every subscriber at once:
    a scale audit.)"""
    if is_postgres(current()):
        newest = await fetch("SELECT last_value AS newest, is_called FROM access_history_id_seq")
        # Not called: the next id is last_value itself (a fresh sequence: 1; after setval(n, false)
        # or a RESTART, n), and what came before is below it (0 there re-sent every history: a review).
        return int(newest[0]["newest"]) - (0 if newest[0]["is_called"] else 1)
    newest = await fetch("SELECT MAX(id) AS newest FROM access_history")
    return int(newest[0]["newest"] or 0)


# Subscribers read a thousand at a time, in the order of the partial index of those who asked
# (notification_preferences_digests); a holder holds one space (spaces_holder is unique).
_DIGEST_BATCH = 1000


async def _digest_subscribers(after: UUID) -> list[Row]:
    return await fetch(
        """SELECT p.account_id, p.representatives_digest, p.apps_digest, p.digest_sent_until, p.digest_sent_upto,
           a.email, s.id AS space_id, s.timezone
           FROM notification_preferences p JOIN accounts a ON a.id = p.account_id
           JOIN spaces s ON s.holder_account_id = p.account_id
           WHERE (p.representatives_digest OR p.apps_digest) AND a.email IS NOT NULL AND p.account_id > {}"""
        f" ORDER BY p.account_id LIMIT {_DIGEST_BATCH}",
        after,
    )


async def _send_digests_to(mailer: Mailer, people: list[Row], *, at: datetime, upto: int, same: str) -> int:
    sent = 0
    for person in people:
        if mailer.stopped:  # the mail server unreachable: each span left where it is, for the next run
            break
        kinds = [
            kind
            for kind, wanted in (("representative", person["representatives_digest"]), ("app", person["apps_digest"]))
            if wanted
        ]
        before = person["digest_sent_upto"]
        if before is not None and int(before) >= upto:
            # Turned on after this run noted the newest id (set_preferences notes a later one):
            # nothing of its span is below it, and its start must not move back (a review: the next
            # digest told a change made before the digest was turned on).
            continue
        # Claimed from where this run read it, under a lease: of two runs at once, one sends the
        # span, the other finds it moved or leased and sends nothing. The span moves on only once
        # told (or found empty); a send that failed gives the lease back and leaves the span where it
        # was, for the next run. (The span moved with the claim: a second run reading it then moved
        # it on, empty, and the first's failed send could no longer give it back: it was lost.)
        lease = at + DIGEST_LEASE
        async with write_transaction():
            claimed = await fetch(
                "UPDATE notification_preferences SET digest_lease_until = {} "
                f"WHERE account_id = {{}} AND digest_sent_until {same} {{}} AND digest_sent_upto {same} {{}} "
                "AND (digest_lease_until IS NULL OR digest_lease_until <= {}) RETURNING account_id",
                lease,
                person["account_id"],
                person["digest_sent_until"],
                before,
                at,
            )
        if not claimed:
            continue
        start: int | datetime
        # When the span began: the last digest's run (or the turning on), for the subject.
        since = clock.aware(person["digest_sent_until"]) if person["digest_sent_until"] else at - _FIRST_LOOK_BACK
        span, start = ("id > {}", int(before)) if before is not None else ("at >= {}", since)
        # Changes made, and an app the service disconnected for a token used twice (its request was
        # refused, the end it tells is the change: a review found it never told).
        # The kinds written out (two known words), as the history's filters write them: the partial
        # index of the rows of those who do not hold the space can then serve a generic plan.
        rows = await fetch(
            f"""SELECT action, outcome, acting_as, actor_kind, actor_name, client_name, resource_type, subject_kind
               FROM access_history WHERE space_id = {{}} AND {span} AND id <= {{}}
               AND action NOT LIKE 'GET %' AND action NOT LIKE 'HEAD %' AND action NOT LIKE 'OPTIONS %'
               AND (outcome < 400 OR action = '{CONNECTION_ENDED_BY_SERVICE}')"""
            + " AND acting_as IN ("
            + ", ".join(f"'{kind}'" for kind in kinds)
            + ")",
            person["space_id"],
            start,
            upto,
        )
        delivery: Delivery | None = None  # nothing to say
        if rows:
            lines = Counter(describe(row) for row in rows)
            body = "\n".join(f"- {_counted(sentence, count)}" for sentence, count in lines.items())
            subject = digest_subject(since, at, str(person["timezone"]))
            # Refused for good (no such user): the span is given up on, as told; it was covered again,
            # and refused again, at every run (a review).
            delivery = await deliver(mailer, person["email"], subject, _DIGEST_INTRO + body + _DIGEST_END)
        async with write_transaction():
            # Sent, given up on, or nothing to say: the next digest starts above this span.
            if delivery not in (Delivery.FAILED, Delivery.DEFERRED):
                await fetch(
                    "UPDATE notification_preferences SET digest_sent_until = {}, digest_sent_upto = {}, "
                    "digest_lease_until = NULL WHERE account_id = {} AND digest_lease_until = {}",
                    at,
                    upto,
                    person["account_id"],
                    lease,
                )
            else:  # the mail server failing, or a full mailbox: the lease given back, the span left
                await fetch(
                    "UPDATE notification_preferences SET digest_lease_until = NULL "
                    "WHERE account_id = {} AND digest_lease_until = {}",
                    person["account_id"],
                    lease,
                )
        sent += int(delivery is Delivery.SENT)
    return sent
