"""The access history: one row per request naming a space the caller may see, durable before the
answer leaves, and read newest first.

How a row is written, so that a request costs one commit (ENGINEERING.md rule 15):

- A request that writes joins its row to its own write transaction (``db.join_next_write``): the
  row commits with the data, with the status the handler answers on success.
- Every other request (reads, refusals, failures) hands its row to :class:`GroupCommit`: rows of
  concurrent requests go in one multi-row INSERT and one commit, and each response waits until its
  own row is durable. No timer: while one group commits, the next one gathers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ens.core import clock, db, problems
from ens.core.api import Cursors, Page, check_limit, cursor_int
from ens.core.db import Row, as_uuid, fetch
from ens.core.errors import BadRequest, DomainError, FieldError, Invalid
from ens.core.idempotency import SPACE_STATE_KEY
from ens.core.security_headers import REQUEST_ID_KEY
from ens.spaces.audit import SEALED_IF_SET, row_mac, sealed, sealed_upto_held
from ens.spaces.caller import Caller
from ens.spaces.describe import RESOURCE_WORDS, describe
from ens.spaces.matrix import access_matrix
from ens.spaces.schemas import AccessEventRead, ActingAs, ActorRead, ClientRead

log = logging.getLogger("ens.spaces.history")

# Who acts through the space door (and AccountAction); an operator's rows say "operator" (ActingAs).
Role = Literal["holder", "representative", "app", "professional"]
ACCESS_STATE_KEY = "ens.access"


@dataclass
class PendingAccess:
    """The access-history row of a request, written with its data or once its status is known."""

    space_id: UUID
    at: datetime
    actor_account_id: UUID | None  # none for an operator's row
    actor_name: str | None
    client_id: str
    client_name: str | None
    acting_as: ActingAs
    # The kind of representative (parent, tutelle...) when ``acting_as`` is representative.
    actor_kind: str | None
    action: str
    resource_type: str
    resource_id: str | None
    request_id: str
    # The status the handler answers on success: what the row says if it commits with the data.
    expected_outcome: int = 200
    recorded_id: int | None = None
    committed: bool = False
    # A professional's profession (TRE_G15) and, in an emergency access, the reason they gave.
    profession: str | None = None
    emergency_reason: str | None = None
    # ``resource_id`` names the item the request creates (``SpaceAccess.names_new_item``): a
    # creation that failed names nothing.
    creates: bool = False
    # An operator's row (:class:`OperatorAction`): whose right they recorded, ended or restored, and
    # its kind (tutelle, parent...).
    subject_name: str | None = None
    subject_kind: str | None = None
    # Kept from the representatives: a request under an emergency access hidden from a minor's
    # parents at the minor's request (CSP L1111-5), its opening too. The holder sees it.
    kept_from_representatives: bool = False


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# An operator's rows (:class:`OperatorAction`): the command is the action, the command line the client.
OperatorCommand = Literal[
    "ens representatives add",
    "ens representatives end",
    "ens representatives restore-parent",
    "ens representatives list",
    "ens claim-codes issue",
    "ens export",
    "ens apps disable",
]
OPERATOR_ACTION_PREFIX = "ens "
# The operators' commands that read (the space, the representatives' names and decisions): a
# history filtered on reads lists them, on changes does not (they were among the changes: a review).
OPERATOR_READS: tuple[OperatorCommand, ...] = ("ens export", "ens representatives list")
OPERATOR_CLIENT_ID = "ens-cli"
# What an operator types into a command (their name, a reason, a court reference) goes into columns
# of this length (actor_name, the claim code's reason, the representation's court reference).
MAX_OPERATOR_TEXT = 255

# The columns every row's MAC covers (``ens.spaces.audit``), then those it covers when one is set
# (an operator's rows: ``audit.SEALED_IF_SET``), and the MAC itself.
SEALED_COLUMNS = (
    "space_id, at, actor_account_id, actor_name, client_id, client_name, acting_as, actor_kind, action, "
    "resource_type, resource_id, outcome, request_id, profession, emergency_reason"
)
_COLUMNS = f"{SEALED_COLUMNS}, {', '.join(SEALED_IF_SET)}, mac"
_COLUMN_NAMES = tuple(_COLUMNS.split(", "))
# One row, written only if the space still exists (an erase may have removed it meanwhile).
_INSERT_IF_SPACE = (
    f"INSERT INTO access_history ({_COLUMNS}) SELECT {', '.join(['{}'] * len(_COLUMN_NAMES))} "
    "WHERE EXISTS (SELECT 1 FROM spaces WHERE id = {}) RETURNING id"
)
# Rows per group (one statement on PostgreSQL; SQLite's are cut under its variable limit).
_MAX_GROUP = 1000


def _values(pending: PendingAccess, outcome: int) -> tuple[Any, ...]:
    """The row's values in the order of ``_COLUMNS``."""
    values = _every_row_values(pending, outcome)
    if_set = _if_set_values(pending)
    return (*values, *if_set, row_mac(sealed(values, if_set)))


