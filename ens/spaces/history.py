"""The access history: written once per request by a middleware, read newest first."""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ens.core.api import Cursors, Page, check_limit
from ens.core.db import fetch
from ens.spaces.door import ACCESS_STATE_KEY, REQUEST_ID_KEY, PendingAccess
from ens.spaces.schemas import AccessEventRead, ActorRead, ClientRead

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_INSERT = """
INSERT INTO access_history (space_id, at, actor_account_id, actor_name, client_id, client_name,
                            acting_as, action, resource_type, resource_id, outcome, request_id)
SELECT {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
WHERE EXISTS (SELECT 1 FROM spaces WHERE id = {})
"""


async def record_access(pending: PendingAccess, outcome: int) -> None:
    """Write the entry; nothing is written for a space that no longer exists (erased by this request)."""
    await fetch(
        _INSERT,
        pending.space_id,
        pending.at,
        pending.actor_account_id,
        pending.actor_name,
        pending.client_id,
        pending.client_name,
        pending.acting_as,
        pending.action,
        pending.resource_type,
        pending.resource_id,
        outcome,
        pending.request_id,
        pending.space_id,
    )


class AccessHistoryMiddleware:
    """Gives each request an id and, when the space door left a pending entry, records it with
    the response status before the response leaves — so no answer about a space goes unrecorded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        state[REQUEST_ID_KEY] = request_id

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
                pending = state.pop(ACCESS_STATE_KEY, None)
                if isinstance(pending, PendingAccess):
                    await record_access(pending, message["status"])
            await send(message)

        await self.app(scope, receive, send_recorded)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


_LIST = """
SELECT id, at, actor_account_id, actor_name, client_id, client_name, acting_as, action,
       resource_type, resource_id, outcome, request_id
FROM access_history
WHERE space_id = {} AND id < {}
ORDER BY id DESC
LIMIT {}
"""


async def list_access_history(
    cursors: Cursors, space_id: UUID, *, limit: int | None, cursor: str | None
) -> Page[AccessEventRead]:
    """Newest first, by keyset on the row id (the index is ``(space_id, id)``)."""
    size = check_limit(limit)
    purpose = f"history:{space_id}"
    before = int(cursors.decode(purpose, cursor)[0]) if cursor else 2**62
    rows = await fetch(_LIST, space_id, before, size + 1)
    items = [
        AccessEventRead(
            id=str(row["id"]),
            at=row["at"],
            actor=ActorRead(account_id=row["actor_account_id"], name=row["actor_name"])
            if row["actor_account_id"]
            else None,
            client=ClientRead(client_id=row["client_id"], name=row["client_name"]) if row["client_id"] else None,
            acting_as=row["acting_as"],
            action=row["action"],
            resource_type=row["resource_type"],
            resource_id=row["resource_id"],
            outcome=row["outcome"],
            request_id=row["request_id"],
        )
        for row in rows[:size]
    ]
    next_cursor = cursors.encode(purpose, [int(rows[size - 1]["id"])]) if len(rows) > size else None
    return Page(items=items, next_cursor=next_cursor)
