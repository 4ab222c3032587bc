"""Advance directives (directives anticipées, CSP L1111-11, R1111-17 to R1111-20).

Every write is a new version, never a change: ``PUT`` adds one with its author and time, ``DELETE``
adds one saying ``revoked``. The current version is the highest. Once one exists, both need
``If-Match`` with its ETag (428 without, 412 when stale): two devices editing at once cannot
overwrite each other. Only an adult holder writes them (``ens.records.authorship``).

Directives have had no validity limit since 2016: the reminder (``reviewDue``, 3 years after they
were last written or confirmed, R1111-19) asks the author to reread them, never marks them expired.
``POST .../confirm`` records such a reading without a new version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import Cursors, check_limit, cursor_int, is_visible
from ens.core.clock import as_date, aware, aware_or_none
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import Conflict, FieldError, Invalid, NotFound
from ens.core.local_time import zone_of
from ens.core.names import same_names
from ens.records.authorship import adult_holder, today_in
from ens.records.concurrency import check_precondition, lock_records
from ens.records.schemas import (
    AuthorRead,
    CreatedByRead,
    DirectivesContent,
    DirectivesPointerRead,
    DirectivesRead,
    DirectivesWrite,
    DirectiveVersionPage,
    DirectiveVersionRead,
    OrganDonationWish,
    ProtectionAuthorisationRead,
    Treatments,
    TrustedPersonCopy,
    Wish,
    WitnessRead,
)
from ens.records.trusted_person import (
    check_authorisation,
    same_designation,
    trusted_person_copy,
    trusted_person_now,
)
from ens.spaces.door import SpaceAccess
from ens.spaces.identity import AccountIdentity
from ens.spaces.representatives import in_charge_of_the_person

REVIEW_AFTER_YEARS = 3
_CONTENT = msgspec.json.Decoder(DirectivesContent)
_ACT = "Advance directives are written"
_NONE = "No advance directives are recorded in this space."

# When the next version replaced a version (NULL for the current one): one look-up by the
# (space_id, version) key per row. The next one rather than version + 1, which would assume the
# numbers have no gap.
_SUPERSEDED_AT = (
    "(SELECT n.created_at FROM directive_versions n WHERE n.space_id = directive_versions.space_id "
    "AND n.version > directive_versions.version ORDER BY n.version LIMIT 1) AS superseded_at"
)
_COLUMNS = (
    "id, version, status, form, content, author_given_name, author_family_name, author_birthdate, "
    "author_birthplace, author_birthcountry, created_at, created_by_account_id, created_by_name"
)
# When its author last confirmed a version (directive_reviews): one probe of that table's
# (space_id, version, reviewed_at) index per row.
_LAST_CONFIRMED = (
    "(SELECT MAX(r.reviewed_at) FROM directive_reviews r WHERE r.space_id = directive_versions.space_id "
    "AND r.version = directive_versions.version) AS last_confirmed_at"
)
_READ = f"{_COLUMNS}, {_SUPERSEDED_AT}, {_LAST_CONFIRMED}"


def review_due_after(reviewed_at: datetime, *, timezone: str) -> datetime:
    """When the reminder comes: the same day 3 years later (28 February for a 29 February), at the
    same time of day, on the calendar of the space's time zone."""
    local = reviewed_at.astimezone(zone_of(timezone))
    year = local.year + REVIEW_AFTER_YEARS
    try:
        due = local.replace(year=year)
    except ValueError:
        due = local.replace(year=year, day=28)
    return due.astimezone(UTC)


def _version(row: Row) -> DirectiveVersionRead:
    content = _CONTENT.decode(row["content"])
    superseded_at = aware_or_none(row["superseded_at"])
    return DirectiveVersionRead(
        id=as_uuid(row["id"]),
        version=int(row["version"]),
        status=row["status"],
        current=superseded_at is None,
        superseded_at=superseded_at,
        form=row["form"],
        created_at=aware(row["created_at"]),
        created_by=CreatedByRead(account_id=as_uuid(row["created_by_account_id"]), name=row["created_by_name"]),
        author=AuthorRead(
            given_name=row["author_given_name"],
            family_name=row["author_family_name"],
            birthdate=as_date(row["author_birthdate"]),
            birthplace=row["author_birthplace"],
            birthcountry=row["author_birthcountry"],
        ),
        last_confirmed_at=aware_or_none(row["last_confirmed_at"]),
        **msgspec.structs.asdict(content),
    )


def _current_read(row: Row, *, now: datetime, timezone: str) -> DirectivesRead:
    version = _version(row)
    reviewed, due = review_state(
        version.status, version.created_at, version.last_confirmed_at, now=now, timezone=timezone
    )
    return DirectivesRead(
        **msgspec.structs.asdict(version),
        last_reviewed_at=reviewed,
        review_due=due,
    )


