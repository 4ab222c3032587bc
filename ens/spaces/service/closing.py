"""Closing, reopening and erasing a space (and the notice to the other representatives), and whether
it holds anything."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from piccolo.table import Table

from ens.core import clock, db
from ens.core.clock import aware
from ens.core.db import as_uuid, bound_tables, fetch, fetch_one, row_lock, write_transaction
from ens.core.errors import Conflict, Gone, NotFound
from ens.core.mail import Mailer
from ens.core.owed_mail import send_owed_notice
from ens.spaces.describe import of_name
from ens.spaces.door import SpaceAccess, SpaceRef, erasure_begun, representation_kind_of, security_log
from ens.spaces.history import account_name
from ens.spaces.rights import KIND_ENGLISH, REPRESENTATIVE_KINDS, Action
from ens.spaces.service.grants import list_app_grants
from ens.spaces.tables import Grant, Space, SpaceErasure

log = logging.getLogger("ens.spaces")


ERASED_BY_A_PARENT = (
    "Bonjour,\n\nL'espace santé {of_given_name} a été supprimé définitivement le {day} par {actor}, "
    "qui exerce aussi l'autorité parentale. Vous n'y avez plus accès ; rien ne peut en être restauré.\n\n"
    "Si vous n'étiez pas au courant, contactez l'assistance depuis l'application.\n\n"
    "Cet e-mail ne contient aucune donnée de santé."
)

ERASED_BY_THE_HOLDER = (
    "Bonjour,\n\n{given_name} a supprimé définitivement son espace santé le {day}. Vous y aviez accès "
    "au titre d'une mesure de protection ; cet accès a pris fin et rien ne peut en être restauré.\n\n"
    "Si cette suppression vous surprend, contactez l'assistance depuis l'application.\n\n"
    "Cet e-mail ne contient aucune donnée de santé."
)


async def close_or_erase_space(access: SpaceAccess, *, erase: bool, mailer: Mailer) -> None:
    """Close the space (archived, reopenable), or with ``erase`` delete everything it holds now.

    An erase is accepted on a closed space too (an express deletion request after closing). Who may
    erase is narrower than who may close (``ens.spaces.rights``); the other representatives are
    told by e-mail, after the erasure (no health data in it: :func:`erase_and_tell`).
    """
    if erase:
        access.require(Action.ERASE)
        await erase_and_tell(
            access.space,
            account_id=access.caller.account_id,
            client_id=access.caller.client_id,
            acting_as=access.kind,
            request_id=access.request_id,
            actor_name=access.actor_name,
            mailer=mailer,
        )
        return
    if access.space.status == "closed":
        raise Gone("This space is closed already.")
    await close_space(access.space_id)


async def erase_and_tell(
    space: SpaceRef,
    *,
    account_id: UUID,
    client_id: str,
    acting_as: str,
    request_id: str,
    actor_name: str | None,
    mailer: Mailer,
) -> None:
    """Delete the space's rows (:func:`erase_space`), then tell the other representatives whom the
    space was open to at the erasure (no health data in it): when a parent erased a minor's space,
    the other parent; when the holder erased theirs, whom their protection measures open it to
    (not a measure relating only to property, ended or not begun; a curator without the holder's
    consent is told, as they knew the space existed). The request's erasure, or ``ens purge``
    finishing one that failed after its point of no return.

    An erasure begun (its point of no return passed, :func:`begin_erasure`) is the one who began it,
    on the day it began, whoever sends it again: the second parent finishing the first's was named
    as its author to the first, who had decided it (an audit)."""
    erased_on = clock.now()
    begun = await fetch_one(
        "SELECT erased_by_account_id, acting_as, erased_at FROM space_erasures "
        "WHERE erased_space_id = {} AND finished_at IS NULL",
        space.id,
    )
    if begun is not None:
        erased_on = aware(begun["erased_at"])
        if as_uuid(begun["erased_by_account_id"]) != account_id:
            account_id, acting_as = as_uuid(begun["erased_by_account_id"]), str(begun["acting_as"])
            actor_name = await account_name(account_id)
    others = [
        (as_uuid(row["account_id"]), str(row["email"]))
        for row in await fetch(
            """SELECT r.account_id, a.email, r.kind, r.relates_to, r.since, r.until, r.consent_until
               FROM representatives r JOIN accounts a ON a.id = r.account_id
               WHERE r.space_id = {} AND r.revoked_at IS NULL AND r.account_id <> {} AND a.email IS NOT NULL""",
            space.id,
            account_id,
        )
        if representation_kind_of(row, space=space, now=erased_on) is not None
    ]
    await erase_space(space.id, account_id=account_id, client_id=client_id, acting_as=acting_as, request_id=request_id)
    day = erased_on.astimezone(ZoneInfo(space.timezone)).strftime("%d/%m/%Y")
    if acting_as == "parent":
        text = ERASED_BY_A_PARENT.format(
            # "de Nour", "d'Inès" (it read "de Inès": an outside audit of the e-mails).
            of_given_name=of_name(space.given_name),
            day=day,
            actor=actor_name or "l'autre parent",
        )
    else:
        text = ERASED_BY_THE_HOLDER.format(given_name=space.given_name, day=day)
    for other, email in others:
        # Owed until sent (ens.core.owed_mail): the space is gone, and a representative whose mail
        # server failed was never told, a notice only logged (a review).
        await send_owed_notice(mailer, other, email, "Un espace santé a été supprimé", text)


async def space_status(space_id: UUID) -> str | None:
    """``open`` or ``closed``; ``None`` when there is no such space."""
    row = await fetch_one("SELECT status FROM spaces WHERE id = {}", space_id)
    return str(row["status"]) if row else None


async def close_space(space_id: UUID) -> None:
    """Archive the space: every route but ``reopen`` answers 410 until it is reopened."""
    now = clock.now()
    async with write_transaction():
        await Space.update({Space.status: "closed", Space.closed_at: now, Space.updated_at: now}).where(
            Space.id == space_id
        )


async def reopen_space(space_id: UUID) -> None:
    """Restore a closed space with everything it held; never one being erased (its data key
    destroyed, its rows perhaps half gone: :func:`erase_space` empties the growing tables in committed
    batches first), whichever way the holder asks (the login's offer reopened it; a review)."""
    async with write_transaction():
        row = await fetch_one(f"SELECT status FROM spaces WHERE id = {{}}{row_lock('UPDATE')}", space_id)
        if row is None:
            raise NotFound("No such space.")
        if await erasure_begun(space_id):
            raise Conflict("This space is being erased: its erasure cannot be undone.")
        if row["status"] != "closed":
            raise Conflict("This space is open already.")
        await Space.update({Space.status: "open", Space.closed_at: None, Space.updated_at: clock.now()}).where(
            Space.id == space_id
        )


async def begin_erasure(access: SpaceAccess) -> None:
    """An erasure's point of no return, in the transaction that holds the space's row and destroys
    its data key (``ens.overview``): the space is closed (every route but the erasure answers 410:
    nobody reads what is being erased, no app writes into it) and the operators' record of the
    erasure is written, unfinished, unless one is already (the same erasure sent again). Its rows
    go next (:func:`erase_space`, which finishes the record); if that fails, the same request sent
    again, or ``ens purge`` (``ens.overview.service.finish_erasures``), finishes it."""
    now = clock.now()
    await fetch(
        "UPDATE spaces SET status = 'closed', closed_at = COALESCE(closed_at, {}), updated_at = {} WHERE id = {}",
        now,
        now,
        access.space_id,
    )
    if await erasure_begun(access.space_id):
        return
    await SpaceErasure.insert(
        SpaceErasure(
            id=uuid.uuid4(),
            erased_space_id=access.space_id,
            erased_by_account_id=access.caller.account_id,
            erased_by_client_id=access.caller.client_id,
            acting_as=access.kind,
            request_id=access.request_id,
            erased_at=now,
        )
    )


async def erase_space(space_id: UUID, *, account_id: UUID, client_id: str, acting_as: str, request_id: str) -> None:
    """Delete every row of the space, in every table that has a ``space_id``, in one transaction,
    and finish the operators' record of the erasure (:class:`SpaceErasure`, written at its point of
    no return by :func:`begin_erasure`) in the same one, or write it finished when there was none
    (an empty space taken over at 18 goes without one).

    Grants go after the rows that reference them (refresh tokens, codes), the space row last.
    """
    referenced_last: tuple[type[Table], ...] = (Grant, Space)
    tables = [t for t in bound_tables() if t not in referenced_last and _has_space_id(t)]
    ordered: list[type[Table]] = [*tables, Grant]
    now = clock.now()
    bound = {t._meta.tablename for t in tables}
    for table_name in (name for name in GROWING_TABLES if name in bound):
        await _empty_in_batches(table_name, space_id)
    async with write_transaction():
        await hold_for_erasure(space_id)
        for table in ordered:
            if table._meta.tablename in GROWING_TABLES:
                # What a write under way at the close committed since, along the key: a plain
                # DELETE by space_id, planned on statistics that still counted the rows the batches
                # deleted, read the whole table (1.1 s among 10 million measures for none).
                await _empty_in_batches(table._meta.tablename, space_id)
            else:
                await fetch(f"DELETE FROM {table._meta.tablename} WHERE space_id = {{}}", space_id)
        await fetch("DELETE FROM spaces WHERE id = {}", space_id)
        finished = await fetch(
            "UPDATE space_erasures SET finished_at = {} WHERE erased_space_id = {} AND finished_at IS NULL "
            "RETURNING id",
            now,
            space_id,
        )
        if not finished:
            await SpaceErasure.insert(
                SpaceErasure(
                    id=uuid.uuid4(),
                    erased_space_id=space_id,
                    erased_by_account_id=account_id,
                    erased_by_client_id=client_id,
                    acting_as=acting_as,
                    request_id=request_id,
                    erased_at=now,
                    finished_at=now,
                )
            )
    security_log.warning(
        "space erased",
        extra={
            "event": "space_erased",
            "space_id": str(space_id),
            "account_id": str(account_id),
            "request_id": request_id,
        },
    )


# The tables that grow with a space's life (a watch's heart rates, a request's history row), keyed
# ``(space_id, id)``: emptied first, a batch a transaction (:func:`_empty_in_batches`).
GROWING_TABLES = (
    "access_history",
    "vital_measurements",
    "vital_tombstones",
    "vital_hides",
    "vital_deleted_records",
    "history_checkpoints",
)


async def _empty_in_batches(table: str, space_id: UUID) -> None:
    """Delete the space's rows of ``table`` in key order, about ``PURGE_BATCH`` a transaction, each
    batch past the last one's ids (the index entries of the rows deleted before stay until the next
    vacuum: a batch taken from the space's first entry walked them all again).

    Before :func:`erase_space`'s transaction, which then deletes what is left of every table (rows a
    write that was under way when the space closed committed since). In that one transaction a
    space of 1.5 million measures and 2 million history rows took 11.5 s on PostgreSQL, holding
    back every space's change feed, whose horizon is the oldest transaction running (an outside
    audit). The space is closed by then (:func:`begin_erasure`): no one reads or writes it."""
    size = db.PURGE_BATCH
    after: tuple[Any, ...] = ()
    while True:
        past = " AND id > {}" if after else ""
        edge = await fetch(
            f"SELECT id FROM {table} WHERE space_id = {{}}{past} ORDER BY id LIMIT 1 OFFSET {{}}",
            space_id,
            *after,
            size - 1,
        )
        if not edge:
            # The last batch is bounded by its newest id too: PostgreSQL, estimating a big space's
            # rows past an old id as the table's share of them, read the whole table for the last
            # 33 history rows of a space (3.2 s among 20 million).
            edge = await fetch(
                f"SELECT id FROM {table} WHERE space_id = {{}}{past} ORDER BY id DESC LIMIT 1", space_id, *after
            )
            if not edge:
                break
        await db.execute(
            f"DELETE FROM {table} WHERE space_id = {{}}{past} AND id <= {{}}", space_id, *after, edge[0]["id"]
        )
        after = (edge[0]["id"],)
    # Walk the space's entries once more, outside any transaction that writes: PostgreSQL marks
    # those of the rows deleted above dead in the index as it passes them, so that the final
    # transaction's DELETE, and the checks of the space's foreign keys when its row goes, skip them
    # (they walked them all, 6 s of that transaction for the space above).
    await fetch(f"SELECT id FROM {table} WHERE space_id = {{}} ORDER BY id LIMIT 1", space_id)


async def hold_for_erasure(space_id: UUID) -> None:
    """First in the erasing transaction: wait for the space's writes under way, and hold back the
    next ones until it ends. Every row of a space has a foreign key to the space's row, whose check
    takes a KEY SHARE lock on it; ``FOR UPDATE`` waits for those (so their rows are seen, and go with
    the rest) and makes the next ones wait, then find the space gone (404), not write past the
    erasure. SQLite's write transactions are serialised already. A space erased meanwhile (two
    parents erasing at once) is a 404: the second erasure leaves no second record."""
    if not await fetch(f"SELECT id FROM spaces WHERE id = {{}}{row_lock('UPDATE')}", space_id):
        raise NotFound("No such space.")


# The capabilities' own tables: what a person put in a space (vitals, records, vaccinations, documents).
_BOOKKEEPING_APPS = ("ens.spaces.", "ens.auth.", "ens.core.")


async def holds_data(space_id: UUID) -> bool:
    """Whether anything was put in the space (a row in any capability's table but those a space is
    made with, marked ``holds_no_data``)."""
    for table in bound_tables():
        bookkeeping = table.__module__.startswith(_BOOKKEEPING_APPS) or getattr(table, "holds_no_data", False)
        if bookkeeping or not _has_space_id(table):
            continue
        if await fetch(f"SELECT 1 AS x FROM {table._meta.tablename} WHERE space_id = {{}} LIMIT 1", space_id):
            return True
    return False


def _has_space_id(table: type[Table]) -> bool:
    return "space_id" in {column._meta.name for column in table._meta.columns}


# What ties others to a space, one row per tie: a live representation (its kind), a professional's
# live authorisation or the holder's block of one, an access request awaiting the holder's answer,
# an emergency access under way, a connected app.
_TIES = """
SELECT 'representative' AS tie, kind AS detail FROM representatives
 WHERE space_id = {} AND revoked_at IS NULL AND (until IS NULL OR until > {})
UNION ALL
SELECT 'professional', status FROM space_professionals
 WHERE space_id = {} AND ((status = 'authorised' AND (until IS NULL OR until > {})) OR status = 'blocked')
UNION ALL
SELECT 'request', status FROM access_requests WHERE space_id = {} AND status = 'pending'
UNION ALL
SELECT 'emergency', 'emergency' FROM emergency_accesses WHERE space_id = {} AND ends_at > {}"""

_REPRESENTATIVE_WORDS: dict[str, str] = {kind: KIND_ENGLISH[kind] for kind in REPRESENTATIVE_KINDS}
_TIE_WORDS = {
    ("professional", "authorised"): "professionals' authorisations",
    ("professional", "blocked"): "professionals blocked by the holder",
    ("request", "pending"): "professionals' access requests awaiting an answer",
    ("emergency", "emergency"): "emergency accesses under way",
    ("app", "app"): "connected apps",
}


async def ties_to_others(space: SpaceRef, *, now: datetime) -> list[str]:
    """What gives others a standing on the space, which erasing it would end with no one told: live
    representatives (a court measure), professionals' authorisations and the holder's blocks,
    access requests awaiting an answer, emergency accesses under way, connected apps (those the
    holder's list shows, the door's rule: an app connected under a right that lapsed counted, the
    list did not show it, and the claim at 18 was refused for good; a review). Said in words for a
    problem detail (kinds and counts, no names); empty when there is none."""
    rows = await fetch(_TIES, space.id, now, space.id, now, space.id, space.id, now)
    counted = Counter((str(row["tie"]), str(row["detail"])) for row in rows)
    counted["app", "app"] = len(await list_app_grants(space))
    kinds = sorted(_REPRESENTATIVE_WORDS.get(detail, detail) for tie, detail in counted if tie == "representative")
    ties = [f"representatives: {', '.join(kinds)}"] if kinds else []
    return ties + [f"{words}: {counted[key]}" for key, words in _TIE_WORDS.items() if counted[key]]
