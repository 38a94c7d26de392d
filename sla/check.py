"""The SLA check: warn before a first-touch clock runs out, record the breach, escalate.

`run_check` is one pass over the database, never one message per lead. Each step
reads a small batch of rows that need it through a partial index, locks them
(`FOR UPDATE SKIP LOCKED` on Postgres; SQLite serializes writers), writes the
outcome and commits. Every outcome is unique per lead and clock (the due time):
a second run, a second worker or a re-run after a crash finds the work done and
writes nothing twice. Notifications are keyed by event, so nobody is told twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Value, When
from django.utils import timezone

from agreements.services import report_problems
from agreements.stages import CLOCK_STOPPING_STAGES
from config.db import insert_ignoring_conflicts, insert_rows
from config.memory import bulk_phase
from leads import clock
from leads.clock import CLOCK_FIELDS, RuleBook
from leads.models import Lead
from notifications.services import notify

from .context import CheckContext, managers_of
from .escalation import escalate_breaches, notify_escalations
from .messages import breach_messages, warning_messages
from .models import Breach, SLAWarning

# Clocks per transaction (a flood's batches are shared out: _breach_due_clocks).
BATCH = 1000


@dataclass
class CheckResult:
    """What one run did: leads warned, clocks breached, breaches escalated, clocks stopped."""

    warned: int = 0
    breached: int = 0
    escalated: int = 0
    stopped: int = 0
    # What the registered checks did, by name (only what they did: nothing, no key).
    others: dict[str, int] = field(default_factory=dict)
    # Connections that took part in breaching clocks (more than one only in a flood).
    connections: int = 1

    def as_dict(self) -> dict[str, int]:
        done = {name: n for name, n in self.others.items() if n}
        return {
            "warned": self.warned,
            "breached": self.breached,
            "escalated": self.escalated,
            "stopped": self.stopped,
            **done,
        }

    def __str__(self) -> str:
        text = (
            f"{self.breached} breached, {self.escalated} escalated, {self.warned} warned, "
            f"{self.stopped} stopped"
        )
        done = [f"{n} {name.replace('_', ' ')}" for name, n in self.others.items() if n]
        return ", ".join([text, *done])


# Other apps' promises kept on the same clock and ladder (marketing's answers to content
# requests): an app above sla registers its check in its AppConfig.ready, and every run
# (the task, `manage.py check_sla`) runs it after the sales steps. sla imports none of them.
RegisteredCheck = Callable[[CheckContext], dict[str, int]]
REGISTERED_CHECKS: list[RegisteredCheck] = []


def register_check(check: RegisteredCheck) -> None:
    """Run `check(context)` in every SLA check; it returns what it did by name, and must be
    as idempotent as the sales steps (each step once, whatever the runs)."""
    if check not in REGISTERED_CHECKS:
        REGISTERED_CHECKS.append(check)


def run_check(now: dt.datetime | None = None) -> CheckResult:
    """Run the SLA check once: breach due clocks, escalate old breaches, warn clocks due soon;
    tell everyone concerned, many at once as one digest per person.

    Safe to run twice, concurrently, or again after a crash: it gives the same
    breaches and notifications. Does not send email (see deliver_pending_emails).
    """
    with bulk_phase():  # thousands of rows and messages at once: see config.memory
        return _run_check(now or timezone.now())


def _run_check(now: dt.datetime) -> CheckResult:
    rules = RuleBook.load(now)
    context = CheckContext(now=now, rules=rules)
    result = CheckResult()
    result.breached, result.stopped, result.connections = _breach_due_clocks(context)
    result.escalated = escalate_breaches(context)
    notify_escalations(context)
    result.warned = _warn_clocks_due_soon(context)
    _notify_warnings(context)
    for check in REGISTERED_CHECKS:
        result.others.update(check(context))
    report_problems(rules.problems, at=now)  # rules set aside this run: Ops hear once
    return result


# --- Step 1: clocks that ran out become breaches ------------------------------------


def _breach_due_clocks(context: CheckContext) -> tuple[int, int, int]:
    """Mark every pending clock due by now breached, record its Breach, tell owner and manager;
    (breached, stopped, connections that took part).

    A flood (more clocks due than one batch) is shared out: on Postgres, up to
    SLA_CHECK_CONNECTIONS connections claim batches side by side (SKIP LOCKED keeps their
    batches apart, as it does for two workers), so ten thousand clocks running out at once
    use every core instead of one. SQLite serializes writers, and a check called inside a
    transaction keeps to it (other connections would not see its rows): one connection.
    """
    helpers = _helper_connections()
    # A flood is told by counting (at most a batch and one more, on the partial index of
    # running clocks), so the helpers start with the first batch instead of after it.
    if not helpers or not clock.more_due_than(context.now, BATCH):
        breached, stopped = _breach_batches(context)
        return breached, stopped, 1
    totals: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def helper() -> None:
        try:
            totals.append(_breach_batches(context))
        except BaseException as exc:  # re-raised by the caller below, after the join
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connections only

    threads = [threading.Thread(target=helper, name=f"sla-breach-{n}") for n in range(helpers)]
    for thread in threads:
        thread.start()
    try:
        breached, stopped = _breach_batches(context)
    finally:
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return (
        breached + sum(b for b, _ in totals),
        stopped + sum(s for _, s in totals),
        1 + len(threads),
    )


def _helper_connections() -> int:
    """How many more connections may claim batches beside this one (see _breach_due_clocks)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 0
    return max(0, settings.SLA_CHECK_CONNECTIONS - 1)


