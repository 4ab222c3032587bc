"""Reading, masking and removing documents; the home-screen count; erasing a space's files."""

from __future__ import annotations

import logging
from datetime import date
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import Cursors, check_limit, check_span, require_if_match
from ens.core.clock import as_date, aware
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one, within, write_transaction
from ens.core.errors import BadRequest, FieldError, Forbidden, Invalid
from ens.core.local_time import EARLIEST_YEAR, LATEST_YEAR
from ens.core.mail import Mailer
from ens.documents import pending
from ens.documents.catalogue import DOCUMENT_TYPES, MAX_DOCUMENT_BYTES, TYPES_BY_CODE
from ens.documents.keys import key_of_documents, lock_space_documents
from ens.documents.masking import check_masking, hold_until, refuse_a_second_hold
from ens.documents.notices import announce_document
from ens.documents.rows import COLUMNS, UNREADABLE_WORDS, document_read, readable, visible_row
from ens.documents.schemas import (
    DocumentPage,
    DocumentRead,
    DocumentsSummary,
    DocumentTypeList,
    DocumentTypeRead,
    DocumentUpdate,
    UnreadableDocument,
)
from ens.documents.storage import BlobStore
from ens.documents.visibility import Condition, released_for_holder, shown_to_holder_from, today_in_space, visible_to
from ens.spaces.door import SpaceAccess
from ens.spaces.history import note_hidden_item_removed
from ens.spaces.professionals import serialise_decisions

LOINC = "http://loinc.org"

log = logging.getLogger("ens.documents")


def document_types() -> DocumentTypeList:
    """The document types a document may have, and the files accepted."""
    return DocumentTypeList(
        items=[DocumentTypeRead(code=kind.code, label=kind.label, system=LOINC) for kind in DOCUMENT_TYPES],
        media_types=["application/pdf", "image/jpeg", "image/png"],
        max_bytes=MAX_DOCUMENT_BYTES,
    )


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or len(value) != 10 or not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise BadRequest(
            f"{name} must be a date (YYYY-MM-DD) between {EARLIEST_YEAR} and {LATEST_YEAR}.",
            [FieldError(f"/{name}", "a date")],
        )
    return day


