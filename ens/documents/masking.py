"""Who may hide a document from whom (set when adding it, or later by ``PATCH``)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from ens.core.errors import FieldError, Forbidden, Invalid
from ens.spaces.door import SpaceAccess
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
