"""People's names compared as people read them, and calendar years added as the law counts them."""

from __future__ import annotations

import unicodedata
from datetime import date

# Characters that show nothing: Unicode's format characters (zero-width spaces and joiners, the soft
# hyphen, direction marks, the BOM: category Cf) and the blanks it counts as letters or symbols
# (``ens.core.api.VISIBLE`` names them). Inside a name they change nothing a reader sees.
# Nor the variation selectors and Mongolian's free ones, which choose how the character before them
# is drawn and after a Latin letter draw nothing: "Cam\ufe0fille" printed "Camille", and its author
# signed as their own witness (a review). (Marks, category Mn, but of combining class 0.)
# Nor noncharacters (U+FDD0 to U+FDEF, U+FFFE, U+FFFF), never a character to show: refused alone,
# "Cam\ufdd0ille" still compared unlike "Camille" (a review).
_BLANKS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0\ufffe\uffff"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
    + "".join(map(chr, range(0xFDD0, 0xFDF0)))
)
# Ligatures written as two letters as often (a French keyboard types "oe" for "œ").
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})
# What separates the parts of a name ("Jean-Pierre", "Jean Pierre", "d'Arc", and its typographic
# apostrophes U+2019 and U+02BC).
_SEPARATORS = frozenset("'\u2019\u02bc")


def folded_name(*names: str) -> str:
    """A name as compared: whatever its case, accents, ligatures, spacing, hyphens and apostrophes,
    and without what shows nothing ("Élodie  DURAND" = "elodie durand", "Dubœuf" = "DUBOEUF",
    "Cam\u200bille" = "Camille": an outside audit signed directives as their own witness so)."""
    decomposed = unicodedata.normalize("NFKD", " ".join(names)).casefold().translate(_LIGATURES)
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if unicodedata.combining(char) or category == "Cf" or char in _BLANKS:
            continue
        kept.append(" " if category == "Pd" or char in _SEPARATORS else char)
    return " ".join("".join(kept).split())


def same_names(given_name: str, family_name: str, *, other: tuple[str, str]) -> bool:
    """The same person's names (given and family, each folded)."""
    return folded_name(given_name) == folded_name(other[0]) and folded_name(family_name) == folded_name(other[1])


def years_later(day: date, years: int) -> date:
    """The same calendar date ``years`` later; for a 29 February, 1 March of a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 3, 1)
