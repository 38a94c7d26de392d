"""Safe spreadsheet exports: cells that a spreadsheet would run as a formula are escaped.

The rule for CSV injection: a cell starting with =, +, -, @, tab or CR is
prefixed with a single quote, so Excel and LibreOffice show it as text.
import-export's own escaping only handles "=", so every export goes through here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, with a leading single quote if a spreadsheet would treat it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
