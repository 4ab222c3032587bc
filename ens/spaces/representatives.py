"""Carers: children's spaces and their parents, the other parent's invitation, court measures, the
curator's consent (DOMAIN.md §2; who may do what: ``ens.spaces.rights``; the hand-over at 18:
``ens.spaces.adulthood``; the codes: ``ens.spaces.codes``)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from ens.core import clock
from ens.core.api import require_unversioned
from ens.core.clock import as_date, aware, aware_or_none
from ens.core.db import Row, as_uuid, fetch, fetch_one, row_lock, serialise, write_transaction
from ens.core.errors import Conflict, FieldError, Forbidden, Gone, Invalid, NotFound
from ens.core.idempotency import KEY_TTL, retry_mark
from ens.core.local_time import today_furthest_ahead
from ens.core.names import same_names, years_later
from ens.spaces.codes import new_code, space_of, take_code, use_code
from ens.spaces.door import SpaceAccess, SpaceRef, adulthood, representation_decisions, security_log
from ens.spaces.history import AccountAction, OperatorAction, account_name, operator_name, operator_text_refused
from ens.spaces.professionals import end_authorisations_decided_by
from ens.spaces.rights import COURT_KINDS, RepresentativeKind
from ens.spaces.schemas import ChildSpaceCreate, InvitationRead, RepresentativeRead, SpaceListItem
from ens.spaces.service import insert_space, space_list_item
from ens.spaces.tables import Representative

log = logging.getLogger("ens.spaces.representatives")

INVITATION_TTL = timedelta(days=7)
MAX_LIVE_INVITATIONS = 5
MAX_PARENTS = 2


# ---------------------------------------------------------------------------------------------
# Children's spaces


async def create_child_space(account_id: UUID, body: ChildSpaceCreate, *, noted: AccountAction) -> SpaceListItem:
    """A logged-in adult creates a minor's space and becomes its representative (kind ``parent``)
    until the child's 18th birthday. The same parent cannot create the same child twice (409)."""
    # The day it is where the child lives (the space's time zone), as every age of a space is
    # reckoned: in UTC, a child born after midnight in Paris was "in the future", and one turning
    # 18 that day in Paris still a minor (a space made for an adult, no parent's right on it).
    today = clock.now().astimezone(ZoneInfo(body.timezone)).date()
    if body.birthdate > today:
        raise Invalid("The birthdate is in the future.", [FieldError("/birthdate", "is in the future")])
    # Under 18 where the day is furthest ahead too (UTC+14): the parent chooses the space's time zone,
    # and a far-west one (Pacific/Pago_Pago, UTC-11) gave a day of a parent's rights over an adult
    # (an outside audit). A child turning 18 within the day is refused a day early: no loss.
    furthest_ahead = today_furthest_ahead()
    if years_later(body.birthdate, 18) <= max(today, furthest_ahead):
        raise Invalid(
            "A child's space is for a minor: an adult signs in with their own identity.",
            [FieldError("/birthdate", "the child must be under 18")],
        )
    parent = await fetch_one("SELECT birthdate FROM accounts WHERE id = {}", account_id)
    parent_birthdate = as_date(parent["birthdate"]) if parent else None
    # As for joining one (accept_invitation): an account whose age is unknown is not taken for an adult.
    if parent_birthdate is None:
        raise Forbidden("Only an adult can create a child's space, and no birthdate is known for this account.")
    if years_later(parent_birthdate, 18) > today:
        raise Forbidden("Only an adult can create a child's space.")
    now = clock.now()
    async with write_transaction():
        # One at a time per parent: two taps on "create" would both find no such child yet.
        await serialise(f"children:{account_id}")
        # A parent represents few children: compared here, case- and accent-case-insensitively
        # (SQLite's LOWER knows only ASCII).
        children = await fetch(
            """SELECT s.id, s.given_name, s.family_name FROM representatives r JOIN spaces s ON s.id = r.space_id
               WHERE r.account_id = {} AND r.kind = 'parent' AND r.revoked_at IS NULL AND s.birthdate = {}""",
            account_id,
            body.birthdate,
        )
        for child in children:
            if same_names(child["given_name"], child["family_name"], other=(body.given_name, body.family_name)):
                raise Conflict(f"You already created this child's space: {as_uuid(child['id'])}.")
        space_id = uuid.uuid4()
        space = SpaceRef(
            id=space_id,
            status="open",
            timezone=body.timezone,
            birthdate=body.birthdate,
            sex=body.sex,
            given_name=body.given_name,
            family_name=body.family_name,
            holder_account_id=None,
        )
        await insert_space(space, now=now)
        await add_representative(
            space_id=space_id, account_id=account_id, kind="parent", since=now, until=adulthood(space), now=now
        )
        await noted.record(space_id, acting_as="representative", actor_kind="parent", outcome=201)
    return space_list_item(space, "parent")