def _sealed_values(pending: PendingAccess, outcome: int) -> tuple[Any, ...]:
    """What the row's MAC covers (``audit.sealed``)."""
    return sealed(_every_row_values(pending, outcome), _if_set_values(pending))


def _if_set_values(pending: PendingAccess) -> tuple[Any, ...]:
    """The values of ``audit.SEALED_IF_SET``, in order: a row not kept from the representatives
    says NULL there, never FALSE (the rows written before the column keep their MAC)."""
    return (pending.subject_name, pending.subject_kind, True if pending.kept_from_representatives else None)


def _every_row_values(pending: PendingAccess, outcome: int) -> tuple[Any, ...]:
    return (
        pending.space_id,
        pending.at,
        pending.actor_account_id,
        pending.actor_name,
        pending.client_id,
        pending.client_name,
        pending.acting_as,
        pending.actor_kind,
        pending.action,
        pending.resource_type,
        pending.resource_id,
        outcome,
        pending.request_id,
        pending.profession,
        pending.emergency_reason,
    )


async def _insert_one(pending: PendingAccess, outcome: int) -> int | None:
    """The row's id, or ``None`` when the space no longer exists (erased by this very request)."""
    rows = await fetch(_INSERT_IF_SPACE, *_values(pending, outcome), pending.space_id)
    if not pending.creates:
        # A creation's row may commit before its item exists (a document's, with the space's key):
        # its last access is noted once the item is there (record_access).
        await _note_professional_access([(pending, outcome)])
    return int(rows[0]["id"]) if rows else None


async def _note_professional_access(answered: list[tuple[PendingAccess, int]]) -> None:
    """The holder's list of professionals shows each one's last access: kept on their row of the
    space (one UPDATE by its key), written with the history row, only for professionals' requests
    that were answered (a refusal, a blocked professional's emergency access among them, is an
    attempt: the history has it, the list's last access does not), and only for those whose row
    every reader of the list sees in the history: one naming an item hidden from the
    representatives, or held back from the holder, moved the time the parents (or the holder)
    read, and told them the professional had acted where the history said nothing (an outside
    audit)."""
    for pending, outcome in answered:
        if (
            pending.acting_as == "professional"
            and outcome < 400
            and not pending.kept_from_representatives
            and not await _names_a_kept_item(pending)
        ):
            await fetch(
                "UPDATE space_professionals SET last_access_at = {} WHERE space_id = {} AND professional_id = {}",
                pending.at,
                pending.space_id,
                pending.actor_account_id,
            )


class GroupCommit:
    """Writes the rows of concurrent requests together: one INSERT and one commit per group."""

    def __init__(self) -> None:
        self._waiting: list[tuple[PendingAccess, int, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, pending: PendingAccess, outcome: int) -> None:
        """Return once the row is committed (or the space is gone)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((pending, outcome, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_groups())
        await asyncio.shield(future)

    async def _write_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:_MAX_GROUP], self._waiting[_MAX_GROUP:]
            try:
                await self._insert(group)
            except Exception as exc:  # each request answers with the error, none is lost silently
                for _, _, future in group:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, _, future in group:
                    if not future.done():
                        future.set_result(None)

    @staticmethod
    async def _insert(group: list[tuple[PendingAccess, int, asyncio.Future[None]]]) -> None:
        rows = [_values(pending, outcome) for pending, outcome, _ in group]
        try:
            await db.insert_rows("access_history", _COLUMN_NAMES, rows=rows)
            await _note_professional_access([(pending, outcome) for pending, outcome, _ in group])
        except Exception as exc:
            if not _is_foreign_key_violation(exc):
                raise
            # A space of the group was erased between its request's door and now: write the rows
            # one by one, each only if its space still exists.
            for pending, outcome, _ in group:
                await _insert_one(pending, outcome)


def _is_foreign_key_violation(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == "23503" or "FOREIGN KEY constraint failed" in str(exc)


_GROUP_COMMIT = GroupCommit()


async def record_with_write(pending: PendingAccess, outcome: int) -> None:
    """A row written inside the caller's own write transaction (a request outside the space door
    that acts on a space), committed with its data."""
    pending.recorded_id = await _insert_one(pending, outcome)


def join_request_write(pending: PendingAccess, *, readmit: Callable[[], Awaitable[None]]) -> None:
    """The door's call: if this request writes, its row commits with its data (see module doc),
    and ``readmit`` (the door's decision taken again, the space's row held: ``SpaceAccess.readmit``)
    runs first in that write."""

    async def write() -> None:
        pending.recorded_id = await _insert_one(pending, pending.expected_outcome)

    def committed() -> None:
        pending.committed = True

    db.join_next_write(write, committed, begin=readmit)


async def record_access(pending: PendingAccess, outcome: int) -> None:
    """Make sure the request's row exists and says ``outcome``, durably, before the answer leaves."""
    if pending.creates and outcome >= 400:
        pending.resource_id = None  # a creation that failed names nothing
    if pending.committed:
        if outcome != pending.expected_outcome and pending.recorded_id is not None:
            # The data committed, but the answer is not the handler's success status (it failed
            # afterwards): the history says what the caller got.
            await _correct_outcome(pending, pending.recorded_id, outcome)
        if pending.creates:
            try:
                await _note_professional_access([(pending, outcome)])
            except Exception as exc:  # the item is stored: a 503 now would have the client send it again
                log.warning(
                    "professional's last access not noted",
                    extra={"event": "last_access_not_noted", "reason": type(exc).__name__},
                )
        return
    await _GROUP_COMMIT.record(pending, outcome)


