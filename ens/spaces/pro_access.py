"""The professional's side of a space: asking the holder for access, emergency access ("bris de
glace"), the list of their patients — and the holder's answers to access requests.

Outside the space door (a professional asking for access does not see the space yet): these
functions take the professional's id from their token, and each writes what it did to the space's
access history itself, in its own transaction.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request

from ens.core import clock
from ens.core.api import Cursors, Page, check_limit, time_and_id
from ens.core.clock import as_date, aware, aware_or_none
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound
from ens.core.local_time import EARLIEST_YEAR, today_furthest_ahead
from ens.core.mail import Mailer
from ens.core.names import same_names
from ens.core.owed_mail import OwedNotice, Told, tell_each
from ens.spaces.caller import Caller
from ens.spaces.door import (
    SpaceAccess,
    SpaceRef,
    authorisation_runs,
    minors_space,
    request_id_of,
    security_log,
    space_ref,
)
from ens.spaces.history import KEPT_REQUEST, PendingAccess, record_access, record_with_write
from ens.spaces.matrix import access_matrix
from ens.spaces.notifications import recipients, whose_space
from ens.spaces.owed_notices import announce_all_owed
from ens.spaces.professionals import decision, get_professional, grant_authorisation, serialise_decisions
from ens.spaces.schemas import (
    AccessRequestRead,
    AccessRequestReceived,
    EmergencyAccessCreate,
    EmergencyAccessRead,
    PatientAccessRequest,
    PatientRead,
    ProfessionalRead,
)

log = logging.getLogger("ens.spaces.pro_access")

EMERGENCY_ACCESS_TTL = timedelta(hours=24)
# The one answer to every access request, matched or not.
RECEIVED = AccessRequestReceived(
    status="received",
    detail="If this person has a health space, they are asked to approve your request from their phone.",
)


# ---------------------------------------------------------------------------------------------
# Access requests


async def request_access(professional_id: UUID, body: PatientAccessRequest) -> AccessRequestReceived:
    """A professional asks to be authorised on the space of the person they name by the traits their
    identity provider gives (family name, given name, birthdate, birthplace when born in France).

    The answer is always :data:`RECEIVED`, whether a space matched or not, and the work is the same
    either way — the candidates by birthdate (index ``spaces_birthdate``), one INSERT whose SELECT
    finds zero or more spaces — so neither the body nor the time says whether the person has a
    space. No e-mail goes out here (its time would tell): the holder sees pending requests in the
    app. A request already pending for the same space and professional is not repeated, and a
    professional the holder blocked, or whose authorisation runs, asks in vain (the same answer,
    nothing reaches the holder: one authorised was a request the holder could not approve, 409).

    Only a space whose holder signed in reaches a request: its names, birthdate and birthplace are
    what their identity provider vouched for. A child's space has none of that — a parent declared
    its identity, and anyone may declare a space for any name and birthdate — so a request matching
    it could go to a stranger's copy of a real child's space, whose "parent" would approve it and
    receive what the professional then writes. A child's professionals are authorised by a parent
    from the app (``POST /v1/spaces/{space}/professionals``).
    """
    # A birthdate no one can have is a mistake told as one (still before anything is looked up): a
    # software that sent 2086 for 1986 was answered "received" and waited for ever (an outside audit).
    # Tomorrow somewhere is today in the zone furthest ahead (UTC+14): no one's real birthdate is refused.
    if not date(EARLIEST_YEAR, 1, 1) <= body.birthdate <= today_furthest_ahead():
        raise Invalid(
            "The birthdate is not one a person can have.",
            [FieldError("/birthdate", f"must fall between {EARLIEST_YEAR}-01-01 and today")],
        )
    candidates = await fetch(
        """SELECT s.id, s.given_name, s.family_name, a.birthplace FROM spaces s
           JOIN accounts a ON a.id = s.holder_account_id
           WHERE s.birthdate = {} AND s.status = 'open'""",
        body.birthdate,
    )
    matched = [
        as_uuid(row["id"])
        for row in candidates
        if same_names(row["given_name"], row["family_name"], other=(body.given_name, body.family_name))
        and (body.birthplace is None or row["birthplace"] is None or row["birthplace"] == body.birthplace)
    ]
    now = clock.now()
    # Padded with the nil UUID (no space has it), so the statement is the same whatever matched.
    wanted = (matched + [uuid.UUID(int=0)] * 2)[:2] if len(matched) <= 2 else matched
    placeholders = ", ".join(["{}"] * len(wanted))
    async with write_transaction():
        await fetch(
            f"""INSERT INTO access_requests (space_id, id, professional_id, status, created_at)
                SELECT s.id, {{}}, {{}}, 'pending', {{}} FROM spaces s
                WHERE s.id IN ({placeholders}) AND NOT EXISTS (
                    SELECT 1 FROM space_professionals b
                    WHERE b.space_id = s.id AND b.professional_id = {{}}
                      AND (b.status = 'blocked' OR (b.status = 'authorised' AND b.since <= {{}} AND b.until > {{}})))
                ON CONFLICT (space_id, professional_id) WHERE status = 'pending' DO NOTHING""",
            uuid.uuid4(),
            professional_id,
            now,
            *wanted,
            professional_id,
            now,
            now,
        )
    return RECEIVED


_REQUESTS = """
SELECT r.id, r.professional_id, r.status, r.created_at, r.decided_at,
       p.national_id, p.given_name, p.family_name, p.profession_code
