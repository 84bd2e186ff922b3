"""Reading a Google Forms / spreadsheet CSV export: encoding and delimiter detection, parsing, size limits.

Every refusal is a :class:`SurveyError` with one readable line; no input makes this module raise anything
else (tests/bad_inputs/test_survey.py throws random bytes, encodings and delimiters at it).
"""

from __future__ import annotations

import csv
import io
import itertools
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.answer_text import normalize_answer
from core.survey.errors import SurveyError
from core.survey.roles import detect_role

# Bigger inputs are refused with a clear message rather than freezing the app.
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 500

# Tried in this order; on a tie the earlier one wins (Google Forms writes commas, European Excel semicolons,
# Google Sheets' TSV download tabs).
DELIMITERS = (",", ";", "\t")
_SNIFF_CHARS = 65536
_SNIFF_RECORDS = 50

# Byte-order marks, longest first (the UTF-32-LE mark starts with the UTF-16-LE one).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_BINARY = "This is not a CSV text file (it contains binary data)."


@dataclass
class Survey:
    """A parsed survey export: every cell a stripped string ('' = blank) plus detected column roles."""

    frame: pd.DataFrame
    roles: dict[str, str]
    encoding: str  # "utf-8", "utf-8-sig" (with BOM), "latin-1", "utf-16" (with BOM), "utf-16-le"/"-be", ...
    delimiter: str  # one of DELIMITERS

    @property
    def n_rows(self) -> int:
        return len(self.frame)


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the NUL bytes sit in every other position, as in UTF-16 text."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a CSV export, returning (text, encoding). Refuses binary data instead of guessing.

    UTF-8 (with or without BOM), UTF-16 / UTF-32 (with BOM; UTF-16 also without), else Latin-1.
    """
    if not data or not data.strip():
        raise SurveyError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise SurveyError(
            f"The file is {len(data) / 1e6:.0f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB. "
            "Export fewer rows or columns."
        )
    head = data[:_SNIFF_CHARS]
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None) or _utf16_without_bom(head)
    if encoding is not None and encoding.startswith(("utf-16", "utf-32")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise SurveyError(
                f"The file looks like {encoding.upper()} text but is cut off or damaged; "
                "save it again as UTF-8 CSV."
            ) from None
    else:
        if b"\x00" in head:
            raise SurveyError(_BINARY)
        encoding = encoding or "utf-8"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            encoding = "latin-1"
            text = data.decode(encoding)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise SurveyError("The file is empty.")
    sample = text[:_SNIFF_CHARS]
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n") or 0x7F <= ord(ch) < 0xA0)
    if "\x00" in sample or control > max(2, 0.01 * len(sample)):
        raise SurveyError(_BINARY)
    return text, encoding


def _first_records(text: str, delimiter: str) -> list[list[str]]:
    """Up to the first 50 non-blank records of ``text`` split by ``delimiter`` (quotes respected)."""
    sample = text[:_SNIFF_CHARS]
    try:
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter, skipinitialspace=True)
        records = list(itertools.islice(reader, _SNIFF_RECORDS + 1))
    except csv.Error:
        return []
    if len(text) > len(sample) and len(records) > 1:
        records = records[:-1]  # the sample may end in the middle of a record
    return [r for r in records if r][:_SNIFF_RECORDS]


def _consistent(records: list[list[str]]) -> bool:
    """Every record as wide as the header, or one wider with a blank last field (a stray trailing comma)."""
    width = len(records[0])
    return all(len(r) == width or (len(r) == width + 1 and not r[-1].strip()) for r in records[1:])


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header, preferring one that splits the first records into rows as
    wide as the header, then the widest header; comma on a tie.

    A semicolon file with decimal commas in its answers is still read as semicolon-separated (the commas
    give ragged rows), and a comma file with one ragged row is still read as comma-separated (and then
    refused with the row named) rather than as one big column.
    """
    best, best_key = DELIMITERS[0], (False, False, 0)
    for delimiter in DELIMITERS:
        records = _first_records(text, delimiter)
        if not records:
            continue
        width = len(records[0])
        key = (width > 1, _consistent(records), width)
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _read_frame(text: str, delimiter: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(
        io.StringIO(text),
        sep=delimiter,
        dtype=str,
        keep_default_na=False,
        skipinitialspace=True,
        on_bad_lines="error",
        nrows=MAX_ROWS + 1,
        # Never take the first column as the index: with a stray trailing delimiter on the first data row
        # pandas would otherwise shift every column by one (issue 10, #5).
        index_col=False,
        **kwargs,
    )


def parse_csv(text: str, delimiter: str) -> pd.DataFrame:
    """Decoded CSV text -> DataFrame of raw string cells, refusing rows wider than the header.

    A blank extra field (a trailing delimiter) is dropped; a non-blank one means the row does not fit the
    header, and guessing which answer belongs where would silently test the wrong question.
    """
    records = _first_records(text, delimiter)
    if records and len(records[0]) > MAX_COLUMNS:
        raise SurveyError(f"The file has {len(records[0])} columns; the limit is {MAX_COLUMNS}.")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = _read_frame(text, delimiter)
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
            # pandas sized the rows by the first data row, which is wider than the header: read again with
            # positional names so nothing past the header is dropped unseen, then check what was there.
            width = frame.shape[1]
            extra_width = max((len(r) for r in records[1:2]), default=width) - width
            wide = _read_frame(text, delimiter, header=0, names=list(range(width + max(extra_width, 1))))
            extra = wide.iloc[:, width:].apply(lambda s: s.astype(str).str.strip())
            filled = extra.ne("").any(axis=1).to_numpy()
            if filled.any():
                row = int(filled.argmax()) + 1
                raise SurveyError(
                    f"Response {row} has more answers than the header has columns ({width}); "
                    "fix that row in the file (a stray delimiter?) and load it again."
                )
            frame = wide.iloc[:, :width].set_axis(frame.columns, axis=1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError, OverflowError) as exc:
        if isinstance(exc, SurveyError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SurveyError(f"Could not read this file as CSV: {first}") from None
    return frame


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def read_source_bytes(source: bytes | str | Path) -> bytes:
    """The bytes of an upload (bytes) or a file path, refusing missing and oversized files."""
    if not isinstance(source, (str, Path)):
        return bytes(source)
    path = Path(source)
    if path.is_dir():
        raise SurveyError(f"{path} is a folder, not a CSV file.")
    if not path.is_file():
        raise SurveyError(f"No such file: {path}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SurveyError(f"The file is {size / 1e6:.0f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB.")
    return path.read_bytes()


def read_survey(source: bytes | str | Path) -> Survey:
    """Parse a Google Forms / CSV export (UTF-8 with/without BOM, UTF-16, Latin-1; comma, semicolon, tab)."""
    text, encoding = decode_bytes(read_source_bytes(source))
    delimiter = sniff_delimiter(text)
    frame = parse_csv(text, delimiter)
    if len(frame) > MAX_ROWS:
        raise SurveyError(f"The file has more than {MAX_ROWS:,} responses; split it or sample it first.")
    if frame.shape[1] > MAX_COLUMNS:
        raise SurveyError(f"The file has {frame.shape[1]} columns; the limit is {MAX_COLUMNS}.")
    # Headers are normalised like answers: a question typed twice, once with a stray zero-width space or
    # no-break space, is one question (the answers themselves are normalised per role, in cleaning).
    frame.columns = [normalize_answer(str(c)) or f"Column {i + 1}" for i, c in enumerate(frame.columns)]
    if frame.columns.duplicated().any():
        frame.columns = _dedupe(list(frame.columns))
    frame = frame.apply(lambda s: s.astype(str).str.strip()).reset_index(drop=True)
    if frame.empty:
        raise SurveyError("The file has a header row but no responses.")
    roles = {col: detect_role(frame[col], col) for col in frame.columns}
    return Survey(frame=frame, roles=roles, encoding=encoding, delimiter=delimiter)