def review_state(
    status: str, created_at: datetime, last_confirmed_at: datetime | None, *, now: datetime, timezone: str
) -> tuple[datetime, bool]:
    """When the current version was last reviewed (written, or confirmed since), and whether a
    review is due (a revocation leaves nothing to reread)."""
    reviewed = max(created_at, last_confirmed_at) if last_confirmed_at else created_at
    return reviewed, status == "active" and now >= review_due_after(reviewed, timezone=timezone)


def current_directives_scalars(space_id: UUID) -> dict[str, Scalar]:
    """What the home screen needs of the current version (:func:`fetch_scalars`): its status, form,
    creation and last confirmation (all ``NULL`` when none was ever written)."""
    current = "SELECT {} FROM directive_versions WHERE space_id = {{}} ORDER BY version DESC LIMIT 1"
    confirmed = (
        "SELECT r.reviewed_at FROM directive_reviews r WHERE r.space_id = {} AND r.version = "
        "(SELECT MAX(v.version) FROM directive_versions v WHERE v.space_id = {}) ORDER BY r.reviewed_at DESC LIMIT 1"
    )
    return {
        "directives_status": Scalar(current.format("status"), (space_id,)),
        "directives_form": Scalar(current.format("form"), (space_id,)),
        "directives_created_at": Scalar(current.format("created_at"), (space_id,)),
        "directives_confirmed_at": Scalar(confirmed, (space_id, space_id)),
    }


async def _current_row(space_id: UUID) -> Row | None:
    # The newest version: no later one replaced it (no look-up for its ``superseded_at``).
    return await fetch_one(
        f"SELECT {_COLUMNS}, NULL AS superseded_at, {_LAST_CONFIRMED} FROM directive_versions "
        "WHERE space_id = {} ORDER BY version DESC LIMIT 1",
        space_id,
    )


async def current_directives(space_id: UUID, *, timezone: str) -> DirectivesRead | None:
    """The current version (``None`` when none was ever written), revoked or not, as its GET
    answers it (its ETag is of this): whether the trusted person changed since it was written."""
    row = await _current_row(space_id)
    if row is None:
        return None
    current = _current_read(row, now=clock.now(), timezone=timezone)
    if same_designation(current.trusted_person, await trusted_person_copy(space_id)):
        return current
    return msgspec.structs.replace(current, trusted_person_changed=True)


async def every_directive_version(space_id: UUID, *, timezone: str) -> list[DirectivesRead]:
    """Every version, oldest first, each read as the current one is (the export: the directives'
    whole history, as ``GET .../directives/versions`` serves it), each with its own confirmations."""
    rows = await fetch(f"SELECT {_READ} FROM directive_versions WHERE space_id = {{}} ORDER BY version", space_id)
    now = clock.now()
    return [_current_read(row, now=now, timezone=timezone) for row in rows]


async def get_directives(access: SpaceAccess) -> DirectivesRead:
    """The current version, with when it was last reviewed and whether a review is due."""
    current = await current_directives(access.space_id, timezone=access.space.timezone)
    if current is None:
        raise NotFound(_NONE)
    return current