async def add_representative(
    *,
    space_id: UUID,
    account_id: UUID,
    kind: RepresentativeKind,
    since: datetime,
    until: datetime | None,
    now: datetime,
    court_reference: str | None = None,
    relates_to: str = "person",
) -> UUID:
    representative_id = uuid.uuid4()
    await Representative.insert(
        Representative(
            id=representative_id,
            space_id=space_id,
            account_id=account_id,
            kind=kind,
            since=since,
            until=until,
            created_at=now,
            court_reference=court_reference,
            relates_to=relates_to,
        )
    )
    return representative_id


# ---------------------------------------------------------------------------------------------
# The list, leaving, the curator's consent


async def list_representatives(space_id: UUID, *, at: datetime | None = None) -> list[RepresentativeRead]:
    """Who represents the holder (rows nobody ended, oldest first); ``at``: only the rights that
    have not run out by then (a measure that starts later is listed; one whose last day has passed,
    or a parent's right after the child's 18th birthday, is not)."""
    running, args = (" AND (r.until IS NULL OR r.until > {})", (at,)) if at is not None else ("", ())
    rows = await fetch(
        """SELECT r.id, r.account_id, r.kind, r.since, r.until, r.court_reference, r.relates_to, r.consent_until,
                  a.given_name, a.family_name
           FROM representatives r JOIN accounts a ON a.id = r.account_id
           WHERE r.space_id = {} AND r.revoked_at IS NULL"""
        + running
        + " ORDER BY r.since, r.id",
        space_id,
        *args,
    )
    return [
        RepresentativeRead(
            id=as_uuid(row["id"]),
            account_id=as_uuid(row["account_id"]),
            given_name=row["given_name"],
            family_name=row["family_name"],
            kind=row["kind"],
            since=aware(row["since"]),
            until=aware_or_none(row["until"]),
            court_reference=row["court_reference"],
            relates_to=row["relates_to"],
            consent_until=aware_or_none(row["consent_until"]),
        )
        for row in rows
    ]


async def list_for_operator(space_id: UUID, *, operator: str | None) -> list[RepresentativeRead]:
    """``ens representatives list``: who represents the holder, as an operator reads it (names and
    court decisions): a row in the space's history says so, written with the reading."""
    noted = OperatorAction("ens representatives list", operator_name(operator))
    async with write_transaction():
        listed = await list_representatives(space_id)
        await noted.record(space_id, outcome=200)
    return listed


async def leave(access: SpaceAccess, representative_id: UUID, *, if_match: str | None = None) -> None:
    """A parent withdraws their own right. Removing the other parent is an operator's action citing a
    court decision (both parents hold parental authority): refused here. The last one of a space
    that has no holder's account (a child's) may not leave it to nobody: 409, close or erase it."""
    row = await fetch_one(
        "SELECT account_id, kind FROM representatives WHERE space_id = {} AND id = {} AND revoked_at IS NULL",
        access.space_id,
        representative_id,
    )
    if row is None:
        raise NotFound("No such representative of this space.")
    if as_uuid(row["account_id"]) != access.caller.account_id:
        raise Forbidden("A parent can remove only themself; removing the other parent needs a court decision.")
    require_unversioned(if_match)
    await _end(access.space_id, representative_id, reason="withdrew", by_operator=False, keep_one=True)


