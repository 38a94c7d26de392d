"""CSV and XLSX downloads of a report: the same rows and columns as the page.

Every cell goes through leads.spreadsheet.safe_row (one sanitiser for every export in
Accord): text a spreadsheet would run as a formula gets a leading quote, numbers stay
numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from leads.spreadsheet import safe_row

from .figures.base import CURRENCY
from .filters import ReportFilters
from .tables import Column, Report, Section, export_value, rows_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Every time figure is in business hours; a "figure" column's unit is its row's (each row's
# label names it: "Pipeline amount (EUR)", "Acceptance rate (%)").
UNITS = {"money": CURRENCY, "hours": "business hours", "pct": "%", "rate": "%"}


def header(column: Column) -> str:
    """A column's heading in a file, with its unit: "Pipeline opened (EUR)"."""
    label = column.label or "Group"
    unit = UNITS.get(column.kind)
    return f"{label} ({unit})" if unit else label


def section_table(
    section: Section, rows: list[dict[str, Any]]
) -> tuple[list[str], list[list[Any]]]:
    """A section as a header and rows of cell values (not yet escaped)."""
    head = [header(c) for c in section.columns]
    body = [
        [export_value(c.value(row), c.kind) for c in section.columns]
        for row in rows_of(section, rows)
    ]
    return head, body


def _blocks(
    report: Report, rows: list[dict[str, Any]]
) -> Iterator[tuple[Section, list[str], list[list[Any]]]]:
    for section in report.sections_of(rows):
        header, body = section_table(section, rows)
        yield section, header, body


def file_name(report: Report, f: ReportFilters, ext: str) -> str:
    """The download's name: the report and the dates it covers."""
    return f"accord-{report.key}-{f.start_day:%Y%m%d}-{f.end_day:%Y%m%d}.{ext}"


def csv_export(report: Report, f: ReportFilters, rows: list[dict[str, Any]]) -> HttpResponse:
    """One CSV: each section as a titled block (title row, header row, rows, blank row)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name(report, f, "csv")}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(safe_row([report.title, f.label()]))
    for section, header, body in _blocks(report, rows):
        writer.writerow([])
        writer.writerow(safe_row([section.title]))
        writer.writerow(safe_row(header))
        for line in body:
            writer.writerow(safe_row(line))
    return response


def xlsx_export(report: Report, f: ReportFilters, rows: list[dict[str, Any]]) -> HttpResponse:
    """One workbook: a sheet per section, numbers as numbers."""
    book = Workbook()
    book.remove(book.active)
    for section, header, body in _blocks(report, rows):
        sheet = book.create_sheet(_sheet_title(section.title, book.sheetnames))
        sheet.append(_sheet_row([f"{report.title}: {section.title}", f.label()]))
        sheet.append(_sheet_row(header))
        for line in body:
            sheet.append(_sheet_row(line))
    if not book.sheetnames:
        book.create_sheet("Report")
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{file_name(report, f, "xlsx")}"'
    return response


def _sheet_row(values: list[Any]) -> list[Any]:
    """A row as a sheet may hold it: formulas escaped, and the control characters a cell
    cannot hold (a vertical tab pasted into a campaign's name) read as a space — openpyxl
    refuses them, and the export answered 500."""
    return [
        ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value
        for value in safe_row(values)
    ]


def _sheet_title(title: str, taken: list[str]) -> str:
    clean = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28] or "Sheet"
    name, n = clean, 2
    while name in taken:
        name, n = f"{clean[:25]} {n}", n + 1
    return name
