"""The `import` section: our list import against plain bulk_create and a stock resource.

The same Apollo rows go through all three loaders, each from the same starting database
(the rows one wrote are removed, and on Postgres the lead table vacuumed, before the
next starts). All three insert into the same lead table with the same indexes; no
database trigger fires for any of them. Our import also writes accounts, touch-point
activities, assignments for the leads routing assigns and their ledger rows, all inside
its time; the bulk_create runs with the collector paused, as the import does.
"""

from __future__ import annotations

import csv
import io
import random
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tablib
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from import_export import resources

from agreements.models import Channel
from config.memory import bulk_phase
from leads.importing.batches import create_batch, run_batch
from leads.importing.cleaning import clean_rows
from leads.importing.columns import FILL_FIELDS
from leads.importing.files import read_table
from leads.importing.presets import auto_mapping
from leads.models import Account, ImportBatch, Lead, LeadSearch, search_text

from .data import settle_database
from .profiling import profile_line
from .results import BenchContext, BenchResult

APOLLO_HEADERS = [
    "First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
    "Email Status", "Seniority", "Departments", "Work Direct Phone", "Mobile Phone",
    "# Employees", "Industry", "Keywords", "Person Linkedin Url", "Website",
    "Company Linkedin Url", "City", "State", "Country", "Company Address", "Company City",
    "Company Country", "Technologies", "Annual Revenue", "Apollo Contact Id", "Apollo Account Id",
]  # fmt: skip
FIRST = ["Ada", "Grace", "Linus", "Zoë", "René", "Priya", "Kenji", "Amara", "Mateo", "Olga"]
LAST = ["Lovelace", "Hopper", "Berg", "Dupré", "Müller", "Patel", "Sato", "Okafor", "Silva"]
TITLES = ["VP Sales", "Head of Marketing", "CTO", "RevOps Manager", "Director of Growth",
          "Account Executive", "Chief Revenue Officer", "Demand Gen Lead", "Engineer"]  # fmt: skip