async def _end(
    space_id: UUID,
    representative_id: UUID,
    *,
    reason: str,
    by_operator: bool,
    noted: OperatorAction | None = None,
    keep_one: bool = False,
) -> None:
    """End a live representation; one that ended meanwhile keeps its date and reason (a court's
    reference is not overwritten by a parent leaving at the same moment): 404, as for an unknown one.
    An operator's end (``noted``) leaves its row in the space's history, with the end.

    The invitations the representative made and nobody used die with their right (an acceptance
    checks the inviter again). Their claim code stays: only the child, identified, can use it to
    take their own space over, which nobody else may then do for them.

    ``keep_one``: refused (409) when it would leave a space without a holder's account to nobody
    (checked under the space's lock on who represents it: two parents leaving at once cannot both go).
    """
    now = clock.now()
    async with write_transaction():
        await serialise(representation_decisions(space_id))  # an acceptance reads who the parents are under it
        if keep_one and await _last_to_reach(space_id, representative_id, now=now):
            raise Conflict(
                "You are the last person who can reach this space, which has no account of its holder yet: "
                "invite the other parent first, or close or erase the space."
            )
        ended = await fetch(
            "UPDATE representatives SET revoked_at = {}, ended_reason = {}, ended_by_operator = {} "
            "WHERE space_id = {} AND id = {} AND revoked_at IS NULL RETURNING account_id, kind",
            now,
            reason,
            by_operator,
            space_id,
            representative_id,
        )
        if ended:
            # The apps they connected to the space lived on their right: disconnected with it.
            await fetch(
                "UPDATE grants SET revoked_at = {} WHERE space_id = {} AND account_id = {} AND kind = 'app' "
                "AND revoked_at IS NULL",
                now,
                space_id,
                as_uuid(ended[0]["account_id"]),
            )
            # So did the professionals they authorised: the authorisation ends now (the holder's
            # list shows it expired; the holder, or another representative, authorises again).
            await end_authorisations_decided_by(space_id, as_uuid(ended[0]["account_id"]), now=now)
            await fetch(
                "UPDATE space_codes SET expires_at = {} WHERE space_id = {} AND created_by = {} "
                "AND purpose = 'invitation' AND used_at IS NULL AND expires_at > {}",
                now,
                space_id,
                as_uuid(ended[0]["account_id"]),
                now,
            )
            if noted is not None:
                await noted.record(
                    space_id,
                    outcome=200,
                    resource_id=representative_id,
                    subject_name=await account_name(as_uuid(ended[0]["account_id"])),
                    subject_kind=ended[0]["kind"],
                )
    if not ended:
        raise NotFound("No such representative of this space.")


async def _last_to_reach(space_id: UUID, representative_id: UUID, *, now: datetime) -> bool:
    """Whether the space has no holder's account and no other right over the person that holds now
    or later."""
    row = await fetch_one(
        """SELECT s.holder_account_id IS NULL AND NOT EXISTS (
                    SELECT 1 FROM representatives r WHERE r.space_id = s.id AND r.id <> {} AND r.relates_to = 'person'
                    AND r.revoked_at IS NULL AND (r.until IS NULL OR r.until > {})) AS alone
           FROM spaces s WHERE s.id = {}""",
        representative_id,
        now,
        space_id,
    )
    return bool(row and row["alone"])


def _full_name(account: Row) -> str:
    return f"{account['given_name']} {account['family_name']}"


# How a right ended that no operator ended, in the words of a refusal to restore it.
_HOW_IT_ENDED = {"withdrew": "the parent withdrew", "holder came of age": "the child came of age"}