async def list_directive_versions(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> DirectiveVersionPage:
    """Every version, newest first (keyset on the version number)."""
    size = check_limit(limit)
    purpose = f"directive-versions:{access.space_id}"
    before = cursors.place(purpose, cursor, lambda position: cursor_int(position[0], bits=32)) if cursor else 2**31 - 1
    rows = await fetch(
        f"""SELECT {_READ} FROM directive_versions WHERE space_id = {{}} AND version < {{}}
            ORDER BY version DESC LIMIT {{}}""",
        access.space_id,
        before,
        size + 1,
    )
    items = [_version(row) for row in rows[:size]]
    next_cursor = cursors.encode(purpose, [items[-1].version]) if len(rows) > size else None
    return DirectiveVersionPage(items=items, next_cursor=next_cursor)


# The author's (given, family) names: the space's holder as the space names them, and as the identity
# provider does (printed as the signatory); they may differ ("Camille" and "Camille Marie").
AuthorNames = tuple[tuple[str, str], ...]


def _author_names(access: SpaceAccess, identity: AccountIdentity) -> AuthorNames:
    return (
        (access.space.given_name, access.space.family_name),
        (identity.given_name, identity.family_name),
    )


def _content(
    body: DirectivesWrite,
    *,
    author: AuthorNames,
    trusted: TrustedPersonCopy | None,
    in_charge: AuthorNames,
    authorisation_required: bool,
    today: date,
    holder_born: date | None,
) -> tuple[str, DirectivesContent]:
    """The form and what the version says; 422 with every broken rule. A pointer says where
    directives are kept, which is not writing them: it needs no authorisation."""
    errors: list[FieldError] = []
    structured = {
        "situation": body.situation,
        "treatments": body.treatments,
        "reliefOfSuffering": body.relief_of_suffering,
        "deepSedation": body.deep_sedation,
        "organDonation": body.organ_donation,
        "wishes": body.wishes,
        "witnesses": body.witnesses or None,
        "protectionAuthorisation": body.protection_authorisation,
    }
    if body.pointer is not None:
        alone = [
            FieldError("/" + name, "a pointer comes alone: send either the structured form or a pointer")
            for name, value in structured.items()
            if value is not None
        ]
        if alone:
            raise Invalid("Either the structured form or a pointer, not both.", errors + alone)
        if errors:
            raise Invalid("The directives break a rule; nothing was stored.", errors)
        # The trusted person is copied too, as into the structured form: a pointer copied none, so
        # its version said the designation had changed as soon as there was one, and its print
        # named nobody to call (an outside audit).
        pointer = _as_read(body.pointer, DirectivesPointerRead)
        return "pointer", DirectivesContent(pointer=pointer, trusted_person=trusted)
    if body.situation is None:
        errors.append(FieldError("/situation", "required: ill or not_ill (or send only a pointer)"))
    elif not _states_a_wish(body):
        # Directives express the person's will on treatments (CSP L1111-11): a form stating none (organ
        # donation, informative only, aside) was kept and shown "active" to whom treats them (an
        # outside audit).
        errors.append(
            FieldError(
                "",
                "states no wish: give a choice (or a note) for a treatment, the relief of suffering or deep "
                "sedation, or your wishes in words",
            )
        )
    check_authorisation(
        body.protection_authorisation,
        required=authorisation_required,
        today=today,
        holder_born=holder_born,
        errors=errors,
    )
    _check_witnesses(body, author=author, trusted=trusted, in_charge=in_charge, errors=errors)
    if errors:
        raise Invalid("The directives break a rule; nothing was stored.", errors)
    treatments = body.treatments or Treatments()
    return "structured", DirectivesContent(
        situation=body.situation,
        treatments=msgspec.structs.replace(
            treatments,
            **{f.name: _noted(getattr(treatments, f.name)) for f in msgspec.structs.fields(Treatments)},
        ),
        relief_of_suffering=_noted(body.relief_of_suffering or Wish()),
        deep_sedation=_noted(body.deep_sedation or Wish()),
        organ_donation=_noted(body.organ_donation or OrganDonationWish()),
        # Blank wishes are none (an outside review found spaces stored, and printed, as wishes; an
        # audit, zero-width spaces and Hangul fillers, which strip() keeps: nothing visible is blank).
        wishes=_words(body.wishes),
        witnesses=_as_read(body.witnesses, list[WitnessRead]),
        protection_authorisation=_as_read(body.protection_authorisation, ProtectionAuthorisationRead | None),
        trusted_person=trusted,
    )


def _as_read(written: object, kind: Any) -> Any:
    """What was written, as a version keeps it and reads it back (its read type)."""
    return msgspec.convert(msgspec.to_builtins(written), kind)


def _states_a_wish(body: DirectivesWrite) -> bool:
    """Whether the structured form says anything of the person's will on their care."""
    treatments = body.treatments or Treatments()
    wishes = [getattr(treatments, field.name) for field in msgspec.structs.fields(Treatments)]
    wishes += [wish for wish in (body.relief_of_suffering, body.deep_sedation) if wish is not None]
    return _words(body.wishes) is not None or any(
        wish.choice != "not_stated" or _words(wish.note) is not None for wish in wishes
    )


def _words(text: str | None) -> str | None:
    """A text, or none when nothing of it is visible (spaces, zero-width and filler characters)."""
    return text if text is not None and is_visible(text) else None


_W = TypeVar("_W", Wish, OrganDonationWish)


def _noted(wish: _W) -> _W:
    """The wish with a blank note as none (a note of spaces printed as an empty note)."""
    note = _words(wish.note)
    return wish if note == wish.note else msgspec.structs.replace(wish, note=note)


def _check_witnesses(
    body: DirectivesWrite,
    *,
    author: AuthorNames,
    trusted: TrustedPersonCopy | None,
    in_charge: AuthorNames,
    errors: list[FieldError],
) -> None:
    """An author who cannot write has the directives written before two witnesses, one of them the
    trusted person when one is designated (R1111-17). The witnesses attest that the document is the
    author's will: the author is not one of them (an outside audit: the holder was stored as her own
    first witness), nor whom is in charge of a measure protecting the author's person, who can
    neither assist nor represent them in writing directives (L1111-11; an outside audit found the
    guardian accepted as a witness)."""
    witnesses = body.witnesses
    if not witnesses:
        return
    if len(witnesses) != 2:
        errors.append(FieldError("/witnesses", "two witnesses, or none when the author writes them"))
        return
    for index, witness in enumerate(witnesses):
        if any(same_names(witness.given_name, witness.family_name, other=names) for names in author):
            errors.append(
                FieldError(f"/witnesses/{index}", "the author of the directives cannot be one of their witnesses")
            )
        elif any(same_names(witness.given_name, witness.family_name, other=names) for names in in_charge):
            errors.append(
                FieldError(
                    f"/witnesses/{index}",
                    "the person in charge of the protection measure cannot be a witness of the directives "
                    "(CSP L1111-11)",
                )
            )
    first, second = witnesses
    if same_names(first.given_name, first.family_name, other=(second.given_name, second.family_name)):
        errors.append(FieldError("/witnesses/1", "the two witnesses must be two different people"))
    if trusted is not None and not any(
        same_names(w.given_name, w.family_name, other=(trusted.given_name, trusted.family_name)) for w in witnesses
    ):
        errors.append(FieldError("/witnesses", "one of the two witnesses must be the designated trusted person"))


async def _insert_version(
    access: SpaceAccess,
    *,
    version: int,
    status: str,
    form: str | None,
    content: DirectivesContent,
    author: AccountIdentity,
    now: datetime,
) -> None:
    await fetch(
        f"""INSERT INTO directive_versions ({_COLUMNS}, space_id)
            VALUES ({{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}}, {{}})""",
        uuid.uuid4(),
        version,
        status,
        form,
        msgspec.json.encode(content).decode(),
        author.given_name,
        author.family_name,
        author.birthdate,
        author.birthplace,
        author.birthcountry,
        now,
        access.caller.account_id,
        access.actor_name,
        access.space_id,
    )


async def write_directives(
    access: SpaceAccess, body: DirectivesWrite, *, if_match: str | None
) -> tuple[DirectivesRead, bool]:
    """Store a new version (the first needs no ``If-Match``; every later one does). Whether it is
    the first version comes back with it."""
    author = await adult_holder(access, act=_ACT)
    now = clock.now()
    async with write_transaction():
        await lock_records(access.space_id)
        current = await current_directives(access.space_id, timezone=access.space.timezone)
        check_precondition(if_match, current, required=True)
        in_charge = tuple(await in_charge_of_the_person(access.space_id, now))
        form, content = _content(
            body,
            author=_author_names(access, author),
            trusted=await trusted_person_now(access.space_id, current),
            in_charge=in_charge,
            authorisation_required=bool(in_charge),
            today=today_in(access),
            holder_born=author.birthdate,
        )
        version = current.version + 1 if current else 1
        await _insert_version(
            access, version=version, status="active", form=form, content=content, author=author, now=now
        )
        written = await current_directives(access.space_id, timezone=access.space.timezone)
    assert written is not None
    return written, current is None


async def revoke_directives(access: SpaceAccess, *, if_match: str | None) -> DirectivesRead:
    """Revoke the directives: a new version saying ``revoked`` (the former ones stay readable)."""
    author = await adult_holder(access, act="Advance directives are revoked")
    now = clock.now()
    async with write_transaction():
        await lock_records(access.space_id)
        current = await current_directives(access.space_id, timezone=access.space.timezone)
        if current is None:
            raise NotFound(_NONE)
        check_precondition(if_match, current, required=True)
        if current.status == "revoked":
            raise Conflict("These advance directives are revoked already.")
        await _insert_version(
            access,
            version=current.version + 1,
            status="revoked",
            form=None,
            content=DirectivesContent(),
            author=author,
            now=now,
        )
        revoked = await current_directives(access.space_id, timezone=access.space.timezone)
    assert revoked is not None
    return revoked


async def confirm_directives(access: SpaceAccess, *, if_match: str | None) -> DirectivesRead:
    """The author reread the current version and keeps it: a review, no new version (the reminder
    starts again from now). ``If-Match``, when sent, makes sure it is the version they read."""
    await adult_holder(access, act="Advance directives are confirmed")
    async with write_transaction():
        await lock_records(access.space_id)
        current = await current_directives(access.space_id, timezone=access.space.timezone)
        if current is None:
            raise NotFound(_NONE)
        check_precondition(if_match, current, required=False)
        if current.status == "revoked":
            raise Conflict("Revoked directives have nothing to confirm: write new ones.")
        await fetch(
            """INSERT INTO directive_reviews (space_id, id, version, reviewed_at, reviewed_by_account_id)
               VALUES ({}, {}, {}, {}, {})""",
            access.space_id,
            uuid.uuid4(),
            current.version,
            clock.now(),
            access.caller.account_id,
        )
        confirmed = await current_directives(access.space_id, timezone=access.space.timezone)
    assert confirmed is not None
    return confirmed