async def _correct_outcome(pending: PendingAccess, row_id: int, outcome: int) -> None:
    """The request's committed row made to say ``outcome``; or, when ``ens audit seal`` sealed it
    meanwhile, left as sealed, with a second row (the request's id, the time now) saying what the
    caller got, as for an answer that failed after it began (:func:`_record_unfinished`).

    A request commits its row with its first write (not its bookkeeping: ``write_transaction(apart=
    True)``), and what follows it may still fail: the answer read back, a write after the first. An
    upload once committed its row with its ledger, before its file streamed in at the phone's pace:
    the sealer (cron, another process) sealed the row meanwhile; rewritten, the row broke its
    checkpoint, and ``ens audit verify`` reported the space's history tampered with for good (an
    outside audit of several processes on one database). The seal state is held while the row
    changes (:func:`ens.spaces.audit.sealed_upto_held`): a range is read and sealed before or after,
    never in between."""
    async with db.write_transaction():
        if row_id > await sealed_upto_held():
            await fetch(
                "UPDATE access_history SET outcome = {}, resource_id = {}, mac = {} WHERE space_id = {} AND id = {}",
                outcome,
                pending.resource_id,
                row_mac(_sealed_values(pending, outcome)),
                pending.space_id,
                row_id,
            )
            return
    await _GROUP_COMMIT.record(_second_row(pending), outcome)


def _second_row(pending: PendingAccess) -> PendingAccess:
    """Another row of the same request, written now (its first is committed, maybe sealed)."""
    return replace(pending, at=clock.now(), recorded_id=None, committed=False, creates=False)


# How the app answers an error nothing else caught (``ens.app.exception_handlers``): an ASGI answer.
FailureAnswer = Callable[[Scope, Receive, Send, Exception], Awaitable[None]]


class AccessHistoryMiddleware:
    """Gives each request an id and, when the space door left a pending entry, records it with
    the response status before the response leaves — so no answer about a space goes unrecorded.

    When the row cannot be written (the database lost between the handler and the row), the
    handler's answer never leaves: ``answer_failure`` answers instead (a 503 problem when the
    database is out of reach), with the request's id. The answer has started from litestar's view
    by then: the error would otherwise escape the app, and the server would send a bare 500.
    """

    def __init__(self, app: ASGIApp, answer_failure: FailureAnswer | None = None) -> None:
        self.app = app
        self.answer_failure = answer_failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        request_id = state[REQUEST_ID_KEY] = request_id_for(scope)
        unrecorded = False
        # A successful answer recorded and begun, until its last byte: should the handler fail in
        # between (a streamed export whose reading fails), the caller never got it whole.
        streaming: PendingAccess | None = None

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        async def send_recorded(message: Message) -> None:
            nonlocal unrecorded, streaming
            if unrecorded:
                return  # the rest of the answer that was not recorded
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                streaming = None
            if message["type"] == "http.response.start":
                # Not held while the row is written, nor while a body streams to a slow client.
                await db.release_request_connection()
                pending = state.pop(ACCESS_STATE_KEY, None)
                if isinstance(pending, PendingAccess):
                    try:
                        await record_access(pending, message["status"])
                    except Exception as exc:
                        if self.answer_failure is None:
                            raise
                        unrecorded = True
                        await self.answer_failure(scope, receive, send_with_id, exc)
                        return
                    if message["status"] < 400:
                        streaming = pending
            await send_with_id(message)

        async with db.RequestContext():
            try:
                await self.app(scope, receive, send_recorded)
            except Exception as exc:
                if streaming is not None:
                    await _record_unfinished(streaming, _status_of_failure(exc))
                raise


