"""List imports: read the files people have, map their headers, clean every row, then write.

Modelled on pretix's importer. Each importable column is a small class
(identifier, label, header aliases, clean, assign). An import runs in phases:

1. `read_table`  — bytes → header + rows (CSV in any common dialect, XLSX),
   or ImportFileError when the file as a whole cannot be read;
2. `auto_mapping` — each header → a column, from the vendor presets;
3. `clean_rows`   — every row cleaned before anything is written, each error
   naming its row and column; duplicates inside the file are rejected;
4. `plan_import`  — the dry run: create / update / unchanged / rejected, reads only;
5. `write_import` — short transactions of CHUNK rows with bulk operations;
   idempotent by email and batch bookkeeping, so a re-run after a crash and a
   re-import of the same file create nothing new;
6. `revert_batch` — removes what a batch created (unless worked) and restores
   the fields it filled.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from config.db import insert_rows, json_values, update_rows

from . import routing
from .models import (
    Account,
    Activity,
    Assignment,
    Campaign,
    ImportBatch,
    ImportChange,
    ImportRowError,
    Lead,
    LeadError,
    normalize_email,
)

# Rows per transaction: progress moves and a crash loses at most this many (re-run to
# finish); larger chunks mean fewer commits, each rewriting the tables' hot pages. 5,000
# rows take about half a second.
CHUNK = 5000
# SQLite's historic limit on query parameters; IN lists are split below it.
IN_CHUNK = 900
HEADER_SCAN_ROWS = 60

# Sent after each chunk commits, with the ids of the leads the batch created.
leads_imported = Signal()


class ImportFileError(LeadError):
    """The file as a whole cannot be read; the message says why and what to do."""


class RowError(ValueError):
    """A cell that cannot be imported; the message is shown with its row and column."""


# --- Columns -----------------------------------------------------------------

EMAIL_RE = re.compile(
    # The WHATWG rule browsers use for <input type=email>, plus a dot in the domain;
    # letters may be any script's (internationalised addresses, RFC 6531).
    r"^[\w.!#$%&'*+/=?^`{|}~-]+@[^\W_](?:[\w-]{0,61}[^\W_])?"
    r"(?:\.[^\W_](?:[\w-]{0,61}[^\W_])?)+$"
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SPACE_RE = re.compile(r"\s+")


def single_line(value: str) -> str:
    """Cell text as one line: control characters dropped, runs of whitespace collapsed."""
    if value.isprintable() and "  " not in value:
        # Printable text holds no control character and no whitespace but " ".
        return value.strip()
    return SPACE_RE.sub(" ", CONTROL_RE.sub("", value)).strip()


class Column:
    """One importable column: how to find it, clean it and put it on the lead."""

    identifier = ""
    label = ""
    lead_field: str | None = None
    max_length: int | None = None
    aliases: tuple[str, ...] = ()

    def clean(self, value: str) -> str:
        """The cleaned value ("" when empty); raise RowError when it cannot be used."""
        value = single_line(value)
        if self.max_length and len(value) > self.max_length:
            raise RowError(
                f"{self.label} is too long ({len(value)} characters; at most {self.max_length})."
            )
        return value

    def assign(self, value: str, values: dict[str, str]) -> None:
        if value and self.lead_field:
            values[self.lead_field] = value


def _field_length(name: str) -> int:
    return Lead._meta.get_field(name).max_length


class TextColumn(Column):
    def __init__(self, identifier: str, label: str, *aliases: str) -> None:
        self.identifier = identifier
        self.label = label
        self.lead_field = identifier
        self.max_length = _field_length(identifier)
        self.aliases = aliases


class EmailColumn(Column):
    identifier = "email"
    label = "Email"
    lead_field = "email"
    max_length = 254
    aliases = ("email", "e-mail", "email address", "e-mail address", "work email", "business email")

    def clean(self, value: str) -> str:
        value = single_line(value)
        if value.lower().startswith("mailto:"):
            value = value[7:]
        value = normalize_email(value.strip("<>\"' "))
        if not value:
            return ""
        if len(value) > self.max_length:
            raise RowError(f"Email is too long ({len(value)} characters; at most 254).")
        if not EMAIL_RE.match(value) or ".." in value:
            raise RowError(f"Email “{value[:80]}” is not a valid address.")
        return value


class FullNameColumn(Column):
    """A single name cell ("Ada Lovelace"), split when first and last name are missing."""

    identifier = "full_name"
    label = "Full name (split into first and last)"
    max_length = 201
    aliases = ("name", "full name", "contact name", "contact full name", "lead name")

    def assign(self, value: str, values: dict[str, str]) -> None:
        if not value or values.get("first_name") or values.get("last_name"):
            return
        value = re.sub(r"\s*\(.*\)\s*$", "", value) or value  # Zoom: "Ada (Ada L.)"
        first, _, last = value.partition(" ")
        values["first_name"] = first[: _field_length("first_name")]
        if last.strip():
            values["last_name"] = last.strip()[: _field_length("last_name")]


class CountryColumn(Column):
    """Country names or codes → ISO 3166 alpha-2; names it does not know are left empty."""

    identifier = "country"
    label = "Country"
    lead_field = "country"
    max_length = 100
    aliases = ("country", "country code", "country/region")

    def clean(self, value: str) -> str:
        value = super().clean(value)
        return country_code(value)


class PhoneColumn(Column):
    identifier = "phone"
    label = "Phone"
    lead_field = "phone"
    max_length = 50
    aliases = ("phone", "phone number", "telephone", "mobile", "mobile phone", "direct phone")

    def clean(self, value: str) -> str:
        value = super().clean(value)
        if value.endswith(".0") and value[:-2].isdigit():
            value = value[:-2]  # a number that went through a spreadsheet as a float
        return value


class WebsiteColumn(Column):
    identifier = "website"
    label = "Website"
    lead_field = "website"
    max_length = 200
    aliases = ("website", "company website", "web site", "url", "domain", "company domain")


COLUMNS: dict[str, Column] = {
    c.identifier: c
    for c in (
        EmailColumn(),
        TextColumn("first_name", "First name", "first name", "firstname", "given name"),
        TextColumn("last_name", "Last name", "last name", "lastname", "surname", "family name"),
        FullNameColumn(),
        TextColumn("title", "Job title", "title", "job title", "position", "role"),
        TextColumn("company", "Company", "company", "company name", "organization", "organisation"),
        PhoneColumn(),
        CountryColumn(),
        TextColumn("industry", "Industry", "industry", "sector"),
        WebsiteColumn(),
    )
}

# Lead fields an import may fill (only when empty on an existing lead).
FILL_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "phone",
    "country",
    "industry",
    "website",
)


# --- Presets: the real header names of the exports people upload ---------------
# Order matters: when several headers of a file map to one column, the first
# non-empty one in this order wins (e.g. Apollo's "Company" before
# "Company Name for Emails", Pipedrive's work email before home email).


@dataclass(frozen=True)
class Preset:
    identifier: str
    label: str
    headers: tuple[tuple[str, str], ...]  # (header as exported, column identifier)


PRESETS: tuple[Preset, ...] = (
    Preset(
        "apollo",
        "Apollo people export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Title", "title"),
            ("Company", "company"),
            ("Company Name for Emails", "company"),
            ("Email", "email"),
            ("Work Direct Phone", "phone"),
            ("Mobile Phone", "phone"),
            ("Corporate Phone", "phone"),
            ("Other Phone", "phone"),
            ("Home Phone", "phone"),
            ("Industry", "industry"),
            ("Website", "website"),
            ("Country", "country"),
            ("Company Country", "country"),
        ),
    ),
    Preset(
        "zoominfo",
        "ZoomInfo contacts export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Job Title", "title"),
            ("Email Address", "email"),
            ("Direct Phone Number", "phone"),
            ("Mobile phone", "phone"),
            ("Company HQ Phone", "phone"),
            ("Company Name", "company"),
            ("Website", "website"),
            ("Primary Industry", "industry"),
            ("Country", "country"),
            ("Company Country", "country"),
        ),
    ),
    Preset(
        "seamless",
        "Seamless.AI export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Contact Full Name", "full_name"),
            ("Title", "title"),
            ("Company Name - Cleaned", "company"),
            ("Company Name", "company"),
            ("Email 1", "email"),
            ("Primary Email", "email"),
            ("Email 2", "email"),
            ("Contact Phone 1", "phone"),
            ("Contact Mobile Phone", "phone"),
            ("Company Phone 1", "phone"),
            ("Company Industry", "industry"),
            ("Website", "website"),
            ("Company Domain", "website"),
            ("Contact Country", "country"),
            ("Company Country", "country"),
        ),
    ),
    Preset(
        "lusha",
        "Lusha contacts export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Full Name", "full_name"),
            ("Job Title", "title"),
            ("Company Name", "company"),
            ("Email 1", "email"),
            ("Work Email", "email"),
            ("Email 2", "email"),
            ("Phone 1", "phone"),
            ("Direct Phone", "phone"),
            ("Mobile Phone", "phone"),
            ("Phone 2", "phone"),
            ("Company Main Industry", "industry"),
            ("Company Industry", "industry"),
            ("Company Domain", "website"),
            ("Company Website", "website"),
            ("Country", "country"),
            ("Contact Country", "country"),
            ("Company Country", "country"),
        ),
    ),
    Preset(
        "hubspot",
        "HubSpot contacts export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Email", "email"),
            ("Phone Number", "phone"),
            ("Mobile Phone Number", "phone"),
            ("Company Name", "company"),
            ("Job Title", "title"),
            ("Country/Region", "country"),
            ("Industry", "industry"),
            ("Website URL", "website"),
        ),
    ),
    Preset(
        "salesforce_report",
        "Salesforce leads report",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Title", "title"),
            ("Company / Account", "company"),
            ("Company", "company"),
            ("Email", "email"),
            ("Phone", "phone"),
            ("Mobile", "phone"),
            ("Country", "country"),
            ("Country Code", "country"),
            ("Industry", "industry"),
            ("Website", "website"),
        ),
    ),
    Preset(
        "salesforce_export",
        "Salesforce lead export (Data Loader)",
        (
            ("FirstName", "first_name"),
            ("LastName", "last_name"),
            ("Title", "title"),
            ("Company", "company"),
            ("Email", "email"),
            ("Phone", "phone"),
            ("MobilePhone", "phone"),
            ("CountryCode", "country"),
            ("Country", "country"),
            ("Industry", "industry"),
            ("Website", "website"),
        ),
    ),
    Preset(
        "marketo",
        "Marketo leads export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Email Address", "email"),
            ("Job Title", "title"),
            ("Company Name", "company"),
            ("Phone Number", "phone"),
            ("Mobile Phone Number", "phone"),
            ("Country", "country"),
            ("Industry", "industry"),
            ("Website", "website"),
            ("firstName", "first_name"),
            ("lastName", "last_name"),
            ("email", "email"),
            ("title", "title"),
            ("company", "company"),
            ("phone", "phone"),
            ("country", "country"),
            ("industry", "industry"),
            ("website", "website"),
        ),
    ),
    Preset(
        "pipedrive",
        "Pipedrive people export",
        (
            ("Person - First name", "first_name"),
            ("Person - Last name", "last_name"),
            ("Person - Name", "full_name"),
            ("Person - Email - Work", "email"),
            ("Person - Email - Home", "email"),
            ("Person - Email - Other", "email"),
            ("Person - Email", "email"),
            ("Person - Phone - Work", "phone"),
            ("Person - Phone - Mobile", "phone"),
            ("Person - Phone", "phone"),
            ("Person - Job title", "title"),
            ("Person - Title", "title"),
            ("Person - Organization", "company"),
            ("Organization - Name", "company"),
            ("Organization - Website", "website"),
            ("Organization - Industry", "industry"),
            ("First name", "first_name"),
            ("Last name", "last_name"),
            ("Email - Work", "email"),
            ("Email - Home", "email"),
            ("Email - Other", "email"),
            ("Phone - Work", "phone"),
            ("Phone - Mobile", "phone"),
            ("Organization", "company"),
            ("Job title", "title"),
        ),
    ),
    Preset(
        "zoom_registrants",
        "Zoom webinar registration report",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Email", "email"),
            ("Country/Region", "country"),
            ("Phone", "phone"),
            ("Organization", "company"),
            ("Job Title", "title"),
            ("Industry", "industry"),
        ),
    ),
    Preset(
        "zoom_attendees",
        "Zoom webinar attendee report",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("User Name (Original Name)", "full_name"),
            ("Email", "email"),
            ("Organization", "company"),
            ("Job Title", "title"),
            ("Country/Region", "country"),
            ("Country/Region Name", "country"),
            ("Phone", "phone"),
            ("Industry", "industry"),
        ),
    ),
)
PRESETS_BY_ID = {p.identifier: p for p in PRESETS}


def norm_header(header: str) -> str:
    """Header as compared: BOM, quotes and surrounding spaces gone, lower-case, single spaces."""
    return SPACE_RE.sub(
        " ", (header or "").replace("\ufeff", "").strip().strip('"').strip()
    ).lower()


# Every header any preset or column knows → column identifier.
ALIASES: dict[str, str] = {}
for _column in COLUMNS.values():
    for _alias in _column.aliases:
        ALIASES.setdefault(norm_header(_alias), _column.identifier)
for _preset in PRESETS:
    for _header, _identifier in _preset.headers:
        ALIASES.setdefault(norm_header(_header), _identifier)


def detect_preset(headers: Sequence[str]) -> Preset | None:
    """The preset whose headers the file shares most (at least three), or None."""
    present = {norm_header(h) for h in headers}
    best, best_score = None, 2
    for preset in PRESETS:
        score = sum(1 for header, _ in preset.headers if norm_header(header) in present)
        if score > best_score:
            best, best_score = preset, score
    return best


def auto_mapping(headers: Sequence[str], saved: dict[str, str] | None = None) -> list[str]:
    """For each header, the column it fills ("" when unknown); a saved mapping wins."""
    saved = {norm_header(k): v for k, v in (saved or {}).items()}
    mapping = []
    for header in headers:
        key = norm_header(header)
        if key in saved:
            mapping.append(saved[key] if saved[key] in COLUMNS else "")
        else:
            mapping.append(ALIASES.get(key, ""))
    return mapping


# --- Reading files -------------------------------------------------------------


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
    from charset_normalizer import from_bytes

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
    from openpyxl import load_workbook

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


# --- Cleaning ------------------------------------------------------------------


@dataclass
class RowIssue:
    row: int
    column: str
    reason: str
    values: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class CleanRow:
    row: int
    email: str
    values: dict[str, str]


@dataclass
class Cleaned:
    rows: list[CleanRow]
    issues: list[RowIssue]
    total: int


def clean_rows(table: Table, mapping: Sequence[str]) -> Cleaned:
    """Clean every row; reject the ones that cannot be imported, naming row, column and why."""
    if "email" not in mapping:
        raise ImportFileError(
            "No column is mapped to Email. Map the column that holds email addresses."
        )
    preset = detect_preset(table.headers)
    order = {norm_header(h): i for i, (h, _) in enumerate(preset.headers)} if preset else {}
    sources: dict[str, list[int]] = {}
    for index, identifier in enumerate(mapping):
        if identifier in COLUMNS:
            sources.setdefault(identifier, []).append(index)
    for indexes in sources.values():
        indexes.sort(key=lambda i: (order.get(norm_header(table.headers[i]), 999), i))
    # full_name is assigned last, so it only fills names the file did not give.
    # Per column: its cleaner and assigner, and the cells (with headers) it reads in order.
    plan = [
        (
            COLUMNS[identifier].clean,
            COLUMNS[identifier].assign,
            indexes[0],
            [(i, table.headers[i]) for i in indexes] if len(indexes) > 1 else None,
            table.headers[indexes[0]],
        )
        for identifier, indexes in sorted(sources.items(), key=lambda kv: kv[0] == "full_name")
    ]
    rows: list[CleanRow] = []
    issues: list[RowIssue] = []
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        values: dict[str, str] = {}
        problem = None
        for clean, assign, first, alternatives, header in plan:
            # The first non-blank cell of the column's sources (a blank one cleans to "").
            raw = cells[first]
            if alternatives is not None:
                raw = ""
                for i, source in alternatives:
                    if cells[i].strip():
                        raw, header = cells[i], source
                        break
            try:
                assign(clean(raw), values)
            except RowError as exc:
                problem = RowIssue(number, header, str(exc), cells)
                break
        if problem is None:
            email = values.get("email", "")
            if not email:
                header = table.headers[sources["email"][0]]
                problem = RowIssue(number, header, "Email is missing.", cells)
            elif email in seen:
                problem = RowIssue(
                    number, "", f"Duplicate of row {seen[email]} (same email {email}).", cells
                )
            else:
                seen[email] = number
                rows.append(CleanRow(number, email, values))
        if problem is not None:
            issues.append(problem)
    return Cleaned(rows, issues, len(table.rows))


# --- Planning (dry run) and writing ----------------------------------------------


@dataclass
class Summary:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[RowIssue] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.issues)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.rejected,
            "errors": [issue.as_dict() for issue in self.issues],
        }


FREE_MAIL = frozenset(
    [
     "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
     "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
     "mac.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "proton.me",
     "protonmail.com", "mail.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "orange.fr",
     "free.fr", "laposte.net", "libero.it",
    ]
)  # fmt: skip


SCHEME_RE = re.compile(r"^[a-z]+://")


def company_domain(email: str, website: str) -> str:
    """The company's domain: the website's host, else the email's domain unless free-mail."""
    host = SCHEME_RE.sub("", (website or "").strip().lower()).split("/")[0].split(":")[0]
    host = host.removeprefix("www.")
    if host and "." in host and " " not in host:
        return host[:200]
    domain = email.rpartition("@")[2]
    return "" if domain in FREE_MAIL else domain[:200]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(emails: Sequence[str], *, lock: bool = False) -> dict[str, Lead]:
    fields = ("id", "email", "version", "source_batch_id", "account_id", "persona_id", *FILL_FIELDS)
    if not emails:
        return {}
    queryset = Lead.objects.filter(email__in=json_values(emails)).only(*fields)
    if lock:
        queryset = queryset.select_for_update()
    return {lead.email: lead for lead in queryset}


