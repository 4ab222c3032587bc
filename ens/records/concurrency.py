"""Two devices changing the same record at once: one waits for the other, then its If-Match is
checked against what the first one wrote."""

from __future__ import annotations

from uuid import UUID

import msgspec

from ens.core.api import require_if_match
from ens.core.db import serialise
from ens.core.errors import PreconditionRequired


async def lock_records(space_id: UUID) -> None:
    """Serialise the writers of one space's records until the transaction ends: two would otherwise
    both read version n and both write n + 1."""
    await serialise(f"records:{space_id}")


def check_precondition(if_match: str | None, current: msgspec.Struct | None, *, required: bool) -> None:
    """``If-Match`` against ``current``, the resource exactly as its GET answers it.

    ``required``: once the resource exists, a change without ``If-Match`` is 428, so that a device
    holding an old copy cannot overwrite a newer one unknowingly. A stale tag is 412, as is any tag
    when there is nothing to match."""
    if current is None:
        require_if_match(if_match, None)
        return
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "This record exists: send If-Match with the ETag of the version you changed (GET it first)."
            )
        return
    require_if_match(if_match, msgspec.json.encode(current))