def _status_of_failure(exc: BaseException) -> int:
    """The refusal that stopped an answer already begun, or 500 for anything else. Litestar wraps it
    ("exception caught after response started"), a streamed body's in the task group it streams in."""
    if isinstance(exc, DomainError):
        return problems.of_error(exc).status
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _status_of_failure(exc.exceptions[0])
    return _status_of_failure(exc.__cause__) if exc.__cause__ is not None else 500


async def _record_unfinished(pending: PendingAccess, outcome: int) -> None:
    """A second row, with the request's id, for an answer that failed after its first byte: its row
    said 200 for an export the caller got cut (an outside audit), where the operator's ``ens
    export`` already said it failed. ``outcome``: 500, or the refusal that stopped it (a right that
    ended during an export, a document hidden from its reader during its download)."""
    try:
        await _GROUP_COMMIT.record(_second_row(pending), outcome)
    except Exception as exc:  # the database lost too: the log says what the history cannot
        log.error(
            "an answer failed after it began, and its history row could not be written",
            extra={"event": "history_unfinished_not_recorded", "reason": type(exc).__name__},
        )


def created_item(scope: Scope, outcome: int) -> UUID | None:
    """The item the request's row names as created (``SpaceAccess.names_new_item``), answering
    ``outcome`` (a creation that failed names nothing: :func:`record_access`): kept with the answer
    for an ``Idempotency-Key`` replay, whose own row names it too
    (``ens.app.doors.name_what_the_first_request_created``)."""
    pending = scope.get("state", {}).get(ACCESS_STATE_KEY)
    if not isinstance(pending, PendingAccess) or not pending.creates or outcome >= 400 or pending.resource_id is None:
        return None
    return as_uuid(pending.resource_id)


def request_id_for(scope: Scope) -> str:
    """The request's id: the client's ``X-Request-Id`` if it is a sound one, else a new one."""
    incoming = _header(scope, b"x-request-id")
    return incoming if incoming and _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


_LIST = """
SELECT id, at, actor_account_id, actor_name, client_id, client_name, acting_as, actor_kind, action,
       resource_type, resource_id, outcome, request_id, profession, emergency_reason, subject_name, subject_kind
FROM access_history
WHERE space_id = {} AND id < {}FILTERS
ORDER BY id DESC
LIMIT {}
"""

# Read until a time: the rows not sealed yet (past the space's last checkpoint), then those up to the
# last checkpoint that seals a row older than that time (its checkpoints newest first, by their
# (space_id, upto_id) key: fewer than its rows, each sealing every row of a seal run): the rows of
# the checkpoints after it are all as new or newer, skipped. Each part newest first, then merged.
_LAST_SEALED = "SELECT MAX(c.upto_id) FROM history_checkpoints c WHERE c.space_id = {}"
_LAST_WITH_OLDER = (
    "SELECT c.upto_id FROM history_checkpoints c WHERE c.space_id = {} AND c.oldest_at < {} "
    "ORDER BY c.upto_id DESC LIMIT 1"
)
_LIST_UNTIL = f"""
SELECT * FROM ({_LIST.replace("FILTERS", f" AND id > COALESCE(({_LAST_SEALED}), 0)FILTERS")}) AS unsealed
UNION ALL
SELECT * FROM ({_LIST.replace("FILTERS", f" AND id <= COALESCE(({_LAST_WITH_OLDER}), 0)FILTERS")}) AS sealed
ORDER BY id DESC
LIMIT {{}}
"""

# The last id up to which every row of the space is older than a time (index history_checkpoints_newest).
_OLDER_THAN_SINCE = (
    "SELECT c.upto_id FROM history_checkpoints c WHERE c.space_id = {} AND c.newest_at < {} "
    "ORDER BY c.newest_at DESC, c.upto_id DESC LIMIT 1"
)

HistoryActor = Literal["me", "holder", "representatives", "apps", "professionals", "operators"]
HistoryAction = Literal["read", "change", "delete", "refused"]

