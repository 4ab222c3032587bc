"""The scopes of the ENS API and how the consent page says them in plain French."""

from __future__ import annotations

import re

SPACE_SCOPE = "space"

# The 10 measures of the vitals capability (codes as in the API), with the words the consent uses.
VITAL_WORDS: dict[str, str] = {
    "body_weight": "votre poids",
    "body_height": "votre taille",
    "heart_rate": "votre fréquence cardiaque",
    "blood_pressure": "votre tension artérielle",
    "body_temperature": "votre température",
    "waist_circumference": "votre tour de taille",
    "blood_glucose": "votre glycémie",
    "steps_per_day": "votre nombre de pas par jour",
    "pain_severity": "votre niveau de douleur",
    "head_circumference": "votre périmètre crânien",
}

_VITAL_SCOPE = re.compile(r"vitals\.([a-z_]+):(read|write)")


def is_app_scope(scope: str) -> bool:
    """``vitals.<code>:read|write`` for one of the 10 measures."""
    match = _VITAL_SCOPE.fullmatch(scope)
    return match is not None and match.group(1) in VITAL_WORDS


def all_app_scopes() -> list[str]:
    return [f"vitals.{code}:{mode}" for code in VITAL_WORDS for mode in ("write", "read")]


def describe(scope: str) -> str:
    """One permission in plain French, as the consent page lists it."""
    match = _VITAL_SCOPE.fullmatch(scope)
    if match is None or match.group(1) not in VITAL_WORDS:
        return scope
    words = VITAL_WORDS[match.group(1)]
    if match.group(2) == "write":
        return f"Enregistrer dans votre espace des mesures de {words.removeprefix('votre ')}"
    return f"Lire les mesures de {words.removeprefix('votre ')} enregistrées dans votre espace"
