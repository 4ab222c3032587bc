"""People's names compared as people read them, and calendar years added as the law counts them."""

from __future__ import annotations

import unicodedata
from datetime import date


def folded_name(*names: str) -> str:
    """A name as compared: whatever its case, accents and spacing ("Élodie  DURAND" = "elodie durand")."""
    decomposed = unicodedata.normalize("NFKD", " ".join(names)).casefold()
    return " ".join("".join(char for char in decomposed if not unicodedata.combining(char)).split())


def same_names(given_name: str, family_name: str, *, other: tuple[str, str]) -> bool:
    """The same person's names (given and family, each folded)."""
    return folded_name(given_name) == folded_name(other[0]) and folded_name(family_name) == folded_name(other[1])


def years_later(day: date, years: int) -> date:
    """The same calendar date ``years`` later; for a 29 February, 1 March of a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)