async def record_curator_consent(
    access: SpaceAccess, representative_id: UUID, *, until: date | None, if_match: str | None = None
) -> None:
    """The holder consents to a curator's reading until ``until`` (inclusive, in the space's time
    zone), or withdraws consent (``None``)."""
    row = await fetch_one(
        "SELECT kind, until FROM representatives WHERE space_id = {} AND id = {} AND revoked_at IS NULL",
        access.space_id,
        representative_id,
    )
    if row is None:
        raise NotFound("No such representative of this space.")
    if row["kind"] != "curatelle":
        raise Conflict("Only a curator's reading depends on the holder's consent.")
    require_unversioned(if_match)
    today = clock.now().astimezone(_zone(access.space)).date()
    if until is not None and until < today:
        raise Invalid("Consent cannot end in the past.", [FieldError("/until", "is in the past")])
    # Consent to a curator's reading lasts no longer than the measure (its last day, local).
    measure_end = aware_or_none(row["until"])
    last_day = (
        measure_end.astimezone(_zone(access.space)).date() - timedelta(days=1)
        if measure_end is not None
        else years_later(today, MAX_MEASURE_YEARS)
    )
    if until is not None and until > last_day:
        raise Invalid(
            f"Consent cannot run past the measure's last day ({last_day.isoformat()}).",
            [FieldError("/until", f"after {last_day.isoformat()}")],
        )
    ends = None if until is None else _local_midnight(until + timedelta(days=1), access.space)
    async with write_transaction():
        await fetch(
            "UPDATE representatives SET consent_until = {} WHERE space_id = {} AND id = {}",
            ends,
            access.space_id,
            representative_id,
        )


def _zone(space: SpaceRef) -> ZoneInfo:
    return ZoneInfo(space.timezone)


def _local_midnight(day: date, space: SpaceRef) -> datetime:
    return datetime.combine(day, time(0), _zone(space)).astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Codes: the other parent's invitation, the young adult's claim


async def invite_parent(access: SpaceAccess, *, secret_key: str, idempotency_key: str | None) -> InvitationRead:
    """A parent's one-time code for the other parent of a minor: 7 days, single use, at most five
    live ones per space.

    The answer carries the code, shown once, so it is never stored for an ``Idempotency-Key``
    replay: a retry with the same key runs again. Its client lost the first answer and never saw
    that code: the retry's code replaces it (the first is expired), so one key leaves at most one
    live code. Within the key's 24 hours only, as a replay would be; without a key, every request
    makes a code of its own."""
    if access.space.holder_account_id is not None:
        raise Conflict("Only a minor's space, which no holder has taken over, has parents to invite.")
    now = clock.now()
    if len(await _live_parents(access.space_id, now)) >= MAX_PARENTS:
        # A code no one could use (its acceptance would be refused): not made.
        raise Conflict(f"This child already has {MAX_PARENTS} parents in the space: there is no one to invite.")
    mark = None if idempotency_key is None else retry_mark(access.caller.idempotency_scope, idempotency_key)
    async with write_transaction():
        await serialise(f"invitations:{access.space_id}")  # the count, then one more: one at a time
        if mark is not None:
            # Before the count: a retry at the limit replaces its code rather than being refused.
            await fetch(
                "UPDATE space_codes SET expires_at = {} WHERE space_id = {} AND purpose = 'invitation' "
                "AND idempotency_mark = {} AND created_at > {} AND used_at IS NULL AND expires_at > {}",
                now,
                access.space_id,
                mark,
                now - KEY_TTL,
                now,
            )
        live = await fetch(
            "SELECT COUNT(*) AS n FROM space_codes WHERE space_id = {} AND purpose = 'invitation' "
            "AND used_at IS NULL AND expires_at > {}",
            access.space_id,
            now,
        )
        if int(live[0]["n"]) >= MAX_LIVE_INVITATIONS:
            raise Conflict(f"At most {MAX_LIVE_INVITATIONS} invitations may wait at once; let one expire.")
        expires_at = now + INVITATION_TTL
        code = await new_code(
            secret_key,
            space_id=access.space_id,
            purpose="invitation",
            created_by=access.caller.account_id,
            expires_at=expires_at,
            idempotency_mark=mark,
        )
    return InvitationRead(code=code, expires_at=expires_at, kind="parent")


