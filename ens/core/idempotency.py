"""``Idempotency-Key`` on creating POSTs, kept in the database so that it holds across processes.

A retry with the same key and body replays the first response and creates nothing; the same key
with another body is 422; while the first request still runs, 409. Keys are scoped to the caller
and kept 24 hours. Responses marked ``Cache-Control: no-store`` (tokens, recovery codes) are never
stored: their key is released and a retry runs again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPDisconnectEvent,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from ens.core import clock
from ens.core.db import Row, fetch, fetch_one
from ens.core.problems import PROBLEM_JSON, for_status, problem_body

KEY_TTL = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
SPACE_STATE_KEY = "ens.space_id"
REPLAY_STATE_KEY = "ens.idempotent_replay"


async def _claim(caller: str, key: str, *, request_hash: str) -> Row | None:
    """Insert a ``running`` record; ``None`` when we own it, else the existing record."""
    now = clock.now()
    await fetch("DELETE FROM idempotency_keys WHERE caller = {} AND key = {} AND expires_at < {}", caller, key, now)
    inserted = await fetch(
        """INSERT INTO idempotency_keys (id, caller, key, request_hash, state, created_at, expires_at)
           VALUES ({}, {}, {}, {}, 'running', {}, {})
           ON CONFLICT (caller, key) DO NOTHING RETURNING id""",
        uuid.uuid4(),
        caller,
        key,
        request_hash,
        now,
        now + KEY_TTL,
    )
    if inserted:
        return None
    return await fetch_one(
        "SELECT request_hash, state, status, headers, body FROM idempotency_keys WHERE caller = {} AND key = {}",
        caller,
        key,
    )


async def _complete(
    caller: str, key: str, *, status: int, headers: list[tuple[str, str]], body: bytes, space_id: Any
) -> None:
    await fetch(
        """UPDATE idempotency_keys SET state = 'done', status = {}, headers = {}, body = {}, space_id = {}
           WHERE caller = {} AND key = {}""",
        status,
        msgspec.json.encode(headers).decode(),
        body,
        space_id,
        caller,
        key,
    )


async def _release(caller: str, key: str) -> None:
    await fetch("DELETE FROM idempotency_keys WHERE caller = {} AND key = {}", caller, key)


async def purge_expired() -> int:
    rows = await fetch("DELETE FROM idempotency_keys WHERE expires_at < {} RETURNING id", clock.now())
    return len(rows)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def _send_problem(send: Send, status: int, *, detail: str) -> None:
    body = problem_body(for_status(status), detail)
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == ScopeType.HTTP else None
        caller = scope.get("user")
        if key is None or scope.get("method") != "POST" or caller is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(key):
            await _send_problem(
                send,
                400,
                detail="Idempotency-Key must be 1 to 255 visible ASCII characters.",
            )
            return
        body, too_large = await _read_body(receive, self.max_body_bytes)
        if too_large:
            await _send_problem(
                send,
                413,
                detail=f"The body must not exceed {self.max_body_bytes} bytes.",
            )
            return
        caller_key = str(getattr(caller, "idempotency_scope", ""))
        digest = hashlib.sha256()
        digest.update(scope["path"].encode() + b"?" + scope.get("query_string", b"") + b"\n")
        digest.update(body)
        request_hash = digest.hexdigest()
        existing = await _claim(caller_key, key, request_hash=request_hash)
        if existing is not None:
            if existing["request_hash"] == request_hash and existing["state"] == "done":
                # The replay goes through the router like any request: the doors check that the
                # caller's grant is still live and record the access, then :func:`replay_stored`
                # answers with the first response instead of running the handler again.
                scope.setdefault("state", {})[REPLAY_STATE_KEY] = existing
                await self.app(scope, _replay(body), send)
                return
            await self._refuse(existing, request_hash, send=send)
            return
        # Stored answers are replayed to clients that may not accept gzip: keep them plain.
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
        await self._run_and_store(scope, _replay(body), send=send, caller_key=caller_key, key=key)

    async def _refuse(self, existing: Row, request_hash: str, *, send: Send) -> None:
        if existing["request_hash"] != request_hash:
            await _send_problem(
                send,
                422,
                detail="This Idempotency-Key was used with a different request.",
            )
            return
        await _send_problem(
            send,
            409,
            detail="A request with this Idempotency-Key is still being processed.",
        )

    async def _run_and_store(self, scope: Scope, receive: Receive, *, send: Send, caller_key: str, key: str) -> None:
        status = 500
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await _release(caller_key, key)
            raise
        no_store = any(k.lower() == "cache-control" and "no-store" in v for k, v in headers)
        if status >= 500 or no_store:
            await _release(caller_key, key)
            return
        kept = [(k, v) for k, v in headers if k.lower() not in ("x-request-id", "date", "content-length")]
        space_id = scope.get("state", {}).get(SPACE_STATE_KEY)
        await _complete(caller_key, key, status=status, headers=kept, body=b"".join(chunks), space_id=space_id)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            request: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
            return request
        disconnect: HTTPDisconnectEvent = {"type": "http.disconnect"}
        return disconnect

    return receive


async def replay_stored(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """``before_request`` hook: after the route's guards passed, answer a replay with the stored
    response (the handler does not run again)."""
    stored = request.scope.get("state", {}).get(REPLAY_STATE_KEY)
    if stored is None:
        return None
    headers = dict(msgspec.json.decode(stored["headers"]))
    media_type = headers.pop("content-type", None)
    headers["idempotent-replayed"] = "true"
    return Response(
        content=bytes(stored["body"] or b""), status_code=stored["status"], headers=headers, media_type=media_type
    )