FROM access_requests r JOIN professionals p ON p.id = r.professional_id
WHERE r.space_id = {}"""


def _kept_out(*, with_hidden: bool) -> str:
    """The condition leaving out the requests kept from the caller (none when ``with_hidden``)."""
    return "" if with_hidden else f" AND NOT {KEPT_REQUEST}"


def _requests(*, with_hidden: bool) -> str:
    return _REQUESTS + _kept_out(with_hidden=with_hidden)


def pending_requests(space_id: UUID, *, with_hidden: bool) -> Scalar:
    """How many access requests await an answer, as one value of the home screen's statement
    (``fetch_scalars``): no e-mail tells of a request (its time would tell whether the person has a
    space), so the home screen does. Read from the partial index of the pending ones
    (``access_requests_pending``); ``with_hidden``: as :func:`list_access_requests`."""
    kept = _kept_out(with_hidden=with_hidden)
    return Scalar(
        f"SELECT COUNT(*) FROM access_requests r WHERE space_id = {{}} AND status = 'pending'{kept}", (space_id,)
    )


def _request_read(row: Row) -> AccessRequestRead:
    return AccessRequestRead(
        id=as_uuid(row["id"]),
        professional_id=as_uuid(row["professional_id"]),
        national_id=row["national_id"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        profession_code=row["profession_code"],
        profession=access_matrix().label(row["profession_code"]),
        status=row["status"],
        created_at=aware(row["created_at"]),
        decided_at=aware_or_none(row["decided_at"]),
    )


async def list_access_requests(
    cursors: Cursors, space_id: UUID, *, with_hidden: bool, limit: int | None, cursor: str | None
) -> Page[AccessRequestRead]:
    """The space's access requests, newest first (index ``access_requests_space``); without
    ``with_hidden`` (a representative), not those of a professional kept from them."""
    size = check_limit(limit)
    purpose = f"access-requests:{space_id}"
    where, args = "", []
    if cursor:
        moment, last_id = cursors.place(purpose, cursor, time_and_id)
        where = " AND (r.created_at < {} OR (r.created_at = {} AND r.id < {}))"
        args = [moment, moment, last_id]
    rows = await fetch(
        _requests(with_hidden=with_hidden) + where + " ORDER BY r.created_at DESC, r.id DESC LIMIT {}",
        space_id,
        *args,
        size + 1,
    )
    items = [_request_read(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = items[-1]
        next_cursor = cursors.encode(purpose, [last.created_at.isoformat(), str(last.id)])
    return Page(items=items, next_cursor=next_cursor)


async def _pending(access: SpaceAccess, request_id: UUID) -> Row:
    row = await fetch_one(
        _requests(with_hidden=access.sees_confidential) + " AND r.id = {}", access.space_id, request_id
    )
    if row is None:
        raise NotFound("No such access request on this space.")
    if row["status"] != "pending":
        raise Conflict(f"This request was {row['status']} already.")
    return row


async def approve_request(access: SpaceAccess, request_id: UUID) -> ProfessionalRead:
    """The holder approves: the professional is authorised for a year (as ``POST .../professionals``).
    One the holder authorised from the app since they asked is answered with the authorisation as it
    stands (it was 409, "renew instead", and the request stayed pending for ever: an outside audit)."""
    now = clock.now()
    async with decision(access):  # approving and refusing at once: one waits, then 409
        row = await _pending(access, request_id)
        await _decide(access, request_id, "approved")
        access.names_subject(f"{row['given_name']} {row['family_name']}")
        professional_id = as_uuid(row["professional_id"])
        running = await fetch_one(
            "SELECT id FROM space_professionals WHERE space_id = {} AND professional_id = {} "
            "AND status = 'authorised' AND since <= {} AND until > {}",
            access.space_id,
            professional_id,
            now,
            now,
        )
        if running is not None:
            return await get_professional(access.space_id, as_uuid(running["id"]), with_hidden=access.sees_confidential)
        return await grant_authorisation(access, professional_id)


async def refuse_request(access: SpaceAccess, request_id: UUID) -> AccessRequestRead:
    """The holder refuses: nothing changes for the professional, who may ask again."""
    async with decision(access):
        pending = await _pending(access, request_id)
        await _decide(access, request_id, "refused")
        access.names_subject(f"{pending['given_name']} {pending['family_name']}")
        row = await fetch_one(_REQUESTS + " AND r.id = {}", access.space_id, request_id)
    assert row is not None
    return _request_read(row)


async def _decide(access: SpaceAccess, request_id: UUID, status: str) -> None:
    await fetch(
        "UPDATE access_requests SET status = {}, decided_at = {}, decided_by = {} WHERE space_id = {} AND id = {}",
        status,
        clock.now(),
        access.caller.account_id,
        access.space_id,
        request_id,
    )


# ---------------------------------------------------------------------------------------------
# Emergency access

EMERGENCY_SUBJECT = "Accès d'urgence à un espace santé"
# The holder's notice, owed from the access's own transaction until sent (the partial index
# emergency_accesses_notice_due (started_at) WHERE notice_due holds the few still owed).
EMERGENCY_NOTICE_OWED = OwedNotice(
    "emergency_accesses",
    alias="e",
    flag="notice_due",
    lease="notice_lease_until",
    order="started_at",
    reads=", p.given_name || ' ' || p.family_name AS actor_name, p.profession_code",
    joins=" JOIN professionals p ON p.id = e.professional_id",
    told="notice_told",
)
EMERGENCY_NOTICE = (
    "Bonjour,\n\n{actor}, {profession}, a ouvert {whose} en accès d'urgence le {day} à {time}. "
    "Cet accès permet de consulter l'espace, sans rien y modifier, pendant 24 heures ; il est inscrit "
    "dans l'historique des accès, avec le motif donné.\n\n"
    "Si vous ne savez pas pourquoi, vous pouvez bloquer ce professionnel ou interdire l'accès d'urgence "
    "depuis l'application, rubrique « Professionnels de santé ».\n\n"
    "Cet e-mail ne contient aucune donnée de santé."
)


async def open_emergency_access(
    professional_id: UUID,
    body: EmergencyAccessCreate,
    *,
    mailer: Mailer,
    client_id: str,
    grant_id: UUID,
    request_id: str,
) -> EmergencyAccessRead:
    """A professional not authorised opens a space in an emergency, stating why: read-only for 24
    hours (the door reads the access on every request), marked in the history with the reason, and
    the holder — for a child's space no one holds, the parents — told by e-mail at once, without the
    reason (it may say something of the person's health) nor any health data.

    Refused (403) when the holder has forbidden emergency access or has blocked this professional;
    409 when the professional is authorised on the space (they need no emergency) or has an
    emergency access to it that runs (one at a time, one notice to the holder); a space that does
    not exist or is closed is 404. Decided after the holder's decisions that run (a block, a
    forbidding), never from a read made before them.

    ``hiddenFromRepresentatives``: the holder is a minor who opposes their parents being told of the
    care (CSP L1111-5). The access, and every request made under it (the door reads the mark with
    the access), are then kept from the representatives: left out of their history, the
    professional out of their list while only this access ties them to the space, and no e-mail to
    the parents (the holder's own still goes). A refused try so marked is kept from them too: its
    reason is the secret; and so is any try of the professional's while such an access of theirs
    runs (a 409, flagged or not, that tells of it). Only while the holder is under 18, as the
    parents' right is decided (midnight of the 18th birthday in the space's time zone): on an
    adult's space it is 422 — a protected adult's representatives are not the parents L1111-5
    speaks of.

    The reason is shown to the holder in their history as written: one holding a direction
    control (an override, embedding or isolate) is 422 as the body is read, as every text of a
    JSON body (:mod:`ens.core.text_direction`: "Accouchement \u202e.ecnegru ed sap" read
    "« Accouchement .» pas de urgence" there: an outside audit)."""
    now = clock.now()
    pending: PendingAccess | None = None
    refusal: Forbidden | Conflict | Invalid | None = None
    async with write_transaction():
        await serialise_decisions(body.space)
        row = await fetch_one(_EMERGENCY_CHECK, now, now, grant_id, professional_id, body.space)
        if row is not None and row["status"] == "open":
            space = space_ref(row)
            actor, profession = row["actor_name"], row["profession_code"]
            minor = minors_space(space, at=now)
            # A try while an access of theirs kept from the representatives runs is refused (409),
            # flagged or not: unflagged, its row told parents who list no such professional that one
            # runs, and gave them its reason (an outside review). Kept from them as that access is.
            kept = (body.hidden_from_representatives and minor) or row["kept_access_until"] is not None
            pending = _history_row(
                space,
                professional_id=professional_id,
                actor_name=actor,
                profession=profession,
                client_id=client_id,
                client_name=row["client_name"],
                reason=body.reason,
                request_id=request_id,
                now=now,
                kept_from_representatives=kept,
            )
            refusal = _emergency_refusal(row, now=now)
            if refusal is None and body.hidden_from_representatives and not minor:
                refusal = Invalid(
                    "hiddenFromRepresentatives is only for a minor's space: CSP L1111-5 lets a holder under "
                    "18 keep care from their parents, and does not cover an adult's representatives (a "
                    "protected adult's tutor). This space's holder is not under 18 today.",
                    [FieldError("/hiddenFromRepresentatives", "only on the space of a holder under 18")],
                )
            if refusal is None:
                opened = await _open_emergency(
                    row, professional_id, reason=body.reason, hidden=body.hidden_from_representatives, now=now
                )
                pending.expected_outcome = 201
                pending.resource_id = str(opened.id)
                await record_with_write(pending, 201)
    if pending is None:
        _refused("emergency_access_no_space", professional_id, request_id)
        raise NotFound("No such space.")
    if refusal is not None:
        pending.expected_outcome = _REFUSAL_STATUS[type(refusal)]
        await record_access(pending, pending.expected_outcome)
        _refused("emergency_access_refused", professional_id, request_id)
        raise refusal
    await announce_emergency(mailer, space, opened.id, actor=actor, profession=profession, started_at=now)
    return opened


_REFUSAL_STATUS: dict[type[DomainError], int] = {Forbidden: 403, Conflict: 409, Invalid: 422}


async def record_emergency_replay(request: Request[Caller, Any, Any], stored: Row) -> None:
    """A retry of an emergency access under the same Idempotency-Key, answered with the first
    answer (the access, or a refusal: 403, 409, 422), is a request naming the space too: it leaves its
    row in the space's history (a first answer of 404 names no space, nor does its replay), kept from
    the representatives as the first one's was."""
    if stored["space_id"] is None:
        return
    now = clock.now()
    # Whether an access of theirs kept from the representatives ran when the first try came (the
    # key's first request): it ends after then, though it may have ended since.
    first_try = aware(stored["created_at"])
    row = await fetch_one(
        _EMERGENCY_CHECK, now, first_try, request.user.grant_id, request.user.account_id, as_uuid(stored["space_id"])
    )
    if row is None:
        return
    opened = msgspec.json.decode(bytes(stored["body"]), type=EmergencyAccessRead) if stored["status"] == 201 else None
    reason = (
        await fetch_one(
            "SELECT reason, hidden_from_representatives FROM emergency_accesses WHERE space_id = {} AND id = {}",
            opened.space,
            opened.id,
        )
        if opened is not None
        else None
    )
    if reason is not None:
        kept = bool(reason["hidden_from_representatives"])
    else:
        # A refusal replayed: kept from the representatives as its first try was, as asked (the
        # same body: the key's request) on a minor's space, or refused by an access kept from them.
        refused_by_a_kept_access = row["kept_access_until"] is not None
        kept = refused_by_a_kept_access or (await _asks_to_hide(request) and minors_space(space_ref(row), at=now))
    pending = _history_row(
        space_ref(row),
        professional_id=request.user.account_id,
        actor_name=row["actor_name"],
        profession=row["profession_code"],
        client_id=request.user.client_id,
        client_name=row["client_name"],
        reason=reason["reason"] if reason else None,
        request_id=request_id_of(request.scope),
        now=now,
        kept_from_representatives=kept,
    )
    pending.resource_id = str(opened.id) if opened is not None else None
    await record_access(pending, int(stored["status"]))