async def accept_invitation(account_id: UUID, code: str, *, secret_key: str, noted: AccountAction) -> SpaceListItem:
    """Another logged-in adult accepting a parent's invitation becomes a parent of the child: while
    the parent who made the code still is one, if the child has fewer than two parents, and unless an
    operator ended this account's right as this child's parent (a court decision)."""
    row = await take_code(account_id, code, purpose="invitation", secret_key=secret_key)
    space_id = as_uuid(row["space_id"])
    space = await space_of(space_id)
    now = clock.now()
    if space.birthdate is None or now >= adulthood(space):
        raise Conflict("This child has come of age: parents can no longer join the space.")
    if space.holder_account_id == account_id:
        raise Conflict("You are this space's holder.")
    await _another_adult(account_id, space, today=now.astimezone(_zone(space)).date())
    async with write_transaction():
        # Who the parents are, then one more: one decision at a time per space (two acceptances at
        # once would each count one parent; a parent leaving would leave their code usable).
        await serialise(representation_decisions(space_id))
        # A closed space takes no one (a code made before it closed let another adult join, then
        # reopen it: an outside audit); the code waits for the space to be reopened. Read under a
        # share lock: a close committing meanwhile is waited for, and seen.
        status = await fetch_one(f"SELECT status FROM spaces WHERE id = {{}}{row_lock('SHARE')}", space_id)
        if status is None:  # erased meanwhile (a review: it was told closed, to be reopened)
            raise NotFound("No such space.")
        if status["status"] == "closed":
            raise Gone("This space is closed: no one joins it until a parent reopens it.")
        if await _live_right(space_id, account_id) is not None:
            raise Conflict("You already represent this child.")
        last = await _last_parent_right(space_id, account_id)
        if last is not None and last["ended_by_operator"]:
            raise Forbidden(
                "An operator ended your right as this child's parent (a court decision): "
                "an invitation cannot give it back."
            )
        live = await _live_parents(space_id, now)
        if as_uuid(row["created_by"]) not in live:
            raise Conflict("The parent who made this invitation no longer represents the child: it is void.")
        if len(live) >= MAX_PARENTS:
            raise Conflict(f"This child already has {MAX_PARENTS} parents in the space.")
        await use_code(space_id, as_uuid(row["id"]), account_id=account_id)
        await add_representative(
            space_id=space_id, account_id=account_id, kind="parent", since=now, until=adulthood(space), now=now
        )
        await noted.record(space_id, acting_as="representative", actor_kind="parent", outcome=200)
    return space_list_item(space, "parent")


async def _another_adult(account_id: UUID, space: SpaceRef, *, today: date) -> None:
    """A parent joining a child's space is an adult, and not the child (:func:`_why_not_a_parent`)."""
    account = await fetch_one("SELECT given_name, family_name, birthdate FROM accounts WHERE id = {}", account_id)
    why = _why_not_a_parent(account, space, today=today)
    if why == "age unknown":
        raise Forbidden("Only an adult can join a child's space, and no birthdate is known for this account.")
    if why == "the child":
        raise Forbidden("This is your own space: a child cannot be their own parent.")
    if why == "a minor":
        raise Forbidden("Only an adult can join a child's space as a parent.")


def _why_not_a_parent(
    account: Row | None, space: SpaceRef, *, today: date
) -> Literal["age unknown", "the child", "a minor"] | None:
    """Why ``account`` (its names and birthdate) cannot be a parent of the child of ``space``, if it
    cannot: it is the child (identified as a claim is: birthdate and names), or a minor, or its age
    is unknown (a birthdate the identity provider did not give proves nothing)."""
    birthdate = as_date(account["birthdate"]) if account else None
    if account is None or birthdate is None:
        return "age unknown"
    if birthdate == space.birthdate and same_names(
        account["given_name"], account["family_name"], other=(space.given_name, space.family_name)
    ):
        return "the child"
    if years_later(birthdate, 18) > today:
        return "a minor"
    return None