_ACTING_AS: dict[str, str] = {
    "holder": "holder",
    "representatives": "representative",
    "apps": "app",
    "professionals": "professional",
    "operators": "operator",
}
_METHODS: dict[str, tuple[str, ...]] = {
    "read": ("GET", "HEAD"),
    "change": ("POST", "PUT", "PATCH"),
    "delete": ("DELETE",),
}


@dataclass(frozen=True)
class HistoryFilter:
    """What the person narrows the history to: who acted, what kind of action, from when to when."""

    actor: HistoryActor | None = None
    action: HistoryAction | None = None
    resource: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        # A word no row uses is a mistake told as one: answered as an empty list (it was), the app
        # showed ``resource=vital`` as "no one ever read your measures" (an outside audit).
        if self.resource is not None and self.resource not in RESOURCE_WORDS:
            choices = ", ".join(RESOURCE_WORDS)
            raise BadRequest(
                f"resource must be one of the history's resources: {choices}.",
                [FieldError("/resource", f"Invalid enum value '{self.resource}' (one of: {choices})")],
            )

    def sql(self, me: UUID, *, me_holds: bool) -> tuple[str, list[Any]]:
        """The conditions; ``me_holds``: the caller is the space's holder."""
        clauses: list[str] = []
        args: list[Any] = []
        if self.actor == "me":
            clauses.append("actor_account_id = {}")
            args.append(me)
            if not me_holds:
                # True of every row of theirs (a space's holder only changes from none), and written
                # so that the partial index by actor (migration m2026_12_10_0001) is chosen.
                clauses.append("acting_as <> 'holder'")
        elif self.actor is not None:
            # Written in the statement, not passed (the values are this module's own words): the
            # partial indexes on the rare rows (migration m2026_12_08_0001) are chosen only when
            # the condition is seen to imply theirs.
            clauses.append(f"acting_as = '{_ACTING_AS[self.actor]}'")
            if self.actor != "holder":
                clauses.append("acting_as <> 'holder'")
        if self.action == "refused":
            clauses.append("outcome >= 400")
        elif self.action is not None:
            methods = _METHODS[self.action]
            likes = [f"action LIKE '{method} %'" for method in methods]
            reads = ", ".join(f"'{command}'" for command in OPERATOR_READS)
            if self.action == "read":
                likes.append(f"action IN ({reads})")
            if self.action == "change":
                # An operator's other commands change who may reach the space (ending a right
                # included: no data is deleted), and are never refused in the history (a refusal
                # writes nothing).
                likes.append(f"(action LIKE '{OPERATOR_ACTION_PREFIX}%' AND action NOT IN ({reads}))")
            clauses.append("(" + " OR ".join(likes) + ")")
        if self.resource is not None:
            # Literal (one of this service's own words, checked when the filter was made): the
            # partial index on the rows about anything but the measures (migration
            # m2026_12_09_0001) is chosen only when the condition is seen to imply its own.
            clauses.append(f"resource_type = '{self.resource}'")
            if self.resource != "vitals":
                clauses.append("resource_type <> 'vitals'")
        if self.since is not None:
            clauses.append("at >= {}")
            args.append(self.since)
        if self.until is not None:
            clauses.append("at < {}")
            args.append(self.until)
        return "".join(f" AND {clause}" for clause in clauses), args

    def key(self) -> str:
        return f"{self.actor}|{self.action}|{self.resource}|{self.since}|{self.until}"


