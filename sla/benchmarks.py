"""The `sla` section of `manage.py bench`: one SLA check over a large lead table.

In the benchmark database (seeded by leads.benchmarks.seed_leads), it starts a
first-touch clock on 1 % of the leads, already due, and on another 1 % due in
three days (as on a real floor), and times one `run_check`; then again with
0.01 % due. Targets on Postgres: under 1 s and under 50 ms. Emails are not part
of the timing: the Celery task sends them after the check.
"""

from __future__ import annotations

import datetime as dt
import time

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.benchmarks import BenchContext, BenchResult, bench_database, register, seed_leads

SCENARIOS = (("1% due", 0.01, 1000), ("0.01% due", 0.0001, 50))
REPS = 40
CHUNK = 5000


@register("sla", "SLA check: one run over the lead table with 1 % and 0.01 % of clocks due")
def bench_sla(context: BenchContext) -> list[BenchResult]:
    if "dataset" in context.extra:  # manage.py bench's shared data set: arm its leads, restore
        from benchmark.sections import sla_on_shared_data

        return sla_on_shared_data(context, SCENARIOS)
    with bench_database(f"sla-{context.leads}") as name:
        context.out(f"sla: benchmark database {name}")
        return _bench_sla(context)


def _bench_sla(context: BenchContext) -> list[BenchResult]:
    from leads.models import Lead

    from .services import run_check

    seed_leads(context.leads, context.out)
    rule, owners = _fixtures()
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True)[: context.leads])
    # Warm up as a long-running worker is: imports, the URL resolver, the connection.
    run_check()
    reverse("leads:detail", args=[1])
    results = []
    for label, share, target_ms in SCENARIOS:
        due = ids[: max(1, int(len(ids) * share))]
        later = ids[-max(1, int(len(ids) * 0.01)) :]
        now = timezone.now()
        _arm(due, rule, owners, now - dt.timedelta(minutes=5))
        _arm(later, rule, owners, now + dt.timedelta(days=3))
        try:
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = run_check(now)
                ms = (time.perf_counter() - started) * 1000
        finally:
            _disarm(due + later)
        results.append(
            BenchResult(
                section="sla",
                name=f"check, {label}",
                value=ms,
                unit="ms",
                note=f"{len(ids):,} leads, {len(due):,} due: {result}; "
                f"{len(queries)} queries ({connection.vendor})",
                target=f"< {target_ms} ms",
                passed=ms < target_ms if connection.vendor == "postgresql" else None,
            )
        )
    return results


def _fixtures() -> tuple[object, list[int]]:
    """A draft agreement (never in force) with a one-hour wall-clock rule, and 40 reps."""
    from agreements.models import Agreement, ResponseRule
    from agreements.stages import Stage
    from leads.models import RepProfile, Team

    User = get_user_model()
    agreement = Agreement.objects.filter(title="Bench (sla)").first() or Agreement.objects.create(
        title="Bench (sla)", version=Agreement.next_version()
    )
    rule = ResponseRule.objects.filter(agreement=agreement).first() or ResponseRule.objects.create(
        agreement=agreement,
        stage=Stage.MQL,
        within_amount=1,
        within_unit=ResponseRule.Unit.HOURS,
        business_time=False,
        escalate_after_amount=8,
        escalate_after_unit=ResponseRule.Unit.HOURS,
    )
    owners = []
    for n in range(REPS):
        manager, _ = User.objects.get_or_create(
            username=f"bench-manager-{n // 10}", defaults={"email": f"m{n // 10}@bench.invalid"}
        )
        team, _ = Team.objects.get_or_create(name=f"Bench {n // 10}", defaults={"manager": manager})
        rep, _ = User.objects.get_or_create(
            username=f"bench-rep-{n}", defaults={"email": f"r{n}@bench.invalid"}
        )
        RepProfile.objects.get_or_create(user=rep, defaults={"team": team})
        owners.append(rep.pk)
    return rule, owners


def _arm(ids: list[int], rule, owners: list[int], due_at: dt.datetime) -> None:
    """Start a clock on these leads: MQLs, each assigned to a rep an hour before it is due."""
    from agreements.stages import Stage
    from leads.models import Assignment, Lead

    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        with transaction.atomic():
            for index, owner in enumerate(owners):
                Lead.objects.filter(pk__in=chunk[index :: len(owners)]).update(owner_id=owner)
            Lead.objects.filter(pk__in=chunk).update(
                stage=Stage.MQL,
                sla_status=Lead.SLAStatus.PENDING,
                sla_due_at=due_at,
                sla_rule=rule,
                sla_agreement_id=rule.agreement_id,
            )
            Assignment.objects.bulk_create(
                Assignment(
                    lead_id=pk,
                    to_owner_id=owners[(first + i) % len(owners)],
                    at=due_at - dt.timedelta(hours=1),
                    rule="bench",
                )
                for i, pk in enumerate(chunk)
            )


def _disarm(ids: list[int]) -> None:
    """Put the leads back as seeded, without the check's records, so runs stay comparable."""
    from agreements.stages import Stage
    from leads.models import Activity, Assignment, Lead
    from notifications.models import Notification

    from .models import Breach, SLAWarning

    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        with transaction.atomic():
            for model in (Notification, Breach, SLAWarning, Assignment, Activity):
                model.objects.filter(lead_id__in=chunk).delete()
            Lead.objects.filter(pk__in=chunk).update(
                stage=Stage.SUSPECT,
                owner=None,
                assigned_at=None,
                sla_status=Lead.SLAStatus.NONE,
                sla_due_at=None,
                sla_rule=None,
                sla_agreement=None,
            )
