"""Who may hide a document from whom (set when adding it, or later by ``PATCH``)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from ens.core.db import fetch
from ens.core.errors import Conflict, FieldError, Forbidden, Invalid
from ens.core.local_time import zone_of
from ens.spaces.door import SpaceAccess
from ens.spaces.professionals import authorisation_until, serialise_decisions
from ens.spaces.rights import Action


def check_masking(
    access: SpaceAccess,
    *,
    professionals: bool | None,
    representatives: bool | None,
    holder: bool | None,
    holder_until: date | None,
    author_account_id: UUID | None = None,
    creating: bool = False,
    held_now: bool = False,
) -> None:
    """Raise 403 when the caller sends a flag that is not theirs to set (even ``false``).

    - ``hiddenFromProfessionals``: the holder's choice, made by the holder or a representative who
      may change the space's data (a parent, a guardian, a family representative), never an app.
    - ``hiddenFromRepresentatives``: the holder's alone (the table of rights).
    - ``hiddenFromHolder`` and its date: the professional who wrote the document (when adding it,
      the professional adding it).
    """
    role = access.role
    if professionals is not None and (
        role == "professional" or not access.is_person or not access.allows(Action.WRITE_DATA)
    ):
        raise Forbidden("Only the holder, or a representative acting for them, may hide a document from professionals.")
    if representatives is not None:
        access.require(Action.HIDE_FROM_REPRESENTATIVES)
    if holder is not None or holder_until is not None:
        if role != "professional":
            raise Forbidden("Only the professional who wrote the document may hide it from the holder.")
        if not creating:
            access.refuse_a_professional_on_others(author_account_id, verb="hides from the holder", noun="documents")
    if holder_until is not None and not (holder or (holder is None and held_now)):
        # A date alone moves the end of a hold, on a document held back now; else it would be dropped.
        at = "/metadata" if creating else ""
        raise Invalid(
            "hiddenFromHolderUntil goes with hiddenFromHolder: true, or moves the end of a document held back now.",
            [FieldError(f"{at}/hiddenFromHolderUntil", "only with hiddenFromHolder: true")],
        )


async def hold_until(access: SpaceAccess, until: date | None, *, creating: bool) -> date:
    """The day a document the calling professional holds back from the holder is released at the
    latest: the one they give, or else the day their authorisation on the space ends; never after
    it. Only its author may release it, and past that day they could not: the holder would never
    see their own document (an outside audit found one held for good after a revocation, which
    releases it too: ``release_held_by``)."""
    # In the caller's write transaction, before it writes; shared, as the professional's write took it.
    await serialise_decisions(access.space_id, shared=True)
    ends = await authorisation_until(access.space_id, access.caller.account_id)
    if ends is None:
        raise Forbidden("Only a professional the holder authorised may hold a document back from them.")
    last = ends.astimezone(zone_of(access.space.timezone)).date()
    if until is None:
        return last
    if until > last:
        at = "/metadata" if creating else ""
        raise Invalid(
            "hiddenFromHolderUntil is after your authorisation on this space ends: nobody could release it then.",
            [
                FieldError(
                    f"{at}/hiddenFromHolderUntil", f"at the latest {last.isoformat()}, when your authorisation ends"
                )
            ],
        )
    return until


def refuse_a_second_hold(*, holder: bool | None, held_now: bool) -> None:
    """A document the holder may see already is not held back from them again: they may have read
    it (and been told of it); the hold is for a diagnosis explained before it is read (DOMAIN.md §8)."""
    if holder and not held_now:
        raise Conflict("This document has been shown to the holder already: it cannot be held back from them again.")


async def release_held_by(access: SpaceAccess, professional_id: UUID, now: datetime) -> None:
    """The holder ended the professional's right on their space (revoked, blocked): what the
    professional held back from the holder is released now, since nobody else may release it; the
    holder is told as of any release (``ens notify`` sends what is owed). In the deciding transaction
    (``ens.spaces.professionals.when_a_right_ends``)."""
    today = now.astimezone(zone_of(access.space.timezone)).date()
    await fetch(
        "UPDATE documents SET hidden_from_holder = FALSE, hidden_from_holder_until = NULL, shown_to_holder_at = {}, "
        "release_notice_due = TRUE, release_notice_lease_until = NULL, release_notice_told = NULL, updated_at = {} "
        "WHERE space_id = {} AND author_account_id = {} AND hidden_from_holder "
        "AND (hidden_from_holder_until IS NULL OR hidden_from_holder_until > {})",
        now,
        now,
        access.space_id,
        professional_id,
        today,
    )