def _fill(lead: Lead, values: dict[str, str]) -> dict[str, str]:
    """The fields an import may fill on an existing lead: only the empty ones."""
    return {
        name: values[name] for name in FILL_FIELDS if values.get(name) and not getattr(lead, name)
    }


def plan_import(cleaned: Cleaned) -> Summary:
    """The dry run: how many rows would create, update, leave unchanged, or be rejected."""
    summary = Summary(total=cleaned.total, issues=list(cleaned.issues))
    for part in _chunks(cleaned.rows, CHUNK):
        existing = _existing([r.email for r in part])
        for row in part:
            lead = existing.get(row.email)
            if lead is None:
                summary.created += 1
            elif _fill(lead, row.values):
                summary.updated += 1
            else:
                summary.unchanged += 1
    return summary


def activity_key(batch: ImportBatch) -> str:
    """The once-per-lead key of "appeared in list X": the same file appears once per lead."""
    return f"list:{batch.checksum[:40]}"


@dataclass
class _Context:
    batch: ImportBatch
    personas: routing.PersonaMatcher
    sla_stages: set[str]
    agreement: Any
    key: str
    now: dt.datetime
    # (sla_due_at, sla_status, sla_rule_id, sla_agreement_id) of every lead the batch creates.
    clock: tuple[Any, ...] = ()
    _persona_ids: dict[tuple[str, str, str], int | None] = field(default_factory=dict)

    def persona_id(self, title: str, industry: str, country: str) -> int | None:
        """The persona for these facts (matching is pure, so each combination once)."""
        key = (title, industry, country)
        if key not in self._persona_ids:
            persona = self.personas.match(title, industry, country)
            self._persona_ids[key] = persona.pk if persona is not None else None
        return self._persona_ids[key]


