"""Spreadsheets the product writes: CSV, and an Excel workbook, safe to open.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets: an app could store ``=HYPERLINK(...)`` in a note and the
holder's export would run it. Such cells are prefixed with a single quote (OWASP, "CSV
Injection"), which spreadsheets show as text; numbers the product formats itself are left alone.

A CSV file opens in one column in a French Excel, whose list separator is ``;`` and decimal mark
``,`` (and a number such as ``72.5`` may be read as a date): a doctor's spreadsheet is better served
an Office Open XML workbook (:func:`xlsx_bytes`), whose numbers are numbers and dates dates in
every locale's spreadsheet (Excel, LibreOffice, Numbers, Google Sheets). Written with XlsxWriter,
every string as a string: no text becomes a formula or a link.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import xlsxwriter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel's calendar counts days from 1 January 1900 and holds a 29 February 1900 that never was:
# XlsxWriter wrote 1 January 1900 as day 0 ("1900-01-00") and 28 February as that 29th. Before
# 1 March 1900 a date and time is written as text.
_EXCEL_DATES_FROM = datetime(1900, 3, 1)


def safe_cell(value: object) -> object:
    """The cell as written: text that a spreadsheet would run as a formula is neutralised."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (RFC 4180 line ends) with every text cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[object]], *, created: datetime) -> bytes:
    """A workbook of one sheet: the header in bold, frozen and filterable, then the rows; a number
    is a number, a (naive, local) ``datetime`` a date and time to the second (text before March
    1900), ``None`` an empty cell, anything else text, never a formula. ``created``, the date its
    properties give (XlsxWriter wrote the time it was made: the same rows were other bytes each
    second); the rest of the file is the same bytes for the same rows."""
    out = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(out, options) as book:
        # No names: a file shared on keeps its properties.
        book.set_properties({"author": "ENS", "created": created.astimezone(UTC).replace(tzinfo=None)})
        page = book.add_worksheet(sheet)
        bold, when = book.add_format({"bold": True}), book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        widths = [len(title) for title in header]
        for column, title in enumerate(header):
            page.write_string(0, column, title, bold)
        count = 0
        for count, row in enumerate(rows, start=1):
            for column, cell in enumerate(row):
                if cell is None or cell == "":
                    continue  # left empty
                if isinstance(cell, bool):
                    page.write_boolean(count, column, cell)
                elif isinstance(cell, int | float):
                    page.write_number(count, column, cell)
                elif isinstance(cell, datetime):
                    # Shown to the second, and a spreadsheet rounds what is beyond: 23:59:59.9999
                    # showed 00:00:00 of the next day. Cut, as the service cuts its instants.
                    shown = cell.replace(microsecond=0)
                    if shown < _EXCEL_DATES_FROM:
                        page.write_string(count, column, shown.isoformat(sep=" "))
                    else:
                        page.write_datetime(count, column, shown, when)
                    widths[column] = max(widths[column], 19)
                else:
                    text = str(cell)
                    page.write_string(count, column, text)
                    widths[column] = max(widths[column], min(len(text), 60))
        for column, width in enumerate(widths):
            page.set_column(column, column, width + 2)
        page.freeze_panes(1, 0)
        page.autofilter(0, 0, count, len(header) - 1)
    return out.getvalue()
