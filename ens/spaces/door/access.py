"""What a route declares it needs (:class:`Need`), and what a handler behind the door receives
(:class:`SpaceAccess`, through the ``Access`` dependency)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency
from msgspec import UnsetType

from ens.core import clock
from ens.core.db import Row, as_uuid, serialise
from ens.core.errors import ERASED_MEANWHILE, DomainError, Forbidden, GrantRevoked, NotFound
from ens.core.scopes import SCOPES
from ens.spaces.caller import SPACE_SCOPE, Caller
from ens.spaces.door.companion import Prefetched
from ens.spaces.door.resolution import (
    is_live,
    professional_decisions,
    representation_decisions,
    resolve_held_space,
    resolve_space,
)
from ens.spaces.door.space import SpaceRef, closed_space, minors_space
from ens.spaces.history import PendingAccess, Role
from ens.spaces.matrix import access_matrix
from ens.spaces.rights import ACTION_ENGLISH, KIND_ENGLISH, Action, ActorKind, allows


@dataclass(frozen=True)
class Need:
    """What a route asks of the caller. Declared on the handler as ``opt={"need": Need(...)}``.

    ``resource`` is the capability the route belongs to (and the history's resource type);
    ``action`` is what the route does, looked up for the caller's kind in the one table of rights
    (``ens.spaces.rights``); ``app_scope`` says whether an app reaches the route with a ``read`` or
    a ``write`` scope *of that capability* (``ens.core.scopes``): a vitals scope never opens
    another capability's routes. ``part``: the part of the resource the route works on, where the
    access matrix opens the parts to different professions (the medical profile's four lists):
    the door then asks the matrix for ``resource/part`` (:attr:`matrix_name`); the history still
    names the resource. Finer checks (which vital type) happen in the service, which
    knows the types. ``allow_closed`` lets a closed space through (only ``reopen``). ``own_body``:
    the handler reads the body itself (a stream, a form, FHIR bytes) rather than as JSON ``data``;
    any other route without ``data`` takes no body (``ens.app.doors.through_space_door``).
    """

    resource: str
    action: Action = Action.READ
    app_scope: Literal["read", "write"] | None = None
    allow_closed: bool = False
    own_body: bool = False
    part: str | None = None

    @property
    def matrix_name(self) -> str:
        """The access matrix's name for what the route works on."""
        return self.resource if self.part is None else f"{self.resource}/{self.part}"


# Litestar answers OPTIONS itself (the Allow header); it still passes the door, as a read.
OPTIONS = Need("space", app_scope="read")


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
    # The rows of the read the route predicted, sent with the door's query (door/companion.py).
    prefetched: Prefetched | None = field(default=None, repr=False, compare=False)
    # This request's access-history row (written with its data, or once its status is known).
    history_row: PendingAccess | None = field(default=None, repr=False, compare=False)
    # What the route needs, which the door checked (and :meth:`readmit` checks again).
    need: Need | None = field(default=None, repr=False, compare=False)

    @property
    def space_id(self) -> UUID:
        return self.space.id

    def names_new_item(self, item_id: UUID, resource: str, *, subject: str | None = None) -> None:
        """The item of ``resource`` this request creates, named on its access-history row as the
        routes that work on an item name theirs: whom the item is hidden from is then not shown the
        row either. Only by a route about that resource (an import creates items of many).
        ``subject``: whom the item is about, when the row's sentence names them (a professional
        authorised)."""
        row = self.history_row
        if row is not None and row.resource_id is None and row.resource_type == resource:
            row.resource_id = str(item_id)
            row.creates = True
            row.subject_name = subject

    def names_subject(self, subject: str) -> None:
        """Whom this request's decision is about, named in its access-history row's sentence (a
        professional renewed, revoked, blocked, or whose request for access was answered)."""
        if self.history_row is not None:
            self.history_row.subject_name = subject

    @property
    def is_person(self) -> bool:
        """A human acting (holder, representative, professional), not an app."""
        return self.role in ("holder", "representative", "professional")

    @property
    def is_adult_holder(self) -> bool:
        """The adult holder acting themself. What they decide about who may read them (a document
        hidden from professionals, a professional blocked, emergency access forbidden) is theirs
        alone to undo: a protected adult decides about their own person as far as they can (Code
        civil, art. 457-1 and 459), and a representative who could widen access behind their back
        would make the choice empty (an outside review, 2026-12-02)."""
        return self.kind == "holder"

    def keep_the_holders_choice(self, made_by_holder: bool, refusal: str) -> None:
        """Raise :class:`Forbidden` (``refusal``) when the caller would undo a choice the adult
        holder made themself (:attr:`is_adult_holder`)."""
        if made_by_holder and not self.is_adult_holder:
            raise Forbidden(refusal)

    @property
    def is_minors_space(self) -> bool:
        """The holder is under 18 today (in the space's time zone)."""
        return minors_space(self.space, at=clock.now())

    async def still_reaches(self) -> bool:
        """The door's question asked again, for an answer that lasts (an export streams at its
        reader's pace): whether the caller, as they are now, still may do what the route does."""
        try:
            await self.readmit(hold=False)
        except DomainError:
            return False
        return True

    async def readmit(self, *, hold: bool = True) -> None:
        """The door's decision taken again now, with the door's refusals (401 for a grant revoked,
        404 for a space the caller no longer sees or that was erased, 410 once closed, 403 for what
        they may no longer do): a right that ended while the request ran writes or reads nothing
        more. A representative's court measure ended, the 18th birthday, a curator's consent
        withdrawn (a kind that may do nothing, not none: an outside review found an export that
        went on), a professional blocked, an app disconnected.

        ``hold``: run first thing in the request's write transaction (the door has it joined to
        every request's write: ``ens.spaces.history.join_request_write``, and a write in several
        transactions calls it again in its last one), the space's row held until the commit
        (:func:`resolve_held_space`), so that the right is read once the body is in (an upload or
        an import arrives at the client's pace) and the write commits under the same space."""
        now = clock.now()
        if hold:
            whole = self.need is not None and self.need.action is Action.CLOSE_REOPEN
            mode: Literal["UPDATE", "KEY SHARE"] = "UPDATE" if whole else "KEY SHARE"
            row, space, kind = await resolve_held_space(self.caller, self.space_id, now=now, mode=mode)
            decisions = _decisions_over(self.caller, kind, space) if not whole and is_live(self.caller, row) else None
            if decisions is not None:
                # A professional's or a representative's write runs under the decisions that end
                # their right (after the space's row, as those take it), and reads its standing
                # again under them: a block, a revocation or a court measure's end then waits for
                # the write and answers once it is committed. Read before, a doctor blocked, or a
                # tutor whose measure an operator ended, while their write was past this point
                # committed an entry after the end had answered (an outside audit of races). A
                # change to the whole space holds its row for update: taken then, the lock would
                # wait on an acceptance that waits on that row.
                # Shared: the writes wait for a decision, not for each other (held whole, one
                # doctor's write stalled on a lock held every other professional's writes to the
                # space, and one parent's import the other parent's: a review). A parent leaving
                # decides on who represents the space itself: whole from the start, since a lock
                # held shared is never then taken whole (two such would deadlock).
                await serialise(decisions, shared=self.need is None or self.need.action is not Action.LEAVE)
                row, space, kind = await resolve_held_space(self.caller, self.space_id, now=now, mode=mode)
            if space is None and is_live(self.caller, row):
                raise NotFound(ERASED_MEANWHILE)
        else:
            row, space, kind, _ = await resolve_space(self.caller, str(self.space_id), now=now)
        if not is_live(self.caller, row):
            raise GrantRevoked("This session or app authorization has been revoked; sign in again.")
        if row is None or space is None or kind is None:
            raise NotFound("No such space.")
        need = self.need
        if need is None:
            return
        if space.status == "closed" and not need.allow_closed:
            raise await closed_space(space)
        role, granted_by_holder, profession = standing(row, space, kind)
        check_need(
            replace(
                self,
                space=space,
                kind=kind,
                role=role,
                granted_by_holder=granted_by_holder,
                profession=profession,
            ),
            need,
        )

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

    def refuse_a_professional_on_others(self, recorded_by: UUID | str | None, *, verb: str, noun: str) -> None:
        """Raise :class:`Forbidden` when a professional changes an item another recorded. A
        professional's right to write is to record what they did: they change (correct, remove,
        hide from the holder...) only the items they recorded themselves, not the person's own, an
        app's or another professional's. ``recorded_by`` is the account of the professional who
        recorded the item, as its row stores it (``None`` when no professional did); ``verb`` and
        ``noun`` word the refusal: "A professional corrects only the measures they recorded"."""
        if self.role != "professional":
            return
        if recorded_by is None or as_uuid(recorded_by) != self.caller.account_id:
            raise Forbidden(f"A professional {verb} only the {noun} they recorded themselves.")

    def hiding(self, requested: bool | UnsetType | None) -> bool | None:
        """What a change asks of ``hiddenFromRepresentatives`` (``None``: it does not say). Only
        whom the table of rights lets hide (the holder, a professional on a minor's space) may send
        it: 403 for anyone else, ``false`` too, before anything is looked up — the refusal says
        nothing of the item. A representative never hides an item from the representatives, nor
        shows it again (CSP R1111-50)."""
        if requested is None or isinstance(requested, UnsetType):
            return None
        self.require(Action.HIDE_FROM_REPRESENTATIVES)
        return requested

    def hiding_change(
        self, hidden_now: bool, requested: bool | None, recorded_by: UUID | str | None, *, noun: str
    ) -> bool | None:
        """The item's new ``hiddenFromRepresentatives`` when ``requested`` changes it, else ``None``
        (not sent, or sent as it already is). The caller was already let send it (``hiding``).

        Raise :class:`Forbidden` when a professional would show the parents again an item they did
        not record. Any professional may hide an item on a minor's space at the minor's request (CSP
        L1111-5); showing it again undoes that secret, which another professional the parents
        authorised could do for every item (an outside audit): only the professional who recorded
        the item, or the holder, may. ``recorded_by`` is as for :meth:`refuse_a_professional_on_others`."""
        if requested is None or requested == hidden_now:
            return None
        if not requested:
            self.refuse_a_professional_on_others(recorded_by, verb="shows again to the representatives", noun=noun)
        return requested

    def reads(self, resource: str) -> bool:
        """Whether the caller may read ``resource`` (a name of the access matrix) where a route
        shows several (the home screen): a professional as the matrix says for their profession;
        anyone else the door let through reads what the route shows."""
        if self.role != "professional":
            return True
        return access_matrix().may(self.profession or "", resource, write=False)

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


# What handlers behind the door declare: ``access: Access``.
Access: TypeAlias = NamedDependency[SpaceAccess]


async def provide_space_access(request: Request[Any, Any, Any]) -> SpaceAccess:
    """The dependency handlers take: the result of the door, which always ran before."""
    access = request.scope.get("state", {}).get("ens.space_access")
    if not isinstance(access, SpaceAccess):
        raise Forbidden("The space door did not run for this route.")
    return access


def standing(row: Row, space: SpaceRef, kind: ActorKind) -> tuple[Role, bool, str | None]:
    """What the door's row makes of the caller on ``space``: their role, whether an app was
    connected by the holder (it then sees what the holder sees), a professional's profession."""
    role = role_of(kind)
    granted_by_holder = kind == "app" and row["grant_account_id"] == space.holder_account_id
    return role, granted_by_holder, row["pro_profession"] if role == "professional" else None


def role_of(kind: ActorKind) -> Role:
    if kind in ("holder", "minor_holder"):
        return "holder"
    if kind == "app":
        return "app"
    if kind in ("professional", "professional_emergency"):
        return "professional"
    return "representative"


def check_need(access: SpaceAccess, need: Need) -> None:
    """The door's question about the route: may this caller, as they are now, do what it needs."""
    if access.role == "professional":
        if need is OPTIONS:
            return
        check_professional(access, need)
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


def check_professional(access: SpaceAccess, need: Need) -> None:
    """The access matrix: the profession, the route's resource, read or write; emergency reads."""
    profession = access.profession or ""
    matrix = access_matrix()
    name = need.matrix_name
    if need.action is Action.READ:
        if not matrix.may(profession, name, write=False):
            raise Forbidden(f"The access matrix does not let a professional ({matrix.label(profession)}) read {name}.")
        return
    if access.kind == "professional_emergency":
        raise Forbidden("An emergency access is read-only.")
    if need.action not in _PROFESSIONAL_WRITES or not matrix.may(profession, name, write=True):
        raise Forbidden(f"The access matrix does not let a professional ({matrix.label(profession)}) change {name}.")


def _decisions_over(caller: Caller, kind: ActorKind | None, space: SpaceRef | None) -> str | None:
    """The lock of the decisions that end the caller's standing on ``space``, when others make them:
    the holder's about professionals, or those on who represents the space. An app's is its grant,
    held already (an end of its representative's right revokes it). ``None`` for the holder."""
    if space is None or kind is None:
        return None
    if caller.kind == "professional":
        return professional_decisions(space.id)
    if caller.kind == "person" and kind not in ("holder", "minor_holder"):
        return representation_decisions(space.id)
    return None
