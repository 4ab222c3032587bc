"""The app scopes of the vaccination capability, in the consent page's words."""

from __future__ import annotations

from ens.core.scopes import Scope

CAPABILITY = "vaccination"
READ_SCOPE = "vaccinations:read"
WRITE_SCOPE = "vaccinations:write"

SCOPES: list[Scope] = [
    Scope(
        READ_SCOPE,
        CAPABILITY,
        "read",
        "Lire le carnet de vaccination (vaccins reçus et vaccinations à faire)",
    ),
    Scope(
        WRITE_SCOPE,
        CAPABILITY,
        "write",
        "Ajouter des vaccinations au carnet, et corriger ou retirer celles que l'application y a ajoutées",
    ),
]