async def list_access_history(
    cursors: Cursors,
    space_id: UUID,
    *,
    me: UUID,
    me_holds: bool,
    today: date,
    sees_confidential: bool = True,
    filters: HistoryFilter = HistoryFilter(),
    limit: int | None,
    cursor: str | None,
) -> Page[AccessEventRead]:
    """Newest first, by keyset on the row id (the index is ``(space_id, id)``); the filters narrow
    the rows of that one space, read in that order. Each row carries its sentence (``describe``).
    Without ``sees_confidential`` (a representative), the rows about an item hidden from them are
    left out: who read it, changed it, added it (a created item is named on its row); and so are the
    rows kept from them, an emergency access hidden from a minor's parents (CSP L1111-5) and every
    request made under it. ``today`` is the day in the space's time zone (a document held back from
    the holder until a day)."""
    size = check_limit(limit)
    purpose = f"history:{space_id}:{filters.key()}"
    before = cursors.place(purpose, cursor, lambda position: cursor_int(position[0])) if cursor else 2**62
    where, args = filters.sql(me, me_holds=me_holds)
    if filters.since is not None:
        # The rows up to the last checkpoint whose space had no row as new as ``since`` are all
        # older (``newest_at``, ens.spaces.audit): skipped, not walked one by one to the oldest.
        where += f" AND id > COALESCE(({_OLDER_THAN_SINCE}), 0)"
        args += [space_id, filters.since]
    # One statement: the ids left out as a subquery (a hashed set on PostgreSQL), not a list sent.
    # Those held back from the holder now (a professional's announcement rule) are left out for
    # everyone who reads the history, as their reads leave them out: a row naming such a document
    # ("a doctor added a document") would tell what the hold-back is there to let them learn in person.
    held, held_times = held_back_items_sql()
    if held:
        where += f" AND (resource_id IS NULL OR resource_id NOT IN ({held}))"
        args += [space_id, today] * held_times
    if not sees_confidential:
        # The reader's own requests stay theirs to see: left out, their tries on an id hidden from
        # them told "hidden from you" apart from "gone", whose rows stay (an outside audit).
        hidden, times = hidden_items_sql()
        where += f" AND (resource_id IS NULL OR actor_account_id = {{}} OR resource_id NOT IN ({hidden}))"
        args += [me, *[space_id] * times]
        # A minor's secret (CSP L1111-5): what a professional did under an emergency access the
        # minor asked to keep from the parents, whatever it named (a list read names nothing).
        where += " AND kept_from_representatives IS NULL"
    if filters.until is None:
        rows = await fetch(_LIST.replace("FILTERS", where), space_id, before, *args, size + 1)
    else:
        unsealed = (space_id, before, space_id, *args, size + 1)
        sealed = (space_id, before, space_id, filters.until, *args, size + 1)
        rows = await fetch(_LIST_UNTIL.replace("FILTERS", where), *unsealed, *sealed, size + 1)
    items = [
        AccessEventRead(
            id=cursors.opaque_id("access-history", int(row["id"])),
            at=row["at"],
            actor=ActorRead(account_id=row["actor_account_id"], name=row["actor_name"])
            if row["actor_account_id"]
            else None,
            client=ClientRead(client_id=row["client_id"], name=row["client_name"]) if row["client_id"] else None,
            acting_as=row["acting_as"],
            actor_kind=row["actor_kind"],
            action=row["action"],
            resource_type=row["resource_type"],
            resource_id=row["resource_id"],
            outcome=row["outcome"],
            request_id=row["request_id"],
            description=describe(row),
            profession_code=row["profession"],
            profession=access_matrix().label(row["profession"]) if row["profession"] else None,
            emergency_reason=row["emergency_reason"],
        )
        for row in rows[:size]
    ]
    next_cursor = cursors.encode(purpose, [int(rows[size - 1]["id"])]) if len(rows) > size else None
    return Page(items=items, next_cursor=next_cursor)


async def _names_a_kept_item(pending: PendingAccess) -> bool:
    """Whether the request's row names an item kept from some of the space's readers now: hidden
    from the representatives (or removed while hidden), or held back from the holder (the history
    leaves such rows out for them: :func:`hidden_items_sql`, :func:`held_back_items_sql`). Each
    table is asked by its key."""
    try:
        item = UUID(pending.resource_id) if pending.resource_id else None
    except ValueError:
        return False
    if item is None:
        return False
    hidden = [f"SELECT 1 AS x FROM {name} WHERE space_id = {{}} AND id = {{}} AND {_HIDDEN}" for name in _hideable()]
    held = [f"SELECT 1 AS x FROM {name} WHERE space_id = {{}} AND id = {{}} AND {_HELD}" for name in _holdable()]
    # Held until a day: the space's day may be the day before UTC's (on the side of held).
    until = pending.at.date() - timedelta(days=1)
    parts = ["SELECT 1 AS x FROM hidden_items_removed WHERE space_id = {} AND id = {}", *hidden, *held]
    args = [pending.space_id, item] * (1 + len(hidden)) + [pending.space_id, item, until] * len(held)
    return bool(await fetch(" UNION ALL ".join(parts), *args))


# What keeps an item from some of a space's readers, on the tables whose items can be so kept.
_HIDDEN = "hidden_from_representatives"
# An access request (``access_requests r``) names its professional: one whose entry on the space is
# kept from the representatives (they came under an emergency access a minor asked to keep from the
# parents, CSP L1111-5) asks the minor alone. The parents' list, count and answers leave it out
# (``ens.spaces.pro_access``), and the history the rows naming it, until a decision they see shows
# the professional (``ens.spaces.professionals``): before, the request told them of the professional
# the hidden access keeps from them (an audit). One read of the entry's unique index.
KEPT_REQUEST = """EXISTS (SELECT 1 FROM space_professionals sp WHERE sp.space_id = r.space_id
    AND sp.professional_id = r.professional_id AND sp.hidden_from_representatives)"""