async def _live_right(space_id: UUID, account_id: UUID) -> Row | None:
    """The account's live representation of the space, if any (its id and kind): at most one."""
    return await fetch_one(
        "SELECT id, kind FROM representatives WHERE space_id = {} AND account_id = {} AND revoked_at IS NULL",
        space_id,
        account_id,
    )


async def _last_parent_right(space_id: UUID, account_id: UUID) -> Row | None:
    """The account's latest right as a parent of this space, live or ended (and how it ended)."""
    return await fetch_one(
        "SELECT revoked_at, ended_reason, ended_by_operator FROM representatives WHERE space_id = {} "
        "AND account_id = {} AND kind = 'parent' ORDER BY created_at DESC LIMIT 1",
        space_id,
        account_id,
    )


async def in_charge_of_the_person(space_id: UUID, now: datetime) -> list[tuple[str, str]]:
    """The names (given, family) of whom is in charge of a protection measure with representation
    relating to the holder's person at ``now`` (:func:`represented_as_a_person`): they can neither
    assist nor represent the person writing advance directives (CSP L1111-11)."""
    rows = await fetch(
        "SELECT a.given_name, a.family_name FROM representatives r JOIN accounts a ON a.id = r.account_id "
        "WHERE r.space_id = {} AND r.kind IN ('tutelle', 'habilitation_familiale') AND r.relates_to = 'person' "
        "AND r.revoked_at IS NULL AND r.since <= {} AND (r.until IS NULL OR r.until > {})",
        space_id,
        now,
        now,
    )
    return [(str(row["given_name"]), str(row["family_name"])) for row in rows]


async def represented_as_a_person(space_id: UUID, now: datetime) -> bool:
    """Whether the holder is under a protection measure with representation relating to the person
    (a tutelle or an habilitation familiale in force at ``now``, not one relating only to property;
    a curatelle assists, it does not represent): such a person writes advance directives and
    designates a trusted person with the judge's or the family council's authorisation (CSP L1111-6,
    L1111-11)."""
    return bool(await in_charge_of_the_person(space_id, now))


async def _live_parents(space_id: UUID, now: datetime) -> set[UUID]:
    """The accounts that are the child's parents at ``now``: read under ``representation_decisions`` before one
    more is added (at most ``MAX_PARENTS``)."""
    parents = await fetch(
        "SELECT account_id FROM representatives WHERE space_id = {} AND kind = 'parent' "
        "AND revoked_at IS NULL AND since <= {} AND (until IS NULL OR until > {})",
        space_id,
        now,
        now,
    )
    return {as_uuid(parent["account_id"]) for parent in parents}


# ---------------------------------------------------------------------------------------------
# Court measures (operators only: checking the decision is their job)


@dataclass(frozen=True)
class CourtMeasure:
    space_id: UUID
    account_id: UUID
    kind: RepresentativeKind
    court_reference: str
    since: date
    until: date | None
    relates_to: Literal["person", "property"]


# A protection measure is ordered, or renewed, for at most 20 years (Code civil, art. 441 and 442:
# five, ten or, on renewal, twenty); a later end is a typing mistake (and past year 9999 a date no
# one can store: an outside review's "9999-12-31" was a 500).
MAX_MEASURE_YEARS = 20


