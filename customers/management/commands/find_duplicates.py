"""Likely duplicate leads, from a full scan.

python manage.py find_duplicates [--format json] [--save]
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand

from customers import duplicates
from leads.models import Lead


class Command(BaseCommand):
    help = (
        "Scan every lead for likely duplicates the one-lead-per-email rule misses and list "
        "them in groups, with score and reasons (pairs marked 'Not duplicates' are left out)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--save", action="store_true", help="Also store them for the /duplicates/ page"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        stats = duplicates.ScanStats()
        matches = duplicates.scan(dismissed=duplicates.dismissed_pairs(), stats=stats)
        groups = duplicates.group(matches)
        if options["save"]:
            duplicates.store(matches)
        people = _people(groups)
        rows = [_group_json(g, people) for g in groups]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        self._table(rows)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"{len(rows)} groups ({len(matches)} pairs) in {stats.rows:,} lead rows read, "
            f"{stats.comparisons:,} pairs compared, {seconds:.1f} s."
            + (" Stored for the /duplicates/ page." if options["save"] else "")
        )

    def _table(self, rows: list[dict[str, Any]]) -> None:
        self.stdout.write(f"{'score':>5}  {'lead':>8}  {'email':<40} name")
        for row in rows:
            for i, person in enumerate(row["leads"]):
                score = str(row["score"]) if i == 0 else ""
                self.stdout.write(
                    f"{score:>5}  {person['id']:>8}  {person['email']:<40} {person['name']}"
                )
            for reason in row["reasons"]:
                self.stdout.write(f"{'':>17}- {reason}")


def _people(groups: list[duplicates.Group]) -> dict[int, dict[str, Any]]:
    """The groups' leads: id → id, email and name, read in batches of ids."""
    ids = [i for g in groups for i in g.lead_ids]
    people: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        for pk, email, first, last in Lead.objects.filter(
            pk__in=ids[start : start + 1000]
        ).values_list("pk", "email", "first_name", "last_name"):
            people[pk] = {"id": pk, "email": email, "name": f"{first} {last}".strip()}
    return people


def _group_json(group: duplicates.Group, people: dict[int, dict[str, Any]]) -> dict[str, Any]:
    leads = [people[i] for i in group.lead_ids if i in people]
    return {
        "score": group.score,
        "ids": [p["id"] for p in leads],
        "emails": [p["email"] for p in leads],
        "reasons": group.reasons,
        "leads": leads,
        "pairs": [
            {"ids": [m.a, m.b], "score": m.score, "reasons": list(m.reasons)} for m in group.matches
        ],
    }