_KEPT_REQUESTS = f"SELECT CAST(r.id AS TEXT) FROM access_requests r WHERE r.space_id = {{}} AND {KEPT_REQUEST}"
_HELD = "hidden_from_holder AND (hidden_from_holder_until IS NULL OR hidden_from_holder_until > {})"


def _tables_with(*columns: str) -> list[str]:
    """The bound tables keyed by space and id that have ``columns``."""
    needed = {"space_id", "id", *columns}
    return [
        table._meta.tablename
        for table in db.bound_tables()
        if needed <= {column._meta.name for column in table._meta.columns}
    ]


def _hideable() -> list[str]:
    return _tables_with("hidden_from_representatives")


def _holdable() -> list[str]:
    return _tables_with("hidden_from_holder", "hidden_from_holder_until")


def hidden_items_sql() -> tuple[str, int]:
    """A subquery of the ids of the space's items hidden from representatives, and how many times it
    names the space: the items hidden now, in every table whose items can be hidden (those with a
    ``hidden_from_representatives`` column; the measures' read by a partial index, migration
    m2026_12_10_0003), the measures removed while hidden (their tombstones say so), the other
    items removed while hidden (``hidden_items_removed``, written by their removal) and the access
    requests of a professional kept from them (:data:`KEPT_REQUEST`)."""
    parts = [f"SELECT CAST(id AS TEXT) FROM {name} WHERE space_id = {{}} AND {_HIDDEN}" for name in _hideable()]
    parts.append("SELECT CAST(id AS TEXT) FROM hidden_items_removed WHERE space_id = {}")
    parts.append(_KEPT_REQUESTS)
    return " UNION ALL ".join(parts), len(parts)


def held_back_items_sql() -> tuple[str, int]:
    """A subquery of the ids of the space's items held back from the holder today (and so from
    whoever sees what the holder sees): those with ``hidden_from_holder`` set, unless their
    ``hidden_from_holder_until`` day has come (``ens.documents.visibility``, the same rule); and how
    many (space, today) argument pairs it takes, in that order."""
    parts = [f"SELECT CAST(id AS TEXT) FROM {name} WHERE space_id = {{}} AND {_HELD}" for name in _holdable()]
    return " UNION ALL ".join(parts), len(parts)


async def note_hidden_item_removed(space_id: UUID, item_id: UUID, *, hidden: bool) -> None:
    """In the removal's transaction: an item removed while hidden from representatives stays hidden
    from them in the history (its rows name it)."""
    if hidden:
        await fetch(
            "INSERT INTO hidden_items_removed (space_id, id, removed_at) VALUES ({}, {}, {}) ON CONFLICT DO NOTHING",
            space_id,
            item_id,
            clock.now(),
        )


async def account_name(account_id: UUID) -> str | None:
    """An account's names, as the history's rows keep them (``None``: no such account)."""
    row = await db.fetch_one("SELECT given_name || ' ' || family_name AS name FROM accounts WHERE id = {}", account_id)
    return str(row["name"]) if row is not None and row["name"] is not None else None


@dataclass(frozen=True)
class AccountAction:
    """A request outside the space door that acts on a space (creating a child's space, joining it
    as a parent, taking it over at 18): it leaves its row in that space's history, written in the
    service's own transaction."""

    caller: Caller
    action: str
    request_id: str
    # The request's scope state: the space acted on is named there, as the space door names its own
    # (an answer stored for an Idempotency-Key then goes when the space is erased).
    state: dict[str, Any] = field(default_factory=dict)
    # What the row says it was about, and the app's name (an app connected at the consent page).
    resource_type: str = "space"
    resource_id: str | None = None
    client_name: str | None = None

    async def record(self, space_id: UUID, *, acting_as: Role, actor_kind: str | None, outcome: int) -> None:
        self.state[SPACE_STATE_KEY] = space_id
        await _insert_one(
            PendingAccess(
                space_id=space_id,
                at=clock.now(),
                actor_account_id=self.caller.account_id,
                actor_name=await account_name(self.caller.account_id),
                client_id=self.caller.client_id,
                client_name=self.client_name,
                acting_as=acting_as,
                actor_kind=actor_kind,
                action=self.action,
                resource_type=self.resource_type,
                resource_id=self.resource_id,
                request_id=self.request_id,
                expected_outcome=outcome,
            ),
            outcome,
        )