def _current_agreement() -> Any:
    from agreements.models import Agreement

    return Agreement.current()


def _sla_stages() -> set[str]:
    from agreements.models import Agreement, ResponseRule

    return set(
        ResponseRule.objects.filter(agreement__status=Agreement.Status.ACTIVE).values_list(
            "stage", flat=True
        )
    )


def start_sla_clock(lead: Lead, at: dt.datetime, agreement: Any = None) -> None:
    """Start the follow-up clock of a lead created directly in an SLA stage (in memory)."""
    from agreements.services import apply_response_rule

    if agreement is None:
        apply_response_rule(lead, at)
    else:
        apply_response_rule(lead, at, agreement=agreement)


def write_import(
    batch: ImportBatch,
    cleaned: Cleaned,
    *,
    progress: Callable[[ImportBatch], None] | None = None,
) -> Summary:
    """Write a cleaned file for a batch, CHUNK rows per short transaction.

    Safe to run again for the same batch (after a crash, or twice): leads are
    matched by email, leads this batch created count as created, and what it
    did to other leads is read back from ImportChange rows.
    """
    context = _Context(
        batch=batch,
        personas=routing.PersonaMatcher.active(),
        sla_stages=_sla_stages(),
        agreement=_current_agreement(),
        key=activity_key(batch),
        now=timezone.now(),
    )
    context.clock = _new_lead_clock(context)
    summary = Summary(total=cleaned.total, issues=list(cleaned.issues))
    with transaction.atomic():
        _replace_row_errors(batch, cleaned.issues)
    done = len(cleaned.issues)
    batch.rejected = len(cleaned.issues)
    for part in _chunks(cleaned.rows, CHUNK):
        for attempt in range(3):
            try:
                counts, created_ids = _write_chunk(context, part)
                break
            except IntegrityError:
                # Another import created one of these emails meanwhile: read again.
                if attempt == 2:
                    raise
        summary.created += counts[0]
        summary.updated += counts[1]
        summary.unchanged += counts[2]
        done += len(part)
        ImportBatch.objects.filter(pk=batch.pk).update(
            rows_done=done,
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
        )
        batch.rows_done, batch.created = done, summary.created
        batch.updated, batch.unchanged = summary.updated, summary.unchanged
        if created_ids:
            leads_imported.send(sender=ImportBatch, batch=batch, lead_ids=created_ids)
        if progress is not None:
            progress(batch)
    return summary


