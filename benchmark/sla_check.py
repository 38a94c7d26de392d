"""The `sla` section: one SLA check over the data set with 1 % and with 0.01 % of the leads due.

It arms due clocks on leads of the shared data set (MQLs five minutes past due), times
`run_check` on them, and puts every row back as it was, so runs stay comparable. Emails
are not part of the timing: the Celery task sends them after the check.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from agreements.models import Agreement, ResponseRule
from leads.models import Lead, LeadEvent
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach, SLAWarning

from .data import settle_database
from .profiling import profile_line
from .results import BenchContext, BenchResult

SCENARIOS = (("1% due", 0.01, 1000), ("0.01% due", 0.0001, 50))  # label, share, target ms
CHUNK = 5000
_ARMED_COLUMNS = (
    "stage", "sla_status", "sla_due_at", "sla_rule_id", "sla_agreement_id", "first_touch_at",
    "owner_id", "version", "updated_at",
)  # fmt: skip


def bench_sla(context: BenchContext) -> list[BenchResult]:
    """Arm due clocks on the data set, time one check per scenario, put the rows back.

    The due leads are a share of the workload size (the main size, also in the 1/10
    run), so the growth factor compares the same work on a bigger table.
    """
    runs = max(3, min(context.runs, 5))
    agreement = Agreement.current()
    rule = ResponseRule.objects.filter(agreement=agreement, channel__isnull=True).first()
    if rule is None:
        rule = ResponseRule.objects.filter(agreement=agreement).first()
    total = Lead.objects.count()
    baseline = run_check()  # warm caches, and prove the baseline has nothing to do
    pool_needed = max(max(1, int(context.workload_leads * share)) for _, share, _ in SCENARIOS)
    pool = list(
        Lead.objects.filter(owner__isnull=False, sla_status__in=["met", "none"])
        .order_by("pk")
        .values_list("pk", flat=True)[:pool_needed]
    )
    results = []
    for label, share, target_ms in SCENARIOS:
        target = target_ms / 1000
        due = min(len(pool), max(1, int(context.workload_leads * share)))
        ids = pool[:due]

        def one_check(ids: list[int] = ids) -> Any:
            armed = _arm(ids, rule)
            try:
                started = time.perf_counter()
                outcome = run_check(timezone.now())
                return time.perf_counter() - started, outcome
            finally:
                _restore(armed)

        armed = _arm(ids, rule)
        try:
            # On one connection, so every statement of the check is counted here.
            with (
                override_settings(SLA_CHECK_CONNECTIONS=1),
                CaptureQueriesContext(connection) as captured,
            ):
                run_check(timezone.now())
            query_count = len(captured)
        finally:
            _restore(armed)
        samples = [one_check() for _ in range(runs)]
        seconds = statistics.median(s for s, _ in samples)
        outcome = samples[-1][1]
        passed = seconds < target
        note = (
            f"{due:,} due of {total:,} leads; {outcome}; over {outcome.connections} "
            f"connection(s); {query_count} queries on one; median of {runs}"
        )
        armed = _arm(ids, rule)
        try:
            with override_settings(SLA_CHECK_CONNECTIONS=1):  # one thread: all the work
                profile = profile_line(lambda: run_check(timezone.now()))
        finally:
            _restore(armed)
        target_text = f"< {target * 1000:.0f} ms" + (
            "" if connection.vendor == "postgresql" else " (Postgres)"
        )
        results.append(
            BenchResult(
                "sla", f"check, {label}{context.suffix}", seconds * 1000, "ms", note,
                target_text, passed, profile,
            )
        )  # fmt: skip
        results.append(
            BenchResult("sla", f"check queries, {label}{context.suffix}", query_count, "queries")
        )
    if any(baseline.as_dict().values()):
        results[0].note += f"\nbaseline check was not idle: {baseline}"
    settle_database()
    return results


@dataclass
class Armed:
    """What a scenario changed: the leads' old values, the clocks' due time, and the last
    notification before it (the check's digests name no lead: they go by id)."""

    saved: list[tuple[Any, ...]]
    due_at: dt.datetime
    last_notification: int


def _arm(ids: list[int], rule: Any) -> Armed:
    """Start an overdue clock on these leads (an MQL 5 minutes past due); return old values."""
    saved: list[tuple[Any, ...]] = []
    last = Notification.objects.aggregate(last=Max("pk"))["last"] or 0
    due_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    with transaction.atomic():
        for first in range(0, len(ids), CHUNK):
            chunk = ids[first : first + CHUNK]
            saved += Lead.objects.filter(pk__in=chunk).values_list("pk", *_ARMED_COLUMNS)
            Lead.objects.filter(pk__in=chunk).update(
                stage="mql",
                sla_status="pending",
                sla_due_at=due_at,
                sla_rule=rule,
                sla_agreement_id=rule.agreement_id if rule else None,
                first_touch_at=None,
            )
    return Armed(saved, due_at, last)


def _restore(armed: Armed) -> None:
    """Undo a scenario: the leads' columns as they were, none of the check's records."""
    saved, due_at = armed.saved, armed.due_at
    ids = [row[0] for row in saved]
    quote = connection.ops.quote_name
    table = quote(Lead._meta.db_table)
    fields = [Lead._meta.get_field(name.removesuffix("_id")) for name in _ARMED_COLUMNS]
    columns = [f.column for f in fields]
    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608
    with transaction.atomic():
        for first in range(0, len(ids), CHUNK):
            chunk = ids[first : first + CHUNK]
            Breach.objects.filter(lead_id__in=chunk, due_at=due_at).delete()
            # The check's ledger rows too: the reports measured after it count the ledger.
            LeadEvent.objects.filter(
                lead_id__in=chunk, kind=LeadEvent.Kind.CLOCK_BREACHED, due_at=due_at
            ).delete()
            SLAWarning.objects.filter(lead_id__in=chunk, due_at=due_at).delete()
        # Every notification the check wrote, digests too: left behind, they would pile up
        # in the shared data set, and the load run's first check would email them all.
        Notification.objects.filter(pk__gt=armed.last_notification).delete()
        params = [
            (*(f.get_db_prep_value(v, connection) for f, v in zip(fields, row[1:], strict=True)),
             row[0])
            for row in saved
        ]  # fmt: skip
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
    # Each scenario writes its leads three times (arm, check, restore), and every armed
    # version stays in the partial index of running clocks until vacuumed: the next
    # check's index scan would step over thousands of dead entries, which autovacuum
    # clears on a real floor.
    settle_database(Lead._meta.db_table)
