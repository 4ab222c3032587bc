"""A space as the door knows it (:class:`SpaceRef`), and the instants its holder turns 18 or any age."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from ens.core.clock import as_date
from ens.core.db import Row, as_uuid, fetch
from ens.core.errors import Gone
from ens.core.names import years_later


class SpaceRef(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    status: str
    timezone: str
    birthdate: date | None
    sex: str | None
    given_name: str
    family_name: str
    holder_account_id: UUID | None


# The ``spaces`` columns :func:`space_ref` reads, for a statement that needs nothing else.
SPACE_REF_COLUMNS = "id, status, timezone, birthdate, sex, given_name, family_name, holder_account_id"


def space_ref(row: Row) -> SpaceRef:
    """A space as the door knows it, from a row with the ``spaces`` columns."""
    holder = row["holder_account_id"]
    return SpaceRef(
        id=as_uuid(row["id"]),
        status=row["status"],
        timezone=row["timezone"],
        birthdate=as_date(row["birthdate"]),
        sex=row["sex"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        holder_account_id=as_uuid(holder) if holder is not None else None,
    )


def adulthood(space: SpaceRef) -> datetime:
    """The instant the holder of ``space`` turns 18: midnight of the birthday in the space's time zone
    (a 29 February birthday comes of age on 1 March)."""
    return birthday(space, 18)


def minors_space(space: SpaceRef, *, at: datetime) -> bool:
    """The holder of ``space`` is under 18 at ``at`` (in the space's time zone): the parents' right
    runs, and a minor's choices (CSP L1111-5) may be kept from them."""
    return space.birthdate is not None and at < adulthood(space)


def birthday(space: SpaceRef, years: int) -> datetime:
    """The instant the holder of ``space`` turns ``years`` (midnight, in the space's time zone)."""
    assert space.birthdate is not None
    day = years_later(space.birthdate, years)
    return datetime.combine(day, time(0), ZoneInfo(space.timezone)).astimezone(UTC)


async def erasure_begun(space_id: UUID) -> bool:
    """Whether the space's erasure passed its point of no return (its data key destroyed, the space
    closed: ``ens.spaces.service.begin_erasure``) and is not finished (its rows still there)."""
    return bool(await fetch(_UNFINISHED_ERASURE, space_id))


_UNFINISHED_ERASURE = "SELECT id FROM space_erasures WHERE erased_space_id = {} AND finished_at IS NULL"


async def closed_space(space: SpaceRef) -> Gone:
    """The 410 of a closed space: who may reopen it, and how, unless it is being erased. (It said
    "Its holder can reopen it" to the parent who had closed their child's space, which has no holder
    signing in, and which that parent may reopen: an outside audit of the home screen.)"""
    if await erasure_begun(space.id):
        return Gone("This space is being erased.")
    return Gone(
        "This space is closed. Its holder, a parent of a minor or a guardian (tutelle) can reopen it: "
        "POST /v1/spaces/{space}/reopen."
    )