def _breach_batches(context: CheckContext) -> tuple[int, int]:
    """Breach batch after batch until a batch finds fewer than it may take (none left, or
    the rest locked by another connection, which breaches them): (breached, stopped)."""
    breached = stopped = 0
    while True:
        done, parked, claimed = _breach_one_batch(context)
        breached += done
        stopped += parked
        if claimed < BATCH:
            return breached, stopped


def _breach_one_batch(context: CheckContext) -> tuple[int, int, int]:
    """One transaction: up to BATCH due clocks breached; (breached, stopped, claimed)."""
    with transaction.atomic():
        due = clock.breach_due_clocks(context.now, BATCH)
        # A clock on a parked or closed lead should have been stopped by the lifecycle;
        # one that slipped through is recorded as breached, but nobody is chased for it.
        live = [row for row in due if row["stage"] not in CLOCK_STOPPING_STAGES]
        parked = [row for row in due if row["stage"] in CLOCK_STOPPING_STAGES]
        breached = _record_breaches(live, context, notify_people=True)
        stopped = _record_breaches(parked, context, notify_people=False)
    return breached, stopped, len(due)


def _record_breaches(
    rows: list[dict[str, Any]], context: CheckContext, *, notify_people: bool
) -> int:
    if not rows:
        return 0
    now = context.now
    owners = {row["pk"]: clock.owner_at_due(row["owner_id"], row["moved_from"]) for row in rows}
    managers = managers_of(owners.values())
    breaches = []
    for row in rows:
        rule_clock = context.rules.get(row["sla_rule_id"])
        owner = owners[row["pk"]]
        due_at = row["sla_due_at"]
        breaches.append(
            (
                row["pk"],
                row["sla_rule_id"] if rule_clock is not None else None,
                row["sla_agreement_id"] or (rule_clock.rule.agreement_id if rule_clock else None),
                due_at,
                now,
                owner,
                managers.get(owner) if owner is not None else None,
                context.rules.escalation_time(row["sla_rule_id"], due_at),
            )
        )
    # The breaches this transaction recorded: a clock whose breach was already there (a
    # late touch got to it first) is nobody's news, and a manager's digest lists a
    # clock only in the transaction that wrote its breach.
    recorded = {
        lead_id
        for (lead_id,) in insert_rows(
            Breach,
            (
                "lead_id",
                "rule_id",
                "agreement_id",
                "due_at",
                "detected_at",
                "owner_at_due_id",
                "manager_at_due_id",
                "escalate_at",
            ),
            breaches,
            conflict=("lead_id", "due_at"),
            returning=("lead_id",),
        )
    }
    if notify_people:
        news = [row for row in rows if row["pk"] in recorded]
        notify(breach_messages(news, owners, managers, context), at=now)
    return len(rows)


# --- Step 3: clocks in their last stretch get a warning ----------------------------


def _warn_clocks_due_soon(context: CheckContext) -> int:
    """Warn the owner of each running clock that passed its rule's warning share, once."""
    horizons = context.rules.warning_horizons(context.now)
    if not horizons:
        return 0
    # Each rule's horizon as a CASE on the lead's rule, not an OR of (rule = x AND due <= h):
    # given the OR, SQLite without statistics (nothing runs ANALYZE) walks the index on
    # sla_rule_id, i.e. every lead under a rule; this way only the partial index of
    # running clocks is usable.
    horizon = Case(
        *(When(sla_rule_id=rule_id, then=Value(at)) for rule_id, at in horizons.items()),
        default=None,
        output_field=DateTimeField(),
    )
    already_warned = SLAWarning.objects.filter(lead=OuterRef("pk"), due_at=OuterRef("sla_due_at"))
    warned = 0
    while True:
        with transaction.atomic():
            rows = list(
                Lead.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    sla_status=Lead.SLAStatus.PENDING,
                    sla_due_at__gt=context.now,
                    sla_due_at__lte=max(horizons.values()),
                )
                .alias(horizon=horizon)
                .filter(sla_due_at__lte=F("horizon"))
                .exclude(stage__in=CLOCK_STOPPING_STAGES)
                .exclude(Exists(already_warned))
                .order_by("sla_due_at")
                .values(*CLOCK_FIELDS)[:BATCH]
            )
            if not rows:
                return warned
            insert_ignoring_conflicts(
                SLAWarning,
                ("lead_id", "due_at", "warned_at", "owner_id"),
                ((row["pk"], row["sla_due_at"], context.now, row["owner_id"]) for row in rows),
                conflict=("lead_id", "due_at"),
            )
            warned += len(rows)


def _notify_warnings(context: CheckContext) -> None:
    """Tell the owners (or the lead desk) of every warning not told yet, one digest per person.

    The warnings of a run are recorded batch by batch, then told here in one transaction,
    with any a run that died before telling left behind.
    """
    with transaction.atomic():
        rows = list(
            SLAWarning.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(notified_at__isnull=True)
            .order_by("warned_at", "pk")
            .values(
                "owner_id",
                warning_id=F("pk"),
                pk=F("lead_id"),
                sla_due_at=F("due_at"),
                sla_rule_id=F("lead__sla_rule_id"),
                first_name=F("lead__first_name"),
                last_name=F("lead__last_name"),
                email=F("lead__email"),
            )
        )
        if not rows:
            return
        notify(warning_messages(rows, context), at=context.now)
        SLAWarning.objects.filter(pk__in=[row["warning_id"] for row in rows]).update(
            notified_at=context.now
        )
