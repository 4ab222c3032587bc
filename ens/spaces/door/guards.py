"""The doors themselves: the space door (resolve, leave the pending access-history entry, check the
route's need), and the doors of ``/v1/me`` and ``/v1/pro``. Refusals go to the security log."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from ens.core import clock
from ens.core.db import Row, fetch_one
from ens.core.errors import Forbidden, GrantRevoked, NotFound, Unauthorized
from ens.core.idempotency import SPACE_STATE_KEY
from ens.core.security_headers import REQUEST_ID_KEY
from ens.spaces.caller import SPACE_SCOPE, Caller
from ens.spaces.door.access import OPTIONS, Need, SpaceAccess, check_need, role_of, standing
from ens.spaces.door.companion import COMPANION
from ens.spaces.door.resolution import is_live, resolve_space
from ens.spaces.door.space import SpaceRef, closed_space
from ens.spaces.history import ACCESS_STATE_KEY, PendingAccess, join_request_write, record_access
from ens.spaces.rights import ActorKind

security_log = logging.getLogger("ens.security")

# Set in a request's scope state by the space door, whatever it decides (see record_stray_request).
DOOR_KEY = "ens.door"


async def space_door(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    need: Need | None = handler.opt.get("need")
    if need is None and connection.scope.get("method") == "OPTIONS":
        need = OPTIONS
    if need is None:
        # A route under the door that does not say what it needs is a programming error.
        raise Forbidden("This route declares no access need.")
    # Whatever it decides, the door saw this request: its row is written here or not at all.
    connection.scope.setdefault("state", {})[DOOR_KEY] = True
    caller = connection.scope.get("user")
    if not isinstance(caller, Caller):
        raise Unauthorized("Sign in first.")
    now = clock.now()
    # Routes without {space} (the FHIR door, /fhir) work on the caller's own space: an app's token
    # names its one space.
    space_param = connection.path_params.get("space", "me")
    predict = handler.opt.get(COMPANION)
    companion = predict(connection, caller) if predict is not None else None
    row, space, kind, prefetched = await resolve_space(caller, space_param, now=now, companion=companion)
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
    role, granted_by_holder, profession = standing(row, space, kind)
    resource_id = connection.path_params.get("id")
    pending = pending_access(
        caller,
        row,
        space,
        kind,
        now=now,
        action=action,
        resource_type=need.resource,
        resource_id=str(resource_id) if resource_id is not None else None,
        request_id=request_id,
        expected_outcome=int(getattr(handler, "status_code", None) or 200),
    )
    connection.scope["state"][ACCESS_STATE_KEY] = pending
    access = SpaceAccess(
        space=space,
        caller=caller,
        role=role,
        kind=kind,
        actor_name=row["actor_name"],
        client_name=row["client_name"],
        request_id=request_id,
        granted_by_holder=granted_by_holder,
        profession=profession,
        emergency_reason=pending.emergency_reason,
        prefetched=prefetched,
        history_row=pending,
        need=need,
    )
    join_request_write(pending, readmit=access.readmit)
    connection.scope["state"]["ens.space_access"] = access
    if not live:
        # The space was this grant's to see: the refusal goes to its history (with the 401) and to
        # the operators' log, so a revoked app that keeps calling is seen on both sides.
        _refused("revoked_grant_used", caller, action=action, request_id=request_id)
        raise GrantRevoked("This session or app authorization has been revoked; sign in again.")
    if space.status == "closed" and not need.allow_closed:
        raise await closed_space(space)
    check_need(access, need)


def pending_access(
    caller: Caller,
    row: Row,
    space: SpaceRef,
    kind: ActorKind,
    *,
    now: datetime,
    action: str,
    resource_type: str,
    resource_id: str | None,
    request_id: str,
    expected_outcome: int = 200,
) -> PendingAccess:
    """The access-history row of a request on a space the caller sees (the door's query ``row``)."""
    role = role_of(kind)
    return PendingAccess(
        space_id=space.id,
        at=now,
        actor_account_id=caller.account_id,
        actor_name=row["actor_name"],
        client_id=caller.client_id,
        client_name=row["client_name"],
        acting_as=role,
        actor_kind=kind if role in ("representative", "professional") else None,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        request_id=request_id,
        expected_outcome=expected_outcome,
        profession=row["pro_profession"] if role == "professional" else None,
        emergency_reason=row["emergency_reason"] if kind == "professional_emergency" else None,
        # Under an emergency access a minor's professional kept from the parents (CSP L1111-5).
        kept_from_representatives=kind == "professional_emergency" and bool(row["emergency_hidden"]),
    )


async def record_stray_request(
    caller: Caller, *, space_param: str, action: str, resource_type: str, status: int, request_id: str
) -> None:
    """A request that names a space but that no route's door saw: an address no route has, a
    method the address does not take, an id that is no id. On a space the caller sees, its row,
    durable before the answer leaves, with the answer's ``status`` (as the door would have left
    it); otherwise the operators' security log, as the door's refusals."""
    now = clock.now()
    row, space, kind, _ = await resolve_space(caller, space_param, now=now)
    live = is_live(caller, row)
    if row is None or space is None or kind is None:
        _refused("space_not_visible" if live else "revoked_grant_used", caller, action=action, request_id=request_id)
        return
    if not live:
        _refused("revoked_grant_used", caller, action=action, request_id=request_id)
    pending = pending_access(
        caller,
        row,
        space,
        kind,
        now=now,
        action=action,
        resource_type=resource_type,
        resource_id=None,
        request_id=request_id,
        expected_outcome=status,
    )
    await record_access(pending, status)


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
