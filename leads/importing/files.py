"""Reading the files people have: CSV in any common dialect and encoding, or XLSX, into a
header and numbered rows."""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from charset_normalizer import from_bytes
from django.conf import settings

from .columns import CONTROL_RE, is_email_address, single_line
from .errors import ImportFileError
from .presets import ALIASES, norm_header
from .xlsx import read_xlsx

__all__ = [
    "ENCODING_CHOICES",
    "ImportFileError",
    "Table",
    "encoding_label",
    "over_upload_cap",
    "read_table",
]

HEADER_SCAN_ROWS = 60
UNCLOSED_QUOTE = (
    'A quote (") in this row is never closed, so the rows after it could not be told '
    "apart; this row was not imported. Close or remove the quote and import the row again."
)
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "latin_1": "Latin-1",
    "mac_roman": "Mac Roman",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}
# The encodings a person may choose instead of the guessed one (preview page).
ENCODING_CHOICES = (
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252 (Western Europe, Excel)"),
    ("cp1250", "Windows-1250 (Central Europe)"),
    ("latin_1", "Latin-1 (ISO 8859-1)"),
    ("mac_roman", "Mac Roman"),
    ("utf-16", "UTF-16"),
)
LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")


@dataclass
class Table:
    """A file read into a header and numbered rows (numbers as a spreadsheet shows them).

    `rejected` holds rows that could not be read apart from their neighbours (number,
    cells, why); `warnings` what the preview should tell about the file as a whole.
    """

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    header_row: int = 1
    file_format: str = "csv"
    encoding: str = ""
    delimiter: str = ""
    rejected: list[tuple[int, list[str], str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_table(source: bytes | BinaryIO, file_name: str = "", encoding: str = "") -> Table:
    """Read a CSV (any of , ; tab; UTF-8/UTF-16/cp1252/latin-1) or XLSX file, given as
    bytes or as a binary file object (an XLSX is then read from it as a stream).
    A CSV is read in `encoding` when given (one of ENCODING_CHOICES), else in the
    encoding guessed from its bytes.

    Finds the header row after preamble lines, skips blank rows, keeps quoted
    newlines. Raises ImportFileError when the file as a whole cannot be read.
    """
    handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    too_large = over_upload_cap(handle.seek(0, io.SEEK_END))
    handle.seek(0)
    if too_large:
        raise ImportFileError(too_large)
    head = handle.read(8)
    handle.seek(0)
    if head[:4] == b"PK\x03\x04":
        return _table(read_xlsx(handle), "xlsx", "", "")
    if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            "This is an old Excel (.xls) file. Save it as .xlsx or CSV and upload that."
        )
    data = handle.read()
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if encoding:
        return _read_csv(_decode_as(data, encoding), encoding)
    text, guessed, odd_lines = _decode(data)
    return _read_csv(text, guessed, odd_lines)


def encoding_label(encoding: str) -> str:
    """An encoding as people know it ("Windows-1252"; both of a mixed file's)."""
    return " and ".join(_encoding_name(e) for e in encoding.split("+") if e)


def _decode_as(data: bytes, encoding: str) -> str:
    """The file read in the encoding a person chose."""
    if encoding not in dict(ENCODING_CHOICES):
        raise ImportFileError("Choose one of the encodings offered.")
    if encoding == "utf-8":
        encoding = "utf-8-sig"  # a BOM is not part of the first header
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file cannot be read as {_encoding_name(encoding)} (byte {exc.start + 1} "
            "is not valid in it). Choose another encoding."
        ) from exc


def over_upload_cap(size: int) -> str:
    """Why a file of this size cannot be imported ("" when it can): the one upload cap of
    the imports page, the admin and the command."""
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size <= limit:
        return ""
    return (
        f"The file is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB. "
        "Split it into smaller files."
    )


def _decode(data: bytes) -> tuple[str, str, tuple[str, list[int]] | None]:
    """The text, its encoding, and for a file mixing two encodings the smaller group's
    encoding with its lines (0-based); each line is then read in its own encoding."""
    if data[:3] == b"\xef\xbb\xbf":
        if _decodes(data[3:], "utf-8"):
            return data[3:].decode("utf-8"), "utf-8-sig", None
        data = data[3:]  # rows of another encoding added to a UTF-8 file: read line by line
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _strict(data, "utf-16"), "utf-16", None
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return data.decode(utf16), utf16, None
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                "This file looks like UTF-16 text but cannot be read as it (it may be cut "
                "short); save it as CSV UTF-8 and upload that."
            ) from exc
    if b"\x00" in data[:65536]:
        raise ImportFileError(
            "This file is not a CSV or Excel file (it contains binary data). "
            "Export the list as CSV or XLSX and upload that."
        )
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    lines = data.splitlines(keepends=True)
    utf8, other = [], []
    for index, line in enumerate(lines):
        if not line.isascii():
            (utf8 if _is_utf8(line) else other).append(index)
    encoding = _single_byte_encoding(b"".join(lines[i] for i in other))
    if not utf8:
        return data.decode(encoding), encoding, None
    text = "".join(
        line.decode("utf-8") if _is_utf8(line) else line.decode(encoding) for line in lines
    )
    odd = min((encoding, other), ("utf-8", utf8), key=lambda group: len(group[1]))
    return text, f"utf-8+{encoding}", odd


