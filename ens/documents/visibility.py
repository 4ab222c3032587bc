"""Who sees which document: the one place that decides it.

Every read of documents (the list, one document, its content, the home-screen count, the export,
a change or a removal, which first find the document) filters with :func:`visible_to`. The flags:

- ``hidden_from_holder`` (a professional's, DMP announcement rule): the holder does not see the
  document until the professional releases it or, when given, until ``hidden_from_holder_until``
  (that day, in the space's time zone). Representatives see what the holder sees, and an app what
  the person who connected it sees, so none of them sees it either.
- ``hidden_from_representatives`` (CSP R1111-50): the door's rule for every hideable item
  (:func:`ens.spaces.door.visible_to`).
- ``hidden_from_professionals`` (the holder's): professionals do not see it, but its author does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ens.core import clock
from ens.core.local_time import zone_of
from ens.spaces.door import SpaceAccess
from ens.spaces.door import visible_to as hidden_from_representatives


@dataclass(frozen=True)
class Condition:
    """A condition to append to a ``WHERE`` (it starts with `` AND``), with its arguments in order."""

    sql: str
    args: tuple[Any, ...]


def today_in_space(access: SpaceAccess) -> date:
    """The day it is in the space's time zone (when ``hidden_from_holder_until`` ends)."""
    return clock.now().astimezone(zone_of(access.space.timezone)).date()


def visible_to(access: SpaceAccess, *, alias: str = "d", today: date | None = None) -> Condition:
    """The documents ``access``'s caller may see, as a condition on the table aliased ``alias``."""
    role: str = access.role
    if role == "professional":
        # Professionals never see what the holder hid from them, except the author of the document.
        return Condition(
            f" AND (NOT {alias}.hidden_from_professionals OR {alias}.author_account_id = {{}})",
            (access.caller.account_id,),
        )
    day = today or today_in_space(access)
    released = (
        f" AND (NOT {alias}.hidden_from_holder"
        f" OR ({alias}.hidden_from_holder_until IS NOT NULL AND {alias}.hidden_from_holder_until <= {{}}))"
    )
    return Condition(released + hidden_from_representatives(access, alias=alias), (day,))


def released_for_holder(hidden: bool, until: date | None, *, today: date) -> bool:
    """Whether a document hidden from the holder is theirs to see by now (the same rule, for the
    one row a change has in hand)."""
    return not hidden or (until is not None and until <= today)
