"""Safe spreadsheet exports: cells that a spreadsheet would run as a formula are escaped.

The rule for CSV injection: a cell starting with =, +, -, @, tab or CR is
prefixed with a single quote, so Excel and LibreOffice show it as text. Spreadsheets
also read a formula after leading spaces or line breaks, and in their fullwidth forms
(＝＋－＠), so those are escaped too; a phone number (+, then digits and the usual
separators) cannot call anything and is left as it is. import-export's own escaping
only handles "=", so every export in Accord (reports, the admin's lead export, the
rejected rows of an import) goes through safe_cell.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

# Each one starts a formula; the fullwidth and small forms are read as the ASCII ones.
FORMULA_CHARS = frozenset("=+-@\t\r\n＝＋－＠﹦﹢﹣﹫−")
PHONE = re.compile(r"\+\d[\d ().\-/]*")


def safe_cell(value: Any) -> Any:
    """The value, with a leading single quote if a spreadsheet would treat it as a formula."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could run this text: a formula start, first or after blanks."""
    if not text:
        return False
    stripped = text.strip()
    if PHONE.fullmatch(stripped):
        return False
    return text[0] in FORMULA_CHARS or stripped[:1] in FORMULA_CHARS


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def csv_response(
    file_name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A CSV download (UTF-8 with BOM, so Excel reads accents) with every cell escaped."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))
    return response