async def list_documents(
    access: SpaceAccess,
    cursors: Cursors,
    *,
    type_: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    cursor: str | None,
    secret: str,
    looked: bool = True,
) -> DocumentPage:
    """The documents the caller sees, the latest care first (then the latest added), filtered by
    type and by the care's date (``since`` included, ``until`` excluded). Listing them all (a first
    page, not filtered) is looking at them: for a person, what was added before now is no longer
    new (the home screen). A filtered listing leaves the others new (one of a type cleared them
    all: an outside audit); so does one the caller does not see (``looked`` false: a HEAD, whose
    body is dropped, cleared them as the GET does: a review)."""
    size = check_limit(limit)
    if type_ is not None and type_ not in TYPES_BY_CODE:
        raise BadRequest("Unknown document type.", [FieldError("/type", "one of GET /v1/document-types")])
    first, before = _day(since, "since"), _day(until, "until")
    check_span(first, before)
    today = today_in_space(access)
    seen = visible_to(access, today=today)
    where = "d.space_id = {}" + seen.sql
    args: list[object] = [access.space_id, *seen.args]
    if type_ is not None:
        where += " AND d.type_code = {}"
        args.append(type_)
    range_sql, range_args = within("d.care_date", first, before)
    where += range_sql
    args += range_args
    purpose = f"documents:{access.space_id}:{type_}:{since}:{until}"
    if cursor is not None:
        position = cursors.decode(purpose, cursor)
        try:
            day, added, last_id = date.fromisoformat(position[0]), aware(position[1]), UUID(position[2])
        except (ValueError, TypeError, IndexError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        where += " AND (d.care_date, d.created_at, d.id) < ({}, {}, {})"
        args += [day, added, last_id]
    rows = await fetch(
        f"SELECT {COLUMNS} FROM documents d WHERE {where} "
        "ORDER BY d.care_date DESC, d.created_at DESC, d.id DESC LIMIT {}",
        *args,
        size + 1,
    )
    key = await key_of_documents(access.space_id, secret) if rows else None
    items: list[DocumentRead] = []
    unreadable: list[UnreadableDocument] = []
    for row in rows[:size]:
        read = readable(row, today=today, key=key) if key is not None else None
        if read is not None:
            items.append(read)
        else:
            # One damaged row made the whole list a 500, and every other document unreachable.
            unreadable.append(
                UnreadableDocument(
                    id=as_uuid(row["id"]),
                    type_code=row["type_code"],
                    date=as_date(row["care_date"]) or date.min,
                    detail=UNREADABLE_WORDS,
                )
            )
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = cursors.encode(
            purpose,
            [
                (as_date(last["care_date"]) or date.min).isoformat(),
                aware(last["created_at"]).isoformat(),
                str(last["id"]),
            ],
        )
    if looked and access.is_person and cursor is None and type_ is None and since is None and until is None:
        await _looked(access, today=today)
    return DocumentPage(items=items, next_cursor=next_cursor, unreadable=unreadable)


async def _looked(access: SpaceAccess, *, today: date) -> None:
    """The person has looked: what was added before now is no longer new to them. Written only when
    a document was added (or shown to the holder) by someone else since they last looked, visible
    to them or not: otherwise moving their time of looking forward changes nothing the home screen
    counts (what is added later is new either way), and a read would commit a write. (A document
    hidden from them now counts too: were it shown to them later, it is new or not as it would have
    been had every listing written.)"""
    new, args = _new_to_caller(access, today=today, visible_only=False)
    if await fetch_one(f"SELECT 1 AS found FROM documents d {new} LIMIT 1", *args) is None:
        return
    async with write_transaction():
        await fetch(
            "INSERT INTO document_views (space_id, account_id, seen_at) VALUES ({}, {}, {}) "
            "ON CONFLICT (space_id, account_id) DO UPDATE SET seen_at = EXCLUDED.seen_at",
            access.space_id,
            access.caller.account_id,
            clock.now(),
        )


def _new_to_caller(access: SpaceAccess, *, today: date, visible_only: bool = True) -> tuple[str, list[object]]:
    """The join and conditions of the documents the caller sees that are new to them: added by
    someone else since they last listed them (all, if they never did). For the holder and whoever
    sees what they see, a document held back from the holder is added when it is shown to them
    (released, or its day). Without ``visible_only``, those the caller does not see now too."""
    seen = visible_to(access, today=today) if visible_only else Condition("", ())
    since = "d.created_at" if access.role == "professional" else "COALESCE(d.shown_to_holder_at, d.created_at)"
    sql = (
        "LEFT JOIN document_views v ON v.space_id = d.space_id AND v.account_id = {} "
        f"WHERE d.space_id = {{}} AND (v.seen_at IS NULL OR {since} > v.seen_at) "
        "AND (d.added_by_account_id IS NULL OR d.added_by_account_id <> {})" + seen.sql
    )
    return sql, [access.caller.account_id, access.space_id, access.caller.account_id, *seen.args]


async def get_document(access: SpaceAccess, document_id: UUID, *, secret: str) -> DocumentRead:
    """One document's metadata (404 when the caller may not see it)."""
    row = await visible_row(access, document_id)
    return document_read(row, today=today_in_space(access), key=await key_of_documents(access.space_id, secret))


async def change_masking(
    access: SpaceAccess,
    document_id: UUID,
    update: DocumentUpdate,
    *,
    if_match: str | None,
    mailer: Mailer,
    secret: str,
) -> DocumentRead:
    """Hide the document from professionals or representatives, or show it again; a professional
    holds it back from the holder, or releases it (``ens.documents.masking`` says who may). A
    document released to the holder is new to them from then on, and they are told, as when a
    professional adds one (unless they turned that notice off)."""
    today = today_in_space(access)
    released = False
    if update.hidden_from_holder_until is not None and update.hidden_from_holder_until <= today:
        raise Invalid(
            "hiddenFromHolderUntil must be after today.", [FieldError("/hiddenFromHolderUntil", "after today")]
        )
    async with write_transaction():
        if update.hidden_from_holder is not None or update.hidden_from_holder_until is not None:
            # A hold and the holder's decisions about professionals, one at a time: the document
            # is read after a revocation that releases it, never before (a review). Shared: it
            # decides nothing about professionals, and a professional's write holds it so already.
            await serialise_decisions(access.space_id, shared=True)
        row = await visible_row(access, document_id, for_change=True)
        held_now = not released_for_holder(
            bool(row["hidden_from_holder"]), as_date(row["hidden_from_holder_until"]), today=today
        )
        check_masking(
            access,
            professionals=update.hidden_from_professionals,
            representatives=update.hidden_from_representatives,
            holder=update.hidden_from_holder,
            holder_until=update.hidden_from_holder_until,
            author_account_id=row["author_account_id"],
            held_now=held_now,
        )
        key = await key_of_documents(access.space_id, secret)
        require_if_match(if_match, msgspec.json.encode(document_read(row, today=today, key=key)))
        from_representatives = access.hiding_change(
            bool(row["hidden_from_representatives"]),
            update.hidden_from_representatives,
            row["author_account_id"],
            noun="documents",
        )
        refuse_a_second_hold(holder=update.hidden_from_holder, held_now=held_now)
        holding = update.hidden_from_holder or (
            update.hidden_from_holder is None and update.hidden_from_holder_until is not None
        )
        hold_end = await hold_until(access, update.hidden_from_holder_until, creating=False) if holding else None
        changes: dict[str, object] = {}
        if update.hidden_from_professionals is not None:
            # Hidden by the adult holder themself: theirs alone to show again (SpaceAccess.is_adult_holder).
            by_holder = bool(row["hidden_from_professionals"]) and bool(row["hidden_from_professionals_by_holder"])
            access.keep_the_holders_choice(
                by_holder and not update.hidden_from_professionals,
                "The holder hid this document from professionals themself: only they may show it again.",
            )
            changes["hidden_from_professionals"] = update.hidden_from_professionals
            changes["hidden_from_professionals_by_holder"] = update.hidden_from_professionals and (
                access.is_adult_holder or by_holder
            )
        if from_representatives is not None:
            changes["hidden_from_representatives"] = from_representatives
        if update.hidden_from_holder is not None:
            changes["hidden_from_holder"] = update.hidden_from_holder
            changes["hidden_from_holder_until"] = hold_end if update.hidden_from_holder else None
        elif hold_end is not None:
            changes["hidden_from_holder_until"] = hold_end
        if update.hidden_from_holder is not None or update.hidden_from_holder_until is not None:
            was_hidden, was_until = bool(row["hidden_from_holder"]), as_date(row["hidden_from_holder_until"])
            hidden = update.hidden_from_holder if update.hidden_from_holder is not None else was_hidden
            if hidden:
                until = changes.get("hidden_from_holder_until", was_until)
                changes["shown_to_holder_at"] = shown_to_holder_from(
                    True, until if isinstance(until, date) else None, timezone=access.space.timezone, now=clock.now()
                )
                changes["release_notice_due"] = isinstance(until, date)  # told on that day, by ens notify
                changes["release_notice_lease_until"] = None  # owed anew: an older claim settles nothing
                changes["release_notice_told"] = None  # to everyone: whom an older notice reached too
            elif not released_for_holder(was_hidden, was_until, today=today):
                changes["shown_to_holder_at"] = clock.now()
                changes["release_notice_due"] = True  # told now, after the commit (or by ens notify)
                changes["release_notice_lease_until"] = None
                changes["release_notice_told"] = None
                released = True
        if changes:
            changes["updated_at"] = clock.now()
            assignments = ", ".join(f"{column} = {{}}" for column in changes)
            await fetch(
                f"UPDATE documents SET {assignments} WHERE space_id = {{}} AND id = {{}}",
                *changes.values(),
                access.space_id,
                document_id,
            )
    # What the caller sees now (a representative who could not set the flag still sees it).
    changed = await fetch_one(
        f"SELECT {COLUMNS} FROM documents d WHERE d.space_id = {{}} AND d.id = {{}}", access.space_id, document_id
    )
    assert changed is not None
    if released:
        # Whether the parents may know of it, as the row says then (this request may have hidden it).
        await announce_document(mailer, access.space_id, document_id, at=clock.now(), space=access.space)
    return document_read(changed, today=today, key=key)


async def delete_document(
    access: SpaceAccess, document_id: UUID, *, if_match: str | None, blobs: BlobStore, secret: str
) -> None:
    """Remove the document; its content goes with it unless another document of the space holds
    the same. The object is deleted once the row's deletion has committed, under the space's
    document lock (an upload of the same file meanwhile keeps it); if the process dies in between,
    the ledger of pending objects has it (``ens.documents.pending``)."""
    orphan: str | None = None
    async with write_transaction():
        row = await visible_row(access, document_id, for_change=True)
        if access.role == "professional":
            raise Forbidden("A professional does not remove documents: the holder, or their representative, does.")
        # Removed, the document could be added again unhidden: the adult holder's choice undone by
        # two requests where the PATCH that would undo it is refused (an outside audit).
        access.keep_the_holders_choice(
            bool(row["hidden_from_professionals"]) and bool(row["hidden_from_professionals_by_holder"]),
            "The holder hid this document from professionals themself: only they may remove it.",
        )
        if if_match is not None:
            key = await key_of_documents(access.space_id, secret)
            require_if_match(if_match, msgspec.json.encode(document_read(row, today=today_in_space(access), key=key)))
        await lock_space_documents(access.space_id)
        await fetch("DELETE FROM documents WHERE space_id = {} AND id = {}", access.space_id, document_id)
        await note_hidden_item_removed(access.space_id, document_id, hidden=bool(row["hidden_from_representatives"]))
        others = await fetch_one(
            "SELECT 1 AS x FROM documents WHERE space_id = {} AND object_name = {} LIMIT 1",
            access.space_id,
            row["object_name"],
        )
        if others is None:
            orphan = blobs.object_path(access.space_id, row["object_name"])
            await pending.record(access.space_id, orphan)
    if orphan is not None:
        try:
            await pending.settle(access.space_id, orphan, blobs)
        except Exception:
            # The document is gone (committed): the answer says so. The object stays in the ledger
            # (its record commits with nothing else) and ``ens purge`` removes it a day later: a
            # store failing that moment answered 503, and the history said the removal was refused,
            # for a document that a GET then did not find (an outside audit).
            log.warning(
                "removed document's object not deleted",
                extra={"event": "removed_object_left", "space_id": str(access.space_id)},
            )


def documents_scalars(access: SpaceAccess) -> dict[str, Scalar]:
    """What the home screen selects of the documents, in its one statement (``fetch_scalars``):
    how many the caller sees, and how many are new to them (:func:`_new_to_caller`)."""
    today = today_in_space(access)
    seen = visible_to(access, today=today)
    new_sql, new_args = _new_to_caller(access, today=today)
    return {
        "documents_seen": Scalar(
            "SELECT COUNT(*) FROM documents d WHERE d.space_id = {}" + seen.sql, (access.space_id, *seen.args)
        ),
        "documents_new": Scalar(f"SELECT COUNT(*) FROM documents d {new_sql}", tuple(new_args)),
    }


def documents_summary(row: Row) -> DocumentsSummary:
    """The counts :func:`documents_scalars` selected."""
    return DocumentsSummary(count=int(row["documents_seen"]), new=int(row["documents_new"]))


async def sweep_space_files(space_id: UUID, blobs: BlobStore) -> int:
    """Remove every object under the space's prefix; how many there were. An erasure sweeps once
    its data key is destroyed (committed: from then on nothing of its content can be decrypted),
    and again after its rows are erased, for what an upload stored in between (its row went with
    the space). An upload still under way then finds the space gone, and deletes its own object."""
    return await blobs.delete_under(blobs.space_prefix(space_id))


def any_document_seen(access: SpaceAccess) -> Scalar:
    """Whether the space holds a document the caller sees, as one value of a statement
    (``fetch_scalars``): what the space import calls "not empty". A document hidden from them (from
    the representatives, or from the holder until a professional releases it) is not seen; nor are
    the space's key, views and pending objects, which are no documents."""
    seen = visible_to(access)
    return Scalar(
        "SELECT EXISTS (SELECT 1 FROM documents d WHERE d.space_id = {}" + seen.sql + ")",
        (access.space_id, *seen.args),
    )
