"""The one way in to a space.

Every route under ``/v1/spaces/{space}`` sits behind :func:`space_door`, a guard installed on the
router that holds them (``ens.app`` refuses to start if a route there lacks it). The guard runs
before the request body is read, so every outcome — success, refusal, malformed body — is recorded:
it resolves ``{space}`` for the caller, checks in the same query that the caller's session or app
grant is still live, decides the caller's role, and leaves a pending access-history entry that
:class:`ens.spaces.history.AccessHistoryMiddleware` writes with the response status.

Spaces the caller may not see answer 404 exactly like spaces that do not exist, and go to the
operators' security log instead of the space's history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal, TypeAlias, cast
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from ens.core import clock
from ens.core.clock import as_date, aware
from ens.core.db import Row, as_uuid, fetch_one
from ens.core.errors import Forbidden, Gone, GrantRevoked, NotFound, Unauthorized
from ens.core.idempotency import SPACE_STATE_KEY
from ens.core.scopes import SCOPES
from ens.spaces.caller import SPACE_SCOPE, Caller
from ens.spaces.history import ACCESS_STATE_KEY, REQUEST_ID_KEY, PendingAccess, Role, join_request_write
from ens.spaces.matrix import access_matrix
from ens.spaces.rights import ACTION_ENGLISH, KIND_ENGLISH, Action, ActorKind, allows

security_log = logging.getLogger("ens.security")


@dataclass(frozen=True)
class Need:
    """What a route asks of the caller. Declared on the handler as ``opt={"need": Need(...)}``.

    ``resource`` is the capability the route belongs to (and the history's resource type);
    ``action`` is what the route does, looked up for the caller's kind in the one table of rights
    (``ens.spaces.rights``); ``app_scope`` says whether an app reaches the route with a ``read`` or
    a ``write`` scope *of that capability* (``ens.core.scopes``): a vitals scope never opens
    another capability's routes. Finer checks (which vital type) happen in the service, which
    knows the types. ``allow_closed`` lets a closed space through (only ``reopen``).
    """

    resource: str
    action: Action = Action.READ
    app_scope: Literal["read", "write"] | None = None
    allow_closed: bool = False


# Litestar answers OPTIONS itself (the Allow header); it still passes the door, as a read.
OPTIONS = Need("space", app_scope="read")


class SpaceRef(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    status: str
    timezone: str
    birthdate: date | None
    sex: str | None
    given_name: str
    family_name: str
    holder_account_id: UUID | None


def space_ref(row: Row) -> SpaceRef:
    """A space as the door knows it, from a row with the ``spaces`` columns."""
    holder = row["holder_account_id"]
    return SpaceRef(
        id=as_uuid(row["id"]),
        status=row["status"],
        timezone=row["timezone"],
        birthdate=as_date(row["birthdate"]),
        sex=row["sex"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        holder_account_id=as_uuid(holder) if holder is not None else None,
    )


@dataclass(frozen=True)
class SpaceAccess:
    """What a handler behind the door receives: the space, the caller, the caller's role and kind
    (holder, the kind of representative, or app)."""

    space: SpaceRef
    caller: Caller
    role: Role
    kind: ActorKind
    # Display names the door's query read anyway (the person calling; the app's name on its grant).
    actor_name: str | None = None
    client_name: str | None = None
    request_id: str = ""
    # An app connected by the holder sees what the holder sees; one connected by a representative
    # acts on the representative's authority and sees what they see.
    granted_by_holder: bool = False
    # A professional's profession (TRE_G15 code) and, during an emergency access, its reason.
    profession: str | None = None
    emergency_reason: str | None = None

    @property
    def space_id(self) -> UUID:
        return self.space.id

    @property
    def is_person(self) -> bool:
        """A human acting (holder, representative, professional), not an app."""
        return self.role in ("holder", "representative", "professional")

    @property
    def is_minors_space(self) -> bool:
        """The holder is under 18 today (in the space's time zone)."""
        return self.space.birthdate is not None and clock.now() < adulthood(self.space)

    @property
    def sees_confidential(self) -> bool:
        """Items hidden from representatives (CSP R1111-50) are never shown to them, nor to an app
        a representative connected."""
        if self.role == "app":
            return self.granted_by_holder
        return self.role != "representative"

    def allows(self, action: Action) -> bool:
        """Whether the caller may perform ``action`` here (``ens.spaces.rights``). A professional
        hides an item from the parents only on a minor's space, at the minor's request (CSP L1111-5)."""
        if self.kind == "professional" and action is Action.HIDE_FROM_REPRESENTATIVES:
            return self.is_minors_space
        return allows(self.kind, action)

    def rights(self) -> list[str]:
        """What the caller may do here, as ``GET /v1/me`` and the home screen say it."""
        return sorted(action for action in Action if self.allows(action))

    def require(self, action: Action) -> None:
        """Raise :class:`Forbidden` unless the caller may perform ``action`` (for services whose
        route performs one action or another depending on its input, like close or erase)."""
        if not self.allows(action):
            raise Forbidden(f"The {KIND_ENGLISH[self.kind]} may not {ACTION_ENGLISH[action]}.")

    def may(self, scope: str) -> bool:
        """A person signed in to the phone app has every right on the spaces they may open;
        an app has exactly the scopes its grant holds. A professional's reach is the access matrix,
        which the door applied to the route's capability."""
        if self.role == "professional":
            return True
        if self.is_person:
            return self.caller.has_scope(SPACE_SCOPE)
        return self.caller.has_scope(scope)


def visible_to(access: SpaceAccess, *, alias: str | None = None) -> str:
    """The condition (to append to a WHERE) leaving out what the caller may not see: items hidden
    from representatives (CSP R1111-50), when the caller is one. Every table of items the holder
    can hide has the column ``hidden_from_representatives``; ``alias`` is the table's in the query."""
    if access.sees_confidential:
        return ""
    return f" AND NOT {alias}.hidden_from_representatives" if alias else " AND NOT hidden_from_representatives"


# One query: the grant, the space, and the caller's representation of it if any (at most one
# live row per space and account: a partial unique index) — or, for a professional, their
# profession, the holder's decision about them on this space (one row per space and professional)
# and their live emergency access (index ``emergency_accesses_live``). Whether a representation or
# an authorisation is valid *today* is decided in Python, every request.
_DOOR_SQL = """
SELECT g.revoked_at AS grant_revoked_at, g.kind AS grant_kind, g.space_id AS grant_space_id,
       g.account_id AS grant_account_id, g.client_name AS client_name,
       s.id AS space_id, s.id, s.status, s.timezone, s.birthdate, s.sex, s.given_name, s.family_name,
       s.holder_account_id, s.emergency_access AS space_emergency_access,
       r.kind AS rep_kind, r.since AS rep_since, r.until AS rep_until, r.relates_to AS rep_relates_to,
       r.consent_until AS rep_consent_until,
       (SELECT a.given_name || ' ' || a.family_name FROM accounts a WHERE a.id = {}) AS actor_name,
       p.profession_code AS pro_profession, sp.status AS pro_status, sp.since AS pro_since, sp.until AS pro_until,
       (SELECT e.reason FROM emergency_accesses e
        WHERE e.space_id = s.id AND e.professional_id = p.id AND e.ends_at > {}
        ORDER BY e.ends_at DESC LIMIT 1) AS emergency_reason
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


async def resolve_space(
    caller: Caller, space_param: str, *, now: datetime
) -> tuple[Row | None, SpaceRef | None, ActorKind | None]:
    """One query: the grant (``None`` if it no longer exists), the space named by ``space_param``,
    and the role the grant gives on it — whether or not the grant is still live (:func:`is_live`)."""
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
    professional = caller.account_id if caller.kind == "professional" else None
    person = caller.account_id if caller.kind != "professional" else None
    # Placeholders in textual order: actor, now (emergency), space match, representative account,
    # professional, grant.
    row = await fetch_one(sql, caller.account_id, now, match_arg, person, professional, caller.grant_id)
    if row is None or row["space_id"] is None:
        return row, None, None
    space = space_ref(row)
    return row, space, _kind(caller, row, space=space, now=now)


def is_live(caller: Caller, row: Row | None) -> bool:
    """The token's grant still exists, is not revoked, and belongs to the token's account."""
    return row is not None and row["grant_revoked_at"] is None and row["grant_account_id"] == caller.account_id


def _kind(caller: Caller, row: Row, *, space: SpaceRef, now: datetime) -> ActorKind | None:
    """Who the caller is on this space today, or ``None`` when the space is not theirs to see."""
    if caller.kind == "app":
        if row["grant_kind"] != "app" or row["grant_space_id"] != space.id:
            return None
        if space.holder_account_id != caller.account_id:
            # Connected by a representative: the app lives on their authority, which must still
            # hold (a parent's ends on the 18th birthday, a measure on its last day).
            granter = _representation(row, space=space, now=now)
            if granter is None or not allows(granter, Action.MANAGE_ACCESS):
                return None
        return "app"
    if caller.kind == "professional":
        return _professional(row, now=now) if row["grant_kind"] == "professional" else None
    if row["grant_kind"] != "session":
        return None
    if space.holder_account_id == caller.account_id:
        return "minor_holder" if space.birthdate is not None and now < adulthood(space) else "holder"
    return _representation(row, space=space, now=now)


def _professional(row: Row, *, now: datetime) -> ActorKind | None:
    """A professional sees a space while the holder's authorisation runs (``since`` <= now <
    ``until``), or read-only during an emergency access the holder has not forbidden; never when
    blocked."""
    if row["pro_profession"] is None or row["pro_status"] == "blocked":
        return None
    if row["pro_status"] == "authorised" and row["pro_since"] is not None and row["pro_until"] is not None:
        if aware(row["pro_since"]) <= now < aware(row["pro_until"]):
            return "professional"
    if row["emergency_reason"] is not None and row["space_emergency_access"]:
        return "professional_emergency"
    return None


def _representation(row: Row, *, space: SpaceRef, now: datetime) -> ActorKind | None:
    if row["rep_kind"] is None:
        return None
    return representation_kind(
        kind=row["rep_kind"],
        relates_to=row["rep_relates_to"],
        since=row["rep_since"],
        until=row["rep_until"],
        consent_until=row["rep_consent_until"],
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


def adulthood(space: SpaceRef) -> datetime:
    """The instant the holder of ``space`` turns 18: midnight of the birthday in the space's time zone
    (a 29 February birthday comes of age on 1 March)."""
    return birthday(space, 18)


def birthday(space: SpaceRef, years: int) -> datetime:
    """The instant the holder of ``space`` turns ``years`` (midnight, in the space's time zone)."""
    assert space.birthdate is not None
    born = space.birthdate
    try:
        day = born.replace(year=born.year + years)
    except ValueError:
        day = date(born.year + years, 3, 1)
    return datetime.combine(day, time(0), ZoneInfo(space.timezone)).astimezone(UTC)


def _check_need(access: SpaceAccess, need: Need) -> None:
    if access.role == "professional":
        if need is OPTIONS:
            return
        _check_professional(access, need)
        return
    if access.role == "app":
        if need is OPTIONS:
            return  # litestar's own answer (the Allow header) tells nothing about the space's data
        if need.app_scope is None or not SCOPES.opens(
            access.caller.scopes, capability=need.resource, mode=need.app_scope
        ):
            raise Forbidden("This app's authorization does not cover this action.")
        return
    if not access.caller.has_scope(SPACE_SCOPE):
        raise Forbidden("This token does not carry the 'space' scope.")
    access.require(need.action)


# What a professional's route may be: reading, or writing the space's data (the matrix says which
# resources); every other action (manage access, close, erase, directives...) is the holder's side.
_PROFESSIONAL_WRITES = frozenset({Action.WRITE_DATA})


def _check_professional(access: SpaceAccess, need: Need) -> None:
    """The access matrix: the profession, the route's resource, read or write; emergency reads."""
    profession = access.profession or ""
    matrix = access_matrix()
    if need.action is Action.READ:
        if not matrix.may(profession, need.resource, write=False):
            raise Forbidden(f"A {matrix.label(profession)} may not read {need.resource} (the access matrix).")
        return
    if access.kind == "professional_emergency":
        raise Forbidden("An emergency access is read-only.")
    if need.action not in _PROFESSIONAL_WRITES or not matrix.may(profession, need.resource, write=True):
        raise Forbidden(f"A {matrix.label(profession)} may not change {need.resource} (the access matrix).")


async def space_door(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    need: Need | None = handler.opt.get("need")
    if need is None and connection.scope.get("method") == "OPTIONS":
        need = OPTIONS
    if need is None:
        # A route under the door that does not say what it needs is a programming error.
        raise Forbidden("This route declares no access need.")
    caller = connection.scope.get("user")
    if not isinstance(caller, Caller):
        raise Unauthorized("Sign in first.")
    now = clock.now()
    # Routes without {space} (the FHIR door, /fhir) work on the caller's own space: an app's token
    # names its one space.
    space_param = connection.path_params.get("space", "me")
    row, space, kind = await resolve_space(caller, space_param, now=now)
    live = is_live(caller, row)
    request_id = request_id_of(connection.scope)
    action = f"{connection.scope.get('method', '')} {connection.scope.get('path_template', '')}".strip()
    if row is None or space is None or kind is None:
        event = "space_not_visible" if live else "revoked_grant_used"
        _refused(event, caller, action=action, request_id=request_id)
        if not live:
            raise GrantRevoked("This session or app authorization has been revoked; sign in again.")
        raise NotFound("No such space.")
    connection.scope.setdefault("state", {})[SPACE_STATE_KEY] = space.id
    role = _role(kind)
    resource_id = connection.path_params.get("id")
    connection.scope["state"][ACCESS_STATE_KEY] = PendingAccess(
        space_id=space.id,
        at=now,
        actor_account_id=caller.account_id,
        actor_name=row["actor_name"],
        client_id=caller.client_id,
        client_name=row["client_name"],
        acting_as=role,
        actor_kind=kind if role in ("representative", "professional") else None,
        action=action,
        resource_type=need.resource,
        resource_id=str(resource_id) if resource_id is not None else None,
        request_id=request_id,
        expected_outcome=int(getattr(handler, "status_code", None) or 200),
        profession=row["pro_profession"] if role == "professional" else None,
        emergency_reason=row["emergency_reason"] if kind == "professional_emergency" else None,
    )
    join_request_write(connection.scope["state"][ACCESS_STATE_KEY])
    access = SpaceAccess(
        space=space,
        caller=caller,
        role=role,
        kind=kind,
        actor_name=row["actor_name"],
        client_name=row["client_name"],
        request_id=request_id,
        granted_by_holder=kind == "app" and row["grant_account_id"] == space.holder_account_id,
        profession=row["pro_profession"] if role == "professional" else None,
        emergency_reason=row["emergency_reason"] if kind == "professional_emergency" else None,
    )
    connection.scope["state"]["ens.space_access"] = access
    if not live:
        # The space was this grant's to see: the refusal goes to its history (with the 401) and to
        # the operators' log, so a revoked app that keeps calling is seen on both sides.
        _refused("revoked_grant_used", caller, action=action, request_id=request_id)
        raise GrantRevoked("This session or app authorization has been revoked; sign in again.")
    if space.status == "closed" and not need.allow_closed:
        raise Gone("This space is closed. Its holder can reopen it.")
    _check_need(access, need)


def _role(kind: ActorKind) -> Role:
    if kind in ("holder", "minor_holder"):
        return "holder"
    if kind == "app":
        return "app"
    if kind in ("professional", "professional_emergency"):
        return "professional"
    return "representative"


def _refused(event: str, caller: Caller, *, action: str, request_id: str) -> None:
    security_log.warning(
        "space access refused",
        extra={
            "event": event,
            "account_id": str(caller.account_id),
            "client_id": caller.client_id,
            "grant_id": str(caller.grant_id),
            "action": action,
            "request_id": request_id,
        },
    )


def request_id_of(scope: Any) -> str:
    return str(scope.get("state", {}).get(REQUEST_ID_KEY, ""))


# What handlers behind the door declare: ``access: Access``.
Access: TypeAlias = NamedDependency[SpaceAccess]


async def provide_space_access(request: Request[Any, Any, Any]) -> SpaceAccess:
    """The dependency handlers take: the result of the door, which always ran before."""
    access = request.scope.get("state", {}).get("ens.space_access")
    if not isinstance(access, SpaceAccess):
        raise Forbidden("The space door did not run for this route.")
    return access


async def account_door(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The door of /v1/me: a person's session that is still live (apps have no account routes)."""
    caller = connection.scope.get("user")
    if not isinstance(caller, Caller):
        raise Unauthorized("Sign in first.")
    if caller.kind != "person" or not caller.has_scope(SPACE_SCOPE):
        raise Forbidden("Only the person signed in to the phone app may do this.")
    row = await fetch_one(
        "SELECT kind FROM grants WHERE id = {} AND account_id = {} AND revoked_at IS NULL",
        caller.grant_id,
        caller.account_id,
    )
    if row is None or row["kind"] != "session":
        action = f"{connection.scope.get('method', '')} {connection.scope.get('path_template', '')}".strip()
        _refused("revoked_grant_used", caller, action=action, request_id=request_id_of(connection.scope))
        raise GrantRevoked("This session has been revoked; sign in again.")


async def professional_door(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The door of /v1/pro: a professional software's token whose grant is still live."""
    caller = connection.scope.get("user")
    if not isinstance(caller, Caller):
        raise Unauthorized("Sign in first.")
    if caller.kind != "professional":
        raise Forbidden("Only a health professional, signed in through their provider, may do this.")
    row = await fetch_one(
        "SELECT kind FROM grants WHERE id = {} AND account_id = {} AND revoked_at IS NULL",
        caller.grant_id,
        caller.account_id,
    )
    if row is None or row["kind"] != "professional":
        action = f"{connection.scope.get('method', '')} {connection.scope.get('path_template', '')}".strip()
        _refused("revoked_grant_used", caller, action=action, request_id=request_id_of(connection.scope))
        raise GrantRevoked("This session has been revoked; sign in again.")
