"""The 18th birthday: a parent's right ends that day (the door computes it on every request: no job
that might not run), a parent can make a claim code from the 17th birthday (an operator, once the
birthday has passed), the parents are told three months before, and the young adult takes the
space over with their own identity."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from ens.core import clock
from ens.core.clock import as_date
from ens.core.db import Row, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import Conflict, Forbidden, Invalid
from ens.core.local_time import local_midnight
from ens.core.mail import Mailer
from ens.core.owed_mail import OwedNotice, Told, tell_each
from ens.spaces.caller import Caller
from ens.spaces.codes import BY_AN_OPERATOR, OperatorNote, new_code, space_of, take_code, use_code
from ens.spaces.door import (
    SPACE_REF_COLUMNS,
    SpaceAccess,
    SpaceRef,
    adulthood,
    birthday,
    erasure_begun,
    security_log,
    space_ref,
)
from ens.spaces.history import AccountAction, OperatorAction, operator_text_refused
from ens.spaces.schemas import ClaimCodeRead, SpaceListItem
from ens.spaces.service import erase_space, hold_for_erasure, holds_data, space_list_item, ties_to_others

log = logging.getLogger("ens.spaces.adulthood")

# A claim code made from the 17th birthday stays usable three months past the 18th.
CLAIM_AFTER_ADULTHOOD = timedelta(days=92)
NOTICE_BEFORE = timedelta(days=91)  # "three months before"
# An operator's code goes to the person whose identity they checked, by hand or by post: a month.
OPERATOR_CODE_LIFETIME = timedelta(days=30)

_ADULTHOOD_SOON_KIND = "adulthood_soon"
# The parents' notice, a row of space_notices (found by its space's unique (space_id, kind)): owed
# from its writing, claimed under a lease, told to each parent once (ens.core.owed_mail). Found due
# by the spaces' birthdates (send_adulthood_notices), not by OwedNotice.due.
ADULTHOOD_NOTICE = OwedNotice(
    "space_notices",
    alias="n",
    lease="lease_until",
    order="sent_at",
    flag="owed",
    key=("space_id", "kind"),
    told="told",
)

ADULTHOOD_SOON = (
    "Bonjour,\n\n{given_name} aura 18 ans le {day}. Ce jour-là, votre accès de parent à son espace santé "
    "prendra fin : l'espace lui reviendra. Vous pouvez dès maintenant créer, depuis l'application, le code "
    "qui lui permettra de le reprendre avec sa propre identité.\n\nCet e-mail ne contient aucune donnée de santé."
)


def adulthood_soon(space: SpaceRef, now: datetime) -> bool:
    """Within three months of the 18th birthday (the home screen and the notice say so): from the
    local midnight 91 days before that day, in the space's time zone (91 times 24 hours back from
    the birthday's midnight may fall an hour off when the clocks changed in between)."""
    if space.birthdate is None:
        return False
    comes_of_age = adulthood(space)
    from_day = comes_of_age.astimezone(_zone(space)).date() - NOTICE_BEFORE
    return local_midnight(from_day, _zone(space)) <= now < comes_of_age


async def create_claim_code(access: SpaceAccess, *, secret_key: str) -> ClaimCodeRead:
    """A parent's code for the child to take the space over, from the child's 17th birthday."""
    space = access.space
    if space.holder_account_id is not None or space.birthdate is None:
        raise Conflict("This space already has its holder.")
    now = clock.now()
    if now < birthday(space, 17):
        raise Conflict("A claim code can be made from the child's 17th birthday.")
    async with write_transaction():
        # Three months after the 18th, on the space's calendar: the midnight starting that day there.
        expires_at = local_midnight(_adulthood_day(space) + CLAIM_AFTER_ADULTHOOD, _zone(space))
        code = await new_code(
            secret_key, space_id=space.id, purpose="claim", created_by=access.caller.account_id, expires_at=expires_at
        )
    return ClaimCodeRead(code=code, expires_at=expires_at, adulthood_on=_adulthood_day(space))