# Why the service ended an app's connection at a token request (``AppConnectionEnded.reason``).
ConnectionEndReason = Literal["refresh_token_reused", "code_reused", "right_lapsed"]


@dataclass(frozen=True)
class AppConnectionEnded:
    """A token request that ended an app's connection to a space: the app revoking its own tokens
    (``POST /oauth/revoke``, RFC 7009), or the service revoking a connection whose refresh token or
    authorization code was presented a second time, or whose representative's right lapsed (``POST
    /oauth/token``, ``reason``). Its row in
    that space's history, written with the revocation (:func:`ens.spaces.service.revoke_grant`):
    the holder saw the app leave the list of connected apps without a word (an outside audit).
    The actor is the app, as its own requests name it (the account that connected it, and its name)."""

    action: Literal["POST /oauth/revoke", "POST /oauth/token"]
    request_id: str
    outcome: int
    reason: ConnectionEndReason | None = None

    async def record(self, grant: Row) -> None:
        """``grant``: the grant's ``id``, ``space_id``, ``account_id``, ``client_id``, ``client_name``."""
        await _insert_one(
            PendingAccess(
                space_id=as_uuid(grant["space_id"]),
                at=clock.now(),
                actor_account_id=as_uuid(grant["account_id"]),
                actor_name=await account_name(as_uuid(grant["account_id"])),
                client_id=str(grant["client_id"]),
                client_name=grant["client_name"],
                acting_as="app",
                actor_kind=None,
                action=self.action,
                resource_type="grants",
                resource_id=str(grant["id"]),
                request_id=self.request_id,
                expected_outcome=self.outcome,
                subject_kind=self.reason,
            ),
            self.outcome,
        )


def operator_text_refused(pointer: str, text: str, *, required: bool = True) -> FieldError | None:
    """Why what an operator typed for ``pointer`` (already stripped) cannot be kept, if it cannot:
    missing when ``required``, or longer than its column."""
    if len(text) <= MAX_OPERATOR_TEXT and (text or not required):
        return None
    return FieldError(pointer, f"{'required, ' if required else ''}{MAX_OPERATOR_TEXT} characters at most")


def operator_name(name: str | None) -> str | None:
    """The name an operator gave a command (``--operator``), as their rows say it; none if blank."""
    if name is None or not name.strip():
        return None
    refused = operator_text_refused("/operator", name.strip(), required=False)
    if refused is not None:
        raise Invalid("The operator's name is too long.", [refused])
    return name.strip()


@dataclass(frozen=True)
class OperatorAction:
    """An operator's command that changes who may reach a space (``ens representatives add | end |
    restore-parent``, ``ens claim-codes issue``), reads who does (``ens representatives list``: the
    representatives' names and decisions), or reads all of it (``ens export``, resource
    ``export``): its one row in that space's history, written in the command's own write
    transaction with its change (a refusal changes nothing and writes none), before an export's
    first byte, so that the holder and the representatives see it as they see the rest.

    No account acted: ``actor_account_id`` is null, ``acting_as`` is operator, ``actor_name`` the
    name the operator gave (``--operator``) or none, the client the command line
    (``OPERATOR_CLIENT_ID``), the action the command, the resource the representatives (the claim
    code's route is theirs too), and for a right recorded, ended or restored its id
    (``resource_id``), its holder's name and its kind (``subject_name``, ``subject_kind``). Never
    the court decision's reference nor the operator's reason: text typed by hand, that may say
    something of the person (the reference of a live right is in the representatives' list)."""

    command: OperatorCommand
    operator: str | None = None
    # Also on the operators' security log line, to find one from the other.
    request_id: str = field(default_factory=lambda: f"cli-{secrets.token_hex(16)}")

    async def record(
        self,
        space_id: UUID,
        *,
        outcome: int,
        resource_id: UUID | None = None,
        subject_name: str | None = None,
        subject_kind: str | None = None,
        resource_type: str = "representatives",
    ) -> None:
        await _insert_one(
            PendingAccess(
                space_id=space_id,
                at=clock.now(),
                actor_account_id=None,
                actor_name=self.operator,
                client_id=OPERATOR_CLIENT_ID,
                client_name=None,
                acting_as="operator",
                actor_kind=None,
                action=self.command,
                resource_type=resource_type,
                resource_id=str(resource_id) if resource_id is not None else None,
                request_id=self.request_id,
                expected_outcome=outcome,
                subject_name=subject_name,
                subject_kind=subject_kind,
            ),
            outcome,
        )
