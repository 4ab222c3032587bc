"""The medical profile: what the person says about their own health, as Mon espace santé's "profil
médical" keeps it — conditions and past surgery, allergies, long-term treatments, family history.

Four small lists with the same life: listed in the order they were written (keyset on
``(created_at, id)``), added, changed (absent fields kept, ``null`` clears), removed. Holders and
representatives (a parent for a child) keep them. The holder may hide an entry from the
representatives (CSP R1111-50): to them it does not exist — not listed, not counted, 404 when
named.
"""

from __future__ import annotations

from ens.records.profile.entries import count_profile_entries, every_entry
from ens.records.profile.kinds import ALLERGIES, CONDITIONS, FAMILY_HISTORY, KINDS, TREATMENTS
from ens.records.profile.lists import (
    add_allergy,
    add_condition,
    add_family_history,
    add_treatment,
    change_allergy,
    change_condition,
    change_family_history,
    change_treatment,
    get_allergy,
    get_condition,
    get_family_history,
    get_treatment,
    list_allergies,
    list_conditions,
    list_family_history,
    list_treatments,
    remove_allergy,
    remove_condition,
    remove_family_history,
    remove_treatment,
)

__all__ = [
    "ALLERGIES",
    "CONDITIONS",
    "FAMILY_HISTORY",
    "KINDS",
    "TREATMENTS",
    "add_allergy",
    "add_condition",
    "add_family_history",
    "add_treatment",
    "change_allergy",
    "change_condition",
    "change_family_history",
    "change_treatment",
    "count_profile_entries",
    "every_entry",
    "get_allergy",
    "get_condition",
    "get_family_history",
    "get_treatment",
    "list_allergies",
    "list_conditions",
    "list_family_history",
    "list_treatments",
    "remove_allergy",
    "remove_condition",
    "remove_family_history",
    "remove_treatment",
]
