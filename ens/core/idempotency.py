"""``Idempotency-Key`` on creating POSTs, kept in the database so that it holds across processes.

A retry with the same key and body replays the first response and creates nothing; the same key
with another body is 422 (a multipart body compared by its parts, not its boundary; a JSON body by
its value, not its spacing or key order); while the first request still runs, 409. Keys are scoped
to the caller and kept 24 hours. Responses marked ``Cache-Control: no-store`` (tokens, recovery
codes) are never stored: a retry with the same key and request runs again (another request with
that key is still 422). A service whose secret answer must not be doubled by such a retry (the
client lost the first one, so it never saw its secret) marks what it makes with
:func:`retry_mark` and lets the retry replace it. A replay writes its own access-history row,
naming the item the first request's row named as created (kept with the answer): whom the item is
kept from is shown neither row.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import timedelta
from typing import IO, Any, Literal

import msgspec
from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPDisconnectEvent,
    HTTPRequestEvent,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ens.core import clock, keyring
from ens.core.db import Row, delete_in_batches, fetch, fetch_one, one_of, row_lock, write_transaction
from ens.core.errors import BadRequest, Conflict, DomainError, Invalid, PayloadTooLarge
from ens.core.spool import EncryptedSpool

log = logging.getLogger("ens.idempotency")

KEY_TTL = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
SPACE_STATE_KEY = "ens.space_id"
REPLAY_STATE_KEY = "ens.idempotent_replay"
REFUSAL_STATE_KEY = "ens.idempotent_refusal"
# In a route's ``opt``: how a replay of its answer is recorded in the history of the space the
# answer names (``space_id`` of the stored row), where the route's path names none (a
# professional's emergency access names the space in its body): ``await recorder(request, stored)``.
REPLAY_RECORDER_KEY = "ens.replay_recorder"
# What a request's access-history row names as the item it created, answering a status (``None``
# when nothing): kept with its answer (``created_item``) for a replay's own row to name it too.
CreatedItem = Callable[[Scope, int], uuid.UUID | None]


def retry_mark(caller_scope: str, key: str) -> str:
    """What a secret-bearing answer's row keeps of the ``Idempotency-Key`` that made it, scoped to
    the caller as the key is (:attr:`ens.spaces.caller.Caller.idempotency_scope`): a retry with the
    same key finds the rows it replaces. Hashed: a fixed width, and the client's key is not kept."""
    return hashlib.sha256(f"{caller_scope}\n{key}".encode()).hexdigest()


async def _claim(
    caller: str, key: str, *, request_hash: str, lease: timedelta, earlier_hashes: Sequence[str] = ()
) -> Row | None:
    """Claim the key for this request; ``None`` when it is ours, else the record that holds it.
    ``earlier_hashes``: the request's hash under the keys ENS_SECRET_KEY replaced (a key claimed
    before the change is the same request's).

    A claim is a ``running`` record with a lease: if the process running it dies (a crash, a
    SIGKILL), the claim would otherwise block every retry for the record's 24 hours. Once the lease
    has passed, the next request with the same key and body takes the claim over and runs again.
    A request still running renews its lease (:class:`_LeaseKeeper`): only a dead one lets it pass.
    """
    now = clock.now()
    await fetch("DELETE FROM idempotency_keys WHERE caller = {} AND key = {} AND expires_at < {}", caller, key, now)
    inserted = await fetch(
        """INSERT INTO idempotency_keys (id, caller, key, request_hash, state, created_at, expires_at, lease_until)
           VALUES ({}, {}, {}, {}, 'running', {}, {}, {})
           ON CONFLICT (caller, key) DO NOTHING RETURNING id""",
        uuid.uuid4(),
        caller,
        key,
        request_hash,
        now,
        now + KEY_TTL,
        now + lease,
    )
    if inserted:
        return None
    # One conditional UPDATE decides between concurrent retries: only one takes an expired lease,
    # or a key whose answer was not kept (``unkept``: it runs again).
    hashes = (request_hash, *earlier_hashes)
    taken = await fetch(
        f"""UPDATE idempotency_keys SET state = 'running', lease_until = {{}} WHERE caller = {{}} AND key = {{}}
           AND {one_of("request_hash", hashes)} AND (state = 'unkept'
                OR (state = 'running' AND (lease_until IS NULL OR lease_until < {{}}))) RETURNING id""",
        now + lease,
        caller,
        key,
        *hashes,
        now,
    )
    if taken:
        return None
    return await fetch_one(
        "SELECT request_hash, state, status, headers, body, space_id, created_item, created_at FROM idempotency_keys "
        "WHERE caller = {} AND key = {}",
        caller,
        key,
    )


