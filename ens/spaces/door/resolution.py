"""The door's one query (the caller's grant, the space they name, their standing on it), and who the
caller is on that space today; :func:`representation_kind` decides for ``GET /v1/me`` too."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast
from uuid import UUID

from ens.core.clock import aware
from ens.core.db import Row, fetch_one, row_lock
from ens.spaces.caller import Caller
from ens.spaces.door.companion import Companion, Prefetched, prefetched_columns, with_companion
from ens.spaces.door.space import SpaceRef, adulthood, minors_space, space_ref
from ens.spaces.rights import Action, ActorKind, allows

# One query: the grant, the space, and the caller's representation of it if any (at most one
# live row per space and account: a partial unique index) — or, for a professional, their
# profession, the holder's decision about them on this space (one row per space and professional)
# and their live emergency access, its reason and whether it is kept from the representatives (index
# ``emergency_accesses_live``; one runs at a time). Whether a representation or
# an authorisation is valid *today* is decided in Python, every request.
_DOOR_SQL = """
SELECT g.revoked_at AS grant_revoked_at, g.kind AS grant_kind, g.space_id AS grant_space_id,
       g.account_id AS grant_account_id, g.client_name AS client_name, g.created_at AS grant_created_at,
       s.id AS space_id, s.id, s.status, s.timezone, s.birthdate, s.sex, s.given_name, s.family_name,
       s.holder_account_id, s.emergency_access AS space_emergency_access,
       r.kind AS rep_kind, r.since AS rep_since, r.until AS rep_until, r.relates_to AS rep_relates_to,
       r.consent_until AS rep_consent_until, r.created_at AS rep_created_at,
       (SELECT a.given_name || ' ' || a.family_name FROM accounts a WHERE a.id = {}) AS actor_name,
       p.profession_code AS pro_profession, sp.status AS pro_status, sp.since AS pro_since, sp.until AS pro_until,
       (SELECT e.reason FROM emergency_accesses e
        WHERE e.space_id = s.id AND e.professional_id = p.id AND e.ends_at > {}
        ORDER BY e.ends_at DESC LIMIT 1) AS emergency_reason,
       (SELECT e.hidden_from_representatives FROM emergency_accesses e
        WHERE e.space_id = s.id AND e.professional_id = p.id AND e.ends_at > {}
        ORDER BY e.ends_at DESC LIMIT 1) AS emergency_hidden