async def issue_claim_code(space_id: UUID, *, operator: str, reason: str, secret_key: str) -> ClaimCodeRead:
    """An operator's claim code for a young adult whose parents made none before the 18th birthday,
    or whose code expired (``ens claim-codes issue``): from the birthday a parent's right has ended,
    so nobody else could. The operator checked the person's identity first; their name and reason
    stay on the code's row and go to the operators' log. The code works as a parent's does (the
    claim still checks the birthdate of the identity that enters it); a minor's space, where the
    parents make it, and a space that has its holder are refused. The space's history says an
    operator (by the name given) issued a code, not their reason: the young adult reads it once the
    space is theirs."""
    note = OperatorNote(name=operator.strip(), reason=reason.strip())
    errors = [
        refused
        for pointer, text in (("/operator", note.name), ("/reason", note.reason))
        if (refused := operator_text_refused(pointer, text)) is not None
    ]
    if errors:
        raise Invalid("Say who checked the identity, and how (the check and its reference).", errors)
    space = await space_of(space_id)
    if space.holder_account_id is not None:
        raise Conflict("This space already has its holder.")
    if space.birthdate is None:
        raise Conflict("This space has no birthdate: nobody can claim it.")
    if clock.now() < adulthood(space):
        raise Conflict(
            f"This space's holder is a minor until {_adulthood_day(space):%d/%m/%Y}: "
            "a parent makes the claim code (from the 17th birthday)."
        )
    expires_at = clock.now() + OPERATOR_CODE_LIFETIME
    noted = OperatorAction("ens claim-codes issue", note.name)
    async with write_transaction():
        code = await new_code(
            secret_key,
            space_id=space.id,
            purpose="claim",
            created_by=BY_AN_OPERATOR,
            expires_at=expires_at,
            operator=note,
        )
        await noted.record(space.id, outcome=201)
    security_log.warning(
        "claim code issued by an operator",
        extra={
            "event": "claim_code_issued",
            "space_id": str(space.id),
            "operator": note.name,
            "reason": note.reason,
            "request_id": noted.request_id,
        },
    )
    return ClaimCodeRead(code=code, expires_at=expires_at, adulthood_on=_adulthood_day(space))


def _adulthood_day(space: SpaceRef) -> date:
    assert space.birthdate is not None
    return adulthood(space).astimezone(_zone(space)).date()


def _zone(space: SpaceRef) -> ZoneInfo:
    return ZoneInfo(space.timezone)


async def claim_space(caller: Caller, code: str, *, secret_key: str, noted: AccountAction) -> SpaceListItem:
    """The young adult, signed in with their own identity, takes their space over.

    Their provider's birthdate must be the space's (a provider's presumed ``YYYY-01-01`` in the same
    year is accepted). The space becomes theirs with everything in it; the parents' links end (kept
    in the history). The empty space their first sign-in created for them is removed; one holding
    data is not merged, and one that gives others a standing (a court measure, a professional, an
    app) is not erased (409, naming what stands in the way).
    """
    account_id, client_id = caller.account_id, caller.client_id
    row = await take_code(account_id, code, purpose="claim", secret_key=secret_key)
    space = await space_of(as_uuid(row["space_id"]))
    if space.holder_account_id is not None:
        raise Conflict("This space already has its holder.")
    if space.birthdate is None or clock.now() < adulthood(space):
        raise Conflict(
            f"You can take your space over from your 18th birthday ({_adulthood_day(space):%d/%m/%Y}); "
            "until then your parents look after it."
        )
    account = await fetch_one("SELECT birthdate FROM accounts WHERE id = {}", account_id)
    born = as_date(account["birthdate"]) if account else None
    if born is None or space.birthdate is None or not _same_person(born, space.birthdate):
        security_log.warning(
            "claim refused: birthdates differ", extra={"event": "claim_refused", "account_id": str(account_id)}
        )
        raise Forbidden("Your identity's birthdate is not this space's: ask whoever gave you the code.")
    now = clock.now()
    async with write_transaction():
        own = await fetch_one(f"SELECT {SPACE_REF_COLUMNS} FROM spaces WHERE holder_account_id = {{}}", account_id)
        if own is not None:
            # Held first: a measure an app is writing into it this instant is seen (409), not erased.
            await hold_for_erasure(as_uuid(own["id"]))
            if await holds_data(as_uuid(own["id"])):
                raise Conflict(
                    "You already keep data in your own space: taking this one over would leave two. "
                    "Ask an operator to merge them."
                )
            # Nor what gives others a standing there (a tutor's court measure, an app, a professional):
            # erased with the space, it would end unseen. Refused rather than carried over: the space
            # taken over holds the childhood record none of them was given, and a court measure is
            # recorded on a space only by an operator who checked the decision.
            ties = await ties_to_others(space_ref(own), now=now)
            if ties:
                raise Conflict(
                    f"Your own space gives others a standing that taking this one over would erase with it "
                    f"({'; '.join(ties)}). Nothing was changed. Resolve them first, then enter the code again: "
                    "an operator ends a court measure there and records it on this space once it is yours; "
                    "you revoke apps and professionals, and answer access requests, in your own space."
                )
            # The empty space the first sign-in made goes, with the operators' record of it.
            await erase_space(
                as_uuid(own["id"]),
                account_id=account_id,
                client_id=client_id,
                acting_as="holder",
                request_id=noted.request_id,
            )
        await use_code(space.id, as_uuid(row["id"]), account_id=account_id)
        # Only a space that still has no holder: two claims at once (each parent may make a code)
        # both passed the check above; the second is refused here and everything it did rolls back.
        taken = await fetch(
            "UPDATE spaces SET holder_account_id = {}, updated_at = {} WHERE id = {} AND holder_account_id IS NULL "
            "RETURNING id",
            account_id,
            now,
            space.id,
        )
        if not taken:
            raise Conflict("This space already has its holder.")
        # Its row held now (the UPDATE), an erasure that passed its point of no return before is
        # seen: the space is closed, its documents unreadable, and its erasure will be finished (the
        # same request sent again, or ens purge). Taken over, it was given to the young adult, their
        # own space erased to make room, then erased under them (a review).
        if await erasure_begun(space.id):
            raise Conflict(
                "This space is being erased: a parent erased it before your 18th birthday, and it cannot "
                "be taken over. Nothing was changed."
            )
        await fetch(
            "UPDATE representatives SET revoked_at = {}, ended_reason = 'holder came of age' "
            "WHERE space_id = {} AND kind = 'parent' AND revoked_at IS NULL",
            now,
            space.id,
        )
        await noted.record(space.id, acting_as="holder", actor_kind=None, outcome=200)
    return space_list_item(msgspec.structs.replace(space, holder_account_id=account_id), "holder")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