async def add_court_measure(measure: CourtMeasure, *, operator: str | None = None) -> UUID:
    """An operator records a protection measure for an adult's space (``ens representatives add``),
    with its row in the space's history (``operator``: their name, if they gave it)."""
    noted = OperatorAction("ens representatives add", operator_name(operator))
    if measure.kind not in COURT_KINDS:
        raise Invalid(
            f"A court measure is one of {', '.join(COURT_KINDS)}.", [FieldError("/kind", "not a court measure")]
        )
    refused = operator_text_refused("/courtReference", measure.court_reference.strip())
    if refused is not None:
        raise Invalid("The court decision's reference is required.", [refused])
    space = await space_of(measure.space_id)
    if space.holder_account_id is None:
        raise Conflict("A minor's space is represented by the parents, not by a court measure.")
    if space.holder_account_id == measure.account_id:
        raise Conflict("The holder cannot represent themself.")
    if measure.until is not None and measure.until < measure.since:
        raise Invalid("The measure must end after it starts.", [FieldError("/until", "before since")])
    if measure.since > years_later(clock.now().date(), 1):
        raise Invalid("A court measure starts within a year from today.", [FieldError("/since", "too far ahead")])
    if measure.until is not None and measure.until > years_later(measure.since, MAX_MEASURE_YEARS):
        raise Invalid(
            f"A court measure is ordered for at most {MAX_MEASURE_YEARS} years.",
            [FieldError("/until", f"more than {MAX_MEASURE_YEARS} years after since")],
        )
    now = clock.now()
    async with write_transaction():
        account = await fetch_one("SELECT given_name, family_name FROM accounts WHERE id = {}", measure.account_id)
        if account is None:
            raise NotFound("No such account: the representative signs in once before a measure names them.")
        existing = await fetch_one(
            "SELECT id, until FROM representatives WHERE space_id = {} AND account_id = {} AND revoked_at IS NULL",
            measure.space_id,
            measure.account_id,
        )
        if existing is not None:
            if existing["until"] is None or aware(existing["until"]) > now:
                raise Conflict(f"This account already represents the holder ({as_uuid(existing['id'])}): end it first.")
            # A measure past its last day is closed here, so its renewal can be recorded.
            await fetch(
                "UPDATE representatives SET revoked_at = {}, ended_reason = 'expired' WHERE space_id = {} AND id = {}",
                now,
                measure.space_id,
                as_uuid(existing["id"]),
            )
        representative_id = await add_representative(
            space_id=measure.space_id,
            account_id=measure.account_id,
            kind=measure.kind,
            since=_local_midnight(measure.since, space),
            # The decision's last day is included: the right ends at the midnight that follows it.
            until=None if measure.until is None else _local_midnight(measure.until + timedelta(days=1), space),
            now=now,
            court_reference=measure.court_reference.strip(),
            relates_to=measure.relates_to,
        )
        await noted.record(
            measure.space_id,
            outcome=201,
            resource_id=representative_id,
            subject_name=_full_name(account),
            subject_kind=measure.kind,
        )
    security_log.warning(
        "court measure added",
        extra={
            "event": "court_measure_added",
            "space_id": str(measure.space_id),
            "representative_id": str(representative_id),
            "operator": noted.operator,
            "request_id": noted.request_id,
        },
    )
    return representative_id


async def end_court_measure(
    space_id: UUID, representative_id: UUID, *, reason: str, operator: str | None = None
) -> None:
    """An operator ends a measure (or removes a parent, citing a court decision), with its row in the
    space's history (``operator``: their name, if they gave it; the reason is not in the row)."""
    noted = OperatorAction("ens representatives end", operator_name(operator))
    refused = operator_text_refused("/reason", reason.strip())
    if refused is not None:
        raise Invalid("Say why (the court decision's reference).", [refused])
    row = await fetch_one(
        "SELECT space_id FROM representatives WHERE space_id = {} AND id = {} AND revoked_at IS NULL",
        space_id,
        representative_id,
    )
    if row is None:
        raise NotFound("No such live representation.")
    await _end(as_uuid(row["space_id"]), representative_id, reason=reason.strip(), by_operator=True, noted=noted)
    security_log.warning(
        "representation ended by an operator",
        extra={
            "event": "representation_ended",
            "representative_id": str(representative_id),
            "operator": noted.operator,
            "request_id": noted.request_id,
        },
    )


