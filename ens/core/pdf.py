"""Printable documents (advance directives, a vaccination certificate...): one small builder on
fpdf2, with DejaVu Sans embedded (the PDF's built-in fonts are Latin-1 and lose "œ").

Text is real text (selectable, searchable, readable by pypdf); the fonts ship with the package
(``ens/core/fonts``, each one's licence beside it), so nothing has to be installed. DejaVu Sans
draws the Latin (Vietnamese too), Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic (Persian,
Pashto, Kurdish, Uyghur), N'Ko, Tifinagh, Lao and Canadian syllabics scripts; what it lacks is
drawn by a fallback font, embedded only in a document that needs it: Droid Sans Fallback for
Chinese, Japanese and Korean (DroidSansFallbackFull's Extension A ideographs beside it), Hanazono
Mincho B for the ideographs beyond (Extension B and later) that names use, a Noto Sans font for
each of Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam,
Sinhala, Thai, Khmer, Myanmar, Ethiopic, Syriac, Thaana and Adlam, Noto Sans Arabic for Urdu's
letters DejaVu lacks (in a document holding one, it draws all its Arabic script, joined), Noto
Color Emoji for the emoji typed on a phone. Text that needs it (right-to-left scripts, joined
Arabic letters, combining marks: the vowel signs and viramas of the Indic scripts, Thai, Khmer,
Myanmar; emoji sequences) is shaped by HarfBuzz (``uharfbuzz``): letters joined, conjuncts
formed, vowel signs placed, and laid out right to left. Shaping is three to four times slower
and makes the PDF larger, so a document only turns it on at the first text that needs it. Not
drawn yet: Tibetan, Mongolian, Cherokee and the scripts of fewer users, and the ideographs beyond
the BMP no regional set names.

Whatever a person may write must print whole, at every length the API accepts: a paragraph or a
label/value line runs on over as many pages as it needs. A table row of up to half a page that does
not fit on what is left of the page goes whole to the next one; a taller row (a long treatment
note) is split, its text continued in the same columns on the next page (fpdf2 alone refuses a row taller than a page:
``ValueError: The row with index 1 is too high``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF, ViewerPreferences, bidi
from fpdf.enums import MethodReturnValue, WrapMode, XPos, YPos
from fpdf.font_type_3 import CBDTColorFont, Type3FontGlyph

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
_DEJAVU = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
# The fonts that draw what DejaVu Sans cannot, in the order they are tried (one style each: bold
# text they draw is drawn regular).
FALLBACKS = (
    ("DroidSansFallback", "DroidSansFallback.ttf"),  # Chinese, Japanese kana, Korean Hangul
    ("DroidSansFallbackExtA", "DroidSansFallbackFull-ExtA.ttf"),  # CJK Unified Ideographs Extension A
    ("HanaMinB", "HanaMinB-Names.ttf"),  # Extension B and later: those in names (scripts/font-cjk-extension-b)
    ("NotoSansArabic", "NotoSansArabic-Regular.ttf"),  # Urdu's heh goal and yeh barree (U+06C1, U+06D2)
    ("NotoSansDevanagari", "NotoSansDevanagari-Regular.ttf"),  # Hindi, Marathi, Nepali (and the danda)
    ("NotoSansBengali", "NotoSansBengali-Regular.ttf"),
    ("NotoSansGurmukhi", "NotoSansGurmukhi-Regular.ttf"),  # Punjabi
    ("NotoSansGujarati", "NotoSansGujarati-Regular.ttf"),
    ("NotoSansOriya", "NotoSansOriya-Regular.ttf"),
    ("NotoSansTamil", "NotoSansTamil-Regular.ttf"),
    ("NotoSansTelugu", "NotoSansTelugu-Regular.ttf"),
    ("NotoSansKannada", "NotoSansKannada-Regular.ttf"),
    ("NotoSansMalayalam", "NotoSansMalayalam-Regular.ttf"),
    ("NotoSansSinhala", "NotoSansSinhala-Regular.ttf"),
    ("NotoSansThai", "NotoSansThai-Regular.ttf"),
    ("NotoSansKhmer", "NotoSansKhmer-Regular.ttf"),
    ("NotoSansMyanmar", "NotoSansMyanmar-Regular.ttf"),
    ("NotoSansEthiopic", "NotoSansEthiopic-Regular.ttf"),  # Amharic, Tigrinya
    ("NotoSansSyriac", "NotoSansSyriac-Regular.ttf"),
    ("NotoSansThaana", "NotoSansThaana-Regular.ttf"),  # Dhivehi
    ("NotoSansAdlam", "NotoSansAdlam-Regular.ttf"),  # Fula (Pulaar)
    ("NotoColorEmoji", "NotoColorEmoji.ttf"),
)
# The fallback font that draws the whole Arabic script in a document that holds a letter DejaVu lacks.
_ARABIC_TAKES_OVER = "NotoSansArabic"
_ARABIC_BLOCKS = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))

# The fonts of the scripts whose words hold a zero-width joiner or non-joiner (Sinhala's ශ්‍රී, a
# Devanagari eyelash ra र्‍य): it is drawn by the font of the letter before it, so that HarfBuzz sees
# the word whole and forms the conjunct it asks for (DejaVu Sans drawing it split the word in two).
_JOINED_BY_ZWJ = frozenset(
    name
    for name, _ in FALLBACKS
    if name.removeprefix("NotoSans")
    in {"Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam"}
    | {"Sinhala", "Thai", "Khmer", "Myanmar"}
) | {"NotoColorEmoji"}  # a family, a rainbow flag: one picture (DejaVu drawing the joiner split it in three)
_JOINERS = (0x200C, 0x200D)
_JOINED_KEYS = frozenset(name.lower() for name in _JOINED_BY_ZWJ)  # fpdf2's font keys


@cache
def _characters(file: str) -> frozenset[int]:
    """The code points ``file``'s font has a glyph for (read once a process)."""
    return frozenset(TTFont(FONTS / file, lazy=True).getBestCmap())


