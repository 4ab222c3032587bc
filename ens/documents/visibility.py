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
- The access matrix (``ens.spaces.matrix``): a professional reads only the document types their
  profession may (an emergency access too); the author reads what they wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from ens.core import clock
from ens.core.local_time import zone_of
from ens.spaces.door import SpaceAccess
from ens.spaces.matrix import access_matrix


@dataclass(frozen=True)
class Condition:
    """A condition to append to a ``WHERE`` (it starts with `` AND``), with its arguments in order."""

    sql: str
    args: tuple[Any, ...]


def readable_types(profession: str | None) -> tuple[str, ...]:
    """The document types the profession reads (the access matrix)."""
    matrix = access_matrix()
    return tuple(sorted(code for code in matrix.documents if matrix.may_document(profession or "", code, write=False)))


def today_in_space(access: SpaceAccess) -> date:
    """The day it is in the space's time zone (when ``hidden_from_holder_until`` ends)."""
    return today_in(access.space.timezone)


def today_in(timezone: str) -> date:
    return clock.now().astimezone(zone_of(timezone)).date()


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as far as documents care: a request's caller (:func:`viewer_of`), or the
    person an export is for (:func:`export_viewer`)."""

    role: str  # holder, representative, app, professional
    sees_confidential: bool  # items hidden from representatives (CSP R1111-50)
    account_id: UUID | None
    profession: str | None
    today: date


def viewer_of(access: SpaceAccess, *, today: date | None = None) -> Viewer:
    return Viewer(
        role=access.role,
        sees_confidential=access.sees_confidential,
        account_id=access.caller.account_id,
        profession=access.profession,
        today=today or today_in_space(access),
    )


def export_viewer(*, timezone: str, with_hidden: bool) -> Viewer:
    """The export's reader: the holder (or, ``with_hidden`` false, a representative), who sees what
    the holder sees."""
    return Viewer(
        role="holder" if with_hidden else "representative",
        sees_confidential=with_hidden,
        account_id=None,
        profession=None,
        today=today_in(timezone),
    )


def visible_to(access: SpaceAccess, *, alias: str = "d", today: date | None = None) -> Condition:
    """The documents ``access``'s caller may see, as a condition on the table aliased ``alias``."""
    return visible_for(viewer_of(access, today=today), alias=alias)


def visible_for(viewer: Viewer, *, alias: str = "d") -> Condition:
    """The one rule: the documents ``viewer`` may see, as a condition on the table aliased ``alias``."""
    if viewer.role == "professional":
        # The types the profession reads, never what the holder hid from professionals; the
        # author reads what they wrote whatever the rest says.
        readable = readable_types(viewer.profession)
        types = f"{alias}.type_code IN ({', '.join('{}' for _ in readable)})" if readable else "FALSE"
        return Condition(
            f" AND ({alias}.author_account_id = {{}} OR (NOT {alias}.hidden_from_professionals AND {types}))",
            (viewer.account_id, *readable),
        )
    # The holder, and whoever sees what the holder sees (representatives, apps): nothing held back
    # from the holder; representatives (and their apps), nothing the holder hid from them either
    # (the door's rule, ens.spaces.door.visible_to).
    released = (
        f" AND (NOT {alias}.hidden_from_holder"
        f" OR ({alias}.hidden_from_holder_until IS NOT NULL AND {alias}.hidden_from_holder_until <= {{}}))"
    )
    confidential = "" if viewer.sees_confidential else f" AND NOT {alias}.hidden_from_representatives"
    return Condition(released + confidential, (viewer.today,))


def shown_to_holder_from(hidden: bool, until: date | None, *, timezone: str, now: datetime) -> datetime | None:
    """When the holder (and whoever sees what they see) can first see a document: ``now`` when it
    is not held back from them; the start of ``until``, in the space's time zone, when it is held
    until that day; ``None`` while it is held until the professional releases it."""
    if not hidden:
        return now
    if until is None:
        return None
    return datetime.combine(until, time.min, tzinfo=zone_of(timezone)).astimezone(UTC)


def released_for_holder(hidden: bool, until: date | None, *, today: date) -> bool:
    """Whether a document hidden from the holder is theirs to see by now (the same rule, for the
    one row a change has in hand)."""
    return not hidden or (until is not None and until <= today)
