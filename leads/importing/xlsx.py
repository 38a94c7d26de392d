"""Reading an XLSX workbook as a stream, within hard limits on rows, columns, cells, the
length of one cell and the bytes the file unpacks to.

The limits are counted while reading, never taken from what the file declares (its
<dimension>, the sizes in its ZIP directory), so a small file that claims or unpacks to
millions of rows is refused within seconds and little memory. A damaged cell stops the
read with a message naming its row and cell.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel

from .errors import ImportFileError

MB = 1024 * 1024


@dataclass(frozen=True)
class XlsxLimits:
    """What one workbook may hold; each is checked as the file is read."""

    rows: int = 100_000
    columns: int = 1_000
    cells: int = 2_000_000
    cell_chars: int = 32_767  # Excel's own limit for one cell
    unpacked_bytes: int = 128 * MB


LIMITS = XlsxLimits()
CHUNK = 1 << 20
MAX_STYLES = 65_536  # Excel itself allows 64,000 cell formats
MAX_ROW_NUMBER = 1_048_576
MAX_COLUMN_NUMBER = 16_384
MAX_DIRECTORY_BYTES = 1 << 20  # a ZIP directory of some 10,000 parts
END_SEARCH = 22 + 65_535 + 20  # the end record, its longest comment, the ZIP64 locator

NOT_A_WORKBOOK = "This file is a ZIP archive but not an Excel workbook. Upload a CSV or XLSX file."
SAVE_AGAIN = "Open it in Excel and save it again, or export the list as CSV."

Records = list[tuple[int, list[str]]]


def read_xlsx(source: BinaryIO, limits: XlsxLimits = LIMITS) -> Records:
    """The first worksheet holding a value, as (row number, cells as text) for each row
    that has a value; cells are padded to the row's last value.

    Raises ImportFileError when the workbook is damaged or over a limit.
    """
    _check_directory(source)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError(NOT_A_WORKBOOK) from exc
    with archive:
        book = _Book(archive, limits)
        for sheet in book.worksheets():
            records = book.read_sheet(sheet)
            if any(any(cell.strip() for cell in cells) for _, cells in records):
                return records
    raise ImportFileError("The workbook has no rows.")


def _check_directory(source: BinaryIO) -> None:
    """Refuse a ZIP whose directory is larger than a workbook's can be, before zipfile
    reads every entry of it into memory (a directory of a million empty entries)."""
    size = source.seek(0, io.SEEK_END)
    source.seek(max(0, size - END_SEARCH))
    tail = source.read()
    source.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return  # not a ZIP: zipfile says so
    (directory,) = struct.unpack_from("<L", tail, at + 12)
    locator = at - 20
    if directory == 0xFFFFFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        (record,) = struct.unpack_from("<Q", tail, locator + 8)  # the ZIP64 end record
        source.seek(record + 40)
        (directory,) = struct.unpack("<Q", source.read(8).ljust(8, b"\xff"))
        source.seek(0)
    if directory > MAX_DIRECTORY_BYTES:
        raise damaged("its ZIP directory lists far more parts than a workbook has")


def damaged(detail: str) -> ImportFileError:
    return ImportFileError(f"The Excel file is damaged: {detail}. {SAVE_AGAIN}")


def _local(name: str) -> str:
    """An element's or attribute's name without its namespace ("uri local" → "local")."""
    return name.rpartition(" ")[2]


class _Unpacked:
    """The bytes unpacked so far from one workbook, against its limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def check(self, size: int) -> None:
        if size > self.left:
            raise ImportFileError(
                f"The Excel file unpacks to more than {self.limit // MB} MB, more than a list "
                "can hold. Split it into smaller files or export it as CSV."
            )

    def take(self, size: int) -> None:
        self.check(size)
        self.left -= size