def _utf16_without_bom(data: bytes) -> str:
    """The byte order of UTF-16 text without a byte order mark ("utf-16-le" or
    "utf-16-be"; "" for other files): a list's letters, digits, commas and line breaks
    are mostly ASCII, each written beside a NUL, always on the same side. Binary data
    that looks so decodes to control characters and is refused as binary."""
    sample = data[:65536]
    pairs = len(sample) // 2
    if pairs < 4:
        return ""
    even = sample[0 : 2 * pairs : 2].count(0)
    odd = sample[1 : 2 * pairs : 2].count(0)
    if odd >= pairs / 4 and even <= odd / 20:
        return "utf-16-le"
    if even >= pairs / 4 and odd <= even / 20:
        return "utf-16-be"
    return ""


def _is_utf8(line: bytes) -> bool:
    return _decodes(line, "utf-8")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _single_byte_encoding(foreign: bytes) -> str:
    """The encoding of the lines that are not UTF-8, one that decodes all of them: Excel
    on Windows in Western Europe writes cp1252, which wins unless charset-normalizer's
    guess reads more of the bytes as letters (Polish "ł" is "³" in cp1252; "è" and "ñ"
    are letters in both cp1252 and cp1250, so a German "Lefèvre" stays cp1252).
    Latin-1, the last resort, decodes any byte."""
    sample = foreign[:200_000]
    best = from_bytes(sample, cp_isolation=["cp1252", "latin_1", "cp1250", "mac_roman"]).best()
    guess = best.encoding if best else "cp1252"
    candidates = dict.fromkeys(["cp1252", guess, "cp1250", "latin_1"])
    readable = [e for e in candidates if _decodes(foreign, e)]
    if readable[0] != "cp1252":
        return readable[0]
    if guess in readable and guess not in ("cp1252", "cp1250", "latin_1"):
        return guess if sample.decode(guess) != sample.decode("cp1252") else "cp1252"
    if "cp1250" in readable and _letters(sample, "cp1250") > _letters(sample, "cp1252"):
        return "cp1250"
    return "cp1252"


def _letters(data: bytes, encoding: str) -> int:
    """How many of the non-ASCII bytes this encoding reads as letters."""
    return sum(1 for char in data.decode(encoding) if not char.isascii() and char.isalpha())


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file says it is {encoding.upper()} but is not; save it again as CSV UTF-8."
        ) from exc


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    if not sample:
        return False
    controls = len(CONTROL_RE.findall(sample))
    return "\x00" in sample or controls > max(8, len(sample) // 100)


def _header_score(cells: Sequence[str]) -> int:
    return sum(1 for cell in cells if norm_header(cell) in ALIASES)


def _parse(text: str, delimiter: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records = []
    for record in reader:
        records.append(record)
        if len(records) >= limit:
            break
    return records


def _find_header(records: Sequence[Sequence[str]]) -> tuple[int, int]:
    """(index of the header record among the first ones, its score)."""
    best_index, best_score = -1, 0
    for index, record in enumerate(records[:HEADER_SCAN_ROWS]):
        score = _header_score(record)
        if score > best_score:
            best_index, best_score = index, score
    if best_index < 0:
        for index, record in enumerate(records[:HEADER_SCAN_ROWS]):
            if any(cell.strip() for cell in record):
                return index, 0
        return -1, 0
    return best_index, best_score


def _sniff(sample: str) -> tuple[str, int]:
    """The delimiter whose reading of the file's start gives the best header, and that
    header's width."""
    best: tuple[Any, ...] | None = None
    for delimiter in (",", ";", "\t", "|"):
        records = _parse(sample, delimiter, limit=HEADER_SCAN_ROWS + 20)
        index, score = _find_header(records)
        if index < 0:
            continue
        width = len(records[index])
        rest = [len(r) for r in records[index + 1 :] if r]
        consistent = sum(1 for n in rest if n == width) / len(rest) if rest else 0
        key = (score, width > 1, consistent, width)
        if best is None or key > best[0]:
            best = (key, delimiter, width)
    if best is None:
        raise ImportFileError("The file has no rows.")
    return best[1], best[2]


def _read_csv(text: str, encoding: str, odd: tuple[str, list[int]] | None = None) -> Table:
    if _looks_binary(text):
        raise ImportFileError(
            "This file is not a CSV or Excel file (it contains binary data). "
            "Export the list as CSV or XLSX and upload that."
        )
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, 10 * 1024 * 1024))
    try:
        delimiter, width = _sniff(text[:65536])
        lines = list(io.StringIO(text, newline=""))
        records, rejected, starts = _csv_records(lines, delimiter, width)
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from exc
    finally:
        csv.field_size_limit(old_limit)
    table = _table(records, "csv", encoding, delimiter, rejected)
    if odd is not None:
        table.warnings.append(_mixed_encodings(encoding, odd, starts))
    return table