async def _asks_to_hide(request: Request[Caller, Any, Any]) -> bool:
    """Whether the body (a replay's: the first request's) asks ``hiddenFromRepresentatives``."""
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return False
    return isinstance(body, dict) and body.get("hiddenFromRepresentatives") is True


_EMERGENCY_CHECK = """
SELECT s.id, s.status, s.timezone, s.birthdate, s.sex, s.given_name, s.family_name, s.holder_account_id,
       s.emergency_access, sp.status AS pro_status, sp.since AS pro_since, sp.until AS pro_until,
       (SELECT MAX(e.ends_at) FROM emergency_accesses e
        WHERE e.space_id = s.id AND e.professional_id = p.id AND e.ends_at > {}) AS emergency_until,
       (SELECT MAX(e.ends_at) FROM emergency_accesses e
        WHERE e.space_id = s.id AND e.professional_id = p.id AND e.ends_at > {}
          AND e.hidden_from_representatives) AS kept_access_until,
       (SELECT g.client_name FROM grants g WHERE g.id = {}) AS client_name,
       p.given_name || ' ' || p.family_name AS actor_name, p.profession_code
FROM spaces s
JOIN professionals p ON p.id = {}
LEFT JOIN space_professionals sp ON sp.space_id = s.id AND sp.professional_id = p.id
WHERE s.id = {}"""


