"""Which e-mails a person wants about their space (``/v1/me/notifications``), the notices sent when
something happens, and the daily digest of what representatives and apps changed (``ens notify``).

E-mails say that something happened and where to look, never what: no health data, no document
title, no value. The digest is off by default for both kinds: a scale that sends its daily reading
must not make a daily e-mail unless the person asked for one.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Literal, NamedTuple
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import require_if_match
from ens.core.db import Row, current, fetch, fetch_one, is_postgres, write_transaction
from ens.core.mail import Mailer
from ens.spaces.describe import describe
from ens.spaces.door import SpaceRef, adulthood
from ens.spaces.schemas import NotificationPreferences
from ens.spaces.service import tell

log = logging.getLogger("ens.spaces.notifications")

Notice = Literal["document_added", "emergency_access"]
NOTICE_COLUMNS: dict[Notice, str] = {"document_added": "document_added", "emergency_access": "emergency_access"}

DEFAULTS = NotificationPreferences(
    document_added=True, emergency_access=True, representatives_digest=False, apps_digest=False
)

# The emergency access notice's words are the professionals' (``ens.spaces.pro_access``).
NOTICES: dict[Notice, tuple[str, str]] = {
    "document_added": (
        "Un nouveau document dans votre espace santé",
        "Bonjour,\n\nUn professionnel de santé a ajouté un document dans votre espace santé. Ouvrez l'application "
        "pour le consulter.\n\nCet e-mail ne contient aucune donnée de santé. Vous pouvez choisir les e-mails que "
        "vous recevez dans l'application (Notifications).",
    ),
}

DIGEST_SUBJECT = "Les changements d'hier dans votre espace santé"
_DIGEST_INTRO = "Bonjour,\n\nVoici ce qui a changé dans votre espace santé depuis le dernier résumé :\n\n"
_DIGEST_END = (
    "\n\nL'historique des accès, dans l'application, donne le détail.\n\nCet e-mail ne contient aucune donnée de "
    "santé. Ce résumé quotidien se règle dans l'application (Notifications)."
)
# Should a digest's start be lost, it looks back one day (never over the whole history).
_FIRST_LOOK_BACK = timedelta(days=1)


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
    covers the changes made from then on, not the days before."""
    now = clock.now()
    async with write_transaction():
        current = await fetch_one("SELECT * FROM notification_preferences WHERE account_id = {}", account_id)
        require_if_match(if_match, msgspec.json.encode(_read(current)))
        await fetch(
            """INSERT INTO notification_preferences (account_id, document_added, emergency_access,
               representatives_digest, apps_digest, digest_sent_until, updated_at)
               VALUES ({}, {}, {}, {}, {}, {}, {})
               ON CONFLICT (account_id) DO UPDATE SET document_added = EXCLUDED.document_added,
               emergency_access = EXCLUDED.emergency_access, representatives_digest = EXCLUDED.representatives_digest,
               apps_digest = EXCLUDED.apps_digest, updated_at = EXCLUDED.updated_at,
               digest_sent_until = CASE WHEN notification_preferences.representatives_digest
                 OR notification_preferences.apps_digest THEN notification_preferences.digest_sent_until
                 ELSE EXCLUDED.digest_sent_until END""",
            account_id,
            wanted.document_added,
            wanted.emergency_access,
            wanted.representatives_digest,
            wanted.apps_digest,
            now,
            now,
        )
    return wanted


def parents_are_told(space: SpaceRef, *, at: datetime | None = None) -> bool:
    """Whether the space's notices go to the parents: a child's space no one holds yet (a parent
    made it; its holder has no account). A minor who signed in holds their own space, and is told
    as any holder is; once the child is 18, the parents' right has ended, and nobody is told."""
    return space.holder_account_id is None and space.birthdate is not None and (at or clock.now()) < adulthood(space)


