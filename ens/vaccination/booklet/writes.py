"""Recording, correcting and deleting entries: the status the writer gives (declared or validated),
who may change which entry, and one entry per vaccine and full day as the writer sees the booklet,
under the space's booklet counter."""

from __future__ import annotations

import uuid
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import require_if_match
from ens.core.db import Row, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import Conflict, FieldError, Forbidden, Invalid
from ens.spaces.door import SpaceAccess, visible_to
from ens.spaces.history import note_hidden_item_removed
from ens.spaces.matrix import access_matrix
from ens.spaces.rights import Action
from ens.vaccination.booklet.checks import Checked, Draft, _check, _merged
from ens.vaccination.booklet.reads import _entry, _entry_row, body_of, read_of
from ens.vaccination.engine.dates import PartialDate
from ens.vaccination.schemas import VaccinationCreate, VaccinationRead, VaccinationUpdate

DECLARED = "declared"
VALIDATED = "validated"


_COLUMNS = (
    "space_id, id, vaccine_id, vaccine_name, vaccine_key, diseases, date_text, date_precision, earliest_on, "
    "latest_on, dose_number, lot_number, administered_by, location, note, status, recorded_by_role, "
    "recorded_by_account_id, recorded_by_client_id, recorded_by_name, created_at, updated_at, "
    "hidden_from_representatives"
)


async def _lock_booklet(space_id: UUID) -> None:
    """Take the space's booklet counter (held until the transaction ends)."""
    await fetch(
        """INSERT INTO vaccination_booklets (space_id, revision) VALUES ({}, 1)
           ON CONFLICT (space_id) DO UPDATE SET revision = vaccination_booklets.revision + 1""",
        space_id,
    )


async def _entry_that_day(
    access: SpaceAccess, vaccine_key: str, when: PartialDate, *, other_than: UUID | None, hidden: bool | None
) -> UUID | None:
    """The entry of this vaccine on this full day, other than ``other_than``, that the booklet
    holds (never one for a date that is no full day): with the visibility ``hidden`` when given,
    else among the entries the caller sees. The unique index holds one entry per vaccine, full day
    and visibility."""
    if not when.exact:
        return None
    sql = """SELECT id FROM vaccinations WHERE space_id = {} AND vaccine_key = {} AND earliest_on = {}
             AND date_precision = 'day'"""
    args: list[object] = [access.space_id, vaccine_key, when.start]
    if hidden is None:
        sql += visible_to(access)
    else:
        sql += " AND hidden_from_representatives = {}"
        args.append(hidden)
    if other_than is not None:
        sql += " AND id <> {}"
        args.append(other_than)
    row = await fetch_one(sql + " ORDER BY id LIMIT 1", *args)
    return None if row is None else as_uuid(row["id"])


async def _refuse_duplicate(access: SpaceAccess, checked: Checked, *, other_than: UUID | None = None) -> None:
    """One entry per vaccine and full day as the caller sees the booklet: a 409 naming the entry of
    that day they see. A representative (or an app one connected) does not collide with an entry
    hidden from them: theirs is recorded beside it, as if it did not exist (a 409 would tell them it
    does). Whoever does not see hidden entries never writes one (hiding is the holder's, or a
    professional's on a minor's space), so the entries they see are all those the unique index
    compares theirs with (one per vaccine, full day and ``hidden_from_representatives``)."""
    existing = await _entry_that_day(access, checked.vaccine_key, checked.when, other_than=other_than, hidden=None)
    if existing is not None:
        raise Conflict(
            f"This vaccine is already in the booklet on {checked.when.text}: entry {existing}.",
            [FieldError("/date", f"same vaccine, same day as entry {existing}")],
        )


async def _refuse_twin(
    access: SpaceAccess, entry_id: UUID, *, vaccine_key: str, when: PartialDate, hidden: bool
) -> None:
    """Hiding an entry, or showing it again, while the same vaccine the same day is in the booklet
    with that visibility already (a representative recorded it beside the hidden one): two entries
    of one injection shown to the representatives, or two hidden, is what the booklet never holds.
    Only who sees both may hide or show, so the entry is named."""
    existing = await _entry_that_day(access, vaccine_key, when, other_than=entry_id, hidden=hidden)
    if existing is None:
        return
    shown = "hidden from" if hidden else "shown to"
    raise Conflict(
        f"This vaccine is already in the booklet on {when.text}, {shown} the representatives: entry {existing}. "
        "Remove one of the two entries first.",
        [FieldError("/hiddenFromRepresentatives", f"same vaccine, same day as entry {existing}, {shown} them")],
    )