class _Book:
    """A workbook's parts: where its sheets, shared strings and cell formats are."""

    def __init__(self, archive: zipfile.ZipFile, limits: XlsxLimits) -> None:
        self.archive = archive
        self.limits = limits
        self.unpacked = _Unpacked(limits.unpacked_bytes)
        self.names = {info.filename.lower(): info.filename for info in archive.infolist()}
        root = self._relationships("")
        workbook = next((t for kind, t in root.values() if kind == "officeDocument"), None)
        if workbook is None or workbook.lower() not in self.names:
            raise ImportFileError(NOT_A_WORKBOOK)
        self.workbook = workbook
        self.sheet_ids: list[str] = []
        self.epoch = WINDOWS_EPOCH
        self._parse(workbook, self._workbook_element)
        self.parts = self._relationships(workbook)
        self.strings: list[str] | None = None
        self.read = {"rows": 0, "cells": 0}  # across the sheets read so far
        self.date_styles: dict[int, bool] | None = None

    # --- package structure ---------------------------------------------------------

    def chunks(self, part: str, *, count: bool = True) -> Iterator[bytes]:
        """A part's bytes, unpacked a chunk at a time; each counted against the limit."""
        name = self.names.get(part.lower())
        if name is None:
            raise damaged(f"the part {part[:80]} is missing")
        size = 0
        try:
            with self.archive.open(name) as member:
                while chunk := member.read(CHUNK):
                    size += len(chunk)
                    if count:
                        self.unpacked.take(len(chunk))
                    else:
                        self.unpacked.check(size)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise damaged("its ZIP data is broken") from exc
        except (NotImplementedError, RuntimeError) as exc:  # unknown compression, encryption
            raise damaged(f"it cannot be unpacked ({exc})") from exc

    def _parse(
        self,
        part: str,
        start: Callable[[str, dict[str, str]], None],
        end: Callable[[str], None] | None = None,
        text: Callable[[str], None] | None = None,
    ) -> None:
        parse_xml(self.chunks(part), start, end, text)

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id → (kind, the target part's name in the archive)."""
        folder, base = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{base}.rels")
        found: dict[str, tuple[str, str]] = {}
        if rels.lower() not in self.names:
            return found

        def start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) != "Relationship" or attrs.get("TargetMode") == "External":
                return
            target = attrs.get("Target", "")
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            found[attrs.get("Id", "")] = (attrs.get("Type", "").rpartition("/")[2], target)
            if len(found) > MAX_STYLES:
                raise damaged("it lists too many parts")

        self._parse(rels, start)
        return found

    def _workbook_element(self, name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "sheet":
            sheet_id = next((v for k, v in attrs.items() if " " in k and _local(k) == "id"), "")
            self.sheet_ids.append(sheet_id)
            if len(self.sheet_ids) > MAX_STYLES:
                raise damaged("it lists too many sheets")
        elif local == "workbookPr" and attrs.get("date1904", "").lower() in ("1", "true"):
            self.epoch = MAC_EPOCH

    def worksheets(self) -> Iterator[str]:
        """The worksheets' parts, in the workbook's order (chart sheets left out)."""
        for sheet_id in self.sheet_ids:
            kind, target = self.parts.get(sheet_id, ("", ""))
            if kind == "worksheet":
                yield target

    # --- shared strings and cell formats ----------------------------------------

    def _part_of_kind(self, kind: str) -> str | None:
        target = next((t for k, t in self.parts.values() if k == kind), None)
        return target if target is not None and target.lower() in self.names else None

    def shared_strings(self) -> list[str]:
        if self.strings is None:
            part = self._part_of_kind("sharedStrings")
            self.strings = []
            if part is not None:
                self._prescan(part, {b"<si>": "cells", b"<si ": "cells"})
                reader = _SharedStrings(self.limits)
                self._parse(part, reader.start, reader.end, reader.text)
                self.strings = reader.strings
        return self.strings

    def date_formats(self) -> dict[int, bool]:
        """Cell format index → whether it shows a duration (True) or a date (False)."""
        if self.date_styles is None:
            part = self._part_of_kind("styles")
            styles = _Styles()
            if part is not None:
                self._parse(part, styles.start, styles.end)
            self.date_styles = styles.date_formats()
        return self.date_styles

    # --- sheets ----------------------------------------------------------------------

    def _prescan(
        self, part: str, counted: dict[bytes, str], already: dict[str, int] | None = None
    ) -> None:
        """Count tags in a part's raw bytes (fast, before parsing it) against the limits,
        so a file with millions of rows is refused before they are read one by one; a run
        of bytes without a tag longer than a cell's text can be is refused too."""
        totals = {what: (already or {}).get(what, 0) for what in counted.values()}
        limits = {"rows": self.limits.rows, "cells": self.limits.cells}
        keep = max(len(tag) for tag in counted) - 1
        longest_text = 4 * self.limits.cell_chars  # UTF-8 spends at most 4 bytes a character
        tail, run = b"", 0
        for chunk in self.chunks(part, count=False):
            data = tail + chunk
            tail = data[-keep:]
            for tag, what in counted.items():
                totals[what] += data.count(tag) - tail.count(tag)
            for what, total in totals.items():
                if total > limits[what]:
                    raise over_limit(what, limits[what])
            last_tag = chunk.rfind(b"<")
            run = run + len(chunk) if last_tag < 0 else len(chunk) - last_tag - 1
            if run > longest_text:
                raise text_too_long(self.limits.cell_chars)

    def read_sheet(self, part: str) -> Records:
        """A sheet's rows; the limits on rows and cells hold for all sheets read together."""
        tags = {b"<row ": "rows", b"<row>": "rows", b"<c ": "cells", b"<c>": "cells"}
        self._prescan(part, tags, self.read)
        reader = _SheetReader(self.shared_strings(), self.date_formats(), self.epoch, self.limits)
        reader.rows, reader.cells = self.read["rows"], self.read["cells"]
        self._parse(part, reader.start, reader.end, reader.text)
        self.read = {"rows": reader.rows, "cells": reader.cells}
        return reader.records


def over_limit(what: str, limit: int) -> ImportFileError:
    if what == "rows":
        return ImportFileError(
            f"The sheet has more than {limit:,} rows; at most {limit:,} can be imported at "
            "once. Split it into smaller files."
        )
    if what == "columns":
        return ImportFileError(
            f"The sheet has values in more than {limit:,} columns; at most {limit:,} can be "
            "imported. Delete the columns you do not need and upload it again."
        )
    return ImportFileError(
        f"The workbook has more than {limit:,} cells; at most {limit:,} can be imported at "
        "once. Split it into smaller files, or delete the columns you do not need."
    )


def text_too_long(limit: int) -> ImportFileError:
    return ImportFileError(
        f"The Excel file holds a text of more than {limit:,} characters, more than Excel "
        f"allows in a cell; it is damaged or not a list. {SAVE_AGAIN}"
    )


def parse_xml(
    chunks: Iterable[bytes],
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> None:
    """Stream XML through expat into the handlers; a DOCTYPE (entities) is refused."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise damaged(f"its XML is broken ({expat.ErrorString(exc.code)})") from exc


def _refuse_doctype(*args: Any) -> None:
    raise damaged("it declares a DOCTYPE, which a workbook never has")


class _SharedStrings:
    """The workbook's table of texts (<si>: plain <t>, or rich-text runs of <t>)."""

    def __init__(self, limits: XlsxLimits) -> None:
        self.limits = limits
        self.strings: list[str] = []
        self._parts: list[str] = []
        self._length = 0
        self._in_text = False
        self._phonetic = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "t":
            self._in_text = not self._phonetic
        elif local == "si":
            self._parts, self._length = [], 0
        elif local == "rPh":
            self._phonetic = True

    def end(self, name: str) -> None:
        local = _local(name)
        if local == "t":
            self._in_text = False
        elif local == "si":
            self.strings.append("".join(self._parts))
            if len(self.strings) > self.limits.cells:
                raise over_limit("cells", self.limits.cells)
        elif local == "rPh":
            self._phonetic = False

    def text(self, data: str) -> None:
        if self._in_text:
            self._length += len(data)
            if self._length > self.limits.cell_chars:
                raise text_too_long(self.limits.cell_chars)
            self._parts.append(data)


class _Styles:
    """The cell formats (<cellXfs>) and which of them show dates or durations."""

    def __init__(self) -> None:
        self.codes: dict[int, str] = dict(BUILTIN_FORMATS)
        self.formats: list[int] = []
        self._in_cell_formats = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "numFmt":
            number = _small_int(attrs.get("numFmtId"))
            if number is not None and len(self.codes) < MAX_STYLES:
                self.codes[number] = attrs.get("formatCode", "")[:1000]
        elif local == "cellXfs":
            self._in_cell_formats = True
        elif local == "xf" and self._in_cell_formats:
            if len(self.formats) >= MAX_STYLES:
                raise damaged("it has more cell formats than Excel allows")
            self.formats.append(_small_int(attrs.get("numFmtId")) or 0)

    def end(self, name: str) -> None:
        if _local(name) == "cellXfs":
            self._in_cell_formats = False

    def date_formats(self) -> dict[int, bool]:
        found = {}
        for index, number in enumerate(self.formats):
            code = self.codes.get(number, "")
            if code and is_date_format(code):
                found[index] = is_timedelta_format(code)
        return found


def _small_int(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value)


ROW, CELL, VALUE, INLINE, TEXT, PHONETIC = range(1, 7)
KINDS = {"row": ROW, "c": CELL, "v": VALUE, "is": INLINE, "t": TEXT, "rPh": PHONETIC}
REFERENCE_RE = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INTEGER_RE = re.compile(r"[+-]?[0-9]+")
DIGITS = "0123456789"
BOOLEANS = {"1": "TRUE", "true": "TRUE", "0": "FALSE", "false": "FALSE"}


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _SheetReader:
    """One worksheet's <sheetData>, row by row, each cell turned into the text it shows."""

    def __init__(
        self,
        strings: list[str],
        date_styles: dict[int, bool],
        epoch: dt.datetime,
        limits: XlsxLimits,
    ) -> None:
        self.strings = strings
        self.date_styles = date_styles
        self.epoch = epoch
        self.limits = limits
        self.records: Records = []
        self.kinds: dict[str, int] = {}
        self.columns: dict[str, int] = {}  # column letters → number, as met
        self.rows = 0
        self.cells = 0
        self.slots = 0  # cells kept, counting the blanks that pad a row
        self.row = 0
        self.values: dict[int, str] = {}
        self.column = 0
        self.type = "n"
        self.style = ""
        self.parts: list[str] = []
        self.length = 0
        self.has_value = False
        self.capturing = False
        self.inline = False
        self.phonetic = False

    def _kind(self, name: str) -> int:
        kind = self.kinds[name] = KINDS.get(_local(name), 0)
        return kind

    def start(self, name: str, attrs: dict[str, str]) -> None:
        try:
            kind = self.kinds[name]
        except KeyError:
            kind = self._kind(name)
        if kind == CELL:
            self._start_cell(attrs)
        elif kind == VALUE:
            if self.type != "inlineStr":
                self.capturing = self.has_value = True
        elif kind == TEXT:
            if self.inline and not self.phonetic:
                self.capturing = self.has_value = True
        elif kind == ROW:
            self._start_row(attrs)
        elif kind == INLINE:
            self.inline = True
        elif kind == PHONETIC:
            self.phonetic = True

    def end(self, name: str) -> None:
        try:
            kind = self.kinds[name]
        except KeyError:
            kind = self._kind(name)
        if kind in (VALUE, TEXT):
            self.capturing = False
        elif kind == CELL:
            self._end_cell()
        elif kind == ROW:
            self._end_row()
        elif kind == INLINE:
            self.inline = False
        elif kind == PHONETIC:
            self.phonetic = False

    def text(self, data: str) -> None:
        if self.capturing:
            self.length += len(data)
            if self.length > self.limits.cell_chars:
                raise ImportFileError(
                    f"Row {self.row}, cell {self._reference()} holds more than "
                    f"{self.limits.cell_chars:,} characters, more than Excel allows in a cell; "
                    f"the file is damaged or not a list. {SAVE_AGAIN}"
                )
            self.parts.append(data)

    def _start_row(self, attrs: dict[str, str]) -> None:
        self.rows += 1
        if self.rows > self.limits.rows:
            raise over_limit("rows", self.limits.rows)
        number = attrs.get("r")
        if number is None:
            self.row += 1
        else:
            value = _small_int(number)
            if value is None or not self.row < value <= MAX_ROW_NUMBER:
                where = f"after row {self.row}" if self.row else "at its first row"
                raise ImportFileError(
                    f"The Excel file is damaged {where}: the next row is numbered "
                    f"“{number[:20]}”. {SAVE_AGAIN}"
                )
            self.row = value
        self.values = {}
        self.column = 0

    def _start_cell(self, attrs: dict[str, str]) -> None:
        self.cells += 1
        if self.cells > self.limits.cells:
            raise over_limit("cells", self.limits.cells)
        reference = attrs.get("r")
        if reference is None:
            self.column += 1
        else:
            letters = reference.rstrip(DIGITS)
            column = self.columns.get(letters)
            number = reference[len(letters) :]
            if column is None or not number or number[0] == "0":
                column = self._column(reference)
            self.column = column
        self.type = attrs.get("t", "n")
        self.style = attrs.get("s", "")
        self.parts = []
        self.length = 0
        self.has_value = self.capturing = False

    def _end_cell(self) -> None:
        self.capturing = False
        if not self.has_value:
            return
        value = self._value("".join(self.parts))
        if not value:
            return
        if self.column > self.limits.columns:
            raise over_limit("columns", self.limits.columns)
        self.values[self.column] = value

    def _end_row(self) -> None:
        if not self.values:
            return
        width = max(self.values)
        self.slots += width
        if self.slots > self.limits.cells:
            raise over_limit("cells", self.limits.cells)
        cells = [""] * width
        for column, value in self.values.items():
            cells[column - 1] = value
        self.records.append((self.row, cells))

    def _column(self, reference: str) -> int:
        """The column number of a cell reference ("AB12" → 28), checked."""
        match = REFERENCE_RE.fullmatch(reference)
        column = 0
        if match is not None:
            for letter in match[1]:
                column = column * 26 + ord(letter) - 64
        if match is None or not 0 < column <= MAX_COLUMN_NUMBER:
            raise self._bad(f"a cell has the reference “{reference[:20]}”", cell=False)
        self.columns[match[1]] = column
        return column

    def _reference(self) -> str:
        return f"{column_letters(self.column)}{self.row}"

    def _bad(self, detail: str, *, cell: bool = True) -> ImportFileError:
        where = f"row {self.row}, cell {self._reference()}" if cell else f"row {self.row}"
        return ImportFileError(
            f"The Excel file is damaged at {where}: {detail}. Correct it in Excel (or open "
            "the file in Excel and save it again) and upload it again."
        )

    def _value(self, raw: str) -> str:
        """The text a cell shows, from its type and stored value."""
        kind = self.type
        if kind == "s":
            index = _small_int(raw.strip())
            if index is None or index >= len(self.strings):
                raise self._bad(f"it refers to text number “{raw[:20]}”, which does not exist")
            return self.strings[index]
        if kind in ("str", "inlineStr", "e"):
            return raw
        if kind == "b":
            value = BOOLEANS.get(raw.strip().lower())
            if value is None:
                raise self._bad(f"“{raw[:40]}” is not TRUE or FALSE")
            return value
        if kind == "d":
            return self._iso_date(raw.strip())
        if kind != "n":
            raise self._bad(f"it has the unknown type “{kind[:20]}”")
        raw = raw.strip()
        if not raw:
            return ""
        if not NUMBER_RE.fullmatch(raw):
            raise self._bad(f"“{raw[:40]}” is not a number")
        date = self.date_styles.get(_small_int(self.style) or 0) if self.style else None
        if date is not None:
            return self._serial_date(float(raw), duration=date)
        if INTEGER_RE.fullmatch(raw):
            return str(int(raw))
        number = float(raw)
        if not math.isfinite(number):
            raise self._bad(f"“{raw[:40]}” is not a number Excel can hold")
        return str(int(number)) if number.is_integer() else str(number)

    def _serial_date(self, serial: float, *, duration: bool) -> str:
        try:
            value = from_excel(serial, self.epoch, timedelta=duration)
        except (OverflowError, ValueError) as exc:
            raise self._bad(f"“{serial:g}” is not a date Excel can show") from exc
        return str(value) if duration else value.isoformat()

    def _iso_date(self, raw: str) -> str:
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat, dt.time.fromisoformat):
            try:
                return parse(raw).isoformat()
            except ValueError:
                continue
        raise self._bad(f"“{raw[:40]}” is not a date")