async def recipients(
    space: SpaceRef, notice: Notice, *, hidden_from_representatives: bool, at: datetime | None = None
) -> list[str]:
    """Who is told of ``notice`` on ``space``: the holder, or for a child's space no one holds, the
    parents (:func:`parents_are_told`), less those who turned that notice off. A notice about an item
    hidden from the representatives (``hidden_from_representatives``) never goes to them."""
    column = NOTICE_COLUMNS[notice]
    if parents_are_told(space, at=at):
        if hidden_from_representatives:
            # A minor's confidential care (CSP L1111-5): not even its existence reaches the parents.
            return []
        rows = await fetch(
            f"""SELECT a.email FROM representatives r JOIN accounts a ON a.id = r.account_id
               LEFT JOIN notification_preferences p ON p.account_id = a.id
               WHERE r.space_id = {{}} AND r.kind = 'parent' AND r.revoked_at IS NULL AND a.email IS NOT NULL
               AND (p.{column} IS NULL OR p.{column})""",
            space.id,
        )
    elif space.holder_account_id is not None:
        rows = await fetch(
            f"""SELECT a.email FROM accounts a LEFT JOIN notification_preferences p ON p.account_id = a.id
               WHERE a.id = {{}} AND a.email IS NOT NULL AND (p.{column} IS NULL OR p.{column})""",
            space.holder_account_id,
        )
    else:
        return []
    return [str(row["email"]) for row in rows]


class Told(NamedTuple):
    """Whom a notice was for, and how many of them the mail server took it for."""

    recipients: int
    reached: int


async def notify_holder(space: SpaceRef, notice: Notice, mailer: Mailer, *, hidden_from_representatives: bool) -> Told:
    """Tell the holder (for a child's space no one holds, the parents) that ``notice`` happened,
    unless they turned it off; about an item hidden from the representatives, never them. After the
    fact (a failing mail server fails nothing). How many it was for, and how many were reached (a
    job that can try again later does so when none was)."""
    subject, text = NOTICES[notice]
    told = await recipients(space, notice, hidden_from_representatives=hidden_from_representatives)
    reached = [await tell(mailer, address, subject, text) for address in told]
    return Told(len(told), sum(reached))


async def send_digests(mailer: Mailer, *, now: datetime | None = None) -> int:
    """``ens notify`` (daily): to each holder who asked for it, what representatives (and/or apps)
    changed in their space since the last digest — who, and what kind of thing, counted. Nothing
    changed: no e-mail. How many were sent."""
    at = now or clock.now()
    people = await fetch(
        """SELECT p.account_id, p.representatives_digest, p.apps_digest, p.digest_sent_until, a.email, s.id AS space_id
           FROM notification_preferences p JOIN accounts a ON a.id = p.account_id
           JOIN spaces s ON s.holder_account_id = p.account_id
           WHERE (p.representatives_digest OR p.apps_digest) AND a.email IS NOT NULL"""
    )
    sent = 0
    for person in people:
        kinds = [
            kind
            for kind, wanted in (("representative", person["representatives_digest"]), ("app", person["apps_digest"]))
            if wanted
        ]
        since = clock.aware(person["digest_sent_until"]) if person["digest_sent_until"] else at - _FIRST_LOOK_BACK
        # Claimed from where this run read it: of two runs at once, one sends the span, the other
        # finds it moved and sends nothing.
        same = "IS NOT DISTINCT FROM" if is_postgres(current()) else "IS"
        async with write_transaction():
            claimed = await fetch(
                "UPDATE notification_preferences SET digest_sent_until = {} "
                f"WHERE account_id = {{}} AND digest_sent_until {same} {{}} RETURNING account_id",
                at,
                person["account_id"],
                person["digest_sent_until"],
            )
        if not claimed:
            continue
        rows = await fetch(
            """SELECT action, outcome, acting_as, actor_kind, actor_name, client_name, resource_type
               FROM access_history WHERE space_id = {} AND at >= {} AND at < {}
               AND action NOT LIKE 'GET %' AND action NOT LIKE 'HEAD %' AND action NOT LIKE 'OPTIONS %'
               AND outcome < 400"""
            + " AND acting_as IN ("
            + ", ".join("{}" for _ in kinds)
            + ")",
            person["space_id"],
            since,
            at,
            *kinds,
        )
        if not rows:
            continue
        lines = Counter(describe(row) for row in rows)
        body = "\n".join(
            f"- {sentence}" + (f" ({count} fois)" if count > 1 else "") for sentence, count in lines.items()
        )
        if not await tell(mailer, person["email"], DIGEST_SUBJECT, _DIGEST_INTRO + body + _DIGEST_END):
            # Not sent (the mail server failing): the next run covers this span again.
            async with write_transaction():
                await fetch(
                    "UPDATE notification_preferences SET digest_sent_until = {} "
                    "WHERE account_id = {} AND digest_sent_until = {}",
                    person["digest_sent_until"],
                    person["account_id"],
                    at,
                )
            continue
        sent += 1
    return sent
