"""The caller as the door sees it: a plain value handed over by ``ens.auth`` (no auth import here)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

SPACE_SCOPE = "space"


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, through which client and grant, with which scopes.

    ``kind`` is ``person`` for the phone app's signed-in sessions and ``app`` for a labelled app's
    token, which is bound to the one space (``space_id``) it was granted for.
    """

    kind: Literal["person", "app"]
    account_id: UUID
    client_id: str
    grant_id: UUID
    scopes: frozenset[str]
    space_id: UUID | None = None

    @property
    def idempotency_scope(self) -> str:
        """Idempotency keys are scoped to the account (person) or to the app's grant."""
        return f"account:{self.account_id}" if self.kind == "person" else f"app:{self.client_id}:{self.grant_id}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
