"""Import a lead list from the command line: the same import as the browser's.

    python manage.py import_leads FILE --channel SLUG [--campaign NAME] [--dry-run]
        [--format json] [--ignore-unknown-columns]

Exits non-zero when the file as a whole cannot be read, the channel does not exist or
is closed, or a column is not one the import knows (the page would ask a person to map
it; --ignore-unknown-columns imports without it and says so). Rejected rows are
reported, not fatal. The JSON has the counts, `errors` (rejected rows), `warnings`
(rows kept with a warning) and `file_warnings` (about the file as a whole), each row's
as {row, column, reason}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError

from agreements.models import Channel
from leads.importing.batches import columns_to_look_at, create_batch, run_batch
from leads.importing.cleaning import clean_rows
from leads.importing.files import ImportFileError, read_table
from leads.importing.presets import auto_mapping
from leads.importing.writer import plan_import


class Command(BaseCommand):
    help = "Import a lead list (CSV or XLSX) into a channel; --dry-run only reports."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="CSV or XLSX file")
        parser.add_argument("--channel", required=True, help="Channel slug, e.g. purchased-list")
        parser.add_argument("--campaign", default="", help="Campaign name (created if new)")
        parser.add_argument("--dry-run", action="store_true", help="Report only; write nothing")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--ignore-unknown-columns",
            action="store_true",
            help="Import a file with columns the import does not know, without them "
            "(they are listed as warnings); without it such a file is refused",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["format"] == "json"
        channel = self._channel(options["channel"], as_json)
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._fail(f"Cannot read {path}: {exc.strerror or exc}.", as_json, exc)
        try:
            table = read_table(data, path.name)
            file_warnings = list(table.warnings)
            unknown = columns_to_look_at(table)
            if unknown:
                names = _column_names(table.headers, unknown)
                if not options["ignore_unknown_columns"]:
                    self._fail(
                        f"Columns not recognised: {names}. Their values would not be imported. "
                        "Rename these headers to ones the import knows (such as “first name” "
                        "or “company”), map them on the imports page, or run again with "
                        "--ignore-unknown-columns to import the file without them.",
                        as_json,
                    )
                file_warnings.append(f"Columns not recognised, so not imported: {names}.")
            if options["dry_run"]:
                summary = plan_import(clean_rows(table, auto_mapping(table.headers)))
                batch_id = None
            else:
                batch, _ = create_batch(
                    data,
                    path.name,
                    channel=channel,
                    campaign_name=options["campaign"],
                    table=table,
                )
                progress = None if as_json else self._progress
                summary = run_batch(batch, progress=progress)
                batch_id = batch.pk
        except ImportFileError as exc:
            self._fail(str(exc), as_json, exc)
        result = {
            **summary.as_dict(),
            "dry_run": options["dry_run"],
            "batch": batch_id,
            "file_warnings": file_warnings,
        }
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self._print_text(result)

    def _channel(self, slug: str, as_json: bool) -> Channel:
        """The channel to import into: an open one, as the page offers and intake takes."""
        channel = Channel.objects.filter(slug=slug).first()
        if channel is not None and channel.is_active:
            return channel
        why = "No channel" if channel is None else "Closed (it takes no leads now):"
        open_slugs = Channel.objects.filter(is_active=True).order_by("slug")
        listed = ", ".join(open_slugs.values_list("slug", flat=True))
        self._fail(f"{why} “{slug}”. Open channels: {listed}.", as_json)

    def _progress(self, batch: Any) -> None:
        sys.stderr.write(f"\r{batch.rows_done}/{batch.total_rows} rows")
        sys.stderr.flush()

    def _print_text(self, result: dict[str, Any]) -> None:
        if not result["dry_run"]:
            sys.stderr.write("\n")
        verb = "Would import" if result["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb} {result['total']} rows: {result['created']} created, "
            f"{result['updated']} updated, {result['unchanged']} unchanged, "
            f"{result['skipped']} rejected."
        )
        for warning in result["file_warnings"]:
            self.stdout.write(f"Warning: {warning}")
        if result["warnings"]:
            self.stdout.write("Kept with a warning:")
            self._print_rows(result["warnings"])
        if result["errors"]:
            self.stdout.write("Rejected:")
            self._print_rows(result["errors"])

    def _print_rows(self, issues: list[dict[str, Any]]) -> None:
        for issue in issues:
            column = f" [{issue['column']}]" if issue.get("column") else ""
            self.stdout.write(f"  row {issue['row']}{column}: {issue['reason']}")

    def _fail(self, message: str, as_json: bool, exc: BaseException | None = None) -> NoReturn:
        if as_json:
            self.stdout.write(json.dumps({"error": message}, ensure_ascii=False))
        raise CommandError(message, returncode=2) from exc


def _column_names(headers: list[str], indexes: list[int]) -> str:
    """Columns as a message names them: “frist name”, column 3 (no header), … and N more."""
    names = [f"“{headers[i]}”" if headers[i] else f"column {i + 1} (no header)" for i in indexes]
    shown = ", ".join(names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")
