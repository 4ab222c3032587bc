"""Printable documents (advance directives, a vaccination certificate...): one small builder on
fpdf2, with DejaVu Sans embedded (the PDF's built-in fonts are Latin-1 and lose "œ").

Text is real text (selectable, searchable, readable by pypdf); the fonts ship with the package
(``ens/core/fonts``, DejaVu's licence beside them), so nothing has to be installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"


class Document:
    """An A4 document: a title, sections, paragraphs, label/value lines, tables, a signature block.

    Every page carries ``footer`` (what the document is, when it was printed) and its number.
    ``notice``, when given, is what a reader must see before anything else (a version no longer in
    force): a banner above every page's content and a line of the footer, so that no page, printed
    or photocopied alone, can pass for a current one.
    """

    def __init__(self, *, title: str, footer: str, author: str = "Espace santé", notice: str | None = None) -> None:
        self._pdf = _Pdf(footer, notice)
        self._pdf.set_title(title)
        self._pdf.set_author(author)
        self._pdf.set_creator("ENS")
        self._pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self._pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self._pdf.set_margins(18, 18, 18)
        # The notice's footer line sits above the usual one: the content stops higher to leave it room.
        self._pdf.set_auto_page_break(auto=True, margin=20 if notice is None else 27)
        self._pdf.add_page()
        self._pdf.set_font(FAMILY, "B", 17)
        self._pdf.multi_cell(0, 9, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(2)

    def section(self, heading: str) -> None:
        # A heading never ends a page: with less than ~3 lines left under it, it starts the next one.
        if self._pdf.get_y() > self._pdf.h - self._pdf.b_margin - 30:
            self._pdf.add_page()
        self._pdf.ln(3)
        self._pdf.set_font(FAMILY, "B", 12.5)
        self._pdf.multi_cell(0, 7, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.set_draw_color(120, 120, 120)
        y = self._pdf.get_y()
        self._pdf.line(self._pdf.l_margin, y, self._pdf.w - self._pdf.r_margin, y)
        self._pdf.ln(1.5)

    def paragraph(self, text: str, *, bold: bool = False, size: float = 10.5) -> None:
        self._pdf.set_font(FAMILY, "B" if bold else "", size)
        self._pdf.multi_cell(0, 5.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._pdf.ln(1)

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        """Label: value lines, the labels in bold in a column of their own."""
        label_width = 58
        for label, value in rows:
            self._pdf.set_font(FAMILY, "B", 10)
            x, y = self._pdf.get_x(), self._pdf.get_y()
            self._pdf.multi_cell(label_width, 5.6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
            label_bottom = self._pdf.get_y() if self._pdf.get_y() > y else y
            self._pdf.set_xy(x + label_width, y)
            self._pdf.set_font(FAMILY, "", 10)
            self._pdf.multi_cell(0, 5.6, value or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self._pdf.set_y(max(self._pdf.get_y(), label_bottom))
        self._pdf.ln(1)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], *, widths: Sequence[float]) -> None:
        """A table whose cells wrap; ``widths`` are fractions of the text width."""
        usable = self._pdf.w - self._pdf.l_margin - self._pdf.r_margin
        with self._pdf.table(
            col_widths=tuple(w * usable for w in widths),
            line_height=5.2,
            text_align="LEFT",
            first_row_as_headings=True,
            width=usable,
        ) as table:
            self._pdf.set_font(FAMILY, "", 9)
            heading = table.row()
            for cell in header:
                heading.cell(cell)
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(value or "—")
        self._pdf.ln(2)

    def signature(self, *, place_and_date_label: str, signer_label: str) -> None:
        """Lines for a handwritten date, place and signature (the printed copy is signed by hand)."""
        self._pdf.ln(4)
        self._pdf.set_font(FAMILY, "", 10)
        for label in (place_and_date_label, signer_label):
            self._pdf.multi_cell(0, 6, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self._pdf.ln(9)
            y = self._pdf.get_y()
            self._pdf.line(self._pdf.l_margin, y, self._pdf.l_margin + 90, y)
            self._pdf.ln(3)

    def render(self) -> bytes:
        return bytes(self._pdf.output())


_NOTICE_RED = (165, 20, 20)  # dark enough that white on it stays legible printed in black and white


class _Pdf(FPDF):
    def __init__(self, footer: str, notice: str | None) -> None:
        super().__init__(format="A4")
        self._footer = footer
        self._notice = notice

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
        if self._notice is not None:
            self.set_y(-21)
            self.set_font(FAMILY, "B", 9)
            self.set_text_color(*_NOTICE_RED)
            self.cell(0, 5, self._notice, align="C")
        self.set_y(-14)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self._footer} — page {self.page_no()}/{{nb}}", align="C")
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