FROM grants g
LEFT JOIN spaces s ON SPACE_MATCH
LEFT JOIN representatives r ON r.space_id = s.id AND r.account_id = {} AND r.revoked_at IS NULL
LEFT JOIN professionals p ON p.id = {}
LEFT JOIN space_professionals sp ON sp.space_id = s.id AND sp.professional_id = p.id
WHERE g.id = {}
"""

# Built once: the door runs on every request under /v1/spaces/{space}.
_SPACE_BY_ID = _DOOR_SQL.replace("SPACE_MATCH", "s.id = {}")
_OWN_SPACE = _DOOR_SQL.replace("SPACE_MATCH", "s.holder_account_id = {}")
# The door's query again, first thing in a request's write (:func:`resolve_held_space`), the space's
# row read by the locking SELECT: one that waited on a close or an erasure reads the row as that
# left it (PostgreSQL, read committed, re-reads a row it locks after a wait), where a join reads the
# statement's snapshot (an outside review: a write that waited on a close passed as if the space
# were open).
# The caller's grant is held too (``FOR SHARE``, after the space's row: the EXISTS reads ``held``
# first), and read as locked: a revocation then waits for the writes its grant has under way, and
# answers once they are committed; read by the join alone, a batch that passed the door before the
# holder disconnected its app committed after the holder was answered (an outside audit of races).
# The locked row is its newest version, so a revocation that committed while this statement waited
# on the space is seen (``grant_held``), where the join reads the statement's snapshot. In the same
# statement: a second one cost a round trip a write.
_HELD_SPACE = (
    "WITH held AS MATERIALIZED (SELECT * FROM spaces WHERE id = {}HELD_LOCK), "
    "grant_lock AS MATERIALIZED (SELECT revoked_at FROM grants WHERE id = {} AND EXISTS (SELECT 1 FROM held)"
    "GRANT_LOCK) "
    + _DOOR_SQL.replace("LEFT JOIN spaces s ON SPACE_MATCH", "LEFT JOIN held s ON true").replace(
        "SELECT g.revoked_at AS grant_revoked_at,",
        "SELECT (SELECT 1 FROM grant_lock WHERE revoked_at IS NULL) AS grant_held, g.revoked_at AS grant_revoked_at,",
    )
)


async def resolve_space(
    caller: Caller, space_param: str, *, now: datetime, companion: Companion | None = None
) -> tuple[Row | None, SpaceRef | None, ActorKind | None, Prefetched | None]:
    """One query: the grant (``None`` if it no longer exists), the space named by ``space_param``,
    and the role the grant gives on it — whether or not the grant is still live (:func:`is_live`);
    with ``companion``, in the same statement, the rows of that read for the space resolved
    (``ens.spaces.door.companion``)."""
    if space_param == "me":
        if caller.kind == "app":
            sql, match_arg = _SPACE_BY_ID, caller.space_id
        else:
            sql, match_arg = _OWN_SPACE, caller.account_id
    else:
        try:
            sql, match_arg = _SPACE_BY_ID, UUID(space_param)
        except ValueError:
            sql, match_arg = _SPACE_BY_ID, None
    person, professional = _people(caller)
    # Placeholders in textual order: actor, now (emergency, twice), space match, representative
    # account, professional, grant.
    door_args = (caller.account_id, now, now, match_arg, person, professional, caller.grant_id)
    prefetched = None
    if companion is None:
        row = await fetch_one(sql, *door_args)
    else:
        row = await fetch_one(with_companion(sql, companion.sql, companion.columns), *door_args, *companion.args)
        prefetched = prefetched_columns(row, companion) if row is not None else None
    if row is None or row["space_id"] is None:
        return row, None, None, None
    space = space_ref(row)
    return row, space, _kind(caller, row, space=space, now=now), prefetched


async def resolve_held_space(
    caller: Caller, space_id: UUID, *, now: datetime, mode: Literal["KEY SHARE", "UPDATE"] = "KEY SHARE"
) -> tuple[Row | None, SpaceRef | None, ActorKind | None]:
    """:func:`resolve_space` for the space the door resolved, inside a write transaction, holding
    the space's row until it ends (PostgreSQL: ``FOR KEY SHARE``, what each row naming the space
    takes at its insert anyway, taken before any other lock as an erasure takes it; SQLite's write
    lock serialises). No space (``None``) when it was erased meanwhile.

    ``mode`` ``UPDATE``: a change to the whole space (closing, erasing, reopening) holds the row
    for it from the start. Taken ``KEY SHARE`` and then ``FOR UPDATE``, two such changes each held
    what the other waited for (PostgreSQL ended one: a 500); a change that only serialises on the
    row takes ``FOR NO KEY UPDATE``, which ``KEY SHARE`` does not block (nor does an app's batch,
    whose lock on its space's row of ``vital_deletion_free_spaces`` is on another table:
    ``ens.vitals.ingest._FLAG_PART``)."""
    sql = _HELD_SPACE.replace("HELD_LOCK", row_lock(mode)).replace("GRANT_LOCK", row_lock("SHARE"))
    person, professional = _people(caller)
    # Placeholders in textual order: the held space, the held grant, actor, now (emergency, twice),
    # representative account, professional, grant.
    row = await fetch_one(
        sql, space_id, caller.grant_id, caller.account_id, now, now, person, professional, caller.grant_id
    )
    if row is None or row["space_id"] is None:
        return row, None, None
    if is_live(caller, row) and row["grant_held"] is None:
        return None, None, None  # revoked while this statement waited on the space's row
    space = space_ref(row)
    return row, space, _kind(caller, row, space=space, now=now)


def professional_decisions(space_id: UUID) -> str:
    """The key the holder's decisions about the space's professionals serialise on
    (``ens.spaces.professionals.serialise_decisions``), which a professional's write takes too."""
    return f"professionals:{space_id}"


def representation_decisions(space_id: UUID) -> str:
    """The key the decisions on who represents the space serialise on (an acceptance, an end, a
    parent restored: ``ens.spaces.representatives``), which a representative's write takes too."""
    return f"representatives:{space_id}"


def _people(caller: Caller) -> tuple[UUID | None, UUID | None]:
    """The door's query's account arguments: the person's (a representation), or the professional's."""
    if caller.kind == "professional":
        return None, caller.account_id
    return caller.account_id, None