def _emergency_refusal(row: Row, *, now: datetime) -> Forbidden | Conflict | None:
    if row["pro_status"] == "blocked":
        return Forbidden("The holder has blocked you on this space: no emergency access.")
    if not row["emergency_access"]:
        return Forbidden("The holder has forbidden emergency access to this space.")
    if authorisation_runs(row, now=now):
        return Conflict("You are authorised on this space: open it without an emergency access.")
    if row["emergency_until"] is not None:
        ends = aware(row["emergency_until"]).isoformat()
        return Conflict(f"Your emergency access to this space runs until {ends}.")
    return None


async def _open_emergency(
    row: Row, professional_id: UUID, *, reason: str, hidden: bool, now: datetime
) -> EmergencyAccessRead:
    access_id = uuid.uuid4()
    ends = now + EMERGENCY_ACCESS_TTL
    await fetch(
        "INSERT INTO emergency_accesses (space_id, id, professional_id, reason, started_at, ends_at, notice_due, "
        "hidden_from_representatives) VALUES ({}, {}, {}, {}, {}, {}, TRUE, {})",
        row["id"],
        access_id,
        professional_id,
        reason,
        now,
        ends,
        hidden,
    )
    if row["pro_status"] is None:
        # The holder's list shows who came in, so that they can block them; the parents', not while
        # an access kept from them is all that ties them, nor the holder's own decisions about them
        # (ens.spaces.professionals).
        await fetch(
            "INSERT INTO space_professionals (space_id, id, professional_id, status, created_at, updated_at, "
            "hidden_from_representatives) VALUES ({}, {}, {}, 'emergency', {}, {}, {})",
            row["id"],
            uuid.uuid4(),
            professional_id,
            now,
            now,
            hidden,
        )
    elif not hidden:
        # An access not hidden brings them: the parents are told of it, and list them from now on.
        await fetch(
            "UPDATE space_professionals SET hidden_from_representatives = FALSE "
            "WHERE space_id = {} AND professional_id = {} AND hidden_from_representatives",
            row["id"],
            professional_id,
        )
    return EmergencyAccessRead(
        id=access_id, space=as_uuid(row["id"]), started_at=now, ends_at=ends, hidden_from_representatives=hidden
    )