# A stored answer is health data (a measure's values, a document's title and author): kept
# encrypted (AES-GCM under a key derived from ENS_SECRET_KEY, bound to its caller and key), this
# prefix first. It was kept in clear (an outside audit: a document's sealed title, in clear here).
_SEALED = b"ens-sealed-1:"
_PURPOSE = "idempotency-answer"


def _sealed_answer(secret: str, caller: str, key: str, body: bytes) -> bytes:
    associated = f"{caller}\n{key}".encode()
    return _SEALED + keyring.encrypt(secret, _PURPOSE, plaintext=body, associated=associated)


def _opened_answer(secret: str, caller: str, key: str, stored: bytes) -> bytes:
    """The answer as it was sent; one stored before answers were sealed (kept a day at most) as it is."""
    if not stored.startswith(_SEALED):
        return stored
    associated = f"{caller}\n{key}".encode()
    return keyring.decrypt(secret, _PURPOSE, blob=stored[len(_SEALED) :], associated=associated)


async def _complete(
    caller: str,
    key: str,
    *,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    space_id: Any,
    created_item: uuid.UUID | None,
) -> None:
    """Store the answer (its body sealed by the caller) for replays, with the item the request's
    history row named as created. An answer about a space is stored with it, so that erasing the
    space erases it; about a space erased meanwhile, it is not kept at all (its key is released)."""
    answer = (status, msgspec.json.encode(headers).decode(), body, created_item)
    await _settle(caller, key, "done", answer, space_id=space_id)


async def _unkept(caller: str, key: str, *, space_id: Any) -> None:
    """A secret-bearing answer is not kept for a replay, but its key still names its request: a
    retry with the same request runs again, another request with that key is 422. With its space,
    as a kept answer is (erased with it; released if the space was erased meanwhile)."""
    await _settle(caller, key, "unkept", (None, None, None, None), space_id=space_id)


_SETTLE = (
    "UPDATE idempotency_keys SET state = {}, status = {}, headers = {}, body = {}, created_item = {}, "
    "lease_until = NULL, space_id = {} WHERE caller = {} AND key = {}"
)


async def _settle(
    caller: str,
    key: str,
    state: Literal["done", "unkept"],
    answer: tuple[int | None, str | None, bytes | None, uuid.UUID | None],
    *,
    space_id: Any,
) -> None:
    """The key's request is over: ``done`` with its answer (status, headers, body, the item it
    created), or ``unkept``."""
    if space_id is None:
        await fetch(_SETTLE, state, *answer, None, caller, key)
        return
    # The space's row shared (PostgreSQL): an erasure holding it is waited for, then seen.
    stored = await fetch(
        _SETTLE + f" AND EXISTS (SELECT 1 FROM spaces WHERE id = {{}}{row_lock('KEY SHARE')}) RETURNING id",
        state,
        *answer,
        space_id,
        caller,
        key,
        space_id,
    )
    if not stored:
        await _release(caller, key)


class _LeaseKeeper:
    """Renews a running request's claim every third of its lease, so that a slow request (a large
    upload on a poor network) is never run a second time by a retry, while a dead process stops
    renewing. A timer first: a request done within a third of its lease (nearly all) starts no task.
    Started outside the request's transaction: the renewal uses a connection of its own."""

    def __init__(self, caller: str, key: str, lease: timedelta) -> None:
        self._caller, self._key, self._lease = caller, key, lease
        self._every = lease.total_seconds() / 3
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # In a context of its own: the request's (its shared connection, the history row it joins to
        # its write) must not be the renewal's.
        self._timer = asyncio.get_running_loop().call_later(self._every, self._start, context=contextvars.Context())

    def _start(self) -> None:
        self._task = asyncio.ensure_future(self._renew())

    async def _renew(self) -> None:
        while not self._done.is_set():
            try:
                # A write turn of its own (SQLite: never the shared read connection's thread).
                async with write_transaction():
                    await fetch(
                        "UPDATE idempotency_keys SET lease_until = {} WHERE caller = {} AND key = {} "
                        "AND state = 'running'",
                        clock.now() + self._lease,
                        self._caller,
                        self._key,
                    )
            except Exception:  # the database unreachable a moment: the request itself will say so
                log.warning("idempotency lease not renewed", exc_info=True)
            try:
                await asyncio.wait_for(self._done.wait(), self._every)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._timer.cancel()
        self._done.set()
        if self._task is not None:
            await self._task


