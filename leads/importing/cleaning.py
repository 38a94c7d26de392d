"""Cleaning: every row of a file cleaned before anything is written, each rejected row
named with its row, column and why; duplicates inside the file are rejected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .columns import COLUMNS, RowError
from .files import ImportFileError, Table
from .presets import detect_preset, norm_header


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
    # Rows kept with a note (a cell cut to fit its field); a row may have several.
    warnings: list[RowIssue] = field(default_factory=list)


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
            COLUMNS[identifier].fit,
            COLUMNS[identifier].assign,
            indexes[0],
            [(i, table.headers[i]) for i in indexes] if len(indexes) > 1 else None,
            table.headers[indexes[0]],
        )
        for identifier, indexes in sorted(sources.items(), key=lambda kv: kv[0] == "full_name")
    ]
    rows: list[CleanRow] = []
    issues: list[RowIssue] = []
    warnings: list[RowIssue] = []
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        values: dict[str, str] = {}
        problem = None
        row_warnings: list[RowIssue] = []
        for fit, assign, first, alternatives, header in plan:
            # The first non-blank cell of the column's sources (a blank one cleans to "").
            raw = cells[first]
            if alternatives is not None:
                raw = ""
                for i, source in alternatives:
                    if cells[i].strip():
                        raw, header = cells[i], source
                        break
            try:
                value, warning = fit(raw)
                assign(value, values)
            except RowError as exc:
                problem = RowIssue(number, header, str(exc), cells)
                break
            if warning:
                row_warnings.append(RowIssue(number, header, warning))
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
                warnings.extend(row_warnings)
        if problem is not None:
            issues.append(problem)
    if table.rejected:
        # Rows the file reader could not tell apart from their neighbours.
        issues.extend(
            RowIssue(number, "", reason, cells) for number, cells, reason in table.rejected
        )
        issues.sort(key=lambda issue: issue.row)
    return Cleaned(rows, issues, len(table.rows) + len(table.rejected), warnings)
