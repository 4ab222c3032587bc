"""Names compared as people read them (a second child's space, a trusted person, a professional's
search), and anniversaries as the law counts them (coming of age, an authorisation's year)."""

from __future__ import annotations

from datetime import date

from ens.core.names import folded_name, same_names, years_later


def test_names_match_whatever_their_case_accents_and_spacing() -> None:
    assert folded_name("  Élodie  ", "DURAND") == "elodie durand"
    assert same_names("Léa", "Lefèvre", other=("LEA", "lefevre "))
    assert same_names("Jean  Pierre", "Martin", other=("jean pierre", "MARTIN"))


def test_given_and_family_names_are_not_swapped_or_merged() -> None:
    assert not same_names("Martin", "Paul", other=("Paul", "Martin"))
    assert not same_names("Anne Marie", "Dupont", other=("Anne", "Marie Dupont"))
    assert not same_names("Léa", "Lefèvre", other=("Léo", "Lefèvre"))


def test_a_29_february_comes_round_on_1_march_of_a_common_year() -> None:
    assert years_later(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert years_later(date(2008, 2, 29), 4) == date(2012, 2, 29)
    assert years_later(date(2010, 12, 31), 1) == date(2011, 12, 31)


def test_a_variation_selector_changes_no_name() -> None:
    """After a letter, a variation selector (or Mongolian's free ones) draws nothing: "Cam\ufe0fille"
    reads "Camille" (a review: the author signed as their own witness with one)."""
    for written in ("Cam\ufe0fille", "Camille\ufe0e", "Cam\u180bille", "Cam\u180fille", "Cami\U000e0100lle"):
        assert folded_name(written) == "camille", repr(written)


def test_a_noncharacter_changes_no_name() -> None:
    """Never a character to show (refused alone as nothing visible): "Cam\ufdd0ille" compared unlike
    "Camille", and could pass as another person (a review)."""
    for written in ("Cam\ufdd0ille", "Camille\uffff", "Cami\ufffelle", "Cam\ufdefille"):
        assert folded_name(written) == "camille", repr(written)
    assert same_names("Cam\ufdd0ille", "Martin", other=("Camille", "Martin"))