async def restore_parent(
    space_id: UUID, account_id: UUID, *, court_reference: str, operator: str | None = None
) -> UUID:
    """A court gave back a parent's authority (an appeal, a new judgement) that an operator had ended
    (``ens representatives end``): the operator records the account as a parent of the child again,
    with the decision's reference (``ens representatives restore-parent``), until the 18th birthday.

    Only on a minor's space nobody has claimed, for an adult other than the child who is not a parent
    of it now, while the child has fewer than ``MAX_PARENTS``, and only when the account's last right
    as this child's parent was ended by an operator: anyone else joins with the other parent's
    invitation. Any refusal writes nothing; a restoration writes its row in the space's history
    (``operator``: their name, if they gave it; the reference is not in the row)."""
    noted = OperatorAction("ens representatives restore-parent", operator_name(operator))
    reference = court_reference.strip()
    refused = operator_text_refused("/courtReference", reference)
    if refused is not None:
        raise Invalid("The court decision that restores the parent's authority is required (its reference).", [refused])
    space = await space_of(space_id)
    if space.holder_account_id is not None:
        raise Conflict(
            "This space has its holder (an adult's own space, or a child's space the young adult has claimed): "
            "only a minor's space managed by the parents has parents."
        )
    now = clock.now()
    if space.birthdate is None or now >= adulthood(space):
        raise Conflict("This child has come of age: a parent's right cannot be restored on the space.")
    account = await fetch_one("SELECT given_name, family_name, birthdate FROM accounts WHERE id = {}", account_id)
    if account is None:
        raise NotFound("No such account: the parent signs in once before their right is restored.")
    why = _why_not_a_parent(account, space, today=now.astimezone(_zone(space)).date())
    if why == "age unknown":
        raise Conflict("No birthdate is known for this account: only an adult can be restored as a parent.")
    if why == "the child":
        raise Conflict(
            "This account is the child's own (same birthdate and names): a child cannot be their own parent."
        )
    if why == "a minor":
        raise Conflict("This account is a minor's: only an adult can be restored as a parent.")
    async with write_transaction():
        # Who the parents are, then one more: the lock an invitation's acceptance and an end take.
        await serialise(representation_decisions(space_id))
        existing = await _live_right(space_id, account_id)
        if existing is not None:
            raise Conflict(
                f"This account already represents the child ({existing['kind']}, {as_uuid(existing['id'])}): "
                "nothing to restore."
            )
        last = await _last_parent_right(space_id, account_id)
        if last is None:
            raise Conflict(
                "This account was never this child's parent in the space: only a parent whose right an operator "
                "ended is restored; another parent joins with the other parent's invitation."
            )
        if not last["ended_by_operator"]:
            how = _HOW_IT_ENDED.get(last["ended_reason"], f"it ended: {last['ended_reason']}")
            raise Conflict(
                f"This account's last right as this child's parent was not ended by an operator ({how}): "
                "the other parent's invitation is the way back."
            )
        if len(await _live_parents(space_id, now)) >= MAX_PARENTS:
            raise Conflict(
                f"This child already has {MAX_PARENTS} parents in the space: an operator ends one first "
                "(ens representatives end), citing the court decision."
            )
        representative_id = await add_representative(
            space_id=space_id,
            account_id=account_id,
            kind="parent",
            since=now,
            until=adulthood(space),
            now=now,
            court_reference=reference,
        )
        await noted.record(
            space_id,
            outcome=201,
            resource_id=representative_id,
            subject_name=_full_name(account),
            subject_kind="parent",
        )
    security_log.warning(
        "parent's right restored by an operator",
        extra={
            "event": "parent_restored",
            "space_id": str(space_id),
            "representative_id": str(representative_id),
            "operator": noted.operator,
            "request_id": noted.request_id,
        },
    )
    return representative_id
