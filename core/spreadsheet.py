"""The one spreadsheet-safe CSV cell: every CSV the project writes passes each cell through here.

OWASP "CSV Injection": a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is read as
a formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` phones home, DDE runs commands).
Question texts, choices and free-text answers can all come from respondents (``--questions-from`` turns
a survey's answers into a poll's choices), and file names and metadata come from whoever made the photo
folder, so no cell is trusted: :func:`neutralise_formula` prefixes such text with a single quote, and
:func:`csv_bytes` writes a whole table that way.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A plain number cannot call a function or reference a cell, so "-3" or "+1.5e3" stays a readable number.
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_formula(cell: object) -> object:
    """A spreadsheet-safe cell: text starting with = + - @ tab or CR gets a leading single quote."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER_RE.fullmatch(cell):
        return "'" + cell
    return cell


def csv_bytes(header: Sequence[object], rows: Iterable[Sequence[object]], quote_all: bool = False) -> bytes:
    """UTF-8 CSV of ``header`` and ``rows`` with every cell (header included) made spreadsheet-safe."""
    buf = io.StringIO(newline="")
    # RFC 4180 line ends for minimal quoting: Python's writer quotes a field only for the characters of
    # its line terminator, so with "\n" a lone carriage return in a cell would go out bare and split the row.
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                        lineterminator="\n" if quote_all else "\r\n")
    writer.writerow([neutralise_formula(c) for c in header])
    writer.writerows([neutralise_formula(c) for c in row] for row in rows)
    return buf.getvalue().encode("utf-8")