@cache
def _dejavu() -> frozenset[int]:
    """What DejaVu Sans draws in both its styles."""
    return _characters(_DEJAVU[""]) & _characters(_DEJAVU["B"])


# Bidirectional classes of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko...) and
# of the explicit direction marks: such text is laid out by the Unicode bidirectional algorithm.
_BIDI = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI", "LRE", "LRO", "LRI", "FSI", "PDF", "PDI"})
_MARKS = frozenset({"Mn", "Mc", "Me"})  # combining marks (accents typed apart, vowel signs, VS16)
_SEQUENCES = (
    (0x200C, 0x200D),  # zero width non-joiner and joiner (Persian; emoji sequences)
    (0x1100, 0x11FF),  # Hangul jamo, composed into syllables
    (0x1F1E6, 0x1F1FF),  # regional indicators: two make a flag
    (0x1F3FB, 0x1F3FF),  # skin tones
    (0xE0020, 0xE007F),  # tags (the flags of England, Scotland, Wales)
)


def needs_shaping(characters: Iterable[str]) -> bool:
    """Whether text made of ``characters`` prints wrong without HarfBuzz: right-to-left text
    (drawn left to right, its Arabic letters unjoined), combining marks (not placed on their
    letter), emoji sequences (a flag as two letters, a skin tone beside its hand)."""
    for character in characters:
        if unicodedata.bidirectional(character) in _BIDI or unicodedata.category(character) in _MARKS:
            return True
        code = ord(character)
        if any(first <= code <= last for first, last in _SEQUENCES):
            return True
    return False


