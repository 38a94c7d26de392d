"""Reading the files people have: CSV in any common dialect and encoding, or XLSX, into a
header and numbered rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from charset_normalizer import from_bytes
from django.conf import settings
from openpyxl import load_workbook

from leads.models import LeadError

from .columns import CONTROL_RE, single_line
from .presets import ALIASES, norm_header

HEADER_SCAN_ROWS = 60


class ImportFileError(LeadError):
    """The file as a whole cannot be read; the message says why and what to do."""


@dataclass
class Table:
    """A file read into a header and numbered rows (numbers as a spreadsheet shows them)."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    header_row: int = 1
    file_format: str = "csv"
    encoding: str = ""
    delimiter: str = ""


def read_table(data: bytes, file_name: str = "") -> Table:
    """Read a CSV (any of , ; tab; UTF-8/UTF-16/cp1252/latin-1) or XLSX file.

    Finds the header row after preamble lines, skips blank rows, keeps quoted
    newlines. Raises ImportFileError when the file as a whole cannot be read.
    """
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise ImportFileError(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB. "
            "Split it into smaller files."
        )
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            "This is an old Excel (.xls) file. Save it as .xlsx or CSV and upload that."
        )
    text, encoding = _decode(data)
    return _read_csv(text, encoding)


def _decode(data: bytes) -> tuple[str, str]:
    if data[:3] == b"\xef\xbb\xbf":
        return _strict(data[3:], "utf-8"), "utf-8-sig"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _strict(data, "utf-16"), "utf-16"
    if b"\x00" in data[:65536]:
        raise ImportFileError(
            "This file is not a CSV or Excel file (it contains binary data). "
            "Export the list as CSV or XLSX and upload that."
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Excel on Windows writes cp1252; charset-normalizer confirms or finds better.
    guess = from_bytes(data[:200_000], cp_isolation=["cp1252", "latin_1", "cp1250", "mac_roman"])
    best = guess.best()
    for encoding in ([best.encoding] if best else []) + ["cp1252", "latin_1"]:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    raise ImportFileError("The file's text encoding could not be recognised.")  # pragma: no cover


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


def _parse(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records = []
    for record in reader:
        records.append(record)
        if limit is not None and len(records) >= limit:
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


def _read_csv(text: str, encoding: str) -> Table:
    if _looks_binary(text):
        raise ImportFileError(
            "This file is not a CSV or Excel file (it contains binary data). "
            "Export the list as CSV or XLSX and upload that."
        )
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, 10 * 1024 * 1024))
    try:
        sample = text[:65536]
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
                best = (key, delimiter)
        if best is None:
            raise ImportFileError("The file has no rows.")
        delimiter = best[1]
        records = _parse(text, delimiter)
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from exc
    finally:
        csv.field_size_limit(old_limit)
    return _table(records, "csv", encoding, delimiter)


def _table(records: list[list[str]], file_format: str, encoding: str, delimiter: str) -> Table:
    index, _ = _find_header(records)
    if index < 0:
        raise ImportFileError("The file has no rows.")
    headers = [single_line(h.replace("\ufeff", "")) for h in records[index]]
    width = len(headers)
    rows = []
    for number, record in enumerate(records[index + 1 :], start=index + 2):
        if not (record and record[0].strip()) and not "".join(record).strip():
            continue  # blank (checking the first cell spares joining every row)
        if len(record) != width:
            record = list(record[:width]) + [""] * (width - len(record))
        rows.append((number, record))
    # Report footers ("Grand Totals (7 records)", "Confidential …") are one-cell rows.
    while rows and width > 1 and sum(1 for cell in rows[-1][1] if cell.strip()) <= 1:
        rows.pop()
    return Table(headers, rows, index + 1, file_format, encoding, delimiter)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes) -> Table:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(
            "This file is a ZIP archive but not an Excel workbook. Upload a CSV or XLSX file."
        ) from exc
    except Exception as exc:  # openpyxl raises many types on corrupt workbooks
        raise ImportFileError(f"The Excel file could not be read ({type(exc).__name__}).") from exc
    try:
        for sheet in workbook.worksheets:
            records = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            if any(any(c.strip() for c in r) for r in records):
                return _table(records, "xlsx", "", "")
    finally:
        workbook.close()
    raise ImportFileError("The workbook has no rows.")