async def record_vaccination(access: SpaceAccess, body: VaccinationCreate) -> VaccinationRead:
    """Add an entry to the booklet: ``validated`` when a professional who may vaccinate writes it,
    else ``declared``."""
    draft = Draft(
        vaccine_id=body.vaccine_id,
        vaccine_name=body.vaccine_name,
        diseases=body.diseases,
        date=body.date,
        dose_number=body.dose_number,
        lot_number=body.lot_number,
        administered_by=body.administered_by,
        location=body.location,
        note=body.note,
    )
    if body.hidden_from_representatives:
        access.require(Action.HIDE_FROM_REPRESENTATIVES)
    checked = await _check(access, draft)
    _refuse_an_incomplete_record(access, draft, checked)
    entry_id = uuid.uuid4()
    access.names_new_item(entry_id, "vaccination")
    now = clock.now()
    recorded_by = access.client_name if access.role == "app" else access.actor_name
    async with write_transaction():
        await _lock_booklet(access.space_id)
        await _refuse_duplicate(access, checked)
        await fetch(
            f"INSERT INTO vaccinations ({_COLUMNS}) VALUES ({', '.join(['{}'] * 23)})",
            access.space_id,
            entry_id,
            *_entry_values(checked, draft),
            status_written_by(access),
            access.role,
            access.caller.account_id,
            access.caller.client_id,
            recorded_by,
            now,
            now,
            body.hidden_from_representatives,
        )
        return await _entry(access, entry_id)


def _entry_values(checked: Checked, draft: Draft) -> tuple[object, ...]:
    """What an entry stores of its vaccine, date and administration, in the order of the columns
    ``vaccine_id`` to ``note`` (the INSERT and the UPDATE name them so)."""
    return (
        checked.vaccine_id,
        checked.vaccine_name,
        checked.vaccine_key,
        " ".join(checked.diseases),
        checked.when.text,
        checked.when.precision,
        checked.when.start,
        checked.when.end,
        draft.dose_number,
        draft.lot_number,
        draft.administered_by,
        draft.location,
        draft.note,
    )


def _refuse_an_incomplete_record(access: SpaceAccess, draft: Draft, checked: Checked) -> None:
    """What a nurse or a midwife records (or validates) names the day and the lot number (DOMAIN.md
    §5; ``records_lot_number`` in the access matrix): 422."""
    if access.role != "professional" or not access_matrix().records_lot_number(access.profession):
        return
    errors = []
    if not checked.when.exact:
        errors.append(FieldError("/date", "a full day (YYYY-MM-DD): a nurse or a midwife records the date"))
    if not (draft.lot_number or "").strip():
        errors.append(FieldError("/lotNumber", "required: a nurse or a midwife records the lot number"))
    if errors:
        raise Invalid("A nurse or a midwife records the vaccine, the day and the lot number.", errors)


def status_written_by(access: SpaceAccess) -> str:
    """``validated`` for a professional whose profession may vaccinate (the access matrix)."""
    if access.role == "professional" and access_matrix().vaccinates(access.profession or ""):
        return VALIDATED
    return DECLARED


def _may_validate(access: SpaceAccess, row: Row) -> None:
    """A professional who may vaccinate validates a declared entry, whoever recorded it."""
    if access.role != "professional" or not access_matrix().vaccinates(access.profession or ""):
        raise Forbidden("Only a health professional who may vaccinate validates an entry.")
    if row["status"] == VALIDATED:
        raise Conflict("This entry is validated already.", [FieldError("/status", "validated already")])


def _may_change(access: SpaceAccess, row: Row) -> None:
    if row["status"] == VALIDATED and access.role != "professional":
        raise Forbidden("A validated entry is changed by a health professional only.")
    if access.role == "app" and (
        row["recorded_by_role"] != "app" or row["recorded_by_client_id"] != access.caller.client_id
    ):
        raise Forbidden("An app may change only the entries it recorded.")
    # A professional writes what they gave (or saw given): they change or remove their own entries,
    # not the person's (which would still say the person recorded them), nor another
    # professional's. As with measures and documents.
    recorded_by = row["recorded_by_account_id"] if row["recorded_by_role"] == "professional" else None
    access.refuse_a_professional_on_others(recorded_by, verb="changes or removes", noun="vaccinations")