def _write_chunk(
    context: _Context, rows: Sequence[CleanRow]
) -> tuple[tuple[int, int, int], list[int]]:
    batch, now = context.batch, context.now
    created = updated = unchanged = 0
    with transaction.atomic():
        existing = _existing([r.email for r in rows], lock=True)
        domains = [company_domain(r.email, r.values.get("website", "")) for r in rows]
        accounts = _accounts_for(batch, rows, domains, existing)
        ids = [lead.pk for lead in existing.values()]
        changes: dict[int, ImportChange] = {}
        appeared: set[int] = set()
        for part in _chunks(ids, IN_CHUNK):
            changes.update(
                (c.lead_id, c) for c in ImportChange.objects.filter(batch=batch, lead_id__in=part)
            )
            appeared.update(
                Activity.objects.filter(lead_id__in=part, once_key=context.key).values_list(
                    "lead_id", flat=True
                )
            )
        new_leads: list[_NewLead] = []
        new_changes: list[tuple[Any, ...]] = []
        activities: list[tuple[Any, ...]] = []
        updates: dict[tuple[str, ...], list[Lead]] = {}
        subject = _activity_subject(batch)
        for row, domain in zip(rows, domains, strict=True):
            lead = existing.get(row.email)
            values = row.values
            if lead is None:
                new_leads.append(_new_lead(context, row, accounts.get(domain)))
                created += 1
                continue
            if lead.source_batch_id == batch.pk:
                created += 1  # created by an earlier run of this same batch
                continue
            if lead.pk in changes:
                if changes[lead.pk].filled:
                    updated += 1
                else:
                    unchanged += 1
                continue
            filled: dict[str, Any] = _fill(lead, values)
            if lead.account_id is None and domain in accounts:
                filled["account_id"] = accounts[domain]
            if lead.persona_id is None:
                merged = {name: getattr(lead, name) or values.get(name, "") for name in FILL_FIELDS}
                persona_id = context.persona_id(
                    merged["title"], merged["industry"], merged["country"]
                )
                if persona_id is not None:
                    filled["persona_id"] = persona_id
            for name, value in filled.items():
                setattr(lead, name, value)
            write_activity = lead.pk not in appeared
            if filled:
                updates.setdefault(tuple(sorted(filled)), []).append(lead)
                updated += 1
            else:
                unchanged += 1
            if filled or write_activity:
                new_changes.append((batch.pk, lead.pk, json.dumps(filled), write_activity))
            if write_activity:
                activities.append(_activity_row(context, lead.pk, row.row, subject))
        routes = routing.route_leads(new_leads, at=now)
        lead_ids = _insert_leads(context, new_leads)
        for fields, leads in updates.items():
            update_rows(
                Lead,
                [*fields, "updated_at"],
                [(lead.pk, *[getattr(lead, name) for name in fields], now) for lead in leads],
                increment=("version",),
            )
        activities += [
            _activity_row(context, lead_ids[new.row.email], new.row.row, subject)
            for new in new_leads
        ]
        insert_rows(Activity, ACTIVITY_COLUMNS, activities)
        insert_rows(ImportChange, ("batch", "lead", "filled", "wrote_activity"), new_changes)
        insert_rows(
            Assignment,
            ("lead", "to_owner", "at", "rule", "reason", "open_load"),
            [
                (lead_ids[r.lead.row.email], r.to_owner_id, now, r.rule, r.reason, r.open_load)
                for r in routes
            ],
        )
    return (created, updated, unchanged), [lead_ids[new.row.email] for new in new_leads]


