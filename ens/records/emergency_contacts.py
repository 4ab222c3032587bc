"""Emergency contacts: at most 10, in the order to call them (priority 1 first, never a gap).

The trusted person is listed by an entry of their own that holds none of their data: it shows the
current trusted person whenever it is read, so a change of their phone number is seen here too.
Every change of order happens under the space's records lock (``lock_records``): two devices adding
the 10th contact at once cannot make 11.

The holder may hide a contact from the representatives (CSP R1111-50). A representative's list
closes up over it: ``priority`` is each contact's place among those the caller sees, so no gap
gives a hidden one away, and a representative's ``priority`` (adding, moving) means a place in
that list. The limit of 10 is counted the same way, over what the caller sees: a representative
adds while they see fewer than 10, whatever is hidden from them (a refusal at 8 would tell them
that 2 are hidden: an outside audit); the holder adds while there are fewer than 10 in all, shows
a contact again while the representatives see fewer than 10, and hides at most 10. The holder's
list may so reach 20 (``MAX_LISTED``), only when representatives added while some were hidden.
The trusted person's entry is never hidden: the representatives read the trusted person at
``/trusted-person`` anyway.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import Cursors, check_limit, cursor_int
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import Conflict, FieldError, Invalid, NotFound
from ens.core.mail import carried_as_itself
from ens.core.names import same_names
from ens.records.concurrency import check_precondition, lock_records
from ens.records.phones import e164
from ens.records.schemas import (
    MAX_CONTACTS,
    EmergencyContactCreate,
    EmergencyContactPage,
    EmergencyContactRead,
    EmergencyContactUpdate,
    TrustedPersonRead,
)
from ens.spaces.door import SpaceAccess, visible_to
from ens.spaces.history import note_hidden_item_removed
from ens.spaces.rights import Action

_PHONES = msgspec.json.Decoder(list[str])

# Each contact, with the current trusted person's data for the entry that lists them.
_SELECT = """
SELECT c.id, c.priority, c.trusted_person, c.given_name, c.family_name, c.relationship, c.phones, c.email,
       c.hidden_from_representatives, t.given_name AS t_given_name, t.family_name AS t_family_name,
       t.relationship AS t_relationship, t.phone AS t_phone, t.email AS t_email
FROM emergency_contacts c
LEFT JOIN trusted_persons t ON t.space_id = c.space_id AND t.ended_at IS NULL AND c.trusted_person = TRUE
WHERE c.space_id = {} """

_NOT_FOUND = "No such emergency contact in this space."
_TRUSTED_ENTRY = "this entry lists the trusted person: change their details at /trusted-person"
_TRUSTED_SEEN = "this entry lists the trusted person, whom the representatives see at /trusted-person"


def _read(row: Row, *, position: int) -> EmergencyContactRead:
    """A contact as the caller sees it, ``position``-th of the contacts they see."""
    if row["trusted_person"]:
        return EmergencyContactRead(
            id=as_uuid(row["id"]),
            priority=position,
            trusted_person=True,
            given_name=row["t_given_name"] or "",
            family_name=row["t_family_name"] or "",
            relationship=row["t_relationship"],
            phones=[row["t_phone"]] if row["t_phone"] else [],
            email=row["t_email"],
            hidden_from_representatives=bool(row["hidden_from_representatives"]),
        )
    return EmergencyContactRead(
        id=as_uuid(row["id"]),
        priority=position,
        trusted_person=False,
        given_name=row["given_name"],
        family_name=row["family_name"],
        relationship=row["relationship"],
        phones=_PHONES.decode(row["phones"] or "[]"),
        email=row["email"],
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


async def _contacts(space_id: UUID, *, hidden: str) -> list[EmergencyContactRead]:
    """The contacts (``hidden``: the condition leaving out what the caller may not see), numbered
    in the order to call them. Read whole: they are 20 at most (``MAX_LISTED``)."""
    rows = await fetch(_SELECT + hidden + " ORDER BY c.priority", space_id)
    return [_read(row, position=position) for position, row in enumerate(rows, start=1)]


async def _seen(access: SpaceAccess) -> list[EmergencyContactRead]:
    """The contacts the caller sees, each ``priority`` its place among them. For the holder (who
    sees them all) it is the stored priority: they have no gaps.

    A professional whose profession does not read the trusted person (the access matrix) sees
    the entry as any contact: the holder listed them to be called, but which of them is the trusted
    person is not that profession's to know."""
    contacts = await _contacts(access.space_id, hidden=visible_to(access, alias="c"))
    if access.reads("trusted-person"):
        return contacts
    return [msgspec.structs.replace(contact, trusted_person=False) for contact in contacts]