def _history_row(
    space: SpaceRef,
    *,
    professional_id: UUID,
    actor_name: str,
    profession: str,
    client_id: str,
    client_name: str | None,
    reason: str | None,
    request_id: str,
    now: datetime,
    kept_from_representatives: bool = False,
) -> PendingAccess:
    return PendingAccess(
        space_id=space.id,
        at=now,
        actor_account_id=professional_id,
        actor_name=actor_name,
        client_id=client_id,
        client_name=client_name,
        acting_as="professional",
        actor_kind="professional_emergency",
        action="POST /v1/pro/emergency-access",
        resource_type="space",
        resource_id=None,
        request_id=request_id,
        profession=profession,
        emergency_reason=reason,
        kept_from_representatives=kept_from_representatives,
    )


async def announce_emergency(
    mailer: Mailer, space: SpaceRef, access_id: UUID, *, actor: str, profession: str, started_at: datetime
) -> bool:
    """Tell the holder, or for a child's space no one holds the parents, of the emergency access
    if its notice is still owed (no reason, no health data); whether anyone was told. Claimed before
    the mail goes (the request and ``ens notify`` at once tell no one twice); owed again to those of
    its recipients the mail server failed for (:class:`ens.core.owed_mail.OwedNotice`). An access kept
    from the representatives (CSP L1111-5) is told to the holder only, never to the parents: with
    no holder to tell, no one is, and it is owed no longer."""

    async def tell_of_it(claimed: Row, told_before: frozenset[str]) -> Told:
        # Less whoever turned the notice off (/v1/me/notifications).
        hidden = bool(claimed["hidden_from_representatives"])
        addresses = await recipients(space, "emergency_access", hidden_from_representatives=hidden, at=started_at)
        whose = whose_space(space, at=started_at)
        local = started_at.astimezone(ZoneInfo(space.timezone))
        text = EMERGENCY_NOTICE.format(
            actor=actor,
            profession=access_matrix().label(profession),
            whose=whose,
            day=local.strftime("%d/%m/%Y"),
            time=local.strftime("%H:%M"),
        )
        return await tell_each(mailer, addresses, EMERGENCY_SUBJECT, text, told_before=told_before)

    return await EMERGENCY_NOTICE_OWED.tell_if_owed(
        (space.id, access_id), tell_of_it, reads="id, hidden_from_representatives"
    )