class _NewLead:
    """A lead a chunk creates, before it has an id: what routing reads and sets, and its row."""

    __slots__ = ("account_id", "assigned_at", "channel_id", "owner_id", "persona_id", "row")

    def __init__(
        self, row: CleanRow, persona_id: int | None, account_id: int | None, channel_id: int
    ) -> None:
        self.row = row
        self.persona_id = persona_id
        self.account_id = account_id
        self.channel_id = channel_id
        self.owner_id: int | None = None
        self.assigned_at: dt.datetime | None = None

    @property
    def country(self) -> str:
        return self.row.values.get("country", "")


def _new_lead(context: _Context, row: CleanRow, account_id: int | None) -> _NewLead:
    values = row.values
    persona_id = context.persona_id(
        values.get("title", ""), values.get("industry", ""), values.get("country", "")
    )
    return _NewLead(row, persona_id, account_id, context.batch.channel_id)


def _new_lead_clock(context: _Context) -> tuple[Any, ...]:
    """The follow-up clock every lead of the batch starts with.

    They all enter the channel's entry stage at the same moment, so
    apply_response_rule gives each the same clock: worked out once, on a lead in memory.
    """
    channel = context.batch.channel
    lead = Lead(stage=channel.entry_stage, channel=channel)
    if lead.stage in context.sla_stages:
        start_sla_clock(lead, context.now, context.agreement)
    return (lead.sla_due_at, lead.sla_status, lead.sla_rule_id, lead.sla_agreement_id)