class _GlyphsUnnamed(logging.Filter):
    """fpdf2 warns of the characters its font cannot draw (an emoji, a Chinese allergy name...) by
    naming them: a piece of what the person wrote, in the operators' logs. The warning stays, the
    characters go."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "missing the following glyphs" in str(record.msg):
            record.msg, record.args = "a font lacks glyphs for some characters of a document (not named)", ()
        return True


logging.getLogger("fpdf.output").addFilter(_GlyphsUnnamed())
# fontTools, which fpdf2 asks to subset each font, logs at INFO the name of every glyph a document
# draws ("Glyph names: ['A', 'eacute', 'uni05D0', ...]") and the Unicode ranges it keeps: the
# letters a person wrote, and the scripts, in the operators' logs, some 25 lines a PDF. Its
# warnings stay.
logging.getLogger("fontTools").setLevel(logging.WARNING)


# fpdf2's bidirectional algorithm (text shaping on) looks for the strong letter before or after a
# neutral character, and for the number after a run of European terminators (% # $ °), with one
# recursive call a character: a run of some 1,000 spaces, stars, per cents or skin-tone emoji was a
# RecursionError (the PDF refused) and shorter runs took time quadratic in their length. The same
# rules as fpdf2 applies them (UAX #9 W1-W7, N0-N2), without recursion, N1-N2 and W5 in one pass.
_NEUTRALS = ("B", "S", "WS", "ON", "FSI", "LRI", "RLI", "PDI")


def _strong(bidi_class: str) -> str | None:
    return "L" if bidi_class == "L" else "R" if bidi_class in ("R", "AN", "EN") else None


def _resolve_weak_types(run: bidi.IsolatingRun) -> None:
    characters = run.characters
    for i, character in enumerate(characters):  # W1
        if character.bidi_class == "NSM":
            if i == 0:
                character.set_class(run.previous_direction)
            else:
                before = characters[i - 1].bidi_class
                character.set_class("ON" if before in ("LRI", "RLI", "FSI", "PDI") else before)
    last_strong = run.previous_direction  # W2, W3
    for character in characters:
        if character.bidi_class in ("R", "L", "AL"):
            last_strong = character.bidi_class
        if character.bidi_class == "AL":
            character.set_class("R")
        if character.bidi_class == "EN" and last_strong == "AL":
            character.set_class("AN")
    for i in range(1, len(characters) - 1):  # W4
        character, before, after = characters[i], characters[i - 1].bidi_class, characters[i + 1].bidi_class
        if character.bidi_class == "ES" and before == "EN" and after == "EN":
            character.set_class("EN")
        if character.bidi_class == "CS" and before in ("AN", "EN") and after == before:
            character.set_class(before)
    # W5, W6. Whether the first character after each that is no terminator is a European number, as
    # the characters are before this pass (those before it are EN or ON by then, none a terminator).
    number_after = [False] * len(characters)
    following = False
    for i in range(len(characters) - 1, -1, -1):
        number_after[i] = following
        if characters[i].bidi_class != "ET":
            following = characters[i].bidi_class == "EN"
    for i, character in enumerate(characters):
        if character.bidi_class == "ET" and ((i > 0 and characters[i - 1].bidi_class == "EN") or number_after[i]):
            character.set_class("EN")
        if character.bidi_class in ("ET", "ES", "CS"):
            character.set_class("ON")
    last_strong = run.previous_direction  # W7
    for character in characters:
        if character.bidi_class in ("R", "L", "AL"):
            last_strong = character.bidi_class
        if character.bidi_class == "EN" and last_strong == "L":
            character.set_class("L")


def _resolve_neutral_types(run: bidi.IsolatingRun) -> None:
    characters = run.characters

    def previous_strong(index: int) -> str:
        while index > 0:
            if found := _strong(characters[index - 1].bidi_class):
                return found
            index -= 1
        return run.previous_direction

    brackets = run.pair_brackets()  # N0
    embedding = characters[0].get_direction_from_level() if brackets else "L"
    for start, end in brackets:
        same = opposite = False
        for character in characters[start:end]:
            found = _strong(character.bidi_class)
            if found == embedding:
                same = True
                break
            opposite = opposite or found is not None
        resulting = None
        if same:
            resulting = embedding
        elif opposite:
            other = "L" if embedding == "R" else "R"
            resulting = other if previous_strong(start) == other else embedding
        if resulting:
            characters[start].bidi_class = characters[end].bidi_class = resulting
            if len(characters) > end + 1:
                after = characters[end + 1]
                if after.original_bidi_class == "NSM" and after.bidi_class == "ON":
                    after.bidi_class = resulting
    # N1, N2: the strong type after each character (those after it are not changed by this pass),
    # and the one before (those before it are, as the pass goes).
    strong_after: list[str] = [run.next_direction] * len(characters)
    following = run.next_direction
    for i in range(len(characters) - 1, -1, -1):
        strong_after[i] = following
        following = _strong(characters[i].bidi_class) or following
    before = run.previous_direction
    for i, character in enumerate(characters):
        if character.bidi_class in _NEUTRALS:
            character.bidi_class = before if before == strong_after[i] else character.get_direction_from_level()
        before = _strong(character.bidi_class) or before


# fpdf2's own, kept: a test checks that both give the same fragments (an fpdf2 upgrade that changes
# its rules shows there, not in a printed document).
FPDF2_RULES = (bidi.IsolatingRun.resolve_weak_types, bidi.IsolatingRun.resolve_neutral_types)
bidi.IsolatingRun.resolve_weak_types = _resolve_weak_types  # type: ignore[method-assign, assignment]
bidi.IsolatingRun.resolve_neutral_types = _resolve_neutral_types  # type: ignore[method-assign, assignment]

_fpdf_colour_glyph = CBDTColorFont.load_glyph_image


def _colour_glyph(font: CBDTColorFont, glyph: Type3FontGlyph) -> None:
    """fpdf2 reads a colour emoji's bitmap from its raw bytes, which fontTools drops once it has
    read them: a glyph drawn for two clusters (the black flag and two different unfinished tag
    sequences after it) was an AttributeError the second time, the PDF a 500. Its bytes are put back."""
    bitmap = font.base_font.ttfont["CBDT"].strikeData[0][glyph.glyph_name]
    if "data" not in vars(bitmap):
        bitmap.data = bitmap.compile(font.base_font.ttfont)
    _fpdf_colour_glyph(font, glyph)


CBDTColorFont.load_glyph_image = _colour_glyph  # type: ignore[method-assign, assignment]

_TABLE_LINE = 5.2  # mm, one line of a table cell (9 pt)
_TABLE_SIZE = 9
_FOOTER_LINE = 5  # mm, one line of the footer (8 pt)
# A row of up to half a page is kept whole (moved to the next page if it does not fit where it
# falls): a row cut in two put a lot number, or a witness's name and the room to sign, on two pages
# (an outside audit; such rows take 10 lines at most). A taller one (a long note) fills what is left
# of the page and goes on at the top of the next one, rather than leave half a page blank, unless
# fewer than _MIN_LINES lines are left there (a stub of a line or two at a page's foot helps no reader).
_MIN_LINES = 3
# A row is laid out to end this far above the page break (mm): fpdf2 breaks on "y + h > limit" in
# floating point, and a row it finds a hair too tall only moves to the next page, never fails.
_SLACK = 0.01
_BLANK_LINES = re.compile(r"\n\s*\n")
# Invisible characters (zero-width spaces and joiners, direction marks, embeddings and isolates,
# word joiners, byte order marks, variation selectors): text and emoji use a few in a row at most.
_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufe00-\ufe0f\ufeff"
_INVISIBLE_RUNS = re.compile(f"([{_INVISIBLE}]{{4}})[{_INVISIBLE}]+")


# CJK compatibility ideographs: NFC replaces each with its unified ideograph, which some fonts draw
# differently (they are kept apart in names for that reason). A text holding one is printed as typed.
_COMPATIBILITY_IDEOGRAPHS = re.compile("[\uf900-\ufaff\U0002f800-\U0002fa1f]")


def composed(text: str) -> str:
    """``text`` with the accents typed apart joined to their letters (Unicode NFC: "e" then U+0301
    is "é"), as every text of a document is drawn: the same text, printed the same, that needs no
    shaping. An accent typed apart, as some keyboards and copied texts do, turned shaping on for the
    whole document (three to four times slower: 4,000 such letters, a second). Marks with no letter
    to join (stacked accents, vowel signs) stay, and are shaped."""
    if text.isascii() or _COMPATIBILITY_IDEOGRAPHS.search(text):
        return text
    return unicodedata.normalize("NFC", text)


_LINE_ENDS = str.maketrans(dict.fromkeys("\r\u2028\u2029\u0085\u000b\u000c", "\n"))


def printable(text: str) -> str:
    """``text`` as it is printed: line ends as ``\\n``, tabs as spaces (the font has no glyph for
    a tab, which would vanish), runs of empty lines as one (4,000 line feeds, which the API
    accepts, would otherwise print eighty blank pages), and a run of invisible characters cut to
    its first four (fpdf2 measures a line again at each character it adds: 4,000 zero-width
    joiners, which fit on one line, took over a minute to lay out). No word is changed or dropped.
    The other line ends Unicode has (U+2028 line and U+2029 paragraph separators, NEL, a vertical
    tab, a form feed) end a line too: dropped by the font, they printed two paragraphs as one
    ("Premier paragraphe.Deuxième": an outside audit)."""
    text = composed(text.replace("\r\n", "\n").replace("\t", " ").translate(_LINE_ENDS))
    return _INVISIBLE_RUNS.sub(r"\1", _BLANK_LINES.sub("\n\n", text))


class Document:
    """An A4 document: a title, sections, paragraphs, label/value lines, tables, a signature block.

    Every page carries ``footer`` (what the document is, when it was printed) and its number.
    ``notice``, when given, is what a reader must see before anything else (a version no longer in
    force): a banner above every page's content and a line of the footer, so that no page, printed
    or photocopied alone, can pass for a current one.
    """

    def __init__(self, *, title: str, footer: str, author: str = "Espace santé", notice: str | None = None) -> None:
        title, footer, notice = composed(title), composed(footer), None if notice is None else composed(notice)
        self._pdf = _Pdf(footer, notice)
        self._pdf.set_title(title)
        self._pdf.set_author(author)
        self._pdf.set_creator("ENS")
        # Its language, for a screen reader's voice (WCAG 3.1.1, PDF16), and its title shown by the
        # viewer in place of the file name (WCAG 2.4.2, PDF18): neither was said (an outside audit).
        self._pdf.set_lang("fr-FR")
        self._pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
        for style, file in _DEJAVU.items():
            self._pdf.add_font(FAMILY, style, str(FONTS / file))
        self._drawn = _dejavu()
        self._fallbacks: list[str] = []
        # The footer and the notice are drawn on every page, the title first.
        self._admit(title, footer, notice or "")
        self._pdf.set_margins(18, 18, 18)
        self._pdf.add_page()
        # Where every page's content starts (under the notice's banner, if any): tables lay out
        # their rows page by page from it.
        self._top = self._pdf.get_y()
        # The notice's footer line sits above the usual one, and a footer too long for one line
        # (a long name) wraps upwards: the content stops higher to leave them room.
        self._pdf.set_auto_page_break(auto=True, margin=self._pdf.footer_height())
        self._pdf.set_font(FAMILY, "B", 17)
        self._pdf.multi_cell(0, 9, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(2)

    def _admit(self, *texts: str) -> None:
        """Makes the document ready to print ``texts``: the fallback fonts that draw what DejaVu
        cannot, and shaping if they need it. Called before ``texts`` are measured or drawn; both
        stay for the rest of the document (what is measured is drawn the same)."""
        characters = {character for text in texts for character in text}
        lacking = {code for code in map(ord, characters) if code not in self._drawn}
        added = False
        for name, file in FALLBACKS:
            if lacking and name not in self._fallbacks and lacking & _characters(file):
                self._pdf.add_font(name, "", str(FONTS / file))
                self._fallbacks.append(name)
                self._drawn |= _characters(file)
                lacking -= _characters(file)
                added = True
        if added:
            self._pdf.set_fallback_fonts(self._fallbacks, exact_match=False)
            if _ARABIC_TAKES_OVER in self._fallbacks:
                self._arabic_by_one_font()
            if _JOINED_BY_ZWJ.intersection(self._fallbacks):
                self._not_drawn_by_dejavu(_JOINERS)
        if not self._pdf.text_shaping and needs_shaping(characters):
            self._pdf.set_text_shaping(True)

    def _arabic_by_one_font(self) -> None:
        """Once a text holds a letter of the Arabic script DejaVu Sans lacks (Urdu's heh goal and
        yeh barree, U+06C1 and U+06D2), the rest of the document draws the whole script with Noto
        Sans Arabic: fpdf2 picks a font a character at a time, and HarfBuzz joins letters within
        one font only, so "یہ" drawn by two fonts printed as two letters apart. Text drawn before
        stays in DejaVu Sans (each run is joined all the same)."""
        arabic = _characters(dict(FALLBACKS)[_ARABIC_TAKES_OVER])
        self._not_drawn_by_dejavu(
            {code for code in arabic if any(first <= code <= last for first, last in _ARABIC_BLOCKS)}
        )

    def _not_drawn_by_dejavu(self, taken: Iterable[int]) -> None:
        """fpdf2 draws a character with the document's font whenever that font has it: these are
        left to the fallback fonts (fpdf2 reads which characters a font has from this map only)."""
        taken = frozenset(taken)
        for style in _DEJAVU:
            font: Any = self._pdf.fonts[FAMILY.lower() + style]
            font.cmap = _Cmap(self._pdf, {code: glyph for code, glyph in font.cmap.items() if code not in taken})

    def section(
        self,
        heading: str,
        *,
        keep: float = 30,
        table: tuple[Sequence[str], Sequence[Sequence[str]], Sequence[float]] | None = None,
    ) -> None:
        """A heading, which never ends a page: with less than ``keep`` mm left under it (~3 lines
        by default; what must stay with it, such as a signature block, asks for more), it starts
        the next one. ``table``: the header, rows and widths of the table that follows it, whose
        heading row and first row (its first lines, when it is split) the heading keeps room for
        too: a first row of a dozen lines went whole to the next page, and the heading stood alone
        at the foot of the first (an outside audit of the printed directives)."""
        heading = composed(heading)
        self._admit(heading)
        if table is not None:
            # The heading's space above and rule below, and a millimetre against rounding.
            keep = max(keep, 3 + self._heading_height(heading) + 1.5 + self._table_start(*table) + 1)
        if self._pdf.get_y() > self._pdf.h - self._pdf.b_margin - keep:
            self._pdf.add_page()
        self._pdf.ln(3)
        self._pdf.set_font(FAMILY, "B", 12.5)
        self._pdf.multi_cell(0, 7, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.set_draw_color(120, 120, 120)
        y = self._pdf.get_y()
        self._pdf.line(self._pdf.l_margin, y, self._pdf.w - self._pdf.r_margin, y)
        self._pdf.ln(1.5)

    def _heading_height(self, heading: str) -> float:
        self._pdf.set_font(FAMILY, "B", 12.5)
        return self._height(heading, self._pdf.epw, line=7)

    def _table_start(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> float:
        """The height a table takes on the page where it starts, as :meth:`_paginate` lays it out:
        its heading row and its first row, or that row's first lines when it is to be split."""
        header = [composed(text) for text in header]
        cells = [[printable(value) or "—" for value in values] for values in rows[:1]]
        self._admit(*header, *(text for values in cells for text in values))
        column_widths = [w * self._pdf.epw for w in widths]
        self._pdf.set_font(FAMILY, "B", _TABLE_SIZE)
        heading_height = self._row_lines(header, column_widths) * _TABLE_LINE
        if not cells:
            return heading_height
        self._pdf.set_font(FAMILY, "", _TABLE_SIZE)
        count = self._row_lines(cells[0], column_widths)
        page_top = self._top + heading_height
        per_page = max(1, int((self._pdf.page_break_trigger - _SLACK - page_top) // _TABLE_LINE))
        lines = count if count <= per_page and 2 * count <= per_page else min(count, _MIN_LINES)
        return heading_height + lines * _TABLE_LINE

    def paragraph(self, text: str, *, bold: bool = False, size: float = 10.5) -> None:
        text = printable(text)
        self._admit(text)
        self._pdf.set_font(FAMILY, "B" if bold else "", size)
        # fpdf2 lays a text out in one direction, its first letter's: a line in French or Chinese
        # after one in Arabic would be laid out right to left (an emoji or a full stop at its end
        # put on its left). Each line is a paragraph of its own, in its own direction; the same
        # height as one text.
        for part in text.split("\n") if self._pdf.text_shaping else (text,):
            self._pdf.multi_cell(0, 5.6, part, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(1)

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        """Label: value lines, the labels in bold in a column of their own. A long value runs on to
        the next pages in its column."""
        label_width = 58
        rows = [(composed(label), printable(value)) for label, value in rows]
        self._admit(*(text for row in rows for text in row))
        for label, value in rows:
            self._pdf.set_font(FAMILY, "B", 10)
            # The label and the value's first line start on the same page.
            if self._pdf.will_page_break(self._height(label, label_width, line=5.6)):
                self._pdf.add_page()
            x, y, page = self._pdf.get_x(), self._pdf.get_y(), self._pdf.page
            self._pdf.multi_cell(label_width, 5.6, label, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            label_bottom = self._pdf.get_y()
            self._pdf.set_xy(x + label_width, y)
            self._pdf.set_font(FAMILY, "", 10)
            self._pdf.multi_cell(0, 5.6, value or "—", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            if self._pdf.page == page:  # a value that ran on to another page ends below its label
                self._pdf.set_y(max(self._pdf.get_y(), label_bottom))
        self._pdf.ln(1)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], *, widths: Sequence[float]) -> None:
        """A table whose cells wrap; ``widths`` are fractions of the text width. The heading is
        repeated on every page; a row of up to half a page is never cut by a page break, a taller
        one goes on, split, on the next ones."""
        header = [composed(text) for text in header]
        cells = [[printable(value) or "—" for value in values] for values in rows]
        self._admit(*header, *(text for values in cells for text in values))
        usable = self._pdf.epw
        column_widths = [w * usable for w in widths]
        self._pdf.set_font(FAMILY, "B", _TABLE_SIZE)
        heading_height = self._row_lines(list(header), column_widths) * _TABLE_LINE
        self._pdf.set_font(FAMILY, "", _TABLE_SIZE)
        with self._pdf.table(
            col_widths=tuple(column_widths),
            line_height=_TABLE_LINE,
            text_align="LEFT",
            # At the top: beside a note that runs over pages, the treatment it is about is seen first.
            v_align="TOP",
            first_row_as_headings=True,
            width=usable,
        ) as table:
            heading = table.row()
            for text in header:
                heading.cell(text)
            for values in self._paginate(cells, column_widths, heading_height=heading_height):
                row = table.row()
                for text in values:
                    row.cell(text)
        self._pdf.ln(2)

    def _paginate(self, rows: list[list[str]], widths: list[float], *, heading_height: float) -> list[list[str]]:
        """``rows`` as the table prints them: a row that does not fit where it falls goes whole to
        the next page when it takes half a page at most, and is otherwise split into rows that do
        fit, each after the first at the top of a page (under the repeated heading).

        This follows fpdf2's own layout (a row goes to the next page when ``y + height`` passes
        the page break; the heading comes with the first row and again on every new page). Were
        it ever a little off, a row would only move to the next page: none is taller than a page.
        """
        bottom = self._pdf.page_break_trigger - _SLACK
        page_top = self._top + heading_height
        per_page = max(1, int((bottom - page_top) // _TABLE_LINE))
        y = self._pdf.get_y() + heading_height  # the heading goes with the first row
        laid_out: list[list[str]] = []
        for cells in rows:
            lines = [self._lines(text, width) for text, width in zip(cells, widths, strict=True)]
            count = max(len(column) for column in lines)
            free = int((bottom - y) // _TABLE_LINE)
            if count <= free:
                laid_out.append(cells)
                y += count * _TABLE_LINE
            elif count <= per_page and (2 * count <= per_page or free < _MIN_LINES):
                laid_out.append(cells)
                y = page_top + count * _TABLE_LINE
            else:
                if free < _MIN_LINES:
                    y, free = page_top, per_page
                pieces = self._split(cells, lines, widths, first=free, then=per_page)
                laid_out.extend(pieces)
                for index, piece in enumerate(pieces):
                    y = (y if index == 0 else page_top) + self._row_lines(piece, widths) * _TABLE_LINE
        return laid_out

    def _split(
        self, cells: list[str], lines: list[list[str]], widths: list[float], *, first: int, then: int
    ) -> list[list[str]]:
        """One row's cells cut, line by line and the columns side by side, into rows of at most
        ``first`` lines and then ``then``. Each piece after the first names what it continues in
        its first column (``Réanimation (suite)``), that column's own text being printed by then,
        and repeats a short text of another column printed whole by then (``Je refuse`` beside the
        rest of its note): a page read alone, as in an emergency, says what the note is about."""
        count = max(len(column) for column in lines)
        pieces: list[list[str]] = []
        start, budget = 0, first
        while start < count:
            take = budget
            while True:
                piece = ["\n".join(column[start : start + take]) for column in lines]
                if start and not piece[0].strip():
                    piece[0] = f"{cells[0]} (suite)" if len(lines[0]) <= _MIN_LINES else "(suite)"
                if start:
                    for index in range(1, len(piece)):
                        if not piece[index].strip() and 0 < len(lines[index]) <= _MIN_LINES:
                            piece[index] = cells[index]
                # Lines cut from the wrapped text wrap the same once joined; checked all the same,
                # since a piece taller than its room is what this is here to prevent.
                if take == 1 or self._row_lines(piece, widths) <= budget:
                    break
                take -= 1
            pieces.append(piece)
            start += take
            budget = then
        return pieces

    def _lines(self, text: str, width: float) -> list[str]:
        """``text`` wrapped as a table cell ``width`` wide wraps it, in the current font."""
        if not text:
            return []
        lines = self._pdf.multi_cell(
            width, _TABLE_LINE, text, dry_run=True, output=MethodReturnValue.LINES, wrapmode=WrapMode.WORD
        )
        assert isinstance(lines, list)
        return [str(line) for line in lines]

    def _row_lines(self, cells: list[str], widths: list[float]) -> int:
        """How many lines the tallest of ``cells`` takes (at least one, as fpdf2 counts)."""
        return max(1, *(len(self._lines(text, width)) for text, width in zip(cells, widths, strict=True)))

    def _height(self, text: str, width: float, *, line: float) -> float:
        height = self._pdf.multi_cell(width, line, text, dry_run=True, output=MethodReturnValue.HEIGHT)
        assert isinstance(height, float | int)
        return float(height)

    def signature(self, *, place_and_date_label: str, signer_label: str) -> None:
        """Lines for a handwritten date, place and signature (the printed copy is signed by hand),
        kept on one page: at the foot of a page, the place's line was drawn over the footer and
        the signature's label and line went on alone to the next page."""
        place_and_date_label, signer_label = composed(place_and_date_label), composed(signer_label)
        self._admit(place_and_date_label, signer_label)
        self._pdf.set_font(FAMILY, "", 10)
        labels = (place_and_date_label, signer_label)
        height = 4 + sum(self._height(label, self._pdf.epw, line=6) + 9 + 3 for label in labels)
        if self._pdf.will_page_break(height):
            self._pdf.add_page()
        else:
            self._pdf.ln(4)
        for label in labels:
            self._pdf.multi_cell(0, 6, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self._pdf.ln(9)
            y = self._pdf.get_y()
            self._pdf.line(self._pdf.l_margin, y, self._pdf.l_margin + 90, y)
            self._pdf.ln(3)

    def render(self) -> bytes:
        return bytes(self._pdf.output())


_NOTICE_RED = (165, 20, 20)  # dark enough that white on it stays legible printed in black and white


class _Cmap(dict[int, int]):
    """DejaVu Sans's characters, as fpdf2 asks of each character whether its font draws it: one it
    draws is the letter before whatever comes next (a joiner after it stays with DejaVu Sans)."""

    def __init__(self, pdf: _Pdf, characters: dict[int, int]) -> None:
        super().__init__(characters)
        self._pdf = pdf

    def __contains__(self, code: object) -> bool:
        found = super().__contains__(code)
        if found:
            self._pdf.last_fallback = None
        return found


class _Pdf(FPDF):
    def __init__(self, footer: str, notice: str | None) -> None:
        super().__init__(format="A4")
        self._footer = footer
        self._notice = notice
        self._footer_lines = 1
        self.last_fallback: str | None = None

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        """The fallback font for ``char`` (fpdf2 asks, a character at a time, for those the
        document's font lacks); a joiner goes with the letter before it when a font of
        ``_JOINED_BY_ZWJ`` draws that letter, and stays with DejaVu Sans otherwise, as before
        (``last_fallback`` is the font of the letter before, None when DejaVu Sans draws it)."""
        if ord(char) in _JOINERS:
            last = self.last_fallback
            if last is not None and last.rstrip("B") in _JOINED_KEYS and ord(char) in self.fonts[last].cmap:  # type: ignore[union-attr]
                return last
            return None
        self.last_fallback = super().get_fallback_font(char, style)
        return self.last_fallback

    def footer_height(self) -> float:
        """The room kept at the foot of every page (mm): the footer wrapped to the text width, as
        wide as it can be (``page 999/999``), and the notice's line above it."""
        self.set_font(FAMILY, "", 8)
        lines = self.multi_cell(
            0,
            _FOOTER_LINE,
            self._footer_text(page="999", pages="999"),
            align="C",
            dry_run=True,
            output=MethodReturnValue.LINES,
        )
        assert isinstance(lines, list)
        self._footer_lines = max(1, len(lines))
        return 20 + (self._footer_lines - 1) * _FOOTER_LINE + (0 if self._notice is None else 7)

    def _footer_text(self, *, page: str, pages: str) -> str:
        return f"{self._footer} — page {page}/{pages}"

    def header(self) -> None:
        # fpdf2 calls this on every new page (a section's or a table's break too) and puts back the
        # font and colours after it; the page's content starts under the banner.
        if self._notice is None:
            return
        self.set_y(7)
        self.set_font(FAMILY, "B", 11)
        self.set_fill_color(*_NOTICE_RED)
        self.set_text_color(255, 255, 255)
        self.multi_cell(0, 6.5, self._notice, fill=True, align="C", padding=(1, 2), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(max(self.get_y() + 5, self.t_margin))

    def footer(self) -> None:
        top = -14 - (self._footer_lines - 1) * _FOOTER_LINE
        if self._notice is not None:
            self.set_y(top - 7)
            self.set_font(FAMILY, "B", 9)
            self.set_text_color(*_NOTICE_RED)
            self.cell(0, 5, self._notice, align="C")
        self.set_y(top)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(90, 90, 90)
        self.multi_cell(0, _FOOTER_LINE, self._footer_text(page=str(self.page_no()), pages="{nb}"), align="C")
        self.set_text_color(0, 0, 0)


def french_date(day: date) -> str:
    """``12 avril 2026``, ``1er mai 2026``."""
    months = (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    )
    return f"{'1er' if day.day == 1 else day.day} {months[day.month - 1]} {day.year}"