def is_live(caller: Caller, row: Row | None) -> bool:
    """The token's grant still exists, is not revoked, and belongs to the token's account."""
    return row is not None and row["grant_revoked_at"] is None and row["grant_account_id"] == caller.account_id


def _kind(caller: Caller, row: Row, *, space: SpaceRef, now: datetime) -> ActorKind | None:
    """Who the caller is on this space today, or ``None`` when the space is not theirs to see."""
    if caller.kind == "app":
        if row["grant_kind"] != "app" or row["grant_space_id"] != space.id:
            return None
        return "app" if app_stands(row, granter=caller.account_id, space=space, now=now) else None
    if caller.kind == "professional":
        return _professional(row, now=now) if row["grant_kind"] == "professional" else None
    if row["grant_kind"] != "session":
        return None
    if space.holder_account_id == caller.account_id:
        return "minor_holder" if minors_space(space, at=now) else "holder"
    return _representation(row, space=space, now=now)


def app_stands(row: Row, *, granter: UUID, space: SpaceRef, now: datetime) -> bool:
    """Whether an app grant ``granter`` gave on ``space`` still lets the app in at ``now``, from the
    grant's ``grant_created_at`` and the ``rep_*`` columns of the granter's live representation of
    the space. Connected by the holder, it stands; by a representative, the app lives on their
    authority, which must still hold (a parent's ends on the 18th birthday, a measure on its last
    day). The door and the holder's list of apps (``GET .../grants``) decide with this function."""
    if space.holder_account_id == granter:
        return True
    right = _representation(row, space=space, now=now)
    if right is None or not allows(right, Action.MANAGE_ACCESS):
        return False
    # Connected under a right that ended: a later one (a new court measure for the same account)
    # does not bring the app back; it is connected again, or not.
    return aware(row["rep_created_at"]) <= aware(row["grant_created_at"])


def authorisation_runs(row: Row, *, now: datetime) -> bool:
    """The holder's authorisation of a professional (a row's ``pro_status``, ``pro_since`` and
    ``pro_until``) runs at ``now``: ``since`` <= now < ``until``."""
    since, until = row["pro_since"], row["pro_until"]
    return (
        row["pro_status"] == "authorised"
        and since is not None
        and until is not None
        and aware(since) <= now < aware(until)
    )


def _professional(row: Row, *, now: datetime) -> ActorKind | None:
    """A professional sees a space while the holder's authorisation runs (``since`` <= now <
    ``until``), or read-only during an emergency access the holder has not forbidden; never when
    blocked."""
    if row["pro_profession"] is None or row["pro_status"] == "blocked":
        return None
    if authorisation_runs(row, now=now):
        return "professional"
    if row["emergency_reason"] is not None and row["space_emergency_access"]:
        return "professional_emergency"
    return None


def _representation(row: Row, *, space: SpaceRef, now: datetime) -> ActorKind | None:
    if row["rep_kind"] is None:
        return None
    return representation_kind_of(row, space=space, now=now, prefix="rep_")


def representation_kind_of(row: Row, *, space: SpaceRef, now: datetime, prefix: str = "") -> ActorKind | None:
    """:func:`representation_kind` of a representation row read with its columns named ``prefix``
    + ``kind``, ``relates_to``, ``since``, ``until`` and ``consent_until``."""
    return representation_kind(
        kind=row[prefix + "kind"],
        relates_to=row[prefix + "relates_to"],
        since=row[prefix + "since"],
        until=row[prefix + "until"],
        consent_until=row[prefix + "consent_until"],
        space=space,
        now=now,
    )


def representation_kind(
    *,
    kind: str,
    relates_to: str,
    since: datetime,
    until: datetime | None,
    consent_until: datetime | None,
    space: SpaceRef,
    now: datetime,
) -> ActorKind | None:
    """What a live representation row makes its account on ``space`` at ``now`` — or ``None`` when
    it opens nothing: a measure relating only to property, outside its dates, a parent's right on or
    after the child's 18th birthday. ``GET /v1/me`` and the door decide with this one function."""
    if relates_to != "person":
        return None  # a measure relating only to property gives no access to the space
    if aware(since) > now or (until is not None and aware(until) <= now):
        return None
    if kind == "parent" and (space.birthdate is None or now >= adulthood(space)):
        return None  # parental authority ends on the 18th birthday, in the space's time zone
    if kind == "curatelle":
        return "curatelle" if consent_until is not None and aware(consent_until) > now else "curatelle_without_consent"
    return cast(ActorKind, kind)
