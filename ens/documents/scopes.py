"""The app scopes of the documents capability: read them, or add them (a laboratory's app, a
scanner). Hiding documents and removing them are persons' acts: no scope opens them."""

from __future__ import annotations

from ens.core.scopes import Scope

CAPABILITY = "documents"

SCOPES: list[Scope] = [
    Scope("documents:read", CAPABILITY, "read", "Lire les documents de santé de l'espace"),
    Scope("documents:write", CAPABILITY, "write", "Ajouter des documents de santé dans l'espace"),
]
