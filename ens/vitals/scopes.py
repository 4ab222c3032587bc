"""The app scopes of the vitals capability: read or write, per measure, in the consent's words."""

from __future__ import annotations

from ens.core.scopes import Scope
from ens.vitals.catalogue import TYPE_CODES

CAPABILITY = "vitals"

# The words the consent page uses for each of the 10 measures (a new type without words fails at import).
_WORDS: dict[str, str] = {
    "body_weight": "poids",
    "body_height": "taille",
    "heart_rate": "fréquence cardiaque",
    "blood_pressure": "tension artérielle",
    "body_temperature": "température",
    "waist_circumference": "tour de taille",
    "blood_glucose": "glycémie",
    "steps_per_day": "nombre de pas par jour",
    "pain_severity": "niveau de douleur",
    "head_circumference": "périmètre crânien",
}


def scope_name(code: str, mode: str) -> str:
    """``vitals.<code>:read`` or ``vitals.<code>:write``."""
    return f"vitals.{code}:{mode}"


SCOPES: list[Scope] = [
    scope
    for code in TYPE_CODES
    for scope in (
        Scope(
            scope_name(code, "write"),
            CAPABILITY,
            "write",
            f"Enregistrer des mesures de {_WORDS[code]} dans l'espace",
        ),
        Scope(
            scope_name(code, "read"),
            CAPABILITY,
            "read",
            f"Lire les mesures de {_WORDS[code]} enregistrées dans l'espace",
        ),
    )
]
