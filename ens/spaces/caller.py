"""The caller as the door sees it: a plain value handed over by ``ens.auth`` (no auth import here)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

SPACE_SCOPE = "space"
# The one scope of a professional software's tokens: the professional acts in person, within the
# access matrix, on the spaces the door lets them into.
PROFESSIONAL_SCOPE = "professional"


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, through which client and grant, with which scopes.

    ``kind`` is ``person`` for the phone app's signed-in sessions, ``app`` for a labelled app's
    token, which is bound to the one space (``space_id``) it was granted for, and ``professional``
    for a professional software's token (``account_id`` is then the professional's id).
    """

    kind: Literal["person", "app", "professional"]
    account_id: UUID
    client_id: str
    grant_id: UUID
    scopes: frozenset[str]
    space_id: UUID | None = None

    @property
    def idempotency_scope(self) -> str:
        """Idempotency keys are scoped to the account (person) or to the app's grant."""
        if self.kind == "app":
            return f"app:{self.client_id}:{self.grant_id}"
        return f"account:{self.account_id}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