def _same_person(provider_birthdate: date, space_birthdate: date) -> bool:
    presumed = provider_birthdate.month == 1 and provider_birthdate.day == 1
    return provider_birthdate == space_birthdate or (presumed and provider_birthdate.year == space_birthdate.year)


async def send_adulthood_notices(mailer: Mailer, *, now: datetime | None = None) -> int:
    """Tell the parents, once each, three months before a child comes of age (``ens notify``,
    daily); how many notices went to at least one parent. Not of a closed space (closed by a parent,
    or at its erasure's point of no return): the notice says the code can be made now, and there it
    is 410 (an outside audit of the e-mails); reopened within the three months, the next run tells.

    Owed as every notice that must not be lost (:class:`ens.core.owed_mail.OwedNotice`): the first
    run to find it due writes its row owed, then claims it under a lease, tells, and settles. The
    row was written as sent before the e-mails went: a process stopped in between lost the notice
    for good (a review); now the first run once its lease has passed sends it. A parent the mail
    server failed for is told by the next run, the other not again."""
    at = now or clock.now()
    rows = await fetch(
        """SELECT s.id, s.given_name, s.family_name, s.birthdate, s.sex, s.timezone, s.status, s.holder_account_id
           FROM spaces s WHERE s.holder_account_id IS NULL AND s.birthdate <= {} AND s.birthdate >= {}
             AND s.status = 'open'
             AND NOT EXISTS (SELECT 1 FROM space_notices n
                             WHERE n.space_id = s.id AND n.kind = 'adulthood_soon' AND NOT n.owed)""",
        # A day more than the UTC date says on each side: a space's own day may be ahead of it or
        # behind (each is then checked in its time zone, adulthood_soon). The lower bound leaves out
        # those already of age, who never claimed their space, read every day for ever before; with
        # it, the partial index spaces_unheld_birthdate reads three months of births (a scale audit).
        _years_before((at + NOTICE_BEFORE + timedelta(days=1)).date(), 18),
        _years_before((at - timedelta(days=1)).date(), 18),
    )
    sent = 0
    for row in rows:
        if mailer.stopped:  # the mail server unreachable: the rest are due at the next run
            break
        space = space_ref(row)
        if not adulthood_soon(space, at):
            continue
        sent += await _announce_adulthood(mailer, space, at=at)
    return sent


async def _announce_adulthood(mailer: Mailer, space: SpaceRef, *, at: datetime) -> bool:
    """The parents' notice of ``space`` owed (its row written, unless it is), then told if no other
    run holds it; whether any parent was told."""
    async with write_transaction():
        await fetch(
            "INSERT INTO space_notices (space_id, id, kind, sent_at, owed) VALUES ({}, {}, {}, {}, TRUE) "
            "ON CONFLICT (space_id, kind) DO NOTHING",
            space.id,
            uuid.uuid4(),
            _ADULTHOOD_SOON_KIND,
            at,
        )
    text = ADULTHOOD_SOON.format(given_name=space.given_name, day=_adulthood_day(space).strftime("%d/%m/%Y"))
    # The child named in the subject: a parent of several saw "Bientôt 18 ans" (a review).
    subject = f"{space.given_name} aura bientôt 18 ans"

    async def tell_parents(claimed: Row, told_before: frozenset[str]) -> Told:
        # The parents as they are once the notice is claimed.
        parents = await fetch(
            """SELECT a.id, a.email FROM representatives r JOIN accounts a ON a.id = r.account_id
               WHERE r.space_id = {} AND r.kind = 'parent' AND r.revoked_at IS NULL AND a.email IS NOT NULL""",
            space.id,
        )
        to = [(str(as_uuid(parent["id"])), str(parent["email"])) for parent in parents]
        return await tell_each(mailer, to, subject, text, told_before=told_before)

    return await ADULTHOOD_NOTICE.tell_if_owed((space.id, _ADULTHOOD_SOON_KIND), tell_parents)