async def update_vaccination(
    access: SpaceAccess, entry_id: UUID, *, update: VaccinationUpdate, if_match: str | None
) -> VaccinationRead:
    """Correct an entry (it keeps its status), and/or hide it from the representatives or show
    it again (the holder alone; any entry); a professional who may vaccinate validates a declared
    entry (``status``), which becomes theirs. Every check is made before anything is written.

    A correction that leaves the vaccine and the date as they were is no duplicate, even beside the
    other entry of the same injection that a representative recorded (see
    :func:`_refuse_duplicate`): only an entry moved to another vaccine or day is compared."""
    requested = access.hiding(update.hidden_from_representatives)
    async with write_transaction():
        await _lock_booklet(access.space_id)
        row = await _entry_row(access, entry_id)
        current = read_of(row)
        require_if_match(if_match, body_of(current))
        vaccine_key, when = str(row["vaccine_key"]), PartialDate.parse(current.date)
        corrected: tuple[Checked, Draft] | None = None
        validating = update.status == VALIDATED
        if update.corrects_entry():
            if validating:
                _may_validate(access, row)
            else:
                _may_change(access, row)
            draft = _merged(current, update)
            checked = await _check(access, draft)
            # Validating, or changing the day or the lot: what they then vouch for names both. A note
            # added to an entry recorded before the rule is no new record (a review).
            touches = not (
                isinstance(update.date, msgspec.UnsetType) and isinstance(update.lot_number, msgspec.UnsetType)
            )
            if validating or touches:
                _refuse_an_incomplete_record(access, draft, checked)
            if (checked.vaccine_key, checked.when) != (vaccine_key, when):
                await _refuse_duplicate(access, checked, other_than=entry_id)
            corrected, vaccine_key, when = (checked, draft), checked.vaccine_key, checked.when
        recorded_by = row["recorded_by_account_id"] if row["recorded_by_role"] == "professional" else None
        changed = access.hiding_change(current.hidden_from_representatives, requested, recorded_by, noun="vaccinations")
        hidden = current.hidden_from_representatives if changed is None else changed
        if changed is not None:
            await _refuse_twin(access, entry_id, vaccine_key=vaccine_key, when=when, hidden=hidden)
        # Every check made, the entry changes in one statement: its date and its visibility move
        # together (one after the other, the first met the unique index at the old date's twin).
        if corrected is not None:
            await fetch(
                """UPDATE vaccinations SET vaccine_id = {}, vaccine_name = {}, vaccine_key = {}, diseases = {},
                       date_text = {}, date_precision = {}, earliest_on = {}, latest_on = {}, dose_number = {},
                       lot_number = {}, administered_by = {}, location = {}, note = {},
                       hidden_from_representatives = {}, updated_at = {}
                   WHERE space_id = {} AND id = {}""",
                *_entry_values(*corrected),
                hidden,
                clock.now(),
                access.space_id,
                entry_id,
            )
            if validating:
                # The professional vouches for it now: theirs, as if they had recorded it; who had
                # declared it stays said (the right side of SET reads the row as it was).
                await fetch(
                    "UPDATE vaccinations SET status = {}, recorded_by_role = 'professional', "
                    "recorded_by_account_id = {}, recorded_by_client_id = {}, recorded_by_name = {}, "
                    "declared_by_role = recorded_by_role, declared_by_name = recorded_by_name "
                    "WHERE space_id = {} AND id = {}",
                    VALIDATED,
                    access.caller.account_id,
                    access.caller.client_id,
                    access.actor_name,
                    access.space_id,
                    entry_id,
                )
        elif changed is not None:
            await fetch(
                "UPDATE vaccinations SET hidden_from_representatives = {}, updated_at = {} "
                "WHERE space_id = {} AND id = {}",
                hidden,
                clock.now(),
                access.space_id,
                entry_id,
            )
        return await _entry(access, entry_id)


async def delete_vaccination(access: SpaceAccess, entry_id: UUID, *, if_match: str | None) -> None:
    """Remove an entry from the booklet."""
    async with write_transaction():
        await _lock_booklet(access.space_id)
        row = await _entry_row(access, entry_id)
        require_if_match(if_match, body_of(read_of(row)))
        _may_change(access, row)
        await fetch("DELETE FROM vaccinations WHERE space_id = {} AND id = {}", access.space_id, entry_id)
        await note_hidden_item_removed(access.space_id, entry_id, hidden=bool(row["hidden_from_representatives"]))