async def send_emergency_notices(mailer: Mailer) -> int:
    """``ens notify``: the emergency accesses whose notice is still owed (the mail server was down,
    or the process stopped right after the access, or after claiming the notice); how many were
    announced to at least one person. A notice the mail server fails for again is owed at the next
    run."""

    async def announce(space: SpaceRef, row: Row) -> bool:
        return await announce_emergency(
            mailer,
            space,
            as_uuid(row["id"]),
            actor=row["actor_name"],
            profession=row["profession_code"],
            started_at=aware(row["started_at"]),
        )

    return await announce_all_owed(EMERGENCY_NOTICE_OWED, announce, mailer)


def _refused(event: str, professional_id: UUID, request_id: str) -> None:
    security_log.warning(
        "professional access refused",
        extra={"event": event, "account_id": str(professional_id), "request_id": request_id},
    )


# ---------------------------------------------------------------------------------------------
# The professional's patients


async def list_patients(
    cursors: Cursors, professional_id: UUID, *, limit: int | None, cursor: str | None
) -> Page[PatientRead]:
    """The spaces this professional is authorised for today, by space id: a page is the next rows
    of the index ``space_professionals_patients_by_space`` from the cursor, each joined to its space."""
    size = check_limit(limit)
    purpose = f"patients:{professional_id}"
    after = cursors.place(purpose, cursor, lambda position: UUID(str(position[0]))) if cursor else uuid.UUID(int=0)
    now = clock.now()
    rows = await fetch(
        """SELECT s.id, s.given_name, s.family_name, s.birthdate, sp.since, sp.until
           FROM space_professionals sp JOIN spaces s ON s.id = sp.space_id
           WHERE sp.professional_id = {} AND sp.status = 'authorised' AND sp.until > {} AND sp.since <= {}
             AND s.status = 'open' AND sp.space_id > {}
           ORDER BY sp.space_id LIMIT {}""",
        professional_id,
        now,
        now,
        after,
        size + 1,
    )
    items = [
        PatientRead(
            space=as_uuid(row["id"]),
            given_name=row["given_name"],
            family_name=row["family_name"],
            birthdate=as_date(row["birthdate"]),
            since=aware(row["since"]),
            until=aware(row["until"]),
        )
        for row in rows[:size]
    ]
    next_cursor = cursors.encode(purpose, [str(items[-1].space)]) if len(rows) > size else None
    return Page(items=items, next_cursor=next_cursor)