LEAD_COLUMNS = (
    "email",
    *FILL_FIELDS,
    "stage",
    "channel",
    "campaign",
    "persona",
    "account",
    "source_batch",
    "created_at",
    "stage_entered_at",
    "owner",
    "assigned_at",
    "sla_due_at",
    "sla_status",
    "sla_rule",
    "sla_agreement",
)
ACTIVITY_COLUMNS = ("lead", "side", "kind", "occurred_at", "subject", "body", "once_key")


def _insert_leads(context: _Context, new_leads: Sequence[_NewLead]) -> dict[str, int]:
    """Write the chunk's new leads as plain rows (no model instances); email → id."""
    batch, now = context.batch, context.now
    fixed = (batch.channel.entry_stage, batch.channel_id, batch.campaign_id)
    rows = [
        (
            new.row.email,
            *[new.row.values.get(name, "") for name in FILL_FIELDS],
            *fixed,
            new.persona_id,
            new.account_id,
            batch.pk,
            now,
            now,
            new.owner_id,
            new.assigned_at,
            *context.clock,
        )
        for new in new_leads
    ]
    return dict(insert_rows(Lead, LEAD_COLUMNS, rows, returning=("email", "id")))


def _activity_subject(batch: ImportBatch) -> str:
    return f"Appeared in list {batch.list_name}"[:200]


def _activity_row(context: _Context, lead_id: int, row: int, subject: str) -> tuple[Any, ...]:
    """One "appeared in list X" activity, in ACTIVITY_COLUMNS order."""
    return (
        lead_id,
        Activity.Side.MARKETING.value,
        Activity.Kind.LIST_IMPORT.value,
        context.now,
        subject,
        f"Import #{context.batch.pk} ({context.batch.file_name}), row {row}.",
        context.key,
    )


def _accounts_for(
    batch: ImportBatch,
    rows: Sequence[CleanRow],
    domains: Sequence[str],
    existing: dict[str, Lead],
) -> dict[str, int]:
    """Domain → account id for the rows that need one, creating missing accounts."""
    wanted: dict[str, CleanRow] = {}
    for row, domain in zip(rows, domains, strict=True):
        lead = existing.get(row.email)
        if lead is not None and lead.account_id is not None:
            continue
        if domain and domain not in wanted:
            wanted[domain] = row
    if not wanted:
        return {}
    found: dict[str, int] = {}
    found.update(Account.objects.filter(domain__in=json_values(wanted)).values_list("domain", "id"))
    missing = [domain for domain in wanted if domain not in found]
    if missing:
        new = dict(
            insert_rows(
                Account,
                ("name", "domain", "industry", "country"),
                [
                    (
                        (wanted[domain].values.get("company") or domain)[:200],
                        domain,
                        wanted[domain].values.get("industry", "")[:100],
                        wanted[domain].values.get("country", ""),
                    )
                    for domain in missing
                ],
                returning=("domain", "id"),
            )
        )
        found.update(new)
        created = list(batch.accounts_created) + [new[domain] for domain in missing]
        ImportBatch.objects.filter(pk=batch.pk).update(accounts_created=created)
        batch.accounts_created = created
    return found


# --- The whole import, for the task, the command and the admin -----------------


@contextlib.contextmanager
def bulk_phase() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is read, cleaned or written.

    An import keeps a few objects per cell alive until it ends, and each collection
    of the oldest generation walks all of them again: a tenth to a fifth of an
    import's time. The import makes no reference cycles; whatever others leave
    meanwhile is collected once the collector is back on (only if it was on before).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get_campaign(name: str, channel: Any) -> Campaign | None:
    """The campaign by name (created in the channel when new); None for an empty name."""
    name = single_line(name or "")[:200]
    if not name:
        return None
    campaign, _ = Campaign.objects.get_or_create(name=name, defaults={"channel": channel})
    return campaign


@bulk_phase()
def create_batch(
    data: bytes,
    file_name: str,
    *,
    channel: Any,
    campaign_name: str = "",
    by: Any = None,
    saved_mapping: dict[str, str] | None = None,
) -> tuple[ImportBatch, Table]:
    """Store an uploaded file as a new batch with its automatic header mapping.

    Raises ImportFileError when the file as a whole cannot be read.
    """
    from django.core.files.base import ContentFile

    table = read_table(data, file_name)
    preset = detect_preset(table.headers)
    with transaction.atomic():
        batch = ImportBatch(
            created_by=by if getattr(by, "is_authenticated", False) else None,
            file_name=(file_name or "upload.csv")[-255:],
            file_size=len(data),
            checksum=checksum(data),
            channel=channel,
            campaign=get_campaign(campaign_name, channel),
            preset=preset.identifier if preset else "",
            mapping={
                "headers": table.headers,
                "columns": auto_mapping(table.headers, saved_mapping),
            },
            total_rows=len(table.rows),
        )
        batch.file.save(
            re.sub(r"[^\w.-]", "_", batch.file_name)[-100:], ContentFile(data), save=False
        )
        batch.save()
    batch._table = table  # the same bytes as the stored file: run_batch need not read it again
    return batch, table


def batch_table(batch: ImportBatch) -> Table:
    """The batch's file, read (once per batch object: create_batch keeps what it read)."""
    table = getattr(batch, "_table", None)
    if table is None:
        with batch.file.open("rb") as handle:
            table = read_table(handle.read(), batch.file_name)
        batch._table = table
    return table


def batch_mapping(batch: ImportBatch, table: Table) -> list[str]:
    """The batch's mapping aligned to the file's headers (auto-mapped where unset)."""
    mapping = list(batch.mapping.get("columns", [])) if batch.mapping else []
    if len(mapping) != len(table.headers):
        mapping = auto_mapping(table.headers)
    return mapping