async def _release(caller: str, key: str) -> None:
    await fetch("DELETE FROM idempotency_keys WHERE caller = {} AND key = {}", caller, key)


async def purge_expired() -> int:
    """``ens purge``: the keys past their day, in batches (a day of the apps' writes, read back id by
    id in one transaction before: an outside audit)."""
    return await delete_in_batches("idempotency_keys", "expires_at", clock.now())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class IdempotencyMiddleware:
    """Claims the key, replays a finished request, and refuses a conflicting one.

    A refusal (a malformed key, a body too large to hash, another body for the key, the first
    request still running) is not answered here: the request goes on through the router like any
    other, so the doors check the caller and record the access, and :func:`replay_stored` answers
    the refusal in place of the handler.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        lease_seconds: int,
        secret: str,
        created_item: CreatedItem,
        large_bodies: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.secret = secret
        # What the request's history row named as created (``ens.spaces.history.created_item``).
        self.created_item = created_item
        self.max_body_bytes = max_body_bytes
        self.lease = timedelta(seconds=lease_seconds)
        # Paths whose route takes a larger body (a document's upload), with their limit.
        self.large_bodies = list(large_bodies)

    def _limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.large_bodies if pattern.fullmatch(path)), self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == ScopeType.HTTP else None
        caller = scope.get("user")
        if key is None or scope.get("method") != "POST" or caller is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(key):
            await self._refuse(scope, send, 400, "Idempotency-Key must be 1 to 255 visible ASCII characters.")
            return
        limit = self._limit(scope["path"])
        digest = _RequestDigest(scope)
        body = await _read_body(receive, limit, digest)
        if body is None:
            await self._refuse(scope, send, 413, f"The body must not exceed {limit} bytes.")
            return
        replay = _Replay(body)
        try:
            caller_key = str(getattr(caller, "idempotency_scope", ""))
            # Keyed: the request's digest alone (a plain SHA-256 of its path and body) let a copy of
            # the table confirm a guess at what was sent, a deleted allergy's text say (an outside
            # security audit). (Rows written before keep their plain digest: a retry of one across
            # the change is told "a different request", for their 24 hours.)
            request_hash, *earlier = stored_request_hashes(self.secret, digest.hexdigest())
            existing = await _claim(
                caller_key, key, request_hash=request_hash, lease=self.lease, earlier_hashes=earlier
            )
            if existing is not None:
                if existing["request_hash"] not in (request_hash, *earlier):
                    await self._refuse(scope, send, 422, "This Idempotency-Key was used with a different request.")
                elif existing["state"] == "done":
                    # Like a refusal, the replay passes the doors (a revoked grant gets nothing back) and
                    # is recorded; then :func:`replay_stored` answers with the first response.
                    body = _opened_answer(self.secret, caller_key, key, bytes(existing["body"] or b""))
                    scope.setdefault("state", {})[REPLAY_STATE_KEY] = {**dict(existing), "body": body}
                    await self.app(scope, replay, send)
                else:
                    await self._refuse(
                        scope, send, 409, "A request with this Idempotency-Key is still being processed."
                    )
                return
            # Stored answers are replayed to clients that may not accept gzip: keep them plain.
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
            await self._run_and_store(scope, replay, send=send, caller_key=caller_key, key=key)
        finally:
            replay.close()

    async def _refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        scope.setdefault("state", {})[REFUSAL_STATE_KEY] = (status, detail)
        await self.app(scope, _Replay(b""), send)

    async def _run_and_store(self, scope: Scope, receive: Receive, *, send: Send, caller_key: str, key: str) -> None:
        """Run the request; store its answer for replays *before* the client gets it.

        A client that received a 2xx may rely on a retry with the same key being replayed: the
        answer is held back until the record says ``done`` (answers of creating POSTs are small).
        """
        status = 500
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        held: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            held.append(message)

        keeper = _LeaseKeeper(caller_key, key, self.lease)
        try:
            try:
                await self.app(scope, receive, capture)
            finally:
                await keeper.stop()
        except BaseException:
            await _release(caller_key, key)
            raise
        no_store = any(k.lower() == "cache-control" and "no-store" in v for k, v in headers)
        # A 406 is released as a failure is: it answers the Accept header, which a retry does not
        # repeat as the key compares it (path, query, body); kept, it was replayed to the retry that
        # accepted JSON, for the key's day (a review).
        if status >= 500 or status == 406:
            await _release(caller_key, key)
        elif no_store:
            await _unkept(caller_key, key, space_id=scope.get("state", {}).get(SPACE_STATE_KEY))
        else:
            kept = [(k, v) for k, v in headers if k.lower() not in ("x-request-id", "date", "content-length")]
            space_id = scope.get("state", {}).get(SPACE_STATE_KEY)
            sealed = _sealed_answer(self.secret, caller_key, key, b"".join(chunks))
            created = self.created_item(scope, status)
            await _complete(
                caller_key, key, status=status, headers=kept, body=sealed, space_id=space_id, created_item=created
            )
        for message in held:
            await send(message)


# A body is kept in memory up to this size, then in a temporary file encrypted under a key held
# only in memory (``ens.core.spool``): a 20 MiB upload is never held whole in memory to be hashed
# and replayed to the handler, and no body (health data) sits in plaintext on disk.
_SPOOL_IN_MEMORY = 1024 * 1024
_REPLAY_CHUNK = 64 * 1024


def _number(text: str) -> int | float:
    """A JSON number with a fraction or an exponent, as the value it is: ``70.0`` and ``7e1`` are
    the ``70`` another serialiser writes (a retry written ``70.0`` was "another body": an outside
    audit). Beyond what a float holds exactly, the float."""
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


_AS_VALUES = msgspec.json.Decoder(float_hook=_number)


def stored_request_hashes(secret: str, digest: str) -> tuple[str, ...]:
    """What a key's row keeps of its request's digest (:class:`_RequestDigest`), under the current
    key first, then under each key it replaced (a retry across a change of key still replays):
    keyed, so that a copy of the table confirms no guess at what was sent."""
    return keyring.token_hashes(secret, _HASHED + digest)


_HASHED = "idempotency request:"


class _RequestDigest:
    """What tells a retry from another request under the same key: the path, the query and the
    body — a ``multipart/form-data`` body by its parts (each one's headers, by name, and bytes), not
    by the boundary its client drew at random for this try (httpx, OkHttp, URLSession draw a new one
    each time); a JSON body by its value (keys sorted, no whitespace, escapes resolved), not by how
    this try's serialiser spaced or ordered it, or wrote its numbers (``70.0`` is ``70``). A
    multipart body the parser refuses or that ends early, a JSON body that does not parse or is
    larger than :data:`_SPOOL_IN_MEMORY`, counts by its bytes."""

    def __init__(self, scope: Scope) -> None:
        self._prefix = scope["path"].encode() + b"?" + scope.get("query_string", b"") + b"\n"
        self._raw = hashlib.sha256(self._prefix)
        self._parts: Any = None
        self._ended = False
        media, options = parse_options_header(_header(scope, b"content-type") or "")
        # Held as it arrives (the body is held in memory to this size anyway), parsed at the end.
        self._json = bytearray() if media == b"application/json" or media.endswith(b"+json") else None
        boundary = options.get(b"boundary", b"")
        if media == b"multipart/form-data" and 1 <= len(boundary) <= 70:
            self._parts = self._raw.copy()
            self._part: Any = None
            self._headers: list[tuple[bytes, bytes]] = []
            self._field = bytearray()
            self._value = bytearray()
            self._parser = MultipartParser(
                boundary,
                callbacks={
                    "on_part_begin": self._begin,
                    "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
                    "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
                    "on_header_end": self._header_end,
                    "on_headers_finished": self._headers_finished,
                    "on_part_data": lambda data, start, end: self._part.update(data[start:end]),
                    "on_part_end": lambda: self._parts.update(self._part.digest()),
                    "on_end": self._end,
                },
            )

    def _begin(self) -> None:
        self._part, self._headers = hashlib.sha256(), []

    def _header_end(self) -> None:
        self._headers.append((bytes(self._field).lower(), bytes(self._value).strip()))
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        for name, value in sorted(self._headers):
            self._part.update(b"%d:%s%d:%s" % (len(name), name, len(value), value))
        self._part.update(b"\n")

    def _end(self) -> None:
        self._ended = True

    def update(self, chunk: bytes) -> None:
        self._raw.update(chunk)
        if self._json is not None:
            if len(self._json) + len(chunk) <= _SPOOL_IN_MEMORY:
                self._json += chunk
            else:
                self._json = None
        if self._parts is not None:
            try:
                self._parser.write(chunk)
            except MultipartParseError:
                self._parts = None

    def hexdigest(self) -> str:
        if self._parts is not None and self._ended:
            return str(self._parts.hexdigest())
        if self._json:
            try:
                value = _AS_VALUES.decode(self._json)
            except msgspec.DecodeError:
                return self._raw.hexdigest()
            # The same prefix as the bytes': a body already in this form has the same digest either way.
            return hashlib.sha256(self._prefix + msgspec.json.encode(value, order="sorted")).hexdigest()
        return self._raw.hexdigest()


async def _read_body(receive: Receive, limit: int, digest: _RequestDigest) -> bytes | EncryptedSpool | None:
    """The body, hashed into ``digest`` as it arrives and kept for the handler; ``None`` past ``limit``."""
    held = bytearray()
    spool: EncryptedSpool | None = None
    size = 0
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if spool is not None:
                    spool.close()
                return None
            digest.update(chunk)
            if spool is None and size <= _SPOOL_IN_MEMORY:
                held += chunk
            else:
                if spool is None:
                    spool = EncryptedSpool()
                    spool.write(bytes(held))
                    held.clear()
                spool.write(chunk)
            if not message.get("more_body", False):
                break
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    if spool is None:
        return bytes(held)
    spool.finish()
    return spool


class _Replay:
    """The body again, for the handler (an ASGI ``receive``): all at once, or read back in chunks,
    decrypted, from its spool. :meth:`close` lets the spool go, read or not."""

    def __init__(self, body: bytes | EncryptedSpool) -> None:
        self._body = body
        self._reading = ExitStack()
        self._plaintext: IO[bytes] | None = None
        self._done = False

    async def __call__(self) -> ReceiveMessage:
        if self._done:
            disconnect: HTTPDisconnectEvent = {"type": "http.disconnect"}
            return disconnect
        if isinstance(self._body, bytes):
            self._done = True
            request: HTTPRequestEvent = {"type": "http.request", "body": self._body, "more_body": False}
            return request
        if self._plaintext is None:
            self._plaintext = self._reading.enter_context(self._body.plaintext())
        # A read may give less than asked before the end (the spool decrypts segment by segment):
        # the body ends at the first empty read.
        chunk = self._plaintext.read(_REPLAY_CHUNK) or b""
        if not chunk:
            self.close()
        piece: HTTPRequestEvent = {"type": "http.request", "body": chunk, "more_body": not self._done}
        return piece

    def close(self) -> None:
        self._done = True
        try:
            self._reading.close()
        finally:
            if isinstance(self._body, EncryptedSpool):
                self._body.close()


# The statuses the middleware refuses with, as the domain errors of those statuses.
_REFUSALS: dict[int, type[DomainError]] = {400: BadRequest, 409: Conflict, 413: PayloadTooLarge, 422: Invalid}


async def replay_stored(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """``before_request`` hook: after the route's guards passed, answer a refusal, or a replay with
    the stored response (the handler does not run again)."""
    state = request.scope.get("state", {})
    refusal = state.get(REFUSAL_STATE_KEY)
    if refusal is not None:
        # Raised, not answered here: the one error mapping answers it as every error of the route
        # (problem+json on /v1, an OperationOutcome on /fhir).
        status, detail = refusal
        raise _REFUSALS[status](detail)
    stored = state.get(REPLAY_STATE_KEY)
    if stored is None:
        return None
    headers = dict(msgspec.json.decode(stored["headers"]))
    media_type = headers.pop("content-type", None)
    headers["idempotent-replayed"] = "true"
    return Response(
        content=bytes(stored["body"] or b""), status_code=stored["status"], headers=headers, media_type=media_type
    )