COUNTRIES = ["United States", "Germany", "United Kingdom", "France", "Sweden", "Canada"]
INDUSTRIES = ["computer software", "financial services", "logistics", "retail", "banking"]


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def apollo_file(rows: int, prefix: str, seed: int = 7) -> bytes:
    """A realistic Apollo people export: companies with several contacts each."""
    rng = random.Random(seed)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(APOLLO_HEADERS)
    companies = max(1, rows // 5)
    for i in range(rows):
        c = i % companies
        domain = f"{prefix}co{c}.example"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        values = {
            "First Name": first,
            "Last Name": last,
            "Title": rng.choice(TITLES),
            "Company": f"Company {c} Ltd",
            "Company Name for Emails": f"Company {c}",
            "Email": f"{_ascii(first)}.{_ascii(last)}.{i}@{domain}",
            "Email Status": "Verified",
            "Seniority": "Director",
            "Departments": "Sales",
            "Work Direct Phone": f"+1 555 {i % 10000:04d}",
            "# Employees": str(50 + c % 5000),
            "Industry": rng.choice(INDUSTRIES),
            "Keywords": "saas, b2b, crm",
            "Person Linkedin Url": f"http://www.linkedin.com/in/{first.lower()}-{i}",
            "Website": f"http://www.{domain}",
            "City": "Springfield",
            "Country": rng.choice(COUNTRIES),
            "Company Address": f"{c} Main Street, Springfield",
            "Company Country": "United States",
            "Technologies": "Salesforce, HubSpot",
            "Annual Revenue": "1000000",
            "Apollo Contact Id": f"{i:024x}",
            "Apollo Account Id": f"{c:024x}",
        }
        writer.writerow([values.get(h, "") for h in APOLLO_HEADERS])
    return out.getvalue().encode()


def _generated_marks(context: BenchContext) -> tuple[int, int]:
    """The data set's last lead and account ids: rows above them are a run's own."""
    counts = context.dataset.counts
    return counts["leads"], counts["accounts"]


def _tables_referencing_leads() -> list[tuple[str, str]]:
    """(table, column) of every foreign key to a lead: the rows an import may add beside it."""
    quote = connection.ops.quote_name
    return [
        (quote(field.related_model._meta.db_table), quote(field.field.column))
        for field in Lead._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
    ]


def _remove_bench_rows(marks: tuple[int, int]) -> None:
    """Leave the benchmark database as it was before the run, so runs stay comparable."""
    lead_mark, account_mark = marks
    lead_table = connection.ops.quote_name(Lead._meta.db_table)
    new_leads = f"SELECT id FROM {lead_table} WHERE id > %s"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        for table, column in _tables_referencing_leads():
            cursor.execute(
                f"DELETE FROM {table} WHERE {column} IN ({new_leads})",  # noqa: S608
                [lead_mark],
            )
        cursor.execute(f"DELETE FROM {lead_table} WHERE id > %s", [lead_mark])  # noqa: S608
        account_table = connection.ops.quote_name(Account._meta.db_table)
        cursor.execute(f"DELETE FROM {account_table} WHERE id > %s", [account_mark])  # noqa: S608
    ImportBatch.objects.all().delete()
    if connection.vendor == "postgresql":
        # The next loader inserts the same emails: without this, each of its unique-index
        # checks would visit the dead row version the previous loader left (and its search
        # texts would go into a trigram index still holding the last loader's).
        search_table = connection.ops.quote_name(LeadSearch._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {lead_table}, {search_table}")


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else 0.0


class StockLeadResource(resources.ModelResource):
    """A stock import-export resource with default settings: what the import is compared to."""

    class Meta:
        model = Lead
        fields = ("email", "first_name", "last_name", "title", "company", "phone", "website")
        import_id_fields = ("email",)


# Apollo header → Lead field, for the stock resource's dataset.
STOCK_COLUMNS = {
    "Email": "email", "First Name": "first_name", "Last Name": "last_name", "Title": "title",
    "Company": "company", "Work Direct Phone": "phone", "Website": "website",
}  # fmt: skip


def bench_import(context: BenchContext) -> list[BenchResult]:
    """Time the three ways of loading one file, each from the same starting database.

    The same rows go through all three (the stock resource takes the first `sample`
    of them), and the rows each one wrote are removed before the next starts, so
    each finds the same leads, accounts and indexes. A small untimed round of all
    three goes first, so the first one timed does not pay for cold caches alone.
    """
    out = context.out
    settings.MEDIA_ROOT = Path(settings.VAR) / "bench" / "media"
    marks = _generated_marks(context)
    _remove_bench_rows(marks)  # what an interrupted run left behind
    existing = Lead.objects.count()
    channel, _ = Channel.objects.get_or_create(
        slug="purchased-list", defaults={"name": "Purchased list"}
    )

    def timed_and_removed(load: Callable[[], Any]) -> tuple[float, Any]:
        try:
            started = time.perf_counter()
            outcome = load()
            return time.perf_counter() - started, outcome
        finally:
            _remove_bench_rows(marks)

    def measure(data: bytes, sample: int) -> tuple[float, float, float]:
        # 1. Our import: bytes in, leads (+ activity, accounts, routing) out.
        ours, summary = timed_and_removed(
            lambda: run_batch(create_batch(data, "apollo-bench.csv", channel=channel)[0])
        )
        assert summary.created == summary.total, f"created {summary.created} of {summary.total}"

        # 2. Plain bulk_create of the same rows (already parsed: objects + insert only).
        table = read_table(data, "b.csv")
        cleaned = clean_rows(table, auto_mapping(table.headers))

        # Under the same conditions as ours: the collector paused. No trigger fires for
        # either: the lead table has none. A lead is stored with its search text (which
        # the lead table's own index held until the text moved beside it).
        @bulk_phase()
        def bulk_create() -> None:
            now = timezone.now()
            leads = Lead.objects.bulk_create(
                [
                    Lead(
                        email=row.email,
                        stage=channel.entry_stage,
                        channel=channel,
                        created_at=now,
                        stage_entered_at=now,
                        **{k: row.values[k] for k in FILL_FIELDS if row.values.get(k)},
                    )
                    for row in cleaned.rows
                ],
                batch_size=500,
            )
            LeadSearch.objects.bulk_create(
                [LeadSearch(lead=lead, text=search_text(*lead.person())) for lead in leads],
                batch_size=500,
            )

        bulk, _ = timed_and_removed(bulk_create)

        # 3. A stock ModelResource with default settings, on a sample, extrapolated.
        index = [table.headers.index(h) for h in STOCK_COLUMNS]
        dataset = tablib.Dataset(
            *[[cells[i] for i in index] for _, cells in table.rows[:sample]],
            headers=list(STOCK_COLUMNS.values()),
        )
        stock, result = timed_and_removed(
            lambda: StockLeadResource().import_data(dataset, dry_run=False)
        )
        assert not result.has_errors(), "stock resource failed"
        return ours, bulk, stock

    run = f"r{int(time.time())}"
    warm_rows = max(100, context.rows // 100)
    measure(apollo_file(warm_rows, f"{run}w"), min(context.sample, warm_rows))
    sample = min(context.sample, context.rows)
    out(
        f"  {context.rows:,} rows into {existing:,} leads: our import, plain bulk_create, "
        f"stock import-export ModelResource on the first {sample:,}…"
    )
    ours, bulk, stock = measure(apollo_file(context.rows, run), sample)
    settle_database()

    ours_rate, bulk_rate, stock_rate = (
        _rate(context.rows, ours),
        _rate(context.rows, bulk),
        _rate(sample, stock),
    )
    return [
        BenchResult(
            "import",
            "our import",
            ours_rate,
            "rows/s",
            f"{context.rows:,} Apollo rows in {ours:.1f} s into {existing:,} leads "
            "(parse, clean, dedupe, accounts, activities, routing)",
        ),
        BenchResult(
            "import",
            "plain bulk_create",
            bulk_rate,
            "rows/s",
            f"the same {context.rows:,} rows in {bulk:.1f} s (objects + INSERTs; file "
            "already parsed and cleaned)",
        ),
        BenchResult(
            "import",
            "stock ModelResource",
            stock_rate,
            "rows/s",
            f"first {sample:,} of the same rows in {stock:.1f} s, rate extrapolated",
        ),
        BenchResult(
            "import",
            "ours / bulk_create",
            ours_rate / bulk_rate if bulk_rate else 0,
            "×",
            target="≥ 0.50",
            passed=bulk_rate > 0 and ours_rate / bulk_rate >= 0.5,
        ),
        BenchResult(
            "import",
            "ours / stock resource",
            ours_rate / stock_rate if stock_rate else 0,
            "×",
            target="≥ 10",
            passed=stock_rate > 0 and ours_rate / stock_rate >= 10,
        ),
    ]


def import_profile(context: BenchContext, rows: int = 5_000) -> str:
    """Profile our import of a small Apollo file on the data set (removed again after)."""
    channel = Channel.objects.get(slug="purchased-list")
    rows = min(rows, context.rows)
    data = apollo_file(rows, f"p{int(time.time())}")
    marks = _generated_marks(context)
    try:

        def run() -> None:
            batch, _ = create_batch(data, "apollo-profile.csv", channel=channel)
            run_batch(batch)

        return f"our import of {rows:,} rows: " + profile_line(run)
    finally:
        _remove_bench_rows(marks)