def _replace_row_errors(batch: ImportBatch, issues: Any) -> None:
    """Store a batch's rejected rows, replacing those of an earlier preview or run."""
    ImportRowError.objects.filter(batch=batch).delete()
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                batch=batch,
                row=i.row,
                column=i.column[:200],
                reason=i.reason[:500],
                values=[v[:1000] for v in i.values[:200]],
            )
            for i in issues
        ],
        batch_size=500,
    )


@bulk_phase()
def preview_batch(batch: ImportBatch) -> Summary:
    """Dry-run a batch and keep the counts and rejected rows for the preview page."""
    table = batch_table(batch)
    cleaned = clean_rows(table, batch_mapping(batch, table))
    summary = plan_import(cleaned)
    with transaction.atomic():
        _replace_row_errors(batch, summary.issues)
        batch.preview = {
            "total": summary.total,
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "rejected": summary.rejected,
        }
        batch.total_rows = summary.total
        batch.save(update_fields=["preview", "total_rows"])
    return summary


@bulk_phase()
def run_batch(
    batch: ImportBatch, *, progress: Callable[[ImportBatch], None] | None = None
) -> Summary:
    """Run (or finish) a confirmed batch: read, clean and write; record the outcome."""
    now = timezone.now()
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.RUNNING, started_at=batch.started_at or now, error=""
    )
    batch.status = ImportBatch.Status.RUNNING
    batch.started_at = batch.started_at or now
    try:
        table = batch_table(batch)
        cleaned = clean_rows(table, batch_mapping(batch, table))
    except ImportFileError as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED, error=str(exc), finished_at=timezone.now()
        )
        raise
    ImportBatch.objects.filter(pk=batch.pk).update(total_rows=cleaned.total)
    batch.total_rows = cleaned.total
    summary = write_import(batch, cleaned, progress=progress)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.Status.DONE, finished_at=timezone.now()
    )
    batch.status = ImportBatch.Status.DONE
    return summary


def confirm_batch(batch: ImportBatch) -> None:
    """Queue a previewed batch for the Celery task, once the confirmation is committed."""
    from .tasks import run_import

    if batch.status != ImportBatch.Status.UPLOADED:
        raise LeadError("This import was already confirmed.")
    with transaction.atomic():
        updated = ImportBatch.objects.filter(
            pk=batch.pk, status=ImportBatch.Status.UPLOADED
        ).update(status=ImportBatch.Status.QUEUED)
        if not updated:
            raise LeadError("This import was already confirmed.")
        batch.status = ImportBatch.Status.QUEUED
        transaction.on_commit(lambda: run_import.delay(batch.pk))


@dataclass
class Progress:
    done: int
    total: int
    percent: int
    rate: float  # rows per second
    eta_seconds: int | None


def progress_of(batch: ImportBatch, now: dt.datetime | None = None) -> Progress:
    """Rows done, rows per second and the time left, from the batch's bookkeeping."""
    now = now or timezone.now()
    total = max(batch.total_rows, batch.rows_done)
    percent = (
        100
        if batch.status == ImportBatch.Status.DONE
        else (int(100 * batch.rows_done / total) if total else 0)
    )
    end = batch.finished_at or now
    elapsed = (end - batch.started_at).total_seconds() if batch.started_at else 0
    rate = batch.rows_done / elapsed if elapsed > 0 else 0.0
    eta = int((total - batch.rows_done) / rate) if rate and not batch.is_finished else None
    return Progress(batch.rows_done, total, percent, rate, eta)


# --- Revert --------------------------------------------------------------------


def worked_lead_ids(lead_ids: Sequence[int]) -> dict[int, str]:
    """Of these leads, the ones someone worked since the import, with why (kept by a revert)."""
    worked: dict[int, str] = {}
    for part in _chunks(list(lead_ids), IN_CHUNK):
        for pk, version, touched in Lead.objects.filter(pk__in=part).values_list(
            "pk", "version", "first_touch_at"
        ):
            if touched is not None:
                worked[pk] = "a rep touched it"
            elif version > 1:
                worked[pk] = "it was changed after the import"
        for pk in (
            Activity.objects.filter(lead_id__in=part)
            .exclude(kind=Activity.Kind.LIST_IMPORT)
            .values_list("lead_id", flat=True)
        ):
            worked.setdefault(pk, "it has activities")
        for pk in (
            Lead.objects.filter(pk__in=part)
            .filter(
                Q(stage_changes__isnull=False) | Q(deals__isnull=False) | Q(feedback__isnull=False)
            )
            .values_list("pk", flat=True)
        ):
            worked.setdefault(pk, "it moved through the lifecycle")
    return worked


