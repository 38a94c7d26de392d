"""`manage.py bench`: the performance benchmark, in one command.

It generates (or reuses) one reproducible data set in a database of its own, never
the app's (benchmark/data.py), runs every section on it (benchmark.run.SECTIONS:
import, SLA check, pages, reports, load), repeats the SLA and page figures at 1/10 of the
size for the growth factors, and prints one table with each target and PASS or MISS.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from benchmark.load import FULL, QUICK, LoadSize
from benchmark.run import SECTIONS, render, run_bench


class Command(BaseCommand):
    help = (
        "Run the performance benchmark on its own generated data set (all sections, or the "
        "ones named) and print one table of figures with their targets."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("sections", nargs="*", help="Section names (default: all)")
        parser.add_argument(
            "--quick", action="store_true", help="1/10 of the default sizes (CI-sized runs)"
        )
        parser.add_argument(
            "--leads", type=int, default=None, help="Leads in the data set (1,000,000)"
        )
        parser.add_argument(
            "--activities", type=int, default=None, help="Activities (5 per lead: 5,000,000)"
        )
        parser.add_argument(
            "--database",
            choices=["sqlite", "postgres"],
            default=None,
            help="Where to build the data set (default: the app's kind of database; postgres "
            "uses DATABASE_URL's server or BENCH_DATABASE_URL)",
        )
        parser.add_argument("--json", metavar="FILE", help="Also write the figures to FILE")
        parser.add_argument(
            "--rows", type=int, default=None, help="Rows in the import file (100,000; quick 10,000)"
        )
        parser.add_argument(
            "--sample", type=int, default=None, help="Rows for the slow stock-resource sample"
        )
        parser.add_argument("--runs", type=int, default=5, help="Runs per figure (median)")
        parser.add_argument(
            "--no-scaling", action="store_true", help="Skip the 1/10-size run and growth factors"
        )
        parser.add_argument(
            "--users",
            type=int,
            default=None,
            help=f"Simulated users of the load section ({FULL.users}; quick {QUICK.users})",
        )
        parser.add_argument(
            "--seconds",
            type=int,
            default=None,
            help=f"Measured seconds of the load section ({FULL.seconds}; quick {QUICK.seconds})",
        )
        parser.add_argument(
            "--load-rows",
            type=int,
            default=None,
            help=f"Rows of the import that runs under load ({FULL.rows:,}; quick {QUICK.rows:,})",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--list", action="store_true", help="List the sections and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the named sections (or list them) and print or write the figures."""
        if options["list"]:
            for name, (_, help_text) in SECTIONS.items():
                self.stdout.write(f"{name}: {help_text}")
            return
        names = options["sections"] or list(SECTIONS)
        unknown = [n for n in names if n not in SECTIONS]
        if unknown:
            raise CommandError(f"Unknown section(s): {', '.join(unknown)}. Try --list.")
        quick = options["quick"]
        leads = options["leads"] or (100_000 if quick else 1_000_000)
        activities = options["activities"]
        if activities is None:
            activities = 5 * leads
        if leads < 1_000 or activities < 0:
            raise CommandError("--leads must be at least 1,000 and --activities at least 0.")
        as_json = options["format"] == "json"
        rows = options["rows"] or (10_000 if quick else 100_000)
        load = self._load_size(options, QUICK if quick else FULL)
        report = run_bench(
            names=names,
            leads=leads,
            activities=activities,
            database=options["database"],
            rows=min(rows, leads),
            sample=options["sample"] or (500 if quick else 2_000),
            runs=max(1, options["runs"]),
            import_runs=min(3, max(1, options["runs"])),
            scaling=not options["no_scaling"],
            out=(lambda s: None) if as_json else self.stdout.write,
            load=load,
        )
        if options["json"]:
            with open(options["json"], "w", encoding="utf-8") as handle:
                json.dump(report, handle, ensure_ascii=False, indent=2)
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        for line in render(report):
            self.stdout.write(line)

    def _load_size(self, options: dict[str, Any], default: LoadSize) -> LoadSize:
        """The load section's users, seconds and import rows: the options over the defaults."""
        given = {"users": options["users"], "seconds": options["seconds"],
                 "rows": options["load_rows"]}  # fmt: skip
        size = LoadSize(
            **{name: getattr(default, name) if value is None else value
               for name, value in given.items()}
        )  # fmt: skip
        if size.users < 1 or size.seconds < 1 or size.rows < 1:
            raise CommandError("--users, --seconds and --load-rows must be at least 1.")
        return size