async def _one(access: SpaceAccess, contact_id: UUID) -> EmergencyContactRead:
    """One contact as the caller sees it; a contact hidden from a representative does not exist for them."""
    for contact in await _seen(access):
        if contact.id == contact_id:
            return contact
    raise NotFound(_NOT_FOUND)


async def list_emergency_contacts(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> EmergencyContactPage:
    """The contacts the caller sees, in the order to call them (keyset on the priority)."""
    size = check_limit(limit)
    purpose = f"emergency-contacts:{access.space_id}"
    after = cursors.place(purpose, cursor, lambda position: cursor_int(position[0], bits=32)) if cursor else 0
    rest = [contact for contact in await _seen(access) if contact.priority > after]
    items = rest[:size]
    next_cursor = cursors.encode(purpose, [items[-1].priority]) if len(rest) > size else None
    return EmergencyContactPage(items=items, next_cursor=next_cursor)


async def every_emergency_contact(space_id: UUID, *, with_hidden: bool) -> list[EmergencyContactRead]:
    """All the contacts (20 at most), in the order to call them (for the export). Without
    ``with_hidden`` (a representative's export), those hidden from representatives are left out."""
    return await _contacts(space_id, hidden="" if with_hidden else " AND NOT c.hidden_from_representatives")


async def get_emergency_contact(access: SpaceAccess, contact_id: UUID) -> EmergencyContactRead:
    """One contact (the trusted person's entry shows the trusted person)."""
    return await _one(access, contact_id)


def _phones(phones: list[str], errors: list[FieldError]) -> list[str]:
    parsed: list[str] = []
    for index, phone in enumerate(phones):
        number = e164(phone, pointer=f"/phones/{index}", errors=errors)
        if number in parsed:
            errors.append(FieldError(f"/phones/{index}", "the same number is listed twice"))
        parsed.append(number)
    return parsed


def one_address(email: str | None, *, pointer: str, errors: list[FieldError]) -> None:
    """An e-mail address (a contact's, the trusted person's) is one address, as a message's header
    reads it: the pattern (one "@", no space) took "autre,luc@x.fr", which a header, and the phone
    app's ``mailto:`` link, read as two recipients, and a group ("mailto:luc@x.fr"), a route
    ("autre<luc@x.fr") or a comment ("luc(x@y.fr") (an outside audit of the records; a provider's
    e-mail claim of these shapes was already left out, ``ens.core.mail.carried_as_itself``)."""
    if email is not None and not carried_as_itself(email):
        errors.append(FieldError(pointer, "not one e-mail address (name@domain.fr)"))


def _not_the_holder(access: SpaceAccess, given_name: str, family_name: str, errors: list[FieldError]) -> None:
    """The holder is not their own emergency contact (whom to call when they cannot speak), as they
    are not their own trusted person (an outside audit found them accepted)."""
    if same_names(given_name, family_name, other=(access.space.given_name, access.space.family_name)):
        errors.append(FieldError("/familyName", "the holder's own name: an emergency contact is another person"))


async def _not_listed_twice(
    access: SpaceAccess,
    given_name: str,
    family_name: str,
    *,
    other_than: UUID | None,
    instead: str = "change that entry instead",
    pointer: str = "/familyName",
    ordinary_only: bool = False,
) -> None:
    """One entry a person, among the contacts the caller sees (a hidden one is not told): the same
    contact sent twice (a double tap), or the trusted person listed already and added again, made
    two entries, the copy left behind when the trusted person changed (an outside audit). Their
    names compared as everywhere (case, accents, spacing, invisible characters aside). ``instead``
    and ``pointer``: what the caller does rather than list them again, and where the answer points;
    ``ordinary_only``: the trusted person's entry is left out (it is the one being filled)."""
    rows = await fetch(
        """SELECT c.id, c.priority, c.hidden_from_representatives, c.trusted_person,
                  COALESCE(t.given_name, c.given_name) AS given_name,
                  COALESCE(t.family_name, c.family_name) AS family_name
           FROM emergency_contacts c
           LEFT JOIN trusted_persons t ON c.trusted_person AND t.space_id = c.space_id AND t.ended_at IS NULL
           WHERE c.space_id = {} ORDER BY c.priority""",
        access.space_id,
    )
    seen = [row for row in rows if access.sees_confidential or not row["hidden_from_representatives"]]
    for place, row in enumerate(seen, start=1):
        if as_uuid(row["id"]) == other_than or row["given_name"] is None:
            continue
        if ordinary_only and row["trusted_person"]:
            continue
        if same_names(given_name, family_name, other=(str(row["given_name"]), str(row["family_name"]))):
            raise Conflict(
                f"This person is already an emergency contact (priority {place}): {instead}.",
                [FieldError(pointer, f"already listed, priority {place}")],
            )


class _Entry(NamedTuple):
    """A contact's place in the whole list (hidden ones included)."""

    id: UUID
    priority: int
    hidden: bool


async def _order(space_id: UUID) -> list[_Entry]:
    rows = await fetch(
        "SELECT id, priority, hidden_from_representatives FROM emergency_contacts WHERE space_id = {} "
        "ORDER BY priority",
        space_id,
    )
    return [_Entry(as_uuid(row["id"]), int(row["priority"]), bool(row["hidden_from_representatives"])) for row in rows]


def _seen_of(access: SpaceAccess, ordered: list[_Entry]) -> list[_Entry]:
    return [entry for entry in ordered if access.sees_confidential or not entry.hidden]


def _placed(access: SpaceAccess, others: list[_Entry], entry: _Entry, *, position: int) -> list[_Entry]:
    """``others`` with ``entry`` placed so that it is ``position``-th of the contacts the caller sees:
    just before the one they see there now, or at the end of the whole list when ``position`` is
    past those. For the holder, who sees every contact, that is simply the ``position``-th place."""
    seen = _seen_of(access, others)
    index = others.index(seen[position - 1]) if position <= len(seen) else len(others)
    return [*others[:index], entry, *others[index:]]


async def _renumber(space_id: UUID, ordered: list[_Entry], *, now: datetime) -> None:
    """Give the contacts, in this order, the priorities 1, 2, 3... (only the rows that move are written)."""
    for position, (contact_id, priority, _hidden) in enumerate(ordered, start=1):
        if priority != position:
            await fetch(
                "UPDATE emergency_contacts SET priority = {}, updated_at = {} WHERE space_id = {} AND id = {}",
                position,
                now,
                space_id,
                contact_id,
            )


def _no_room(
    access: SpaceAccess, ordered: list[_Entry], *, pointer: str, then: str, restoring: bool | None = None
) -> Invalid | None:
    """Why one more contact may not be listed, if it may not: a representative counts the contacts
    they see, whoever sees every contact counts them all (the module's docstring). Only the latter
    is told that hidden ones count. An import restoring a hidden contact (``restoring=True``) or
    another (``False``) counts those like it: it brings back a list as long as the export's."""
    counted = _seen_of(access, ordered)
    if restoring is not None and access.sees_confidential:
        counted = [entry for entry in ordered if entry.hidden == restoring]
    if len(counted) < MAX_CONTACTS:
        return None
    told = ", those hidden from representatives included" if access.sees_confidential else ""
    return Invalid(
        f"At most {MAX_CONTACTS} emergency contacts{told}: {then}.",
        [FieldError(pointer, f"at most {MAX_CONTACTS} emergency contacts")],
    )


def _showing_again(ordered: list[_Entry], contact_id: UUID) -> FieldError | None:
    """The holder shows a hidden contact to the representatives again: they may see 10 at most."""
    shown = [entry for entry in ordered if not entry.hidden and entry.id != contact_id]
    if len(shown) < MAX_CONTACTS:
        return None
    return FieldError("/hiddenFromRepresentatives", f"the representatives see {MAX_CONTACTS} contacts already")


def _hiding(ordered: list[_Entry], contact_id: UUID) -> FieldError | None:
    """The holder hides one more contact: 10 at most, so the list stays within ``MAX_LISTED`` (adding
    one hidden needs fewer than 10 in all: this is for hiding one listed)."""
    hidden = [entry for entry in ordered if entry.hidden and entry.id != contact_id]
    if len(hidden) < MAX_CONTACTS:
        return None
    return FieldError("/hiddenFromRepresentatives", f"{MAX_CONTACTS} contacts are hidden already")


async def add_emergency_contact(
    access: SpaceAccess, body: EmergencyContactCreate, *, restoring: bool = False
) -> EmergencyContactRead:
    """Add a contact at ``priority`` among the contacts the caller sees (the end of the list when
    absent); those after it move down. The holder may add it hidden from the representatives.
    ``restoring``: an import's, which may bring back as many as an export holds (``_no_room``)."""
    hidden = bool(access.hiding(body.hidden_from_representatives))
    errors: list[FieldError] = []
    phones = _phones(body.phones, errors)
    one_address(body.email, pointer="/email", errors=errors)
    _not_the_holder(access, body.given_name, body.family_name, errors)
    if errors:
        raise Invalid("The contact breaks a rule; nothing was stored.", errors)
    contact_id = uuid.uuid4()
    access.names_new_item(contact_id, "emergency-contacts")
    now = clock.now()
    async with write_transaction():
        await lock_records(access.space_id)
        if not restoring:
            # An export may hold one person twice: a representative, who does not see a contact the
            # holder hid, may list them again; the import brings back what the export held (a review).
            await _not_listed_twice(access, body.given_name, body.family_name, other_than=None)
        ordered = await _order(access.space_id)
        full = _no_room(access, ordered, pointer="", then="remove one first", restoring=hidden if restoring else None)
        if full:
            raise full
        end = len(_seen_of(access, ordered)) + 1
        position = body.priority or end
        if position > end:
            raise Invalid(
                "The priority is past the end of the list.",
                [FieldError("/priority", f"at most {end} (the end of the list)")],
            )
        last = len(ordered) + 1
        await fetch(
            """INSERT INTO emergency_contacts (space_id, id, priority, trusted_person, given_name, family_name,
                   relationship, phones, email, created_at, updated_at, hidden_from_representatives)
               VALUES ({}, {}, {}, FALSE, {}, {}, {}, {}, {}, {}, {}, {})""",
            access.space_id,
            contact_id,
            last,
            body.given_name.strip(),
            body.family_name.strip(),
            _stripped(body.relationship),
            msgspec.json.encode(phones).decode(),
            body.email,
            now,
            now,
            hidden,
        )
        placed = _placed(access, ordered, _Entry(contact_id, last, hidden), position=position)
        await _renumber(access.space_id, placed, now=now)
        return await _one(access, contact_id)


def _stripped(text: str | None) -> str | None:
    return text.strip() if text is not None else None


def _kept(update: object, current: object) -> object:
    return current if update is msgspec.UNSET else update


async def update_emergency_contact(
    access: SpaceAccess, contact_id: UUID, update: EmergencyContactUpdate, *, if_match: str | None
) -> EmergencyContactRead:
    """Change a contact's details, move it (``priority``, a place among the contacts the caller
    sees): the others close up, no gaps. The holder may hide it from the representatives, or show
    it again (not the trusted person's entry)."""
    hidden = access.hiding(update.hidden_from_representatives)
    now = clock.now()
    async with write_transaction():
        await lock_records(access.space_id)
        current = await _one(access, contact_id)
        check_precondition(if_match, current, required=False)
        errors: list[FieldError] = []
        details = ("given_name", "family_name", "relationship", "phones", "email")
        changed = [name for name in details if getattr(update, name) is not msgspec.UNSET]
        if current.trusted_person:
            errors += [FieldError("/" + _camel(name), _TRUSTED_ENTRY) for name in changed]
            if hidden:
                errors.append(FieldError("/hiddenFromRepresentatives", _TRUSTED_SEEN))
        phones = current.phones
        if isinstance(update.phones, list):
            phones = _phones(update.phones, errors)
        if isinstance(update.email, str):
            one_address(update.email, pointer="/email", errors=errors)
        ordered = await _order(access.space_id)
        end = len(_seen_of(access, ordered))
        if isinstance(update.priority, int) and update.priority > end:
            errors.append(FieldError("/priority", f"at most {end} (the end of the list)"))
        if hidden is not None and hidden != current.hidden_from_representatives:
            error = (_hiding if hidden else _showing_again)(ordered, contact_id)
            errors += [error] if error else []
        names = (str(_kept(update.given_name, current.given_name)), str(_kept(update.family_name, current.family_name)))
        if not current.trusted_person and ("given_name" in changed or "family_name" in changed):
            _not_the_holder(access, *names, errors)
        if errors:
            raise Invalid("The change breaks a rule; nothing was changed.", errors)
        if not current.trusted_person and ("given_name" in changed or "family_name" in changed):
            await _not_listed_twice(access, *names, other_than=contact_id)
        if changed and not current.trusted_person:
            await fetch(
                """UPDATE emergency_contacts SET given_name = {}, family_name = {}, relationship = {}, phones = {},
                       email = {}, updated_at = {} WHERE space_id = {} AND id = {}""",
                str(_kept(update.given_name, current.given_name)).strip(),
                str(_kept(update.family_name, current.family_name)).strip(),
                _stripped(_optional_text(_kept(update.relationship, current.relationship))),
                msgspec.json.encode(phones).decode(),
                _kept(update.email, current.email),
                now,
                access.space_id,
                contact_id,
            )
        if hidden is not None and hidden != current.hidden_from_representatives:
            await fetch(
                "UPDATE emergency_contacts SET hidden_from_representatives = {}, updated_at = {} "
                "WHERE space_id = {} AND id = {}",
                hidden,
                now,
                access.space_id,
                contact_id,
            )
        if isinstance(update.priority, int) and update.priority != current.priority:
            [entry] = [entry for entry in ordered if entry.id == contact_id]
            others = [entry for entry in ordered if entry.id != contact_id]
            await _renumber(access.space_id, _placed(access, others, entry, position=update.priority), now=now)
        return await _one(access, contact_id)


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def remove_emergency_contact(access: SpaceAccess, contact_id: UUID, *, if_match: str | None) -> None:
    """Remove a contact (the trusted person's entry: they are no longer listed); the others close up."""
    async with write_transaction():
        await lock_records(access.space_id)
        current = await _one(access, contact_id)
        if current.trusted_person:
            # Removing this entry changes the trusted person (alsoEmergencyContact): it is done on the
            # trusted person's terms, by who may designate them and against the version read.
            access.require(Action.DESIGNATE_TRUSTED_PERSON)
        check_precondition(if_match, current, required=bool(current.trusted_person))
        await fetch("DELETE FROM emergency_contacts WHERE space_id = {} AND id = {}", access.space_id, contact_id)
        await note_hidden_item_removed(access.space_id, contact_id, hidden=bool(current.hidden_from_representatives))
        await _renumber(access.space_id, await _order(access.space_id), now=clock.now())


# ---------------------------------------------------------------------------------------------
# The trusted person's entry (``ens.records.trusted_person`` keeps it in step)


async def trusted_person_listed(space_id: UUID) -> bool:
    """Whether the trusted person is listed among the emergency contacts."""
    row = await fetch_one("SELECT id FROM emergency_contacts WHERE space_id = {} AND trusted_person = TRUE", space_id)
    return row is not None


async def list_trusted_person(access: SpaceAccess, given_name: str, family_name: str, *, now: datetime) -> None:
    """List the trusted person (``given_name``, ``family_name``, designated in the caller's
    transaction) last, unless their entry is there already. There must be room as ``access`` counts
    it (the module's docstring), and no ordinary contact may be the same person (409)."""
    space_id = access.space_id
    # Listed already as an ordinary contact, the trusted person would be listed twice, their own
    # entry showing whoever is designated (an outside audit of the records found both kept).
    await _not_listed_twice(
        access,
        given_name,
        family_name,
        other_than=None,
        instead="designate them without alsoEmergencyContact, or remove that entry first",
        pointer="/alsoEmergencyContact",
        ordinary_only=True,
    )
    if await trusted_person_listed(space_id):
        return
    ordered = await _order(space_id)
    then = "remove one before listing the trusted person"
    full = _no_room(access, ordered, pointer="/alsoEmergencyContact", then=then)
    if full:
        raise full
    await fetch(
        """INSERT INTO emergency_contacts (space_id, id, priority, trusted_person, created_at, updated_at)
           VALUES ({}, {}, {}, TRUE, {}, {})""",
        space_id,
        uuid.uuid4(),
        len(ordered) + 1,
        now,
        now,
    )


async def keep_former_trusted_person(space_id: UUID, former: TrustedPersonRead, *, now: datetime) -> None:
    """The entry that listed the trusted person becomes an ordinary contact holding ``former``'s
    details, at its place and with its visibility (in the caller's transaction, before another
    trusted person is listed)."""
    await fetch(
        """UPDATE emergency_contacts SET trusted_person = FALSE, given_name = {}, family_name = {}, relationship = {},
               phones = {}, email = {}, updated_at = {}
           WHERE space_id = {} AND trusted_person = TRUE""",
        former.given_name,
        former.family_name,
        former.relationship,
        msgspec.json.encode([former.phone] if former.phone else []).decode(),
        former.email,
        now,
        space_id,
    )


async def unlist_trusted_person(space_id: UUID, *, now: datetime) -> None:
    """Take the trusted person's entry out of the list, if it is there; the others close up."""
    await fetch("DELETE FROM emergency_contacts WHERE space_id = {} AND trusted_person = TRUE", space_id)
    await _renumber(space_id, await _order(space_id), now=now)


def count_emergency_contacts(space_id: UUID, *, with_hidden: bool) -> Scalar:
    """How many contacts are listed (the home screen, :func:`fetch_scalars`); without
    ``with_hidden`` (a representative asks), those hidden from representatives are not counted."""
    hidden = "" if with_hidden else " AND NOT hidden_from_representatives"
    return Scalar(f"SELECT COUNT(*) FROM emergency_contacts WHERE space_id = {{}}{hidden}", (space_id,))