def revert_batch(batch: ImportBatch, *, by: Any) -> list[dict[str, Any]]:
    """Undo a batch: delete the leads it created (except worked ones) and restore what it filled.

    Returns the leads kept because they were worked ({id, email, reason}).
    """
    if batch.status in (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING):
        raise LeadError("This import is still running; wait for it to finish before reverting.")
    if batch.status == ImportBatch.Status.REVERTED:
        raise LeadError("This import was already reverted.")
    key = activity_key(batch)
    with transaction.atomic():
        created = list(Lead.objects.filter(source_batch=batch).values_list("pk", "email"))
        worked = worked_lead_ids([pk for pk, _ in created])
        kept = [
            {"id": pk, "email": email, "reason": worked[pk]}
            for pk, email in created
            if pk in worked
        ]
        remove = [pk for pk, _ in created if pk not in worked]
        for part in _chunks(remove, IN_CHUNK):
            Lead.objects.filter(pk__in=part).delete()
        for change in ImportChange.objects.filter(batch=batch).iterator(chunk_size=1000):
            restore = {}
            lead = (
                Lead.objects.filter(pk=change.lead_id)
                .only(*FILL_FIELDS, "account_id", "persona_id")
                .first()
            )
            if lead is None:
                continue
            for name, value in change.filled.items():
                if getattr(lead, name) == value:  # untouched since the import wrote it
                    restore[name] = None if name.endswith("_id") else ""
            if restore:
                Lead.objects.filter(pk=lead.pk).update(
                    **restore, version=F("version") + 1, updated_at=timezone.now()
                )
            if change.wrote_activity:
                Activity.objects.filter(lead_id=lead.pk, once_key=key).delete()
        ImportChange.objects.filter(batch=batch).delete()
        for part in _chunks(list(batch.accounts_created), IN_CHUNK):
            Account.objects.filter(pk__in=part, lead__isnull=True, deal__isnull=True).delete()
        batch.status = ImportBatch.Status.REVERTED
        batch.reverted_at = timezone.now()
        batch.reverted_by = by if getattr(by, "is_authenticated", False) else None
        batch.revert_kept = kept
        batch.save(update_fields=["status", "reverted_at", "reverted_by", "revert_kept"])
    return kept


# --- Countries -------------------------------------------------------------------

_COUNTRIES = {
    "US": "united states|united states of america|usa|u.s.|u.s.a.|us|america",
    "GB": "united kingdom|uk|u.k.|great britain|england|scotland|wales|northern ireland|gb",
    "DE": "germany|deutschland",
    "FR": "france",
    "ES": "spain|españa",
    "IT": "italy|italia",
    "NL": "netherlands|the netherlands|holland|nederland",
    "BE": "belgium|belgië|belgique",
    "LU": "luxembourg",
    "CH": "switzerland|schweiz|suisse",
    "AT": "austria|österreich",
    "IE": "ireland",
    "PT": "portugal",
    "SE": "sweden|sverige",
    "NO": "norway|norge",
    "DK": "denmark|danmark",
    "FI": "finland|suomi",
    "IS": "iceland",
    "PL": "poland|polska",
    "CZ": "czech republic|czechia",
    "SK": "slovakia",
    "HU": "hungary",
    "RO": "romania",
    "BG": "bulgaria",
    "GR": "greece",
    "HR": "croatia",
    "SI": "slovenia",
    "RS": "serbia",
    "UA": "ukraine",
    "EE": "estonia",
    "LV": "latvia",
    "LT": "lithuania",
    "TR": "turkey|türkiye",
    "RU": "russia|russian federation",
    "IL": "israel",
    "AE": "united arab emirates|uae",
    "SA": "saudi arabia",
    "EG": "egypt",
    "ZA": "south africa",
    "NG": "nigeria",
    "KE": "kenya",
    "MA": "morocco",
    "IN": "india",
    "PK": "pakistan",
    "BD": "bangladesh",
    "CN": "china|people's republic of china",
    "HK": "hong kong",
    "TW": "taiwan",
    "JP": "japan",
    "KR": "south korea|korea|republic of korea|korea, republic of",
    "SG": "singapore",
    "MY": "malaysia",
    "TH": "thailand",
    "VN": "vietnam|viet nam",
    "ID": "indonesia",
    "PH": "philippines",
    "AU": "australia",
    "NZ": "new zealand",
    "CA": "canada",
    "MX": "mexico|méxico",
    "BR": "brazil|brasil",
    "AR": "argentina",
    "CL": "chile",
    "CO": "colombia",
    "PE": "peru",
    "UY": "uruguay",
    "CR": "costa rica",
}
COUNTRY_NAMES = {name: code for code, names in _COUNTRIES.items() for name in names.split("|")}
ALPHA3 = {
    "USA": "US", "GBR": "GB", "DEU": "DE", "FRA": "FR", "ESP": "ES", "ITA": "IT", "NLD": "NL",
    "BEL": "BE", "CHE": "CH", "AUT": "AT", "IRL": "IE", "PRT": "PT", "SWE": "SE", "NOR": "NO",
    "DNK": "DK", "FIN": "FI", "POL": "PL", "CZE": "CZ", "IND": "IN", "CHN": "CN", "JPN": "JP",
    "AUS": "AU", "NZL": "NZ", "CAN": "CA", "MEX": "MX", "BRA": "BR", "SGP": "SG", "ISR": "IL",
    "ARE": "AE", "ZAF": "ZA", "KOR": "KR",
}  # fmt: skip
KNOWN_CODES = set(_COUNTRIES) | {
    "AD", "AL", "AM", "AO", "AZ", "BA", "BH", "BO", "BY", "CM", "CY", "DO", "DZ", "EC", "ET",
    "GE", "GH", "GT", "HN", "IQ", "IR", "JM", "JO", "KW", "KZ", "LB", "LK", "MC", "MD", "ME",
    "MK", "MT", "MU", "NP", "OM", "PA", "PR", "PY", "QA", "SN", "SV", "TN", "TZ", "UG", "UZ",
    "VE", "ZM", "ZW",
}  # fmt: skip


def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2 code for a country name or code; "" when unknown."""
    text = value.strip()
    if not text:
        return ""
    upper = text.upper()
    if len(text) == 2 and upper in KNOWN_CODES:
        return upper
    if len(text) == 3 and upper in ALPHA3:
        return ALPHA3[upper]
    return COUNTRY_NAMES.get(text.lower(), COUNTRY_NAMES.get(text.lower().removeprefix("the "), ""))