def _csv_records(
    lines: list[str], delimiter: str, width: int
) -> tuple[list[tuple[int, list[str]]], list[tuple[int, list[str], str]], list[int]]:
    """The file's records numbered as a spreadsheet shows them; the lines whose quote is
    never closed (rejected); and each record's first line (0-based), by number.

    An unclosed quote makes the CSV reader run on through the next lines as one cell.
    When a record spans lines and a line inside one of its cells holds a whole row's
    delimiters, its first line is rejected and reading starts again on the next line.
    """
    records: list[tuple[int, list[str]]] = []
    rejected: list[tuple[int, list[str], str]] = []
    starts: list[int] = []
    base = 0
    while base < len(lines):
        reader = csv.reader(itertools.islice(lines, base, None), delimiter=delimiter, strict=False)
        first, restart = base, None
        try:
            for record in reader:
                end = base + reader.line_num
                starts.append(first)
                if end - first > 1 and _swallows_rows(record, delimiter, width):
                    cells = _split_line(lines[first], delimiter)
                    rejected.append((len(starts), cells, UNCLOSED_QUOTE))
                    restart = first + 1
                    break
                records.append((len(starts), record))
                first = end
        except csv.Error as exc:  # a NUL byte, a cell over the size limit
            raise ImportFileError(
                f"The file is not valid CSV at row {len(starts) + 1}: {exc}."
            ) from exc
        if restart is None:
            break
        base = restart
    return records, rejected, starts


def _swallows_rows(record: Sequence[str], delimiter: str, width: int) -> bool:
    """Whether a cell of this record holds, after a line break, what looks like a row: a
    row's delimiters and an email address (an address written over two lines of a cell
    has the commas, but a row of a lead list carries an email)."""
    for cell in record:
        if "\n" in cell or "\r" in cell:
            for line in LINE_BREAK_RE.split(cell)[1:]:
                if line.count(delimiter) >= width - 1 and any(
                    is_email_address(part) for part in _split_line(line, delimiter)
                ):
                    return True
    return False


def _split_line(line: str, delimiter: str) -> list[str]:
    """One line's cells, quotes taken as plain text (for a row that could not be read)."""
    cells = csv.reader([line.rstrip("\r\n")], delimiter=delimiter, quoting=csv.QUOTE_NONE)
    return next(cells, [])


def _mixed_encodings(encoding: str, odd: tuple[str, list[int]], starts: list[int]) -> str:
    """The preview's warning for a file whose rows are in two encodings, naming the rows."""
    odd_encoding, lines = odd
    other = next(e for e in encoding.split("+") if e != odd_encoding)
    numbers = sorted({bisect.bisect_right(starts, line) for line in lines})
    shown = ", ".join(str(n) for n in numbers[:10])
    if len(numbers) > 10:
        shown += f" and {len(numbers) - 10} more"
    label = "Row" if len(numbers) == 1 else "Rows"
    return (
        f"This file mixes two text encodings: {label.lower()} {shown} "
        f"{'is' if len(numbers) == 1 else 'are'} in {_encoding_name(odd_encoding)}, the rest "
        f"in {_encoding_name(other)}. Each row was read in its own encoding; check the "
        "accents of those rows, and next time save the file as CSV UTF-8."
    )


def _encoding_name(encoding: str) -> str:
    return ENCODING_NAMES.get(encoding, encoding)


def _table(
    records: Sequence[tuple[int, list[str]]],
    file_format: str,
    encoding: str,
    delimiter: str,
    rejected: Sequence[tuple[int, list[str], str]] = (),
) -> Table:
    index, _ = _find_header([cells for _, cells in records[:HEADER_SCAN_ROWS]])
    if index < 0:
        raise ImportFileError("The file has no rows.")
    header_row, header = records[index]
    headers = [single_line(h.replace("\ufeff", "")) for h in header]
    width = len(headers)
    rows = []
    for number, record in records[index + 1 :]:
        if not (record and record[0].strip()) and not "".join(record).strip():
            continue  # blank (checking the first cell spares joining every row)
        if len(record) != width:
            record = list(record[:width]) + [""] * (width - len(record))
        rows.append((number, record))
    # Report footers ("Grand Totals (7 records)", "Confidential …") are one-cell rows; a
    # row holding only an email address is a lead's, and so is every row above it.
    while rows and width > 1:
        filled = [cell for cell in rows[-1][1] if cell.strip()]
        if len(filled) > 1 or (filled and is_email_address(filled[0])):
            break
        rows.pop()
    after_header = [r for r in rejected if r[0] > header_row]
    return Table(headers, rows, header_row, file_format, encoding, delimiter, after_header)
