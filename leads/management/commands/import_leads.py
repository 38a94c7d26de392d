"""Import a lead list from the command line: the same import as the browser's.

    python manage.py import_leads FILE --channel SLUG [--campaign NAME] [--dry-run] [--format json]

Exits non-zero only when the file as a whole cannot be read (or the channel
does not exist); rejected rows are reported, not fatal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agreements.models import Channel
from leads.importing.batches import create_batch, run_batch
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

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["format"] == "json"
        try:
            channel = Channel.objects.get(slug=options["channel"])
        except Channel.DoesNotExist as exc:
            slugs = ", ".join(Channel.objects.values_list("slug", flat=True))
            self._fail(f"No channel “{options['channel']}”. Channels: {slugs}.", as_json, exc)
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._fail(f"Cannot read {path}: {exc.strerror or exc}.", as_json, exc)
        try:
            if options["dry_run"]:
                table = read_table(data, path.name)
                cleaned = clean_rows(table, auto_mapping(table.headers))
                summary = plan_import(cleaned)
                batch_id = None
            else:
                batch, table = create_batch(
                    data, path.name, channel=channel, campaign_name=options["campaign"]
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
            "warnings": table.warnings,
        }
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self._print_text(result)

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
        for warning in result["warnings"]:
            self.stdout.write(f"Warning: {warning}")
        for error in result["errors"]:
            column = f" [{error['column']}]" if error.get("column") else ""
            self.stdout.write(f"  row {error['row']}{column}: {error['reason']}")

    def _fail(self, message: str, as_json: bool, exc: BaseException) -> None:
        if as_json:
            self.stdout.write(json.dumps({"error": message}, ensure_ascii=False))
        raise CommandError(message, returncode=2) from exc
