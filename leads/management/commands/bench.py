"""`manage.py bench`: the performance benchmark, one named section at a time.

Each section runs in its own database (never the app's), prints its figures
and, where there is a target, PASS or MISS. Sections live in each app's
`benchmarks` module (see leads.benchmarks.register).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import autodiscover_modules

from leads.benchmarks import SECTIONS, BenchContext, BenchResult


class Command(BaseCommand):
    help = "Run the performance benchmark (all sections, or the ones named)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("sections", nargs="*", help="Section names (default: all)")
        parser.add_argument("--quick", action="store_true", help="Smaller database (100,000 leads)")
        parser.add_argument(
            "--leads", type=int, default=None, help="Leads already in the database (1,000,000)"
        )
        parser.add_argument("--rows", type=int, default=100_000, help="Rows in the import file")
        parser.add_argument(
            "--sample", type=int, default=2_000, help="Rows for the slow stock-resource sample"
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--list", action="store_true", help="List the sections and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        autodiscover_modules("benchmarks")
        if options["list"]:
            for name, (_, help_text) in SECTIONS.items():
                self.stdout.write(f"{name}: {help_text}")
            return
        names = options["sections"] or list(SECTIONS)
        unknown = [n for n in names if n not in SECTIONS]
        if unknown:
            raise CommandError(f"Unknown section(s): {', '.join(unknown)}. Try --list.")
        leads = options["leads"] or (100_000 if options["quick"] else 1_000_000)
        as_json = options["format"] == "json"
        context = BenchContext(
            quick=options["quick"],
            leads=leads,
            rows=options["rows"],
            sample=options["sample"],
            out=(lambda s: None) if as_json else self.stdout.write,
        )
        results: list[BenchResult] = []
        for name in names:
            results += SECTIONS[name][0](context)
        if as_json:
            self.stdout.write(json.dumps([r.__dict__ for r in results], ensure_ascii=False))
            return
        self._print(results)

    def _print(self, results: list[BenchResult]) -> None:
        self.stdout.write("")
        for r in results:
            mark = "" if r.passed is None else ("PASS" if r.passed else "MISS")
            value = f"{r.value:,.2f}" if r.unit == "×" else f"{r.value:,.0f}"
            target = f"target {r.target}" if r.target else ""
            line = f"{r.section:<8} {r.name:<24} {value:>12} {r.unit:<7} {target:<12} {mark}"
            self.stdout.write(line.rstrip())
            if r.note:
                self.stdout.write(f"{'':<9}{r.note}")
